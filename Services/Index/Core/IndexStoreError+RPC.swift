import GRPCCore

extension IndexStoreError: RPCErrorConvertible {
    var rpcErrorCode: RPCError.Code {
        switch self {
        case .noSuchChild, .noSuchInvolvement: .notFound
        case .notYourOrganisation: .permissionDenied
        case .alreadyEnded, .endBeforeStart, .notEmpty: .failedPrecondition
        case .startBeforeBirth: .invalidArgument
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
        }
    }
}
