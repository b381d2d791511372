import GRPCCore

extension IndexStoreError: RPCErrorConvertible {
    var rpcErrorCode: RPCError.Code {
        switch self {
        case .noSuchChild, .noSuchInvolvement: .notFound
        case .notYourOrganisation: .permissionDenied
        case .alreadyEnded, .endBeforeStart, .notEmpty: .failedPrecondition
        case .startBeforeBirth, .adult: .invalidArgument
        }
    }

    var rpcErrorMessage: String {
        switch self {
        case .noSuchChild(let id): "child_id: no child \(id) on the index"
        case .noSuchInvolvement(let id): "involvement_id: no involvement \(id)"
        case .notYourOrganisation: "only the organisation that recorded an involvement may change it"
        case .alreadyEnded(let id): "involvement \(id) has ended"
        case .endBeforeStart: "end_date: must not be before the involvement's start date"
        case .startBeforeBirth: "involvement.start_date: must not be before the child was born"
        case .notEmpty: "an initial load is only for an empty index; load into this one without --initial"
        case .adult(let position, let cutoff):
            """
            children[\(position)].child.date_of_birth: a young person of 18 or over (born on or before \(cutoff)) \
            is not added to the index
            """
        }
    }
}
