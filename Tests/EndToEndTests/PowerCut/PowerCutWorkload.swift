import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import Synchronization

/// What a workload was told was done, each with the wall-clock time (microseconds, as `strace
/// -ttt` counts) at which the reply arrived: after a power cut at a later time, all of it must
/// still be there.
struct Acknowledged: Sendable {
    struct Involvement: Sendable {
        var childID: String
        var involvementID: String
        var indicatorRaised: Bool
    }

    /// The accounts were enrolled and logged in (their sessions must still be good).
    var peopleAt: Int64?
    var children: [(id: String, at: Int64)] = []
    /// An involvement appears twice: recorded, and with its indicator raised.
    var involvements: [(Involvement, at: Int64)] = []
    var searches: [(childID: String, at: Int64)] = []
    var views: [(childID: String, at: Int64)] = []

    /// What had been acknowledged before `micros`.
    func before(_ micros: Int64) -> Acknowledged {
        var earlier = Acknowledged()
        earlier.peopleAt = peopleAt.flatMap { $0 < micros ? $0 : nil }
        earlier.children = children.filter { $0.at < micros }
        earlier.involvements = involvements.filter { $0.at < micros }
        earlier.searches = searches.filter { $0.at < micros }
        earlier.views = views.filter { $0.at < micros }
        return earlier
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// Acknowledgements as they arrive, from concurrent callers.
final class AcknowledgementLog: Sendable {
    private let state = Mutex(Acknowledged())

    /// Notes what `change` adds, at the time of the call: call it once the reply has arrived.
    @Sendable func record(_ change: (inout Acknowledged, Int64) -> Void) {
        state.withLock { change(&$0, Acknowledged.now()) }
    }

    var acknowledged: Acknowledged { state.withLock { $0 } }
}

/// The accounts of a workload: sessions obtained before the cut and used after it.
struct WorkloadPeople: Sendable {
    var administratorToken: String
    var practitionerToken: String
    var auditorToken: String

    var administrator: Metadata { ["authorization": "Bearer \(administratorToken)"] }
    var practitioner: Metadata { ["authorization": "Bearer \(practitionerToken)"] }
    var auditor: Metadata { ["authorization": "Bearer \(auditorToken)"] }
}

/// The loop of acknowledged writes the power-cut test cuts into: children loaded, then from
/// `writers` concurrent callers an involvement recorded, an indicator raised on it, a search that
/// finds the child and a view of the record, `iterations` times each.
enum PowerCutWorkload {
    static func run(on stack: LocalStack, writers: Int, iterations: Int) async throws -> (WorkloadPeople, Acknowledged)
    {
        let log = AcknowledgementLog()
        let record = log.record

        try await stack.waitForStatus("healthy") { $0.isHealthy }
        try await stack.up.waitForOutput(containing: "first administrator created")
        let enrolled = try await stack.enrolAuditorAndPractitioner()
        let auditorToken = try await stack.withIdentityClient { identity in
            try await identity.login(
                .with {
                    $0.email = enrolled.auditorEmail
                    $0.password = enrolled.auditorPassword
                    $0.totpCode = enrolled.auditorOTP.code(at: Int64(Date().timeIntervalSince1970))
                }
            ).token
        }
        let people = WorkloadPeople(
            administratorToken: enrolled.administratorToken, practitionerToken: enrolled.practitionerToken,
            auditorToken: auditorToken)
        record { $0.peopleAt = $1 }

        var generator = PopulationGenerator(seed: 26)
        let entries = (0..<(writers * 2)).map { _ in generator.next() }
        try await withGRPCClient(transport: try BusClientTransport(config: stack.operatorClientConfig())) { client in
            let index = Contactpoint_V1_Index.Client(wrapping: client)
            let ids = try await index.putChildren(.with { $0.children = entries }, metadata: people.administrator)
                .childIds
            record { state, at in state.children = ids.map { ($0, at) } }

            try await withThrowingDiscardingTaskGroup { group in
                for writer in 0..<writers {
                    group.addTask {
                        for iteration in 0..<iterations {
                            let which = writer * 2 + iteration % 2
                            let (childID, child) = (ids[which], entries[which].child)
                            let involvement = try await index.recordInvolvement(
                                .with {
                                    $0.childID = childID
                                    $0.involvement = .with {
                                        $0.serviceType = .voluntaryService
                                        $0.organisationName = "Hillside Primary"
                                        $0.contact = .with {
                                            $0.name = "Sam Carter"
                                            $0.role = "Writer \(writer), iteration \(iteration)"
                                            $0.telephone = "020 7946 0999"
                                        }
                                    }
                                }, metadata: people.practitioner)
                            let id = involvement.involvementID
                            record {
                                $0.involvements.append(
                                    (.init(childID: childID, involvementID: id, indicatorRaised: false), $1))
                            }
                            _ = try await index.setIndicator(
                                .with {
                                    $0.involvementID = id
                                    $0.kind = .informationToShare
                                    $0.raised = true
                                }, metadata: people.practitioner)
                            record {
                                $0.involvements.append(
                                    (.init(childID: childID, involvementID: id, indicatorRaised: true), $1))
                            }
                            let found = try await index.searchChildren(
                                .with {
                                    $0.reason = .with { $0.code = .serviceProvision }
                                    $0.givenName = String(child.name.given.split(separator: " ")[0])
                                    $0.familyName = child.name.family
                                    $0.dateOfBirth = child.dateOfBirth
                                }, metadata: people.practitioner)
                            if found.matches.contains(where: { $0.childID == childID }) {
                                record { $0.searches.append((childID, $1)) }
                            }
                            _ = try await index.viewRecord(
                                .with {
                                    $0.childID = childID
                                    $0.reason = .with { $0.code = .cafAssessment }
                                }, metadata: people.practitioner)
                            record { $0.views.append((childID, $1)) }
                        }
                    }
                }
            }
        }
        return (people, log.acknowledged)
    }
}
