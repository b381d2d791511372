import BusTransport
import ContactPointAPI
import GRPCCore
import ZeroMQ

/// The health of `service`'s processes, asked through the bus under its scoped health name.
func checkHealth(of service: String, brokers: [BrokerAddress], keyPair: CurveKeyPair) async -> String {
    var config = BusClientTransport.Config(brokers: brokers, keyPair: keyPair)
    config.routes[Grpc_Health_V1_Health.descriptor.fullyQualifiedService] = BusServerTransport.healthServiceName(
        of: service)
    do {
        return try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(2)
            let response = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options)
            return "\(response.status)".uppercasedSnakeCase
        }
    } catch let error as RPCError {
        return "unknown (\(error.code))"
    } catch {
        return "unknown (\(error))"
    }
}

extension String {
    /// `notServing` → `NOT_SERVING`, as gRPC spells statuses.
    fileprivate var uppercasedSnakeCase: String {
        reduce(into: "") { result, character in
            if character.isUppercase { result += "_" }
            result += character.uppercased()
        }
    }
}
