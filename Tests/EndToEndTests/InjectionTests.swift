import Foundation
import Testing

/// No field can inject a line or a field; CR LF files are read as lines (docs/threat-model.md).
@Suite struct Injection {
    let fm = FileManager.default

    func site(_ config: String = "", store: String = "cdb") throws -> Site { try Site.withJoe(config, store: store) }

    func login(_ s: Site, _ user: String, _ password: String) throws -> Int32 {
        try s.vchkpw(user, password, env: ["TCPLOCALPORT": "110"]).status
    }

    /// Every way a field reaches a file refuses what would start a line (or a field).
    @Test func fieldsCannotAddLines() throws {
        let s = try site("clear-passwd = y\n")
        for bad in ["a\rb", "a\nb", "x\r\ny"] {
            try s.expectRefused(["vpasswd", "joe@example.com", "P" + bad], status: 236, message: "bad character")
            try s.expectRefused(["vmoduser", "-C", "P" + bad, "joe@example.com"], status: 236, message: "bad character")
            try s.expectRefused(["vmoduser", "-c", "G" + bad, "joe@example.com"], status: 236, message: "bad character")
            try s.expectRefused(["vmoduser", "-e", "$1$ab$" + bad, "joe@example.com"], status: 236, message: "bad character")
            try s.expectRefused(["vadduser", "-c", "G" + bad, "new@example.com", "Secret-pw2"], status: 236, message: "bad character")
            try s.expectRefused(["vadduser", "new@example.com", "P" + bad], status: 236, message: "bad character")
            try s.expectRefused(["valias", "-i", "me@elsewhere.test" + bad + "|/bin/sh -c reboot", "team@example.com"],
                                status: 236, message: "bad character")
            try s.expectRefused(["vadddomain", "-d", "/tmp/x" + bad, "example.net", "pw"], status: 236, message: "bad character")
        }
        // A ':' where the clear password is kept in vpasswd; in a directory of users/assign.
        try s.expectRefused(["vpasswd", "joe@example.com", "Pass:word1"], status: 236, message: "bad character")
        try s.expectRefused(["vadddomain", "-d", "/tmp/a:b", "example.net", "pw"], status: 236, message: "bad character")
        // The catch-all of .qmail-default runs through the shell: addresses and names only.
        for bad in ["joe;reboot", "a@b.test c", "x$(id)@b.test", "`id`", "a|b@c.test", "joe'x"] {
            try s.expectRefused(["vadddomain", "-e", bad, "example.org", "pw"], status: 236, message: "bad catch-all")
        }
        try s.ok(["vadddomain", "-e", "joe@example.com", "example.org", "pw"])
        // Empty passwords only when asked for (an empty hash).
        try s.expectRefused(["vpasswd", "joe@example.com", ""], status: 187, message: "password is empty")
        try s.expectRefused(["vmoduser", "-C", "", "joe@example.com"], status: 187, message: "password is empty")
        try "nopw@example.com:\n".write(toFile: s.root + "/import", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "-f", s.root + "/import"], status: 221, message: "expected user@domain:password")
        try "bad@example.com:Pa\rss\n".write(toFile: s.root + "/import", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "-f", s.root + "/import"], status: 236, message: "bad character")
        try s.ok(["vmoduser", "-e", "", "joe@example.com"])
        #expect(try login(s, "joe@example.com", "Secret-pw1") == 15)
        // learn-passwords does not learn one that would break the file.
        try "clear-passwd = y\nlearn-passwords = y\nthrottle = n\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        let before = s.read(s.domainDir("example.com") + "/vpasswd")
        #expect(try login(s, "joe@example.com", "Pa\rss:x") == 111)
        #expect(s.read(s.domainDir("example.com") + "/vpasswd") == before)
        #expect(try login(s, "joe@example.com", "Learned-pw1") == 0)
        #expect(try login(s, "joe@example.com", "Learned-pw1") == 0)
        let lines = s.read(s.domainDir("example.com") + "/vpasswd")!.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines.allSatisfy { !$0.contains("\r") }, "\(lines)")
    }

    /// An SQL row edited outside vpopmail with a line break in a field is refused, never used.
    @Test func sqlRowsWithLineBreaksAreRefused() throws {
        let s = try site(store: "sqlite")
        let r = try s.sql("UPDATE vpopmail SET pw_dir = pw_dir || char(10) || 'x' WHERE pw_name = 'joe'")
        #expect(r.status == 0, "\(r.err)")
        #expect(try login(s, "joe@example.com", "Secret-pw1") == 111)
        let info = try s.run(["vuserinfo", "joe@example.com"])
        #expect(info.status == 176 && info.out.contains("NUL, CR or LF"), "\(info)")
        // vconvert to cdb copies nothing.
        try s.expectRefused(["vconvert", "-c", "-s", "example.com"], status: 176, message: "NUL, CR or LF")
    }

    /// Files edited on another system (CR LF line ends) are read as lines, one test per reader.
    @Test func crlfFilesAreReadAsLines() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        // vpopmail.conf
        try "throttle = n\r\npassword-scheme = md5-crypt\r\nclear-passwd = n\r\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        try s.ok(["vadduser", "md5@example.com", "Secret-pw2"])
        #expect(s.read(dir + "/vpasswd")!.contains("md5:$1$"))
        // A bulk import file.
        try "bulk1@example.com:Bulk-pw-1:5M:Bulk One\r\nbulk2@example.com:Bulk-pw-2\r\n".write(toFile: s.root + "/import", atomically: true, encoding: .utf8)
        try s.ok(["vadduser", "-f", s.root + "/import"])
        #expect(try login(s, "bulk1@example.com", "Bulk-pw-1") == 0 && login(s, "bulk2@example.com", "Bulk-pw-2") == 0)
        #expect(try s.ok(["vuserinfo", "-q", "-c", "bulk1@example.com"]).out == "Bulk One\n5242880S\n" ||
                (try s.ok(["vuserinfo", "-n", "-q", "bulk1@example.com"]).out.contains("5242880S")))
        // vpasswd edited by hand: lines end in CR LF; after vmkpasswd logins work and the next
        // rewrite leaves no CR.
        let pw = s.read(dir + "/vpasswd")!
        try pw.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: dir + "/vpasswd", atomically: true, encoding: .utf8)
        try s.ok(["vmkpasswd", "example.com"])
        #expect(try login(s, "joe@example.com", "Secret-pw1") == 0)
        try s.ok(["vpasswd", "joe@example.com", "Secret-pw3"])
        #expect(!s.read(dir + "/vpasswd")!.contains("\r"))
        #expect(try login(s, "bulk2@example.com", "Bulk-pw-2") == 0)
        // .qmailadmin-limits and vlimits.default.
        try "maxpopaccounts 5\r\n".write(toFile: dir + "/.qmailadmin-limits", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "six@example.com", "Secret-pw4"], status: 172, message: "limit")
        try fm.removeItem(atPath: dir + "/.qmailadmin-limits")
        try "maxpopaccounts 5\r\n".write(toFile: s.home + "/etc/vlimits.default", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "six@example.com", "Secret-pw4"], status: 172, message: "limit")
        try "".write(toFile: s.home + "/etc/vlimits.default", atomically: true, encoding: .utf8)
        // A user's .qmail (vdelivermail) and an alias's .qmail-<name> (valias; qmail-local delivers it).
        let joe = dir + "/joe"
        let ann = dir + "/md5/Maildir"
        try "# forward\r\n\(ann)/\r\n".write(toFile: joe + "/.qmail", atomically: true, encoding: .utf8)
        #expect(try s.deliver("Subject: a\n\nbody\n", to: "joe", at: "example.com").status == 0)
        #expect(s.newMessages(ann).count == 1)
        try "\(ann)/\r\n".write(toFile: dir + "/.qmail-team", atomically: true, encoding: .utf8)
        #expect(try s.ok(["valias", "-s", "team@example.com"]).out.contains("team@example.com -> \(ann)/\n"))
        // .qmail-default: its catch-all is found (and not deletable).
        try "| \(s.home)/bin/vdelivermail '' bulk2@example.com\r\n".write(toFile: dir + "/.qmail-default", atomically: true, encoding: .utf8)
        try s.expectRefused(["vdeluser", "bulk2@example.com"], status: 201, message: "catchall")
        // users/assign (read when users/cdb is missing), control/locals and etc/defaultdomain.
        let assign = s.qmail + "/users/assign"
        try s.read(assign)!.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: assign, atomically: true, encoding: .utf8)
        try fm.removeItem(atPath: s.qmail + "/users/cdb")
        #expect(try s.ok(["vuserinfo", "-n", "joe@example.com"]).out == "joe\n")
        #expect(try login(s, "joe@example.com", "Secret-pw3") == 0)
        try "example.com\r\n".write(toFile: s.home + "/etc/defaultdomain", atomically: true, encoding: .utf8)
        #expect(try login(s, "joe", "Secret-pw3") == 0)
        // password_strength.conf.
        try "policy at least 12 characters\r\nlength >= 12\r\n".write(toFile: s.home + "/etc/password_strength.conf", atomically: true, encoding: .utf8)
        let weak = try s.run(["vpasswd", "joe@example.com", "Short-pw1"])
        #expect(weak.status == 186 && weak.out.contains("at least 12 characters"), "\(weak)")
        try s.ok(["vpasswd", "joe@example.com", "Long-enough-pw1"])
        // tcp.smtp: its rules compile as tcprules reads them.
        try "roaming-users = y\nthrottle = n\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        try "127.:allow,RELAYCLIENT=\"\"\r\n10.1.:deny\r\n".write(toFile: s.home + "/etc/tcp.smtp", atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("joe@example.com", "Long-enough-pw1", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "198.51.100.9"]).status == 0)
        let cdb = s.home + "/etc/tcp.smtp.cdb"
        let deny = try tool(["/usr/bin/env", "TCPREMOTEIP=10.1.2.3", "/usr/bin/tcprulescheck", cdb])
        #expect(deny.out.contains("deny"), "\(deny.out)")
        let relay = try tool(["/usr/bin/env", "TCPREMOTEIP=127.0.0.1", "/usr/bin/tcprulescheck", cdb])
        #expect(relay.out.contains("set environment variable RELAYCLIENT=\nallow connection"), "\(relay.out)")
    }
}
