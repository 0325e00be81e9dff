import Foundation
import StoreMemory
import Testing
import VpopmailCore

/// An installation in a temporary directory on the in-memory stores, owned by the user running
/// the tests (no root, no servers): for the login and delivery decisions in process.
final class Sandbox: @unchecked Sendable {
    let root: String
    let installation: Installation
    let stores = MemoryStores()
    let domain: DomainInfo

    init(_ config: String = "") throws {
        root = NSTemporaryDirectory() + "vpop-outcome-\(UUID().uuidString.prefix(8))"
        for d in ["/home/etc", "/home/domains", "/qmail/users", "/qmail/control"] {
            try FileManager.default.createDirectory(atPath: root + d, withIntermediateDirectories: true)
        }
        let c = try Config.parse("file-sync = n\n" + config, file: "test")
        installation = Installation(home: root + "/home", config: c, qmailDir: root + "/qmail", stores: stores.set)
        // A domain may not be root's: as root the tests use the vpopmail ids.
        domain = try installation.addDomain("example.com", uid: ownerIDs.uid, gid: ownerIDs.gid).domain
        try installation.addUser(.init(name: UserName("joe")!, password: .clear(ClearPassword("secret")), quota: Quota.parse("1M")), domain: "example.com")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func login(_ login: String, _ password: String, challenge: String = "", port: String = "110",
               lookupOnly: Bool = false, remoteIP: String = "192.0.2.7") -> AuthResult {
        let input = Array("\(login)\0\(password)\0\(challenge)\0".utf8)
        // Lookups are Dovecot's (checkpassword-reply); anywhere else AUTHORIZED=1 is ignored.
        let r = LoginRequest(input: input, truncated: false, port: port, serviceName: nil,
                             program: lookupOnly ? "/usr/lib/dovecot/checkpassword-reply" : "/bin/true",
                             localIP: nil, remoteIP: remoteIP, lookupOnly: lookupOnly)
        var a = Authenticator(installation, request: r)
        return a.authenticate(r)
    }

    func account(_ name: String) throws -> Account { try #require(try installation.user(name, domain: "example.com")?.account) }

    /// Delivers `text` to `ext@host` with `arg` as the default-delivery argument.
    func deliver(_ text: String, to ext: String, at host: String = "example.com", default arg: String = "delete",
                 dtline: String? = nil) throws -> (DeliveryOutcome, [String]) {
        let path = root + "/msg-\(UUID().uuidString.prefix(8))"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let fd = open(path, O_RDONLY)
        defer { close(fd); unlink(path) }
        let request = DeliveryRequest(ext: ext, host: host, defaultDelivery: arg, rpline: "Return-Path: <a@remote.test>\n",
                                      dtline: dtline ?? "Delivered-To: \(host)-\(ext)@\(host)\n")
        guard case .to(let user, let host) = request.addressee else { return (request.refusal!, []) }
        let d = Deliverer(installation, request: request, user: user, host: host, message: Message(fd: fd, size: text.utf8.count))
        // setuid would change the ids of the whole test process (every thread).
        d.becomesOwner = false
        var said: [String] = []
        d.say = { said.append($0) }
        return (d.deliver(), said)
    }

    func newMessages(_ maildir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: maildir + "/new")) ?? []).sorted()
    }
}

@Suite struct LoginOutcomes {
    @Test func rightPasswordLogsInWithTheDomainsIds() throws {
        let s = try Sandbox()
        guard case .ok(let login) = s.login("Joe@Example.COM", "secret") else { Issue.record("not ok"); return }
        #expect(login.user == "joe" && login.dovecotUser == "joe@example.com" && login.vpopUser == "joe@example.com")
        #expect(login.home == s.domain.dir + "/joe" && login.uid == ownerIDs.uid && login.switchesUser)
        guard case .virtual(let a, let d) = login.owner else { Issue.record("not virtual"); return }
        #expect(a.name == "joe" && d.realDomain == "example.com")
        #expect(try s.stores.lastAuth(of: s.account("joe"), in: s.domain)?.ip == "192.0.2.7")
    }

    @Test func wrongPasswordUnknownUserAndBadInputAreTheirOwnOutcomes() throws {
        let s = try Sandbox()
        #expect(Self.name(s.login("joe@example.com", "wrong")) == "passwordMismatch")
        #expect(Self.name(s.login("ghost@example.com", "secret")) == "unknownUser")
        #expect(Self.name(s.login("joe@nowhere.test", "secret")) == "unknownUser")
        #expect(Self.name(s.login("", "secret")) == "emptyLogin")
        #expect(Self.name(s.login("joe@example.com", "")) == "emptyPassword")
        #expect(Self.name(s.login("jo e@example.com", "secret")) == "badCharacters")
        #expect(Self.name(s.login("../x@example.com", "secret")) == "badCharacters")
        #expect(Self.name(s.login("joe@example.com", String(repeating: "x", count: 200))) == "passwordMismatch")
        let long = LoginRequest(input: Array("joe@example.com\0secret\0\0".utf8), truncated: true, port: "110", serviceName: nil,
                                program: "x", localIP: nil, remoteIP: "", lookupOnly: false)
        var a = Authenticator(s.installation, request: long)
        #expect(Self.name(a.authenticate(long)) == "inputTooLong")
    }

