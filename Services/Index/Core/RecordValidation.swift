import ContactPointAPI
import GRPCCore
import RecordFields

/// Whole messages checked field by field (``FieldValidation``) and returned normalised: names
/// trimmed, postcodes in their standard form. The first bad field is the error.
enum RecordValidation {
    typealias V = FieldValidation

    /// A batch of children as a feed gives them; the first bad field is named `children[N]…`,
    /// counting from `offset`.
    static func entries(
        _ entries: [Contactpoint_V1_ChildEntry], today: String, offset: Int = 0
    ) throws(RPCError) -> [Contactpoint_V1_ChildEntry] {
        var valid: [Contactpoint_V1_ChildEntry] = []
        valid.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            let field = "children[\(offset + index)]"
            var checked = Contactpoint_V1_ChildEntry()
            guard entry.hasChild else { throw V.invalid("\(field).child", "the child's details are required") }
            checked.child = try child(entry.child, "\(field).child", today: today)
            guard entry.involvements.count <= 20 else { throw V.invalid("\(field).involvements", "at most 20") }
            checked.involvements = try entry.involvements.enumerated().map { (i, involvement) throws(RPCError) in
                try self.involvement(
                    involvement, "\(field).involvements[\(i)]", today: today, bornOn: checked.child.dateOfBirth)
            }
            valid.append(checked)
        }
        return valid
    }

    static func child(_ child: Contactpoint_V1_ChildDetails, _ field: String, today: String) throws(RPCError)
        -> Contactpoint_V1_ChildDetails
    {
        var valid = child
        if !child.childID.isEmpty { _ = try V.childID(child.childID, "\(field).child_id") }
        guard child.hasName else { throw V.invalid("\(field).name", "a child needs a name") }
        valid.name = try name(child.name, "\(field).name")
        guard child.otherNames.count <= 10 else { throw V.invalid("\(field).other_names", "at most 10") }
        for (i, other) in child.otherNames.enumerated() {
            valid.otherNames[i] = try name(other, "\(field).other_names[\(i)]")
        }
        valid.dateOfBirth = try V.pastDate(child.dateOfBirth, "\(field).date_of_birth", today: today)
        guard child.gender.code != nil else {
            throw V.invalid("\(field).gender", Contactpoint_V1_Gender.codes.joined(separator: ", "))
        }
        if child.hasAddress { valid.address = try address(child.address, "\(field).address") }
        guard child.previousAddresses.count <= 10 else { throw V.invalid("\(field).previous_addresses", "at most 10") }
        for (i, old) in child.previousAddresses.enumerated() {
            valid.previousAddresses[i] = try address(old, "\(field).previous_addresses[\(i)]")
        }
        valid.localAuthority = try V.localAuthority(child.localAuthority, "\(field).local_authority")
        if child.status == .unspecified { valid.status = .active }
        guard valid.status.code != nil else { throw V.invalid("\(field).status", "active, archived or deceased") }
        guard child.carers.count <= 10 else { throw V.invalid("\(field).carers", "at most 10") }
        for (i, carer) in child.carers.enumerated() { valid.carers[i] = try self.carer(carer, "\(field).carers[\(i)]") }
        return valid
    }

    static func name(_ name: Contactpoint_V1_PersonName, _ field: String) throws(RPCError) -> Contactpoint_V1_PersonName
    {
        var valid = name
        valid.given = try V.personName(name.given, "\(field).given")
        valid.family = try V.personName(name.family, "\(field).family")
        return valid
    }

    static func address(_ address: Contactpoint_V1_Address, _ field: String) throws(RPCError) -> Contactpoint_V1_Address
    {
        var valid = address
        guard (1...4).contains(address.lines.count) else { throw V.invalid("\(field).lines", "1–4 lines") }
        for (i, line) in address.lines.enumerated() { valid.lines[i] = try V.addressText(line, "\(field).lines[\(i)]") }
        if !address.town.isEmpty { valid.town = try V.addressText(address.town, "\(field).town") }
        valid.postcode = try V.postcode(address.postcode, "\(field).postcode")
        return valid
    }

    static func carer(_ carer: Contactpoint_V1_Carer, _ field: String) throws(RPCError) -> Contactpoint_V1_Carer {
        var valid = carer
        guard carer.hasName else { throw V.invalid("\(field).name", "a carer needs a name") }
        valid.name = try name(carer.name, "\(field).name")
        guard carer.relationship.code != nil else {
            throw V.invalid("\(field).relationship", Contactpoint_V1_CarerRelationship.codes.joined(separator: ", "))
        }
        if carer.hasAddress { valid.address = try address(carer.address, "\(field).address") }
        if !carer.telephone.isEmpty { valid.telephone = try V.telephone(carer.telephone, "\(field).telephone") }
        return valid
    }

    /// An involvement as recorded or fed; with `bornOn` (`YYYY-MM-DD`), it may not start before it.
    static func involvement(
        _ involvement: Contactpoint_V1_InvolvementDetails, _ field: String, today: String, bornOn: String? = nil
    ) throws(RPCError) -> Contactpoint_V1_InvolvementDetails {
        var valid = involvement
        guard involvement.serviceType.code != nil else {
            throw V.invalid("\(field).service_type", Contactpoint_V1_ServiceType.codes.joined(separator: ", "))
        }
        valid.organisationID = try V.organisationID(involvement.organisationID, "\(field).organisation_id")
        valid.organisationName = try V.label(involvement.organisationName, "\(field).organisation_name", maximum: 200)
        guard involvement.hasContact else {
            throw V.invalid("\(field).contact", "the practitioner to contact is required")
        }
        valid.contact = try contact(involvement.contact, "\(field).contact")
        valid.startDate =
            involvement.startDate.isEmpty
            ? today : try V.pastDate(involvement.startDate, "\(field).start_date", today: today)
        if let bornOn, valid.startDate < bornOn {
            throw V.invalid("\(field).start_date", "must not be before the child was born")
        }
        return valid
    }

    static func contact(_ contact: Contactpoint_V1_PractitionerContact, _ field: String) throws(RPCError)
        -> Contactpoint_V1_PractitionerContact
    {
        var valid = contact
        valid.name = try V.personName(contact.name, "\(field).name")
        valid.role = try V.label(contact.role, "\(field).role", maximum: 100)
        guard !contact.telephone.isEmpty || !contact.secureEmail.isEmpty else {
            throw V.invalid("\(field).telephone", "a telephone number or a secure email is required")
        }
        if !contact.telephone.isEmpty { valid.telephone = try V.telephone(contact.telephone, "\(field).telephone") }
        if !contact.secureEmail.isEmpty {
            valid.secureEmail = try V.email(contact.secureEmail, "\(field).secure_email")
        }
        return valid
    }
}
