import Foundation
import Testing

/// vdelivermail never loses a message to a missing or unreadable piece: it repairs what vpopmail
/// owns, defers (111) what it cannot know, bounces only what is meant to bounce.
@Suite struct DeliveryFailures {
    let body = "Received: from remote.test\nSubject: hello\n\nThe body.\n"
    let fm = FileManager.default

    func site() throws -> (Site, String) {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "-q", "10000S", "joe@example.com", "Secret-pw1"])
        return (s, s.domainDir("example.com") + "/joe/Maildir")
    }

    @Test func aClosedOrEmptyStdinIsDeferred() throws {
        let (s, md) = try site()
        for prefix in ["exec 0<&-;", "exec 0</dev/null;"] {
            let r = try s.deliver(body, to: "joe", at: "example.com", shellPrefix: prefix)
            #expect(r.status == 111, "\(prefix) \(r)")
        }
        #expect(s.newMessages(md).isEmpty)
    }

    @Test func missingMaildirPartsAreRepaired() throws {
        let (s, md) = try site()
        for part in ["new", "cur", "tmp"] {
            try fm.removeItem(atPath: md + "/" + part)
            let r = try s.deliver(body, to: "joe", at: "example.com")
            #expect(r.status == 0, "\(part): \(r)")
            var st = stat()
            #expect(lstat(md + "/" + part, &st) == 0 && st.st_uid == 89 && st.st_mode & 0o777 == 0o700, "\(part)")
        }
        #expect(s.newMessages(md).count == 3)
        // What cannot be repaired (the home is not the account's own directory) waits.
        try s.ok(["vadduser", "ann@example.com", "Secret-pw2"])
        let ann = s.domainDir("example.com") + "/ann"
        try fm.removeItem(atPath: ann + "/Maildir")
        try fm.createSymbolicLink(atPath: s.domainDir("example.com") + "/0", withDestinationPath: s.root)
        try s.ok(["vmoduser", "-D", s.domainDir("example.com") + "/0/ann", "ann@example.com"])
        let r = try s.deliver(body, to: "ann", at: "example.com")
        #expect(r.status == 111 && r.out.contains("could not be re-created"), "\(r)")
    }

    @Test func anUnreadableDotQmailDefers() throws {
        let (s, md) = try site()
        let dq = s.domainDir("example.com") + "/joe/.qmail"
        try "&elsewhere@remote.test\n".write(toFile: dq, atomically: true, encoding: .utf8)
        chown(dq, 0, 0)
        chmod(dq, 0o600)
        let r = try s.deliver(body, to: "joe", at: "example.com")
        #expect(r.status == 111 && r.out.contains("unable to read \(dq)"), "\(r)")
        #expect(s.newMessages(md).isEmpty)
    }

    @Test func anEmptyDefaultArgumentDefers() throws {
        let (s, _) = try site()
        for arg in ["", " "] {
            let r = try s.deliver(body, to: "nobody", at: "example.com", default: arg)
            #expect(r.status == 111 && r.out.contains("default delivery argument"), "\(r)")
        }
    }

    /// A maildirsize whose totals are negative is counted again: the quota still holds.
    @Test func aNegativeMaildirsizeIsRecounted() throws {
        let (s, md) = try site()
        let big = String(repeating: "x", count: 20_000)
        try "Subject: old\n\n\(big)\n".write(toFile: md + "/cur/1.old,S=20015:2,S", atomically: true, encoding: .utf8)
        try "10000S\n-50000 -3\n".write(toFile: md + "/maildirsize", atomically: true, encoding: .utf8)
        chown(md + "/maildirsize", 89, 89)
        let msg = "Subject: new\n\n" + String(repeating: "y", count: 3000) + "\n"
        let r = try s.deliver(msg, to: "joe", at: "example.com")
        #expect(r.status == 100 && r.out.contains("over quota"), "\(r)")
        #expect(s.newMessages(md).isEmpty)
        let size = s.read(md + "/maildirsize") ?? ""
        #expect(!size.contains("-50000") && size.hasPrefix("10000S\n"), "\(size)")
    }

    /// `AUTHORIZED=1` skips the password only for Dovecot (checkpassword-reply).
    @Test func authorizedIsOnlyDovecots() throws {
        let (s, _) = try site()
        let r = try s.vchkpw("joe@example.com", "wrong", env: ["TCPLOCALPORT": "110", "AUTHORIZED": "1"])
        #expect(r.status == 3, "\(r)")
    }
}
