public import Vocabulary

/// The small world `contactpoint up --demo` creates for a new user to explore: one local
/// authority with a school, a GP practice, children's social care, a youth offending team and a
/// voluntary service, a practitioner in each (and a local-authority administrator and an
/// auditor), and synthetic children involved with them. The identity service creates the
/// organisations and accounts, the index the children; both read the ids from here.
public enum DemoWorld {
    public static let localAuthority = "E09000033"

    public struct Organisation: Sendable {
        public var id: String
        public var name: String
        /// The identity service's organisation type.
        public var type: String
        /// The index's service type code for this organisation's involvements.
        public var serviceType: String
    }

    public struct Practitioner: Sendable {
        public var name: String
        public var email: String
        public var jobRole: String
        public var roles: [Role]
        public var organisationID: String
    }

    public static let organisations: [Organisation] = [
        Organisation(
            id: "demo-school", name: "Hillside Primary School", type: "educational-setting",
            serviceType: "educational-setting"),
        Organisation(id: "demo-gp", name: "Riverside Surgery", type: "gp-practice", serviceType: "gp-practice"),
        Organisation(
            id: "demo-social-care", name: "Westminster Children's Social Care", type: "childrens-services",
            serviceType: "social-care"),
        Organisation(
            id: "demo-yot", name: "Westminster Youth Offending Team", type: "youth-offending-team",
            serviceType: "youth-offending-team"),
        Organisation(
            id: "demo-voluntary", name: "Family Action Westminster", type: "voluntary-organisation",
            serviceType: "voluntary-service"),
    ]

    public static let practitioners: [Practitioner] = [
        Practitioner(
            name: "Sam Carter", email: "sam@hillside.demo", jobRole: "Designated safeguarding lead", roles: [],
            organisationID: "demo-school"),
        Practitioner(
            name: "Asha Patel", email: "asha@riverside.demo", jobRole: "GP", roles: [], organisationID: "demo-gp"),
        Practitioner(
            name: "Jo Morgan", email: "jo@socialcare.demo", jobRole: "Social worker", roles: [.namedPerson],
            organisationID: "demo-social-care"),
        Practitioner(
            name: "Lee Evans", email: "lee@yot.demo", jobRole: "Case manager", roles: [], organisationID: "demo-yot"),
        Practitioner(
            name: "Ruth Okafor", email: "ruth@familyaction.demo", jobRole: "Family support worker", roles: [],
            organisationID: "demo-voluntary"),
        Practitioner(
            name: "Priya Shah", email: "priya@socialcare.demo", jobRole: "ContactPoint administrator",
            roles: [.localAuthorityAdministrator],
            organisationID: "demo-social-care"),
        Practitioner(
            name: "Ada Brooks", email: "ada@socialcare.demo", jobRole: "Auditor", roles: [.auditor],
            organisationID: "demo-social-care"),
    ]
}
