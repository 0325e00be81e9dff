import Foundation
import Testing

/// `KEY=value` lines of an `env` dump.
func envDump(_ out: String) -> [String: String] {
    var d: [String: String] = [:]
    for l in out.split(separator: "\n") {
        if let eq = l.firstIndex(of: "=") { d[String(l[..<eq])] = String(l[l.index(after: eq)...]) }
    }
    return d
}

/// A Unix datagram socket standing in for /dev/log: collects what vchkpw sends to syslog.
final class SyslogCollector {
    let path: String
    let fd: Int32

    init(path: String) {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.utf8.enumerated() { p[i] = b }
        }
        _ = withUnsafePointer(to: &addr) { ap in
            ap.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        chmod(path, 0o666)
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
    }

    /// Every message received so far.
    func drain() -> [String] {
        var out: [String] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
        return out
    }

    deinit { close(fd); unlink(path) }
}

@Suite struct Vchkpw {
    func site(_ config: String = "webmail-ips = 127.0.0.9\n") throws -> Site {
        let s = try Site(config: config)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        return s
    }

    @Test func popLoginSetsEnvironmentDropsPrivilegesAndExecs() throws {
        let s = try site()
        let r = try s.vchkpw("Joe@Example.COM", "secret", challenge: "<1.2@mail.test>",
                             program: ["/bin/sh", "-c", "id -u; id -g; id -G; pwd; env"],
                             env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.7"])
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        let home = s.domainDir("example.com") + "/joe"
        #expect(Array(lines.prefix(4)) == ["89", "89", "89", home])
        let env = envDump(r.out)
        #expect(env["USER"] == "joe" && env["HOME"] == home && env["SHELL"] == "NOLOGIN" && env["VPOPUSER"] == "joe@example.com")
        #expect(s.read(home + "/lastauth") == "192.0.2.7")
        #expect(try s.ok(["vuserinfo", "-l", "joe@example.com"]).out.hasSuffix("last auth ip: 192.0.2.7\n"))
    }

    /// vchkpw and vdelivermail take argv from their own start-up code (CStartup), not the Swift
    /// runtime's: the exec'd program must get every argument byte for byte, empty ones too. Neither
    /// program looks for swift-backtrace or reads /proc/self/maps at start.
    @Test func argumentsPassThroughAndStartUpProbesNothing() throws {
        let s = try site()
        let args = ["a b", "", "-x", "ünï", "last\targ"]
        let r = try s.vchkpw("joe@example.com", "secret", program: ["/bin/sh", "-c", "printf '<%s>' \"$@\"", "sh"] + args,
                             env: ["TCPLOCALPORT": "110"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == args.map { "<\($0)>" }.joined())
        // The runtime's two constructors that did so are not linked in at all.
        for program in ["vchkpw", "vdelivermail"] {
            let syms = try s.run(["/usr/bin/nm", s.home + "/bin/" + program])
            #expect(syms.status == 0, "\(syms.err)")
            #expect(syms.out.contains(" save_arguments\n"), "\(program)")
            #expect(!syms.out.contains("_GLOBAL__sub_I_Backtrace.cpp"), "\(program)")
            #expect(!syms.out.contains("_GLOBAL__sub_I_CommandLine.cpp"), "\(program)")
        }
    }

    @Test func syslogLinesNeverCarryPasswords() throws {
        let s = try site()
        let log = SyslogCollector(path: s.root + "/log.sock")
        let pop = ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.7"]
        for (level, expectFail, expectSuccess) in [("e", true, false), ("y", true, true), ("v", true, true), ("p", true, false), ("n", false, false)] {
            try "webmail-ips = 127.0.0.9\nlog-socket = \(log.path)\nlogging = \(level)\nlog-name = vpoptest\n"
                .write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
            #expect(try s.vchkpw("joe@example.com", "Wr0ng-Secret%", env: pop).status == 3)
            #expect(try s.vchkpw("joe@example.com", "secret", env: pop).status == 0)
            #expect(try s.vchkpw("ghost@example.com", "Wr0ng-Secret%", env: pop).status == 3)
            let lines = log.drain()
            #expect(lines.allSatisfy { !$0.contains("Wr0ng") && !$0.contains("secret") }, "\(lines)")
            #expect(lines.allSatisfy { $0.hasPrefix("<21>") && $0.contains(" vpoptest[") }, "\(lines)")
            #expect(lines.contains { $0.hasSuffix("vchkpw-pop3: password fail joe@example.com:192.0.2.7") } == expectFail, "\(level) \(lines)")
            #expect(lines.contains { $0.hasSuffix("vchkpw-pop3: (PLAIN) login success joe@example.com:192.0.2.7") } == expectSuccess, "\(level) \(lines)")
            // Unknown users are always logged.
            #expect(lines.contains { $0.hasSuffix("vchkpw-pop3: vpopmail user not found ghost@example.com:192.0.2.7") }, "\(level) \(lines)")
        }
    }

    @Test func exitCodesFollowDocsVchkpw() throws {
        let s = try site()
        let pop = ["TCPLOCALPORT": "110"]
        #expect(try s.vchkpw("joe@example.com", "wrong", env: pop).status == 3)
        #expect(try s.vchkpw("nobody@example.com", "secret", env: pop).status == 3)
        #expect(try s.vchkpw("joe@nowhere.org", "secret", env: pop).status == 3)
        #expect(try s.vchkpw("", "secret", env: pop).status == 12)
        #expect(try s.vchkpw("joe@example.com", "", env: pop).status == 13)
        #expect(try s.vchkpw("jo e@example.com", "secret", env: pop).status == 20)
        #expect(try s.vchkpw("../x@example.com", "secret", env: pop).status == 20)
        #expect(try s.vchkpw("joe@exa$mple.com", "secret", env: pop).status == 20)
        #expect(try s.vchkpw("joe@example.com", String(repeating: "x", count: 2000), env: pop).status == 11)
        #expect(try s.vchkpw("joe@example.com", "secret", program: ["/nonexistent/program"], env: pop).status == 111)
        let closed = try s.run([s.home + "/bin/vchkpw", "/usr/bin/env"], shellPrefix: "exec 3<&-;")
        #expect(closed.status == 11 && closed.err.contains("vchkpw is only for talking with qmail-popup"))
        // Missing fields: no NUL at all is a login without a password.
        let r = try s.run([s.home + "/bin/vchkpw", "/usr/bin/env"], stdin: "joe@example.com", shellPrefix: "exec 3<&0 </dev/null;")
        #expect(r.status == 13)
    }

    @Test func loginFormsAndDomainResolution() throws {
        let s = try site()
        try s.ok(["vaddaliasdomain", "example.com", "alias.net"])
        let pop = ["TCPLOCALPORT": "110"]
        for login in ["joe%example.com", "JOE@EXAMPLE.COM", "joe@alias.net"] {
            let r = try s.vchkpw(login, "secret", env: pop)
            #expect(r.status == 0, "\(login): \(r.status)")
            #expect(envDump(r.out)["HOME"] == s.domainDir("example.com") + "/joe")
        }
        #expect(try s.vchkpw("joe", "secret", env: pop).status == 3)
        #expect(try s.vchkpw("joe", "secret", env: pop.merging(["VPOPMAIL_DOMAIN": "example.com"]) { $1 }).status == 0)
        try "example.com\n".write(toFile: s.home + "/etc/defaultdomain", atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("joe", "secret", env: pop).status == 0)
    }

    @Test func ipAliasDomains() throws {
        let s = try site("webmail-ips = 127.0.0.9\nip-alias-domains = y\n")
        try s.ok(["vipmap", "-a", "192.0.2.25", "example.com"])
        let env = ["TCPLOCALPORT": "110", "TCPLOCALIP": "192.0.2.25"]
        #expect(try s.vchkpw("joe", "secret", env: env).status == 0)
        #expect(try s.vchkpw("joe", "secret", env: ["TCPLOCALPORT": "110", "TCPLOCALIP": "192.0.2.26"]).status == 3)
        // A mapped domain that qmail treats as local is ignored.
        try "example.com\n".write(toFile: s.qmail + "/control/locals", atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("joe", "secret", env: env).status == 3)
    }

    /// The admin guide's fallback: no vipmap entry, so the reverse DNS name of the server address (or
    /// its parent domain) names the domain. /etc/hosts is replaced in a private mount namespace.
    @Test func reverseDNSNamesTheDomain() throws {
        let s = try site("webmail-ips = 127.0.0.9\nip-alias-domains = y\n")
        try s.ok(["vadddomain", "rdns.test", "pw"])
        try s.ok(["vadduser", "ann@rdns.test", "secret"])
        let hosts = s.root + "/hosts"
        try "127.0.0.1 localhost\n127.0.0.77 mail.rdns.test\n127.0.0.78 rdns.test\n".write(toFile: hosts, atomically: true, encoding: .utf8)
        func login(_ ip: String) throws -> Result {
            try s.run(["/usr/bin/unshare", "-m", "/bin/sh", "-c",
                       "mount --bind \"$1\" /etc/hosts && exec 3<&0 </dev/null && exec \"$2\" /usr/bin/env", "sh", hosts, s.home + "/bin/vchkpw"],
                      stdin: "ann\0secret\0\0", env: ["TCPLOCALPORT": "110", "TCPLOCALIP": ip])
        }
        let parent = try login("127.0.0.77")
        #expect(parent.status == 0, "\(parent.out) \(parent.err)")
        #expect(envDump(parent.out)["HOME"] == s.domainDir("rdns.test") + "/ann")
        #expect(try login("127.0.0.78").status == 0)
        #expect(try login("127.0.0.79").status == 3)  // no name: no domain
        // A vipmap entry wins over the name.
        try s.ok(["vipmap", "-a", "127.0.0.77", "example.com"])
        #expect(try login("127.0.0.77").status == 3)  // ann is not in example.com
    }

    @Test func serviceFlagsByConnection() throws {
        let s = try site()
        try s.ok(["vadduser", "noimap@example.com", "secret"])
        try s.ok(["vmoduser", "-i", "noimap@example.com"])
        #expect(try s.vchkpw("noimap@example.com", "secret", env: ["TCPLOCALPORT": "143"]).status == 1)
        #expect(try s.vchkpw("noimap@example.com", "secret", env: ["TCPLOCALPORT": "993"]).status == 1)
        #expect(try s.vchkpw("noimap@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        try s.ok(["vmoduser", "-x", "-p", "-s", "noimap@example.com"])
        #expect(try s.vchkpw("noimap@example.com", "secret", env: ["TCPLOCALPORT": "995"]).status == 1)
        #expect(try s.vchkpw("noimap@example.com", "secret", program: ["/bin/true"], env: ["TCPLOCALPORT": "587"]).status == 1)
        #expect(try s.vchkpw("noimap@example.com", "secret", env: ["TCPLOCALPORT": "143"]).status == 0)
        // Webmail: POP/IMAP from a webmail address is checked against NO_WEBMAIL only.
        try s.ok(["vmoduser", "-x", "-w", "noimap@example.com"])
        #expect(try s.vchkpw("noimap@example.com", "secret", env: ["TCPLOCALPORT": "143", "TCPREMOTEIP": "127.0.0.9"]).status == 1)
        #expect(try s.vchkpw("noimap@example.com", "secret", env: ["TCPLOCALPORT": "143", "TCPREMOTEIP": "10.0.0.1"]).status == 0)
        // Domain-wide limits apply to every account.
        try s.ok(["vmoddomlimits", "-g", "p", "example.com"])
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 1)
        // SMTP: no uid change, no chdir.
        let smtp = try s.vchkpw("joe@example.com", "secret", program: ["/bin/sh", "-c", "id -u"], env: ["TCPLOCALPORT": "25"])
        #expect(smtp.status == 0 && smtp.out == "0\n")
    }

    @Test func apopAndCramMD5WithClearPasswords() throws {
        let s = try site("webmail-ips = 127.0.0.9\nclear-passwd = y\n")
        try s.ok(["vpasswd", "joe@example.com", "tanstaaf"])
        // RFC 1939's example: MD5("<1896.697170952@dbc.mtview.ca.us>tanstaaf")
        let apop = try s.vchkpw("joe@example.com", "c4c9334bac560ecc979e58001b3e22fb",
                                challenge: "<1896.697170952@dbc.mtview.ca.us>", env: ["TCPLOCALPORT": "110"])
        #expect(apop.status == 0)
        #expect(try s.vchkpw("joe@example.com", "c4c9334bac560ecc979e58001b3e22fc",
                             challenge: "<1896.697170952@dbc.mtview.ca.us>", env: ["TCPLOCALPORT": "110"]).status == 3)
        // Plain passwords still work with a timestamp present (qmail-popup always sends one).
        #expect(try s.vchkpw("joe@example.com", "tanstaaf", challenge: "<1.2@x>", env: ["TCPLOCALPORT": "110"]).status == 0)
        // RFC 2195's example: HMAC-MD5 of the challenge with the password.
        try s.ok(["vpasswd", "joe@example.com", "tanstaaftanstaaf"])
        let cram = try s.vchkpw("joe@example.com", "b913a602c7eda7a495b4e6e7334d3890",
                                challenge: "<1896.697170952@postoffice.reston.mci.net>", program: ["/bin/true"],
                                env: ["TCPLOCALPORT": "25"])
        #expect(cram.status == 0)
    }

    @Test func learnPasswordsAndAccountsWithoutPassword() throws {
        let s = try site()
        try s.ok(["vmoduser", "-e", "", "joe@example.com"])
        #expect(try s.vchkpw("joe@example.com", "anything", env: ["TCPLOCALPORT": "110"]).status == 15)
        try "learn-passwords = y\nwebmail-ips = 127.0.0.9\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("joe@example.com", "learned", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try s.ok(["vuserinfo", "-p", "joe@example.com"]).out.hasPrefix("$6$"))
        #expect(try s.vchkpw("joe@example.com", "other", env: ["TCPLOCALPORT": "110"]).status == 3)
        // A password that would break vpasswd (a second line) is never learned.
        try s.ok(["vmoduser", "-e", "", "joe@example.com"])
        let before = s.read(s.domainDir("example.com") + "/vpasswd")
        #expect(try s.vchkpw("joe@example.com", "x\nevil:$1$x$y:1:0:e:/tmp:NOQUOTA", env: ["TCPLOCALPORT": "110"]).status == 111)
        #expect(s.read(s.domainDir("example.com") + "/vpasswd") == before)
    }

    @Test func missingHomeIsCreated() throws {
        let s = try site()
        try FileManager.default.removeItem(atPath: s.domainDir("example.com") + "/joe")
        let r = try s.vchkpw("joe@example.com", "secret", program: ["/bin/pwd"], env: ["TCPLOCALPORT": "110"])
        #expect(r.status == 0 && r.out == s.domainDir("example.com") + "/joe\n")
        #expect(FileManager.default.fileExists(atPath: s.domainDir("example.com") + "/joe/Maildir/new"))
    }

    @Test func corruptAccountFileIsATemporaryFailure() throws {
        let s = try site()
        let cdb = s.domainDir("example.com") + "/vpasswd.cdb"
        try Data(repeating: 0xff, count: 4096).write(to: URL(fileURLWithPath: cdb))
        let before = s.snapshot()
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 111)
        #expect(s.snapshot() == before)
    }

    @Test func dovecotModeReportsIdsInsteadOfSwitching() throws {
        let s = try site()
        let reply = s.root + "/checkpassword-reply"
        try writeScript("#!/bin/sh\nid -u\nenv\n", to: reply)
        let r = try s.vchkpw("joe@example.com", "secret", program: [reply], env: ["SERVICE": "imap", "TCPLOCALPORT": "11143"])
        #expect(r.status == 0)
        #expect(r.out.hasPrefix("0\n"))
        let env = envDump(r.out)
        #expect(env["USER"] == "joe@example.com" && env["HOME"] == s.domainDir("example.com") + "/joe")
        #expect(env["userdb_uid"] == "89" && env["userdb_gid"] == "89" && env["EXTRA"] == "userdb_uid userdb_gid")
        #expect(env["AUTHORIZED"] == nil)
        // Lookups: no password, AUTHORIZED=2 on success, 3 for unknown users.
        let l = try s.vchkpw("joe@example.com", "", program: [reply], env: ["AUTHORIZED": "1", "SERVICE": "imap"])
        #expect(l.status == 0 && envDump(l.out)["AUTHORIZED"] == "2")
        #expect(try s.vchkpw("ghost@example.com", "", program: [reply], env: ["AUTHORIZED": "1"]).status == 3)
        #expect(try s.vchkpw("joe@example.com", "wrong", program: [reply], env: ["SERVICE": "pop3"]).status == 3)
    }

    @Test func systemAccountsWhenEnabled() throws {
        let s = try site("webmail-ips = 127.0.0.9\npasswd = y\n")
        let name = "vpsys\(getpid() % 10000)"
        _ = try tool(["/usr/sbin/useradd", "-M", "-d", "/nonexistent-\(name)", "-p", knownHash, name])
        defer { _ = try? tool(["/usr/sbin/userdel", name]) }
        let r = try s.vchkpw(name, "secret", program: ["/usr/bin/env"], env: ["TCPLOCALPORT": "25"])
        #expect(r.status == 0)
        #expect(envDump(r.out)["HOME"] == "/nonexistent-\(name)")
        #expect(try s.vchkpw(name, "wrong", env: ["TCPLOCALPORT": "25"]).status == 23)
        #expect(try s.vchkpw("nosuchsystemuser", "x", env: ["TCPLOCALPORT": "25"]).status == 21)

        // auth-module = passwd: the system's accounts are the only ones; they are read-only and
        // have no virtual mailbox.
        let p = try Site(config: "auth-module = passwd\n")
        #expect(try p.vchkpw(name, "secret", program: ["/bin/true"], env: ["TCPLOCALPORT": "25"]).status == 0)
        #expect(try p.vchkpw(name, "wrong", env: ["TCPLOCALPORT": "25"]).status == 23)
        let add = try p.run(["vadddomain", "example.com", "pw"])
        #expect(add.status != 0 && (add.out + add.err).contains("read-only"), "\(add.out) \(add.err)")
        #expect(try p.deliver("Subject: x\n\nbody\n", to: name, at: "example.com").status == 111)
    }

    @Test func roamingUsersOpenAndExpireRelayRules() throws {
        let s = try site("webmail-ips = 127.0.0.9\nroaming-users = y\nrelay-clear-minutes = 10\n")
        try "127.:allow,RELAYCLIENT=\"\"\n:allow\n".write(toFile: s.home + "/etc/tcp.smtp", atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.7"]).status == 0)
        let open = try #require(s.read(s.home + "/etc/open-smtp"))
        #expect(open.hasPrefix("192.0.2.7:allow,RELAYCLIENT=\"\",RBLSMTPD=\"\"\t"))
        let cdb = s.home + "/etc/tcp.smtp.cdb"
        let check = try tool(["/usr/bin/env", "TCPREMOTEIP=192.0.2.7", "/usr/bin/tcprulescheck", cdb])
        #expect(check.out.contains("rule 192.0.2.7:") && check.out.contains("set environment variable RELAYCLIENT"))
        let other = try tool(["/usr/bin/env", "TCPREMOTEIP=192.0.2.8", "/usr/bin/tcprulescheck", cdb])
        #expect(!other.out.contains("RELAYCLIENT"))
        // Same bytes as ucspi-tcp's tcprules from the same source.
        let theirs = s.root + "/theirs.cdb"
        _ = try tool(["/bin/sh", "-c", "printf '127.:allow,RELAYCLIENT=\"\"\\n:allow\\n192.0.2.7:allow,RELAYCLIENT=\"\",RBLSMTPD=\"\"\\n' | /usr/bin/tcprules \(theirs) \(theirs).tmp"])
        #expect(FileManager.default.contentsEqual(atPath: theirs, andPath: cdb))
        // SMTP logins and NO_RELAY accounts open nothing.
        #expect(try s.vchkpw("joe@example.com", "secret", program: ["/bin/true"], env: ["TCPLOCALPORT": "25", "TCPREMOTEIP": "192.0.2.9"]).status == 0)
        #expect(!s.read(s.home + "/etc/open-smtp")!.contains("192.0.2.9"))
        // clearopensmtp drops entries older than relay-clear-minutes and rebuilds.
        let old = open.replacingOccurrences(of: #"\t\d+"#, with: "\t1000", options: .regularExpression)
        try old.write(toFile: s.home + "/etc/open-smtp", atomically: true, encoding: .utf8)
        try s.ok(["clearopensmtp"])
        #expect(s.read(s.home + "/etc/open-smtp") == "")
        let after = try tool(["/usr/bin/env", "TCPREMOTEIP=192.0.2.7", "/usr/bin/tcprulescheck", cdb])
        #expect(!after.out.contains("RELAYCLIENT"))
    }
}
