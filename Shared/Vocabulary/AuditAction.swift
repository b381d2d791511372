/// What an audit event records was done: `service/verb`, as `AuditEvent.action` carries it and
/// reviewers read it. Every service that audits names its actions here, so that the list of
/// what the trail can say is one list.
public struct AuditAction: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: String, CaseIterable {
        // index
        case search = "index/search"
        case viewRecord = "index/view-record"
        case putChildren = "index/put-children"
        case loadFeed = "index/load-feed"
        case loadDemoWorld = "index/load-demo-world"
        case shield = "index/shield"
        case unshield = "index/unshield"
        case recordInvolvement = "index/record-involvement"
        case endInvolvement = "index/end-involvement"
        case raiseIndicator = "index/raise-indicator"
        case clearIndicator = "index/clear-indicator"
        case setLeadProfessional = "index/set-lead-professional"
        case clearLeadProfessional = "index/clear-lead-professional"
        // consent
        case recordConsent = "consent/record-consent"
        case recordOverride = "consent/record-override"
        case withdrawConsent = "consent/withdraw-consent"
        case withdrawOverride = "consent/withdraw-override"
        case listConsents = "consent/list-consents"
        // notification
        case listAlerts = "notification/list-alerts"
        case followAlerts = "notification/follow-alerts"
        case updateAlert = "notification/update-alert"
        // identity
        case organisationCreated = "identity/organisation-created"
        case organisationActivated = "identity/organisation-activated"
        case organisationDeactivated = "identity/organisation-deactivated"
        case accountCreated = "identity/account-created"
        case accountActive = "identity/account-active"
        case accountSuspended = "identity/account-suspended"
        case accountClosed = "identity/account-closed"
        case accountLocked = "identity/account-locked"
        case accountUnlocked = "identity/account-unlocked"
        case vettingRecorded = "identity/vetting-recorded"
        case vettingLapsesSoon = "identity/vetting-lapses-soon"
        case vettingLapsed = "identity/vetting-lapsed"
        case credentialsReset = "identity/credentials-reset"
        case loginSucceeded = "identity/login-succeeded"
        case loginFailed = "identity/login-failed"
        case loginRefused = "identity/login-refused"
        case sessionStarted = "identity/session-started"
        case stepUpSucceeded = "identity/step-up-succeeded"
        case stepUpFailed = "identity/step-up-failed"
        case loggedOut = "identity/logged-out"
        /// An administration call refused to an authenticated caller (PERMISSION_DENIED, or an
        /// account outside their reach answered as NOT_FOUND).
        case administrationRefused = "identity/administration-refused"
        case passwordChanged = "identity/password-changed"
        case passwordChangeFailed = "identity/password-change-failed"
        case gatewayRegistered = "identity/gateway-registered"
        case gatewayRevoked = "identity/gateway-revoked"
        case passkeyAdded = "identity/passkey-added"
        case passkeyRemoved = "identity/passkey-removed"
        // audit
        case queryEvents = "audit/query-events"
        case listReviewItems = "audit/list-review-items"
        case openReviewItem = "audit/open-review-item"
        case recordReviewOutcome = "audit/record-review-outcome"
        case subjectAccess = "audit/subject-access"
    }

    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// An action by its text (`index/search`), or `nil` for one not listed here.
    public init?(_ text: String) {
        guard let wrapped = Wrapped(rawValue: text) else { return nil }
        self.wrapped = wrapped
    }

    /// `index/search`.
    public var description: String { wrapped.rawValue }
    /// The service that does it: `index`.
    public var service: String { String(wrapped.rawValue.prefix { $0 != "/" }) }

    public static let all: [AuditAction] = Wrapped.allCases.map(AuditAction.init)

    public static let search = Self(.search)
    public static let viewRecord = Self(.viewRecord)
    public static let putChildren = Self(.putChildren)
    public static let loadFeed = Self(.loadFeed)
    public static let loadDemoWorld = Self(.loadDemoWorld)
    public static let shield = Self(.shield)
    public static let unshield = Self(.unshield)
    public static let recordInvolvement = Self(.recordInvolvement)
    public static let endInvolvement = Self(.endInvolvement)
    public static let raiseIndicator = Self(.raiseIndicator)
    public static let clearIndicator = Self(.clearIndicator)
    public static let setLeadProfessional = Self(.setLeadProfessional)
    public static let clearLeadProfessional = Self(.clearLeadProfessional)

    public static let recordConsent = Self(.recordConsent)
    public static let recordOverride = Self(.recordOverride)
    public static let withdrawConsent = Self(.withdrawConsent)
    public static let withdrawOverride = Self(.withdrawOverride)
    public static let listConsents = Self(.listConsents)

    public static let listAlerts = Self(.listAlerts)
    public static let followAlerts = Self(.followAlerts)
    public static let updateAlert = Self(.updateAlert)

    public static let organisationCreated = Self(.organisationCreated)
    public static let organisationActivated = Self(.organisationActivated)
    public static let organisationDeactivated = Self(.organisationDeactivated)
    public static let accountCreated = Self(.accountCreated)
    public static let accountActive = Self(.accountActive)
    public static let accountSuspended = Self(.accountSuspended)
    public static let accountClosed = Self(.accountClosed)
    public static let accountLocked = Self(.accountLocked)
    public static let accountUnlocked = Self(.accountUnlocked)
    public static let vettingRecorded = Self(.vettingRecorded)
    public static let vettingLapsesSoon = Self(.vettingLapsesSoon)
    public static let vettingLapsed = Self(.vettingLapsed)
    public static let credentialsReset = Self(.credentialsReset)
    public static let loginSucceeded = Self(.loginSucceeded)
    public static let loginFailed = Self(.loginFailed)
    public static let loginRefused = Self(.loginRefused)
    public static let sessionStarted = Self(.sessionStarted)
    public static let stepUpSucceeded = Self(.stepUpSucceeded)
    public static let stepUpFailed = Self(.stepUpFailed)
    public static let loggedOut = Self(.loggedOut)
    public static let administrationRefused = Self(.administrationRefused)
    public static let passwordChanged = Self(.passwordChanged)
    public static let passwordChangeFailed = Self(.passwordChangeFailed)
    public static let gatewayRegistered = Self(.gatewayRegistered)
    public static let gatewayRevoked = Self(.gatewayRevoked)
    public static let passkeyAdded = Self(.passkeyAdded)
    public static let passkeyRemoved = Self(.passkeyRemoved)

    public static let queryEvents = Self(.queryEvents)
    public static let listReviewItems = Self(.listReviewItems)
    public static let openReviewItem = Self(.openReviewItem)
    public static let recordReviewOutcome = Self(.recordReviewOutcome)
    public static let subjectAccess = Self(.subjectAccess)
}