    @Test func serviceFlagsRefuseOnlyTheirService() throws {
        let s = try Sandbox("webmail-ips = 127.0.0.9\n")
        try s.installation.modifyUser("joe", domain: "example.com") { $0.flags = [.noPOP] }
        #expect(Self.name(s.login("joe@example.com", "secret", port: "110")) == "serviceDisabled")
        #expect(Self.name(s.login("joe@example.com", "secret", port: "143")) == "ok")
        // A Dovecot lookup of a closed account is an unknown user.
        #expect(Self.name(s.login("joe@example.com", "", port: "110", lookupOnly: true)) == "unknownUser")
        // POP from a webmail address is webmail.
        #expect(Self.name(s.login("joe@example.com", "secret", port: "110", remoteIP: "127.0.0.9")) == "ok")
        try s.installation.modifyUser("joe", domain: "example.com") { $0.flags = [.noWebmail] }
        #expect(Self.name(s.login("joe@example.com", "secret", port: "110", remoteIP: "127.0.0.9")) == "serviceDisabled")
        // SMTP keeps the caller's ids.
        guard case .ok(let smtp) = s.login("joe@example.com", "secret", port: "25") else { Issue.record("smtp"); return }
        #expect(!smtp.switchesUser)
    }

    @Test func apopAndCramMD5NeedTheClearPassword() throws {
        let s = try Sandbox("clear-passwd = y\n")
        try s.installation.addUser(.init(name: UserName("ann")!, password: .clear(ClearPassword("s3cret"))), domain: "example.com")
        let stamp = "<1.2@mail.test>"
        let apop = MD5.hex(MD5.digest(Array((stamp + "s3cret").utf8)))
        #expect(Self.name(s.login("ann@example.com", apop, challenge: stamp)) == "ok")
        let cram = MD5.hex(MD5.hmac(key: Array("s3cret".utf8), Array(stamp.utf8)))
        #expect(Self.name(s.login("ann@example.com", cram, challenge: stamp, port: "25")) == "ok")
        #expect(Self.name(s.login("ann@example.com", cram, challenge: stamp, port: "110")) == "passwordMismatch")
    }

    @Test func accountWithoutPasswordIsRefusedOrLearns() throws {
        let s = try Sandbox()
        try s.installation.modifyUser("joe", domain: "example.com") { $0.passwordHash = "" }
        #expect(Self.name(s.login("joe@example.com", "anything")) == "noPassword")
        let learning = try Sandbox("learn-passwords = y\n")
        try learning.installation.modifyUser("joe", domain: "example.com") { $0.passwordHash = "" }
        #expect(Self.name(learning.login("joe@example.com", "first")) == "ok")
        #expect(Self.name(learning.login("joe@example.com", "second")) == "passwordMismatch")
        #expect(Self.name(learning.login("joe@example.com", "first")) == "ok")
    }

    @Test func authLogGetsEveryEventWithoutThePassword() throws {
        let s = try Sandbox("sql-logging = y\n")
        _ = s.login("joe@example.com", "Wr0ng-Secret%")
        _ = s.login("joe@example.com", "secret")
        // The in-memory set keeps an auth log whatever the configuration says.
        #expect(s.stores.events.map(\.message) == ["password fail joe@example.com:192.0.2.7", "(PLAIN) login success joe@example.com:192.0.2.7"])
        #expect(s.stores.events.map(\.isError) == [true, false])
        #expect(!s.stores.events.contains { $0.message.contains("Wr0ng") || $0.login.contains("secret") })
    }

    static func name(_ r: AuthResult) -> String {
        if case .ok = r { return "ok" }
        return "\(r)"
    }
}

@Suite struct DeliveryOutcomes {
    let body = "Subject: hi\n\nhello\n"

    @Test func mailboxGetsTheMessageWithItsHeaders() throws {
        let s = try Sandbox()
        let cwd = FileManager.default.currentDirectoryPath
        let (o, said) = try s.deliver(body, to: "Joe")
        #expect(o == .delivered && said.isEmpty)
        // The delivery works in the home without moving the process there.
        #expect(FileManager.default.currentDirectoryPath == cwd)
        let md = s.domain.dir + "/joe/Maildir"
        let names = s.newMessages(md)
        #expect(names.count == 1)
        let text = try String(contentsOfFile: md + "/new/" + names[0], encoding: .utf8)
        #expect(text == "Return-Path: <a@remote.test>\nDelivered-To: joe@example.com\n" + body)
        #expect(names[0].hasSuffix(",S=\(text.utf8.count)"))
        // maildirsize got the delivery.
        #expect(try String(contentsOfFile: md + "/maildirsize", encoding: .utf8).hasSuffix("\(text.utf8.count) 1\n"))
    }

