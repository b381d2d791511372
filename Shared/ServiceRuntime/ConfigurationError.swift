/// A setting that is missing, malformed or unknown: one line naming the key, where the bad
/// value came from, what is wrong and how to fix it.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with a value and how to fix it, before it is known which key it was for.
    public struct Problem: Error {
        public var problem: String
        public var fix: String

        public init(_ problem: String, fix: String) {
            self.problem = problem
            self.fix = fix
        }
    }

    public var key: String
    /// A flag, an environment variable, or `file:line`.
    public var source: String
    public var problem: String
    public var fix: String

    public init(key: String, source: String, problem: String, fix: String) {
        self.key = key
        self.source = source
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "configuration error in `\(key)` (from \(source)): \(problem); fix: \(fix)" }
}
