import Authentication
public import ContactPointAPI
import Foundation
public import GRPCCore
import SecurityPrimitives
import Vocabulary
import WebAuthn

/// The `contactpoint.v1.Identity` RPCs over an ``Authenticator``: maps its outcomes to gRPC
/// status codes (every credential failure the same UNAUTHENTICATED answer) and reads the caller
/// from the session token the ``AuthenticationInterceptor`` verified.
public struct IdentityRPCService: Contactpoint_V1_Identity.SimpleServiceProtocol {
    /// The methods callable without a session.
    public static let publicMethods: Set<String> = [
        Contactpoint_V1_Identity.Method.Login.descriptor, Contactpoint_V1_Identity.Method.BeginEnrolment.descriptor,
        Contactpoint_V1_Identity.Method.CompleteEnrolment.descriptor,
        Contactpoint_V1_Identity.Method.PublicKeys.descriptor,
        Contactpoint_V1_Identity.Method.EndedSessions.descriptor, Contactpoint_V1_Identity.Method.Gateways.descriptor,
        Contactpoint_V1_Identity.Method.BeginPasskeyLogin.descriptor,
        Contactpoint_V1_Identity.Method.CompletePasskeyLogin.descriptor,
    ].reduce(into: []) { $0.insert($1.fullyQualifiedMethod) }

    let authenticator: Authenticator
    /// The bus principals that may ask for the gateways in force (the brokers).
    let gatewayReaders: Set<String>

    init(authenticator: Authenticator, gatewayReaders: Set<String> = []) {
        self.authenticator = authenticator
        self.gatewayReaders = gatewayReaders
    }

    public func login(request: Contactpoint_V1_LoginRequest, context: ServerContext) async throws
        -> Contactpoint_V1_SessionGrant
    {
        try await answering {
            try await authenticator.login(
                email: request.email, password: request.password, code: request.totpCode,
                through: GatewayPrincipal(context.remotePeer))
        }
    }

    public func refresh(request: Contactpoint_V1_RefreshRequest, context: ServerContext) async throws
        -> Contactpoint_V1_SessionGrant
    {
        let caller = try Caller.required()
        return try await answering { try await authenticator.refresh(caller.claims) }
    }

    public func stepUp(request: Contactpoint_V1_StepUpRequest, context: ServerContext) async throws
        -> Contactpoint_V1_SessionGrant
    {
        let caller = try Caller.required()
        return try await answering { try await authenticator.refresh(caller.claims, stepUpCode: request.totpCode) }
    }

