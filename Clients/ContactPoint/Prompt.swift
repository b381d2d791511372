import Foundation

/// Reads answers from the terminal — secrets without echo — or, when standard input is not a
/// terminal (scripts, tests), one line per answer from it.
enum Prompt {
    static func line(_ prompt: String, secret: Bool = false) throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true) else {
                throw CLIError("no answer for \"\(prompt)\" on standard input")
            }
            return line
        }
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        if secret {
            tcgetattr(STDIN_FILENO, &saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if secret {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
                FileHandle.standardError.write(Data("\n".utf8))
            }
        }
        guard let line = readLine(strippingNewline: true) else { throw CLIError("no answer for \"\(prompt)\"") }
        return line
    }
}
