/// What a ContactPoint session token says about its holder: the JWT claims the identity
/// service signs and every service verifies.
public struct SessionClaims: Codable, Sendable, Equatable {
    public static let issuer = "contactpoint-identity"

    /// Always ``issuer``.
    public var iss: String
    /// The practitioner's account id.
    public var sub: String
    /// The session id: what logout and suspension revoke.
    public var sid: String
    /// The practitioner's name, for what others are shown of what they did (an alert
    /// acknowledged by them). Absent from tokens issued before it was added.
    public var name: String?
    /// The practitioner's home postcode, when their vetting gave it: a disclosure of a child of
    /// their family name at that postcode is reviewed (shares-surname-and-postcode).
    public var homePostcode: String?
    /// The agency gateway the session was granted through (its bus principal,
    /// `gateway:ORGANISATION:ID`): the session works through that gateway only. Absent for
    /// sessions granted to the command line or the portal, which no gateway may use.
    public var gateway: String?
    /// The practitioner's organisation and its local authority.
    public var org: String
    public var la: String
    /// System roles (`practitioner`, `named-person`, `la-administrator`, `auditor`, `system-administrator`).
    public var roles: [String]
    /// Issued at, expires at (the idle timeout, never past the session's absolute end), and when
    /// the holder last entered a TOTP code (login or step-up). Unix seconds.
    public var iat: Int64
    public var exp: Int64
    public var stepUpAt: Int64

    enum CodingKeys: String, CodingKey {
        case iss, sub, name, sid, org, la, roles, iat, exp
        case stepUpAt = "step_up_at"
        case homePostcode = "hpc"
        case gateway = "gw"
    }

    public init(
        sub: String, name: String? = nil, homePostcode: String? = nil, gateway: String? = nil, sid: String, org: String,
        la: String, roles: [String], iat: Int64, exp: Int64, stepUpAt: Int64
    ) {
        self.iss = Self.issuer
        self.sub = sub
        self.name = name
        self.homePostcode = homePostcode
        self.gateway = gateway
        self.sid = sid
        self.org = org
        self.la = la
        self.roles = roles
        self.iat = iat
        self.exp = exp
        self.stepUpAt = stepUpAt
    }
}
