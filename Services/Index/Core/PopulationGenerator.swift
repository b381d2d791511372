public import ContactPointAPI
import Foundation
import RecordFields
import Timekeeping

/// A synthetic population for demos and benchmarks: families of siblings sharing a family name,
/// an address and their carers; names drawn by their frequency in England and Wales; every
/// child a GP practice and a school (or an early-years setting), some with more services; and
/// deliberate near-duplicates — the same child entered twice with a misspelt name — as real
/// feeds have. Deterministic for a given seed and reference date.
public struct PopulationGenerator: Sendable {
    public var localAuthorities: [String]
    /// Dates of birth fall in the 18 years before this date (`YYYY-MM-DD`; by default today in
    /// England, so that every child is under 18 and a feed of them is loaded whole).
    public var referenceDate: String
    /// When set, every involvement of a service type listed here is with that organisation (the
    /// demo world's school, GP practice, …), and extra services are drawn from these types only.
    public var organisations: [Contactpoint_V1_ServiceType: Organisation]?

    public struct Organisation: Sendable {
        public var id: String
        public var name: String
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }
    private var random: SplitMix64
    private let names: NameLists
    private var pendingDuplicate: Contactpoint_V1_ChildEntry?
    private var family: [Contactpoint_V1_ChildEntry] = []

    public init(
        seed: UInt64 = 1, localAuthorities: [String] = PopulationGenerator.defaultAuthorities,
        referenceDate: String = CalendarDay(inEngland: WallClock.system.now).description
    ) {
        self.random = SplitMix64(state: seed)
        self.localAuthorities = localAuthorities
        self.referenceDate = referenceDate
        self.names = .standard
    }

    /// Twelve London and metropolitan borough codes.
    public static let defaultAuthorities = [
        "E09000033", "E09000007", "E09000012", "E09000019", "E09000022", "E09000028", "E08000025", "E08000003",
        "E08000035",
        "E08000021", "E06000023", "E06000018",
    ]

    /// The next child (without an id: the index assigns it).
    public mutating func next() -> Contactpoint_V1_ChildEntry {
        if let duplicate = pendingDuplicate {
            pendingDuplicate = nil
            return duplicate
        }
        if family.isEmpty { family = makeFamily() }
        let child = family.removeFirst()
        // About one child in a hundred is entered again by another feed with a misspelt name.
        if random.chance(0.01) { pendingDuplicate = misspelt(child) }
        return child
    }

    // MARK: Families

    private mutating func makeFamily() -> [Contactpoint_V1_ChildEntry] {
        let authorityIndex = random.below(localAuthorities.count)
        let authority = localAuthorities[authorityIndex]
        var familyName = names.surname(&random)
        if random.chance(0.05) { familyName += "-" + names.surname(&random) }
        let address = makeAddress(authorityIndex: authorityIndex)
        var carers: [Contactpoint_V1_Carer] = [
            carer(names.female.randomElement(using: &random)!, familyName, .mother, address)
        ]
        if random.chance(0.7) {
            carers.append(carer(names.male.randomElement(using: &random)!, familyName, .father, address))
        }
        let siblings = [1, 1, 2, 2, 2, 3, 3, 4].randomElement(using: &random)!
        let gp = organisation(.gpPractice, authority, count: 40)
        return (0..<siblings).map { _ in
            let female = random.chance(0.49)
            var given = (female ? names.female : names.male).randomElement(using: &random)!
            if random.chance(0.4) { given += " " + (female ? names.female : names.male).randomElement(using: &random)! }
            let age = random.below(18 * 365)
            let born = CalendarDay(referenceDate)!.adding(days: -age - 1).description
            var child = Contactpoint_V1_ChildDetails.with {
                $0.name = .with {
                    $0.given = given
                    $0.family = familyName
                }
                $0.dateOfBirth = born
                $0.gender = female ? .female : .male
                $0.address = address
                $0.localAuthority = authority
                $0.status = .active
                $0.carers = carers
            }
            if random.chance(0.03) {
                child.otherNames = [
                    .with {
                        $0.given = child.name.given
                        $0.family = names.surname(&random)
                    }
                ]
            }
            var involvements = [involvement(.gpPractice, gp, "Practice manager", bornDaysAgo: age)]
            let settingType: Contactpoint_V1_ServiceType =
                age >= 4 * 365 || organisations != nil ? .educationalSetting : .earlyYears
            let setting = organisation(settingType, authority, count: settingType == .educationalSetting ? 120 : 60)
            involvements.append(involvement(settingType, setting, "Designated safeguarding lead", bornDaysAgo: age))
            if random.chance(0.15) {
                var extra: [Contactpoint_V1_ServiceType] =
                    age >= 10 * 365
                    ? [.socialCare, .schoolNurse, .youthOffendingTeam, .voluntaryService]
                    : [.socialCare, .healthVisitor, .voluntaryService]
                if let organisations { extra = extra.filter { organisations[$0] != nil } }
                if let type = extra.randomElement(using: &random) {
                    involvements.append(
                        involvement(type, organisation(type, authority, count: 5), "Key worker", bornDaysAgo: age))
                }
            }
            return .with {
                $0.child = child
                $0.involvements = involvements
            }
        }
    }

