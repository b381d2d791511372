import Testing

@testable import Identity

@Suite("Password policy")
struct PasswordPolicyTests {
    let policy = PasswordPolicy()
    let email = "sam.carter@hillside.example"

    @Test("the list of common passwords is the published 30,000")
    func listLoaded() {
        #expect(PasswordPolicy.commonPasswords.count == 30_000)
        #expect(PasswordPolicy.commonPasswords.contains("1qaz2wsx3edc"))
    }

    @Test(
        "guessable passwords are refused",
        arguments: [
            "1qaz2wsx3edc",  // common, 12 characters
            "QWERTY123456",  // common, in any case
            "sunshine2024!!",  // common word with digits and symbols added
            "dragondragon",  // a common password repeated
            "aaaaaaaaaaaaaaaa",  // one character repeated
            "abcabcabcabc",  // a short pattern repeated
            "ContactPoint2026",  // a word of this system
            "safeguarding!!",
        ])
    func refused(_ password: String) {
        #expect(policy.problem(with: password, email: email) != nil, "\(password)")
    }

    @Test(
        "long, unusual passwords of any composition are accepted",
        arguments: [
            "correct horse battery staple", "tea and biscuits at four", "żółw idzie powoli 🐢",
            String(repeating: "x", count: 60) + "y",
        ])
    func accepted(_ password: String) {
        #expect(policy.problem(with: password, email: email) == nil, "\(password)")
    }

    @Test("too short, too long, and the account's own email name are refused")
    func bounds() {
        #expect(policy.problem(with: "eleven chars", email: email) == nil)
        #expect(policy.problem(with: "elevenchars", email: email) == "a password needs at least 12 characters")
        #expect(
            policy.problem(with: String(repeating: "ab1", count: 43), email: email)
                == "a password has at most 128 characters")
        #expect(
            policy.problem(with: "i am sam.carter at work", email: email)
                == "a password must not contain the account's email name")
    }
}