    public func changePassword(
        request: Contactpoint_V1_ChangePasswordRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_SessionGrant {
        let caller = try Caller.required()
        return try await answering {
            try await authenticator.changePassword(
                caller.claims, current: request.currentPassword, new: request.newPassword, code: request.totpCode)
        }
    }

    public func gateways(request: Contactpoint_V1_GatewaysRequest, context: ServerContext) async throws
        -> Contactpoint_V1_GatewaysResponse
    {
        guard gatewayReaders.contains(context.remotePeer) else {
            throw RPCError(
                code: .permissionDenied,
                message: "only the principals in identity's gateway-reader setting (the brokers)")
        }
        let gateways = try await authenticator.store.gatewaysInForce()
        return .with { $0.gateways = gateways.map(IdentityAdminRPCService.summary) }
    }

    public func listSessions(
        request: Contactpoint_V1_ListSessionsRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_ListSessionsResponse {
        let claims = try Caller.required().claims
        let live = try await authenticator.store.liveSessions(
            practitionerID: claims.sub, now: authenticator.clock.now.seconds)
        return .with { response in
            response.sessions = live.map { session in
                .with {
                    $0.sessionID = session.id
                    $0.startedAt = session.startedAt
                    $0.idleExpiresAt = session.idleExpiry
                    $0.current = session.id == claims.sid
                }
            }
        }
    }

    public func endSessions(
        request: Contactpoint_V1_EndSessionsRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_EndSessionsResponse {
        let claims = try Caller.required().claims
        let ended = try await mappingFailures {
            try await authenticator.endOtherSessions(
                claims, ids: request.sessionIds, allOthers: request.allOthers, code: request.totpCode)
        }
        return .with { $0.ended = Int32(ended) }
    }

    public func logout(request: Contactpoint_V1_LogoutRequest, context: ServerContext) async throws
        -> Contactpoint_V1_LogoutResponse
    {
        try await authenticator.logout(try Caller.required().claims)
        return .init()
    }

    public func whoAmI(request: Contactpoint_V1_WhoAmIRequest, context: ServerContext) async throws
        -> Contactpoint_V1_PractitionerSummary
    {
        let claims = try Caller.required().claims
        guard let session = try await authenticator.store.session(id: claims.sid), session.endedAt == nil,
            let record = try await authenticator.store.loginRecord(practitionerID: claims.sub)
        else {
            throw RPCError(code: .unauthenticated, message: "the session has ended")
        }
        return .with {
            $0.practitionerID = record.practitioner.id
            $0.name = record.practitioner.name
            $0.email = record.practitioner.email
            $0.organisationID = record.organisation.id
            $0.organisationName = record.organisation.name
            $0.localAuthority = record.organisation.localAuthority
            $0.roles = claims.roles
            $0.sessionExpiresAt = claims.exp
        }
    }

    public func beginEnrolment(
        request: Contactpoint_V1_BeginEnrolmentRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_BeginEnrolmentResponse {
        let uri = try await mappingFailures {
            try await authenticator.beginEnrolment(
                email: request.email, code: request.enrolmentCode, password: request.password)
        }
        return .with { $0.otpauthUri = uri }
    }

    public func completeEnrolment(
        request: Contactpoint_V1_CompleteEnrolmentRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_CompleteEnrolmentResponse {
        try await mappingFailures {
            try await authenticator.completeEnrolment(
                email: request.email, code: request.enrolmentCode, totpCode: request.totpCode)
        }
        return .init()
    }

    public func publicKeys(request: Contactpoint_V1_PublicKeysRequest, context: ServerContext) async throws
        -> Contactpoint_V1_PublicKeysResponse
    {
        .with { response in
            response.keys = authenticator.keys.published.sorted { $0.key < $1.key }.map { id, key in
                .with {
                    $0.keyID = id
                    $0.ed25519 = Data(key.rawRepresentation)
                }
            }
        }
    }

    public func endedSessions(
        request: Contactpoint_V1_EndedSessionsRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_EndedSessionsResponse {
        let ended = try await authenticator.store.endedSessions(since: request.since)
        return .with { response in
            response.sessions = ended.map { session in
                .with {
                    $0.sessionID = session.sessionID
                    $0.endedAt = session.endedAt
                }
            }
        }
    }

    // MARK: Passkeys

    public func beginPasskeyLogin(request: Contactpoint_V1_BeginPasskeyLoginRequest, context: ServerContext)
        async throws -> Contactpoint_V1_PasskeyChallenge
    {
        Self.challenge(
            try await mappingFailures {
                try await authenticator.beginPasskeyLogin(email: request.email, password: request.password)
            })
    }

    public func completePasskeyLogin(request: Contactpoint_V1_CompletePasskeyLoginRequest, context: ServerContext)
        async throws -> Contactpoint_V1_SessionGrant
    {
        try await answering {
            try await authenticator.completePasskeyLogin(
                challengeID: request.challengeID, credentialID: Array(request.credentialID),
                clientDataJSON: Array(request.clientDataJson), authenticatorData: Array(request.authenticatorData),
                signature: Array(request.signature), through: GatewayPrincipal(context.remotePeer))
        }
    }

    public func beginPasskeyRegistration(
        request: Contactpoint_V1_BeginPasskeyRegistrationRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_PasskeyChallenge {
        let caller = try Caller.required()
        return Self.challenge(
            try await mappingFailures { try await authenticator.beginPasskeyRegistration(caller.claims) })
    }

    public func completePasskeyRegistration(
        request: Contactpoint_V1_CompletePasskeyRegistrationRequest, context: ServerContext
    ) async throws -> Contactpoint_V1_Passkey {
        let caller = try Caller.required()
        return Self.passkey(
            try await mappingFailures {
                try await authenticator.completePasskeyRegistration(
                    caller.claims, challengeID: request.challengeID, clientDataJSON: Array(request.clientDataJson),
                    attestationObject: Array(request.attestationObject), name: request.name)
            })
    }

    public func listPasskeys(request: Contactpoint_V1_ListPasskeysRequest, context: ServerContext) async throws
        -> Contactpoint_V1_ListPasskeysResponse
    {
        let caller = try Caller.required()
        let passkeys = try await authenticator.store.passkeys(practitionerID: caller.claims.sub)
        return .with { $0.passkeys = passkeys.map(Self.passkey) }
    }

    public func removePasskey(request: Contactpoint_V1_RemovePasskeyRequest, context: ServerContext) async throws
        -> Contactpoint_V1_RemovePasskeyResponse
    {
        let caller = try Caller.required()
        guard
            try await mappingFailures({
                try await authenticator.removePasskey(caller.claims, credentialID: Array(request.credentialID))
            })
        else { throw RPCError(code: .notFound, message: "credential_id: you have no such passkey") }
        return .init()
    }

    private static func challenge(_ challenge: Authenticator.PasskeyChallenge) -> Contactpoint_V1_PasskeyChallenge {
        .with {
            $0.challengeID = challenge.id
            $0.challenge = Data(challenge.challenge)
            $0.relyingPartyID = challenge.relyingPartyID
            $0.userHandle = Data(challenge.userHandle)
            $0.userName = challenge.userName
            $0.userDisplayName = challenge.userDisplayName
            $0.credentialIds = challenge.credentialIDs.map { Data($0) }
            $0.expiresAt = challenge.expiresAt
        }
    }

    private static func passkey(_ passkey: IdentityStore.StoredPasskey) -> Contactpoint_V1_Passkey {
        .with {
            $0.credentialID = Data(passkey.credentialID)
            $0.name = passkey.name
            $0.createdAt = passkey.createdAt
            $0.lastUsedAt = passkey.lastUsedAt ?? 0
            $0.algorithm = passkey.algorithm == COSEAlgorithm.edDSA.rawValue ? "EdDSA" : "ES256"
            $0.attestationFormat = passkey.attestationFormat
            $0.backupEligible = passkey.backupEligible
        }
    }

    // MARK: Helpers

    private func answering(_ body: () async throws -> IssuedSession) async throws -> Contactpoint_V1_SessionGrant {
        let session = try await mappingFailures(body)
        return .with {
            $0.token = session.token
            $0.expiresAt = session.claims.exp
            $0.sessionID = session.claims.sid
            if let history = session.history {
                $0.previousSessionStartedAt = history.previousSessionStartedAt ?? 0
                $0.failedAttemptsSince = UInt32(history.failedAttempts)
                $0.noticesOnTheirWay = history.noticesOnTheirWay
            }
        }
    }

    private func mappingFailures<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as AuthenticationFailure {
            switch failure {
            case .rejected, .codeRefused: throw RPCError(code: .unauthenticated, message: failure.publicMessage)
            case .notPermitted: throw RPCError(code: .permissionDenied, message: failure.publicMessage)
            case .invalidRequest: throw RPCError(code: .invalidArgument, message: failure.publicMessage)
            case .notNow: throw RPCError(code: .failedPrecondition, message: failure.publicMessage)
            }
        }
    }
}