    /// The same child with one name misspelt: two letters swapped, or one dropped.
    private mutating func misspelt(_ entry: Contactpoint_V1_ChildEntry) -> Contactpoint_V1_ChildEntry {
        var copy = entry
        func garble(_ name: String, _ random: inout SplitMix64) -> String {
            var letters = Array(name)
            guard letters.count > 3 else { return name }
            let at = 1 + random.below(letters.count - 2)
            guard letters[at].isLetter, letters[at + 1].isLetter else { return name }
            if random.chance(0.5) { letters.swapAt(at, at + 1) } else { letters.remove(at: at) }
            return String(letters)
        }
        if random.chance(0.5) {
            copy.child.name.given = garble(copy.child.name.given, &random)
        } else {
            copy.child.name.family = garble(copy.child.name.family, &random)
        }
        copy.involvements = Array(copy.involvements.prefix(1))
        return copy
    }

    private mutating func makeAddress(authorityIndex: Int) -> Contactpoint_V1_Address {
        // Each authority draws from its own postcode area, so postcodes and authorities agree.
        let area = names.postcodeAreas[(authorityIndex * 7) % names.postcodeAreas.count]
        let inwardLetters = Array("ABDEFGHJLNPQRSTUWXYZ")
        // Drawn in this order, so that a seed gives the population it always gave.
        let district = 1 + random.below(20)
        let sector = random.below(10)
        let unit = [inwardLetters.randomElement(using: &random)!, inwardLetters.randomElement(using: &random)!]
        let postcode = "\(area)\(district) \(sector)\(String(unit))"
        let streets = [
            "High Street", "Church Road", "Station Road", "Victoria Road", "Green Lane", "Manor Road", "Park Road",
            "Queens Road",
        ]
        return .with {
            $0.lines = ["\(1 + random.below(200)) \(streets.randomElement(using: &random)!)"]
            $0.town = "Town \(area)"
            $0.postcode = postcode
        }
    }

    private mutating func carer(
        _ given: String, _ family: String, _ relationship: Contactpoint_V1_CarerRelationship,
        _ address: Contactpoint_V1_Address
    )
        -> Contactpoint_V1_Carer
    {
        .with {
            $0.name = .with {
                $0.given = given
                $0.family = family
            }
            $0.relationship = relationship
            $0.parentalResponsibility = true
            $0.address = address
            $0.telephone = "07700 \(String(format: "%06d", random.below(1_000_000)))"
        }
    }

    /// One of `count` organisations of that type in the authority, or the fixed one.
    private mutating func organisation(_ type: Contactpoint_V1_ServiceType, _ authority: String, count: Int)
        -> Organisation
    {
        if let fixed = organisations?[type] { return fixed }
        let number = 1 + random.below(count)
        let kind = type.code!
        return Organisation(
            id: "\(kind)-\(authority.lowercased())-\(number)",
            name: "\(kind.replacingOccurrences(of: "-", with: " ").capitalized) \(number) \(authority)")
    }

    /// An involvement that started within the last three years, never before the child was born.
    private mutating func involvement(
        _ type: Contactpoint_V1_ServiceType, _ organisation: Organisation, _ role: String, bornDaysAgo: Int
    ) -> Contactpoint_V1_InvolvementDetails {
        let started = CalendarDay(referenceDate)!.adding(days: -random.below(min(bornDaysAgo, 3 * 365) + 1)).description
        return .with {
            $0.serviceType = type
            $0.organisationID = organisation.id
            $0.organisationName = organisation.name
            $0.contact = .with {
                $0.name = "\(names.female.randomElement(using: &random)!) \(names.surname(&random))"
                $0.role = role
                $0.telephone = "020 7946 \(String(format: "%04d", random.below(10_000)))"
            }
            $0.startDate = started
        }
    }
}

/// The name lists in the index's resources (see Resources/NOTICE).
struct NameLists: Sendable {
    let female: [String]
    let male: [String]
    let surnames: [String]
    /// Running totals of the surnames' frequency weights, for weighted draws.
    let surnameWeights: [Double]
    let postcodeAreas: [String]

    static let standard: NameLists = {
        func lines(_ name: String, _ ext: String) -> [String] {
            guard let url = Bundle.module.url(forResource: name, withExtension: ext),
                let text = try? String(contentsOf: url, encoding: .utf8)
            else {
                fatalError("the index's resources lack \(name).\(ext)")
            }
            return text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        }
        var surnames: [String] = []
        var weights: [Double] = []
        var total = 0.0
        for line in lines("surnames", "tsv").dropFirst() {
            let fields = line.split(separator: "\t")
            guard fields.count == 2, let weight = Double(fields[1]) else { continue }
            total += weight
            surnames.append(String(fields[0]))
            weights.append(total)
        }
        return NameLists(
            female: lines("first-names-female", "txt"), male: lines("first-names-male", "txt"), surnames: surnames,
            surnameWeights: weights,
            postcodeAreas: lines("postcode-areas", "txt"))
    }()

    func surname(_ random: inout SplitMix64) -> String {
        let target = Double(random.next() % 1_000_000) / 1_000_000 * surnameWeights.last!
        var low = 0
        var high = surnameWeights.count - 1
        while low < high {
            let middle = (low + high) / 2
            if surnameWeights[middle] < target { low = middle + 1 } else { high = middle }
        }
        return surnames[low]
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The finaliser: every input bit affects every output bit.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ probability: Double) -> Bool { Double(next() % 1_000_000) < probability * 1_000_000 }
}