    @Test func unknownUsersFollowTheDefaultArgument() throws {
        let s = try Sandbox()
        #expect(try s.deliver(body, to: "ghost").0 == .delivered)
        #expect(try s.deliver(body, to: "ghost", default: "bounce-no-mailbox").0 == .bounce(BounceText.noMailbox))
        try "No such person here.\n".write(toFile: s.domain.dir + "/.no-user.msg", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "ghost", default: "bounce-no-mailbox").0 == .bounce("No such person here."))
        let (o, said) = try s.deliver(body, to: "ghost", default: s.domain.dir + "/joe")
        #expect(o == .delivered && said == [BounceText.deliveringToDefault(s.domain.dir + "/joe/")])
        #expect(s.newMessages(s.domain.dir + "/joe/Maildir").count == 1)
    }

    @Test func refusalsLoopsAndLockedAccounts() throws {
        let s = try Sandbox()
        #expect(DeliveryRequest(ext: "joe", host: "example.com", defaultDelivery: nil).refusal == .deferred(BounceText.badSyntax))
        #expect(DeliveryRequest(ext: nil, host: "example.com", defaultDelivery: "delete").refusal == .bounce(BounceText.noExtension))
        #expect(DeliveryRequest(ext: "../x", host: "example.com", defaultDelivery: "delete").refusal == .bounce(BounceText.invalidUser))
        #expect(DeliveryRequest(ext: "joe", host: "exa$mple.com", defaultDelivery: "delete").refusal == .bounce(BounceText.invalidDomain))
        #expect(try s.deliver(body, to: "joe", dtline: "Delivered-To: joe@example.com\n").0 == .bounce(BounceText.looping))
        #expect(try s.deliver("Delivered-To: JOE@example.com\n" + body, to: "joe").0 == .bounce(BounceText.looping))
        #expect(try s.deliver(body, to: "joe", at: "unassigned.test").0 == .deferred(BounceText.domainNotAssigned("unassigned.test")))
        try s.installation.modifyUser("joe", domain: "example.com") { $0.flags = [.bounceMail] }
        #expect(try s.deliver(body, to: "joe").0 == .bounce(BounceText.locked("joe@example.com")))
    }

    @Test func quotaBouncesOnlyWhatDoesNotFit() throws {
        let s = try Sandbox("small-message-bytes = 0\n")
        try s.installation.setQuota("joe", domain: "example.com", quota: Quota.parse("100"))
        #expect(try s.deliver(body, to: "joe").0 == .delivered)
        let big = body + String(repeating: "x", count: 200) + "\n"
        #expect(try s.deliver(big, to: "joe").0 == .bounce(BounceText.overQuota + "\n"))
        #expect(s.newMessages(s.domain.dir + "/joe/Maildir").count == 1)
    }

    /// (Program lines fork, which a test process running other tests beside must not: the end-to-end
    /// tests run those, in vdelivermail's own process.)
    @Test func aliasRowsAreDeliveredLineByLine() throws {
        let s = try Sandbox()
        let joe = s.domain.dir + "/joe/Maildir/"
        try s.installation.addUser(.init(name: UserName("ann")!, password: .clear(ClearPassword("pw"))), domain: "example.com")
        let ann = s.domain.dir + "/ann/Maildir/"
        try s.installation.addAliasLine("sales", joe, domain: "example.com")
        try s.installation.addAliasLine("sales", ann, domain: "example.com")
        let (o, said) = try s.deliver(body, to: "sales")
        #expect(o == .delivered && said == [BounceText.valiasesProcessed])
        #expect(s.newMessages(joe).count == 1)
        // The nearest <prefix>-default alias takes what has none of its own.
        try s.installation.addAliasLine("team-default", joe, domain: "example.com")
        #expect(try s.deliver(body, to: "team-x").0 == .delivered)
        #expect(s.newMessages(joe).count == 2)
        // A Maildir line naming another mailbox delivers with that mailbox's address.
        let text = try String(contentsOfFile: ann + "new/" + s.newMessages(ann)[0], encoding: .utf8)
        #expect(text.contains("Delivered-To: ann@example.com\n"))
    }

    @Test func dotQmailLinesAreReadTheQmailWay() {
        #expect(DotQmailLine("# note") == .comment)
        #expect(DotQmailLine("") == .comment)
        #expect(DotQmailLine("|  /usr/bin/true\r") == .program("/usr/bin/true"))
        #expect(DotQmailLine("./Maildir/") == .maildir("./Maildir/"))
        #expect(DotQmailLine("/var/mail/joe") == .mbox("/var/mail/joe"))
        #expect(DotQmailLine("&joe@example.com") == .forward("joe@example.com"))
        #expect(DotQmailLine("joe@example.com") == .forward("joe@example.com"))
    }
}

/// The owner of the tests' domain: the caller, or the vpopmail ids when that is root.
let ownerIDs: (uid: UInt32, gid: UInt32) = getuid() == 0 ? (89, 89) : (getuid(), getgid())
