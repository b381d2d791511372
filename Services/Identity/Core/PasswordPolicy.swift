import Foundation

/// What a password must be (OWASP ASVS 5.0 V6.2): long enough, not too long for the hash to
/// take every character, not one attackers try first, and not built from words of this system.
/// No composition rules.
///
/// "Tried first" means, compared without case: one of the 30,000 most common leaked passwords
/// (`Resources/common-passwords.txt`, see its NOTICE), such a password with digits or symbols
/// added at the end (`dragon2024!`), one repeated (`qwertyqwerty`), or one of the
/// ``contextWords`` (ASVS 6.1.2) with or without such additions. With a breached-password corpus
/// (``BreachedPasswords``), also any password in it, exactly as typed (ASVS 6.2.12).
struct PasswordPolicy: Sendable {
    var lengths: ClosedRange<Int> = 12...128
    /// The breached-password corpus (`breached-passwords` setting), when the deployment has one.
    var breached: BreachedPasswords?

    /// Words of this system and its users' work that make guessable passwords (ASVS 6.1.2).
    static let contextWords: Set<String> = [
        "contactpoint", "contact point", "everychildmatters", "every child matters", "safeguarding", "childprotection",
        "child protection", "socialcare", "social care", "practitioner", "caf assessment", "namedperson",
        "named person",
        "localauthority", "local authority", "youthoffending", "childrensservices", "children's services",
    ]

    /// The common-password list, loaded once.
    static let commonPasswords: Set<String> = {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            // The list ships inside the executable's resource bundle; without it the policy would
            // silently weaken, so refuse to run instead.
            fatalError("common-passwords.txt is missing from the identity service's resources")
        }
        return Set(text.split(separator: "\n").map(String.init))
    }()

    /// Why `password` is not acceptable for the account `email`, or `nil`.
    func problem(with password: String, email: String) -> String? {
        let length = password.unicodeScalars.count
        if length < lengths.lowerBound { return "a password needs at least \(lengths.lowerBound) characters" }
        if length > lengths.upperBound { return "a password has at most \(lengths.upperBound) characters" }
        let lowered = password.lowercased()
        if isGuessable(lowered) { return "that password is among the ones attackers try first: choose another" }
        if let breached, breached.contains(password) {
            return "that password has appeared in a data breach: choose another"
        }
        if let name = email.split(separator: "@").first, name.count >= 4, lowered.contains(name.lowercased()) {
            return "a password must not contain the account's email name"
        }
        return nil
    }

    private func isGuessable(_ lowered: String) -> Bool {
        let known = { (candidate: String) in
            Self.commonPasswords.contains(candidate) || Self.contextWords.contains(candidate)
        }
        if known(lowered) { return true }
        // A known password with digits or symbols added at the end.
        let base = String(lowered.reversed().drop { !$0.isLetter }.reversed())
        if base.count >= 4, base != lowered, known(base) { return true }
        // One known password, or one short pattern, repeated.
        guard lowered.count >= 2 else { return false }
        for unit in 1...(lowered.count / 2) where lowered.count % unit == 0 {
            let piece = String(lowered.prefix(unit))
            if String(repeating: piece, count: lowered.count / unit) == lowered, unit < 4 || known(piece) {
                return true
            }
        }
        return false
    }
}
