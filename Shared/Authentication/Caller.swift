public import ContactPointAPI
import Foundation
import GRPCCore
import Identifiers
import SecurityPrimitives
public import Timekeeping
public import Vocabulary

/// The practitioner on whose behalf a call is made, as the session token proves: set by
/// ``AuthenticationInterceptor`` for the handler of every authenticated call. Authorization
/// always uses this originating practitioner, also when one service calls another for them
/// (the token travels with the call).
public struct Caller: Sendable, Equatable {
    public var claims: SessionClaims
    /// The token itself, to forward on calls made on the caller's behalf; never log it.
    public var token: String
    /// The bus principal that carried the call: the route it came by (an agency gateway, the
    /// command line, a service calling on the caller's behalf). Empty when not known.
    public var route = ""

    public init(claims: SessionClaims, token: String, route: String = "") {
        self.claims = claims
        self.token = token
        self.route = route
    }

    public var practitionerID: String { claims.sub }
    public var organisationID: String { claims.org }
    public var localAuthority: String { claims.la }

    public func hasRole(_ role: Role) -> Bool { claims.roles.contains(role.name) }

    public func hasAnyRole(_ roles: Set<Role>) -> Bool { roles.contains { hasRole($0) } }

    /// Whether the caller entered a TOTP code within `window` before `now` (step-up).
    public func hasSteppedUp(within window: Duration = .seconds(300), at now: Instant) -> Bool {
        now - Instant(seconds: claims.stepUpAt) <= window
    }

    @TaskLocal public static var current: Caller?

    /// The caller of the call being handled, or UNAUTHENTICATED if it came without a session.
    public static func required() throws -> Caller {
        guard let current else {
            throw RPCError(code: .unauthenticated, message: "this call needs a session: log in first")
        }
        return current
    }
}

extension Caller {
    /// Who the caller is, as the audit trail records it: identifiers and roles, and a hash of the
    /// session id (never the token).
    public var auditActor: Contactpoint_V1_AuditActor {
        .with {
            $0.practitionerID = claims.sub
            $0.organisationID = claims.org
            $0.localAuthority = claims.la
            $0.roles = claims.roles
            $0.sessionHash = SHA256.hash(Array(claims.sid.utf8)).hexString
            $0.route = route
        }
    }
}

extension Caller {
    /// An audit event of this caller's `action`: a new event id, the time, the actor and whether
    /// they had stepped up within `stepUpWindow`. The caller adds what was done to what.
    public func auditEvent(
        _ action: AuditAction, category: Contactpoint_V1_AuditCategory,
        outcome: Contactpoint_V1_AuditOutcome = .permitted,
        at now: Instant, stepUpWindow: Duration = .seconds(300)
    ) -> Contactpoint_V1_AuditEvent {
        .with {
            $0.eventID = EventID.make()
            $0.occurredAtMs = now.milliseconds
            $0.action = action.description
            $0.category = category
            $0.actor = auditActor
            $0.service = action.service
            $0.outcome = outcome
            $0.steppedUp = hasSteppedUp(within: stepUpWindow, at: now)
        }
    }
}
