/// What a password must be (OWASP ASVS 5.0 V6.2): long enough, not too long for the hash to
/// take every character, and not one of the passwords attackers try first. No composition rules.
struct PasswordPolicy: Sendable {
    var lengths: ClosedRange<Int> = 12...128

    /// Passwords of 12 characters or more that lead breached-password lists (lower-cased): an
    /// attacker tries these first. Operators can add a full list with the `common-passwords`
    /// setting of `contactpoint-identity`.
    static let builtInCommonPasswords: Set<String> = [
        "123456789012", "1234567890123", "12345678901234", "123456789123", "password1234", "password12345",
        "passwordpassword", "qwertyuiopasdfgh", "qwertyuiop123", "qwerty123456", "1q2w3e4r5t6y", "1qaz2wsx3edc",
        "aaaaaaaaaaaa", "abcdefghijkl", "abc123abc123", "iloveyou1234", "welcome12345", "letmein12345",
        "administrator", "contactpoint", "contactpoint1", "contactpoint123", "changeme1234", "football1234",
    ]

    var commonPasswords = PasswordPolicy.builtInCommonPasswords

    /// Why `password` is not acceptable for the account `email`, or `nil`.
    func problem(with password: String, email: String) -> String? {
        let length = password.unicodeScalars.count
        if length < lengths.lowerBound { return "a password needs at least \(lengths.lowerBound) characters" }
        if length > lengths.upperBound { return "a password has at most \(lengths.upperBound) characters" }
        let lowered = password.lowercased()
        if commonPasswords.contains(lowered) { return "that password is among the most common ones: choose another" }
        if let name = email.split(separator: "@").first, name.count >= 4, lowered.contains(name.lowercased()) {
            return "a password must not contain the account's email name"
        }
        return nil
    }
}
