import Foundation
import Testing

/// Throttling of failed logins, rehash-on-login and the password schemes other programs write
/// (docs/vchkpw.md, docs/threat-model.md).
@Suite struct LoginHardening {
    let fm = FileManager.default

    func site(_ config: String = "", store: String = "cdb") throws -> Site { try Site.withJoe(config, store: store) }

    func login(_ s: Site, _ password: String, ip: String) throws -> (status: Int32, seconds: Double) {
        try login(s, "joe@example.com", password, ip: ip)
    }

    func login(_ s: Site, _ user: String, _ password: String, ip: String) throws -> (status: Int32, seconds: Double) {
        let t = Date()
        let r = try s.vchkpw(user, password, env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": ip])
        return (r.status, Date().timeIntervalSince(t))
    }

    /// The throttling configuration of a test (small delays, so that the test is short).
    func throttled(_ extra: String, log: String) -> String {
        "throttle = y\nthrottle-delay = 0.3\nthrottle-max-delay = 0.5\nlog-socket = \(log)\nlogging = e\n" + extra
    }

    @Test func failuresFromAnAddressSlowDownThenAreRefused() throws {
        let dir = NSTemporaryDirectory() + "vpop-thr-\(UUID().uuidString.prefix(6))"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        let log = SyslogCollector(path: dir + "/log.sock")
        let s = try site(throttled("throttle-address-delay-after = 2\nthrottle-address-refuse-after = 4\nthrottle-login-delay-after = 100\nthrottle-login-refuse-after = 100\n", log: log.path))
        let ip = "192.0.2.1"
        for _ in 0..<2 {
            let r = try login(s, "Wrong-pw", ip: ip)
            #expect(r.status == 3 && r.seconds < 0.3, "\(r)")
        }
        let third = try login(s, "Wrong-pw", ip: ip)
        #expect(third.status == 3 && third.seconds >= 0.3, "\(third)")
        let fourth = try login(s, "Wrong-pw", ip: ip)
        #expect(fourth.status == 3 && fourth.seconds >= 0.5, "\(fourth)")
        // Refused, even with the right password, and without waiting; another address logs in.
        let refused = try login(s, "Secret-pw1", ip: ip)
        #expect(refused.status == 16, "\(refused)")
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.2").status == 0)
        let lines = log.drain()
        let refusal = "vchkpw-pop3: login refused after repeated failures from 192.0.2.1 for joe@example.com (address: 4 failures in 900 s)"
        #expect(lines.contains { $0.hasSuffix(refusal) }, "\(lines)")
        #expect(lines.allSatisfy { !$0.contains("Secret-pw1") && !$0.contains("Wrong-pw") })
        // The shipped fail2ban filter finds the address in every failure and in the refusal.
        let f2b = "/usr/bin/fail2ban-regex"
        if fm.isExecutableFile(atPath: f2b) {
            let host = lines.map { l -> String in
                // As a syslog daemon writes it: "<21>Dec  2 04:00:00 ident[pid]: ..." with a host name.
                let body = l.drop { $0 != ">" }.dropFirst()
                return body.prefix(15) + " mail" + body.dropFirst(15)
            }
            try (host.joined(separator: "\n") + "\n").write(toFile: dir + "/mail.log", atomically: true, encoding: .utf8)
            // The filter as installed: next to fail2ban's common.conf, which it includes.
            try fm.copyItem(atPath: packageRoot + "/etc/fail2ban/filter.d/vpopmail.conf", toPath: dir + "/vpopmail.conf")
            try fm.createSymbolicLink(atPath: dir + "/common.conf", withDestinationPath: "/etc/fail2ban/filter.d/common.conf")
            let r = try tool([f2b, dir + "/mail.log", dir + "/vpopmail.conf"])
            #expect(r.status == 0, "\(r.out) \(r.err)")
            // 4 password failures and 1 refusal from 192.0.2.1; not the success from 192.0.2.2.
            #expect(r.out.contains("Failregex: 5 total"), "\(r.out)")
            #expect(r.out.contains("Lines: \(lines.count) lines, 0 ignored, 5 matched, \(lines.count - 5) missed"), "\(r.out)")
        }
    }

    @Test func failuresForALoginAreRefusedFromAnyAddressUntilTheWindowPasses() throws {
        let s = try site("throttle = y\nthrottle-address-refuse-after = 100\nthrottle-address-delay-after = 100\nthrottle-login-delay-after = 100\nthrottle-login-refuse-after = 3\nthrottle-window = 2\n")
        for i in 1...3 { #expect(try login(s, "Wrong-pw", ip: "198.51.100.\(i)").status == 3) }
        #expect(try login(s, "Secret-pw1", ip: "198.51.100.9").status == 16)
        // Other accounts are not affected; after the window the account logs in again.
        try s.ok(["vadduser", "ann@example.com", "Ann-pw-1"])
        #expect(try login(s, "ann@example.com", "Ann-pw-1", ip: "198.51.100.9").status == 0)
        Thread.sleep(forTimeInterval: 3.1)
        #expect(try login(s, "Secret-pw1", ip: "198.51.100.9").status == 0)
    }

    @Test func aSuccessClearsTheCounts() throws {
        let s = try site("throttle = y\nthrottle-address-refuse-after = 3\nthrottle-address-delay-after = 100\nthrottle-login-delay-after = 100\n")
        for _ in 0..<3 {
            #expect(try login(s, "Wrong-pw", ip: "203.0.113.5").status == 3)
            #expect(try login(s, "Wrong-pw", ip: "203.0.113.5").status == 3)
            #expect(try login(s, "Secret-pw1", ip: "203.0.113.5").status == 0)
        }
    }

    /// Concurrent failures all count (the state is locked around each update), and the state
    /// file keeps its size however many addresses fail.
    @Test func concurrentFailuresAllCountAndTheStateIsBounded() throws {
        let s = try site("throttle = y\nthrottle-address-refuse-after = 16\nthrottle-address-delay-after = 100\nthrottle-login-delay-after = 1000\nthrottle-login-refuse-after = 1000\n")
        let statuses = ConcurrentStatuses()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            statuses.add((try? self.login(s, "Wrong-pw", ip: "192.0.2.77").status) ?? -1)
        }
        #expect(statuses.values.sorted() == Array(repeating: 3, count: 16), "\(statuses.values)")
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.77").status == 16)
        let file = s.home + "/etc/login-failures"
        let size = (try fm.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        #expect(size == 8192 * 32)
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            _ = try? self.login(s, "Wrong-pw", ip: "10.9.\(i / 250).\(i % 250)")
        }
        #expect((try fm.attributesOfItem(atPath: file)[.size] as? Int) == size)
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.78").status == 0)
    }

    /// `rehash-on-login`: a login with a weaker hash than `password-scheme` stores a new one, on
    /// every store; a wrong password or the option off changes nothing.
    @Test(arguments: storesUnderTest(["cdb", "sqlite", "mysql", "pgsql"]))
    func rehashOnLoginReplacesWeakerHashes(store: String) throws {
        if store == "mysql" && sqlServer("VPOP_TEST_MYSQL") == nil { return }
        if store == "pgsql" && sqlServer("VPOP_TEST_PGSQL") == nil { return }
        let s = try site("password-scheme = md5-crypt\n", store: store)
        func hash() throws -> String {
            try s.ok(["vuserinfo", "joe@example.com"]).out.split(separator: "\n").first { $0.hasPrefix("passwd: ") }.map { String($0.dropFirst(8)) } ?? ""
        }
        let md5 = try hash()
        #expect(md5.hasPrefix("$1$"))
        let conf = try String(contentsOfFile: s.home + "/etc/vpopmail.conf", encoding: .utf8)
        func configure(_ extra: String) throws {
            try (conf.replacingOccurrences(of: "password-scheme = md5-crypt\n", with: "") + extra)
                .write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        }
        try configure("password-scheme = sha512-crypt\n")
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.3").status == 0)
        #expect(try hash() == md5)
        try configure("password-scheme = sha512-crypt\nrehash-on-login = y\n")
        #expect(try login(s, "Wrong-pw", ip: "192.0.2.3").status == 3)
        #expect(try hash() == md5)
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.3").status == 0)
        let sha = try hash()
        #expect(sha.hasPrefix("$6$"))
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.3").status == 0)
        #expect(try hash() == sha)
        try configure("password-scheme = argon2id\nrehash-on-login = y\n")
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.3").status == 0)
        #expect(try hash().hasPrefix("$argon2id$v=19$m=65536,t=3,p=1$"))
        #expect(try login(s, "Secret-pw1", ip: "192.0.2.3").status == 0)
        #expect(try login(s, "Wrong-pw", ip: "192.0.2.3").status == 3)
    }

    /// Every scheme Dovecot writes (`doveadm pw`) that a vpopmail account can hold logs in with its
    /// password and no other, with its `{SCHEME}` prefix kept where it is not crypt(3).
    @Test func everySchemeDovecotWritesVerifies() throws {
        let doveadm = "/usr/bin/doveadm"
        guard fm.isExecutableFile(atPath: doveadm) else { Issue.record("doveadm is not installed"); return }
        let s = try site()
        let schemes = ["CRYPT", "DES-CRYPT", "MD5", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT", "ARGON2I",
                       "ARGON2ID", "PLAIN", "CLEAR", "CLEARTEXT", "PLAIN-MD5", "LDAP-MD5", "SMD5", "SHA", "SHA1", "SSHA",
                       "SHA256", "SSHA256", "SHA512", "SSHA512"]
        for scheme in schemes {
            let r = try tool([doveadm, "pw", "-s", scheme, "-p", "Secret-pw1"])
            #expect(r.status == 0, "\(scheme): \(r.err)")
            let stored = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            try s.ok(["vmoduser", "-e", stored, "joe@example.com"])
            #expect(try login(s, "Secret-pw1", ip: "192.0.2.4").status == 0, "\(scheme) \(stored)")
            #expect(try login(s, "Other-pw1", ip: "192.0.2.4").status == 3, "\(scheme) \(stored)")
            #expect(try login(s, "secret-pw1", ip: "192.0.2.4").status == 3, "\(scheme) \(stored)")
        }
        // Digests in hex (`.HEX`; SHA512 in hex is longer than the 128 bytes a password field holds).
        for scheme in ["SHA1.HEX", "SHA256.HEX", "PLAIN-MD5"] {
            let r = try tool([doveadm, "pw", "-s", scheme, "-p", "Secret-pw1"])
            let stored = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            try s.ok(["vmoduser", "-e", stored, "joe@example.com"])
            #expect(try login(s, "Secret-pw1", ip: "192.0.2.4").status == 0, "\(scheme) \(stored)")
            #expect(try login(s, "Other-pw1", ip: "192.0.2.4").status == 3, "\(scheme) \(stored)")
        }
    }
}

final class ConcurrentStatuses: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Int32] = []
    func add(_ v: Int32) { lock.lock(); values.append(v); lock.unlock() }
}
