public import Logging

extension LoggingSystem {
    /// Sends every process's log to standard error at `level`: one line per event with the
    /// message and its dotted metadata keys.
    public static func bootstrapStandardError(level: Logger.Level) {
        bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
