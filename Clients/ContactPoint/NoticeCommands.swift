import ArgumentParser
import ContactPointAPI
import Foundation
import GRPCCore

/// `contactpoint notices`: what happened to your account that you should know of.
struct Notices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            """
            Security notices about your account: attempts that suggest someone else has your password, and \
            changes to your credentials.
            """,
        subcommands: [List.self, Read.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Your unread notices, oldest first (--all: read ones too).")
        @OptionGroup var bus: BusClientOptions
        @Flag(help: "Read notices too.") var all = false
        @OptionGroup var output: JSONOutput

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            var cursor: UInt64 = 0
            repeat {
                let request = Contactpoint_V1_ListNoticesRequest.with {
                    $0.after = cursor
                    $0.unreadOnly = !all
                }
                let page = try await withNotification(bus) { try await $0.listNotices(request, metadata: metadata) }
                if output.json {
                    for notice in page.notices { _ = try output.printed(notice) }
                } else {
                    if page.notices.isEmpty, cursor == 0 { print(all ? "no notices" : "no unread notices") }
                    for notice in page.notices { print(NoticeText.render(notice)) }
                }
                cursor = page.notices.last?.sequence ?? cursor
                if !page.more { break }
            } while true
            if !all, !output.json, cursor > 0 {
                print("mark them read with `contactpoint notices read --through \(cursor)`")
            }
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark your notices read, up to a notice's number.")
        @OptionGroup var bus: BusClientOptions
        @Option(help: "The newest notice you have read (its number in brackets).") var through: UInt64

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let through = through
            let marked = try await withNotification(bus) {
                try await $0.markNoticesRead(.with { $0.through = through }, metadata: metadata)
            }
            print("\(marked.marked) notice\(marked.marked == 1 ? "" : "s") marked read")
        }
    }

    /// After login: how many notices are unread, or nothing if none (or if they cannot be read now).
    /// `onTheirWay`: notices identity has not yet delivered (the login's grant says which),
    /// counted with the unread ones the notification service lists.
    static func unreadSummary(_ bus: BusClientOptions, token: String, onTheirWay: [String]) async -> String? {
        let options = {
            var options = CallOptions.defaults
            options.timeout = .seconds(3)
            return options
        }()
        let page = try? await withNotification(bus) {
            try await $0.listNotices(
                .with { $0.unreadOnly = true }, metadata: ["authorization": "Bearer \(token)"], options: options)
        }
        guard let page else { return "your security notices cannot be checked now: try `contactpoint notices` later" }
        let unread = Set(page.notices.map(\.eventID)).union(onTheirWay).count
        guard unread > 0 else { return nil }
        let count = page.more ? "\(unread)+" : "\(unread)"
        return
            """
            you have \(count) unread security notice\(unread == 1 && !page.more ? "" : "s"): see \
            `contactpoint notices`
            """
    }
}

/// Text rendering of security notices for the terminal: what happened, and what to do if it was not you.
enum NoticeText {
    static func render(_ notice: Contactpoint_V1_SecurityNotice) -> String {
        let by = notice.actorID.isEmpty ? "" : " by \(notice.actorID)"
        let ifNotYou = "if this was not you, change your password (`contactpoint password`) and tell your administrator"
        let what =
            switch notice.kind {
            case .passwordRightCodeWrong: "a login gave your password with a wrong code: \(ifNotYou)"
            case .codeReplayed: "a login gave your password with a code already used: \(ifNotYou)"
            case .passwordRightPasskeyRefused:
                "a sign-in gave your password with a passkey that was refused: \(ifNotYou)"
            case .passkeyAdded:
                "a passkey was added to your account: if this was not you, tell your administrator at once"
            case .passkeyRemoved:
                "a passkey was removed from your account: if this was not you, tell your administrator"
            case .signedInAfterFailures: "a session started after \(notice.count) failed attempts: \(ifNotYou)"
            case .signedInAfterLongAbsence: "a session started \(notice.count) days after the one before: \(ifNotYou)"
            case .accountLocked: "your account was locked after too many failed attempts"
            case .accountUnlocked: "your account was unlocked\(by)"
            case .passwordChanged: "your password was changed: if this was not you, tell your administrator at once"
            case .passwordChangeFailed:
                "a session of yours tried to change your password with a wrong password or code: \(ifNotYou)"
            case .credentialsReset: "your password and authenticator were reset\(by); you enrolled again"
            case .stepUpFailed: "a session of yours gave a wrong or used code for a sensitive action: \(ifNotYou)"
            case .accountSuspended: "your account was suspended\(by)"
            case .accountActive: "your account became active\(by)"
            case .vettingLapsesSoon:
                "\(whose(notice)) enhanced criminal-records check lapses in \(notice.count) days: "
                    + (notice.aboutPractitionerID.isEmpty
                        ? "ask your administrator to record a new one"
                        : "record a new one (`contactpoint admin users vetting \(notice.aboutPractitionerID)`)")
                    + "; no session starts from the day it lapses"
            case .vettingLapsed:
                "\(whose(notice)) enhanced criminal-records check has lapsed: no session starts until a new one is "
                    + "recorded"
            default: "notice of an unknown kind (\(notice.kind.rawValue)): update contactpoint"
            }
        let read = notice.readAtMs == 0 ? "" : "  (read)"
        func whose(_ notice: Contactpoint_V1_SecurityNotice) -> String {
            notice.aboutPractitionerID.isEmpty ? "your" : "\(notice.aboutPractitionerID)'s"
        }
        return "[\(notice.sequence)] \(formatTime(notice.occurredAtMs))  \(what)\(read)"
    }
}
