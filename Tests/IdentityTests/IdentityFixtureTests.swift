import Foundation
import Testing

@Suite("The identity fixture")
struct IdentityFixtureTests {
    @Test("its temporary directory, database included, is removed once the fixture is gone")
    func leavesNothingBehind() async throws {
        var directory = ""
        do {
            let fixture = try await IdentityFixture.make()
            directory = fixture.directory
            #expect(FileManager.default.fileExists(atPath: "\(directory)/identity.sqlite"))
        }
        #expect(!directory.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
