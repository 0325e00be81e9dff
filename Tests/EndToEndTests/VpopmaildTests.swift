import Foundation
import Testing

/// vpopmaild with its clients: Net_Vpopmaild's own suite, and the exact bytes of each reply form.
@Suite(.serialized) struct VpopmaildClients {
    /// Net_Vpopmaild's .phpt suite against vpopmaild under tcpserver (port 89, hence serialized),
    /// on cdb and MySQL, with clear passwords kept (several tests read them back).
    @Test(arguments: storesUnderTest(["cdb", "mysql"]))
    func netVpopmaildSuite(store: String) throws {
        // valias = n: the suite writes autoresponders as .qmail files (write_file) and expects
        // list_alias to show them, which only holds where aliases are those files (as upstream).
        let s = try Site(store: store, config: "clear-passwd = y\nvalias = n\n")
        let peers = try #require(peersDir, "../shared/peers not found; set VPOP_PEERS")
        let work = s.root + "/net-vpopmaild"
        let r = try tool([packageRoot + "/scripts/net-vpopmaild-tests.sh", s.home, s.qmail, peers, work])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("52 PASSED TESTS"), "\(r.out)\n\(r.err)")
        let failed = r.out.split(separator: "\n").filter { $0.hasSuffix(".phpt") }.map { String($0.split(separator: "/").last!) }
        let diffs = failed.map { f in (try? String(contentsOfFile: work + "/tests/" + f.replacingOccurrences(of: ".phpt", with: ".diff"), encoding: .utf8)) ?? "" }
        #expect(failed.isEmpty, "failed: \(failed)\n\(diffs.joined(separator: "\n"))")
    }
}

/// A vpopmaild session with raw lines: the exact bytes of each reply form.
@Suite struct VpopmaildBytes {
    /// Runs one session: `input` on fd 0, every byte of fd 1.
    func session(_ s: Site, _ input: String, env: [String: String] = [:]) throws -> String {
        let r = try s.run([s.home + "/bin/vpopmaild"], stdin: input, env: ["TCPREMOTEIP": "192.0.2.5"].merging(env) { $1 })
        return r.out
    }

    func site(_ store: String) throws -> Site {
        let s = try Site(store: store, config: "clear-passwd = y\n")
        try s.ok(["vadddomain", "example.com", "Pm-secret-1"])
        try s.ok(["vadddomain", "other.example", "Pm-secret-2"])
        try s.ok(["vadduser", "joe@example.com", "Joe-secret-1"])
        try s.ok(["vadduser", "root@example.com", "Sa-secret-1"])
        try s.ok(["vmoduser", "-S", "root@example.com"])
        return s
    }

    @Test(arguments: storesUnderTest(["cdb", "sqlite"]))
    func replyForms(store: String) throws {
        let s = try site(store)
        // Greeting, clogin's single gidflags line, +OK+ blocks ending in ".", -ERR codes, the
        // "\n\r" line ends Haraka sends, a blank line, an unknown command.
        let out = try session(s, "clogin postmaster@example.com Pm-secret-1\n\ruser_count example.com\n\n"
                                 + "user_info nobody@example.com\nuser_info joe@other.example\nbogus\nadd_domain x.example pw\nquit\n")
        let lines = out.components(separatedBy: "\r\n")
        #expect(lines[0] == "+OK ")
        #expect(lines[1] == "+OK+")
        #expect(lines[2] == "vpopmail_dir \(s.home)")
        #expect(lines[3] == "domain_dir \(s.domainDir("example.com"))")
        #expect(lines[6] == "name postmaster" && lines[7] == "comment Postmaster")
        #expect(lines[12] == "gidflags 4096", "the session's copy of a postmaster's flags has QA_ADMIN")
        #expect(lines[13] == ".")
        #expect(Array(lines[14...16]) == ["+OK+", "count 3", "."])
        #expect(lines[17] == "-ERR 12.605 User does not exist")
        #expect(lines[18] == "-ERR 11.603 Not Authorized for domain")
        #expect(lines[19] == "-ERR 4.107 Invalid Command")
        #expect(lines[20] == "-ERR 4.107 Invalid Command", "add_domain is not a domain admin's command")
        #expect(lines[21] == "+OK ")
        #expect(lines.count == 23 && lines[22].isEmpty, "every reply line ends in CR LF: \(lines)")

        // mod_user answers twice (after the address, after the option lines); options a user may
        // not set are ignored; write_file answers once, after its ".".
        let mod = try session(s, "login joe@example.com Joe-secret-1\nmod_user joe@example.com\ncomment Joe Q\n"
                                 + "system_admin_privileges 1\nno_pop 1\nclear_text_password Joe-new-pw-2\n.\n"
                                 + "write_file joe@example.com/notes\nline one\n..x\n.\nread_file joe@example.com/notes\n"
                                 + "mod_user root@example.com\ncomment x\n.\nlist_dir ../\nquit\n")
        let m = mod.components(separatedBy: "\r\n")
        let afterLogin = m.firstIndex(of: ".")! + 1
        #expect(Array(m[afterLogin...(afterLogin + 2)]) == ["+OK ", "+OK ", "+OK "], "\(m[afterLogin...])")
        // read_file: the file's lines with their own line ends (as stored), then ".".
        #expect(Array(m[(afterLogin + 3)...(afterLogin + 4)]) == ["+OK+", "line one\n..x\n."])
        #expect(m[afterLogin + 5] == "-ERR 11.504 Not Authorized for domain")
        #expect(m[afterLogin + 6] == "-ERR 20.1501 Invalid Directory.  .. not allowed in path")
        let info = try s.ok(["vuserinfo", "joe@example.com"]).out
        #expect(info.contains("Joe Q"))
        #expect(!info.contains("system admin") && !info.contains("no pop"), "a user set flags it may not: \(info)")
        #expect(try s.vchkpw("joe@example.com", "Joe-new-pw-2").status == 0)
        #expect(s.read(s.domainDir("example.com") + "/joe/notes") == "line one\n..x\n")
    }

    /// The commands Net_Vpopmaild does not send: sizes, rename_file, stat_file, help, the list
    /// commands, exit and q; a domain admin kept to its domain.
    @Test func otherCommands() throws {
        let s = try site("cdb")
        #expect(try s.deliver("Subject: hi\n\nhello\n", to: "joe", at: "example.com").status == 0)
        let sa = try session(s, "slogin root@example.com Sa-secret-1\nget_user_size joe@example.com\nget_domain_size example.com\n"
                                + "write_file example.com/a.txt\nx\n.\nrename_file example.com/a.txt example.com/b.txt\n"
                                + "stat_file example.com/b.txt\nadd_list x@example.com\ndel_list x@example.com\nmod_list x@example.com\nexit\n")
        let l = sa.components(separatedBy: "\r\n")
        #expect(l[0] == "+OK " && l[1] == "+OK ")
        #expect(l[2] == "+OK+" && l[3].hasPrefix("size ") && l[3] != "size 0" && l[4] == "count 1" && l[5] == ".", "\(l)")
        #expect(l[6] == "+OK+" && l.contains("domain example.com") && l.contains("user joe@example.com"))
        let end = l.firstIndex(of: "count 1")!
        #expect(sa.contains("+OK \r\n+OK \r\n+OK+\r\nuid: 89\n.\r\n"), "write_file, rename_file, stat_file: \(l[end...])")
        #expect(sa.hasSuffix("-ERR 36.4001 Not Implemented yet.\r\n-ERR 36.4101 Not Implemented yet.\r\n-ERR 36.4201 Not Implemented yet.\r\n+OK \r\n"))
        #expect(s.read(s.domainDir("example.com") + "/b.txt") == "x\n")
        let da = try session(s, "slogin postmaster@example.com Pm-secret-1\nhelp\nget_domain_size other.example\n"
                                + "add_user eve@other.example Eve-secret-1\nlist_dir other.example/\nq\n")
        #expect(da.contains("+OK+\r\nadd_alias\r\nadd_list\r\nadd_user\r\n") && !da.contains("\r\nadd_domain\r\n"), "help lists the level's commands")
        #expect(da.contains("-ERR 11.3901 Not Authorized for domain\r\n-ERR 11.303 Not Authorized for domain\r\n-ERR 26.1511 Unauthorized Directory.\r\n+OK \r\n"), "\(da)")
        #expect(try s.run(["vuserinfo", "eve@other.example"]).status != 0)
        // The store's files are not a domain admin's or a user's to write (an account with
        // system admin rights, a quota escaped): refused, unchanged.
        let before = s.read(s.domainDir("example.com") + "/vpasswd")
        let store = try session(s, "slogin postmaster@example.com Pm-secret-1\nwrite_file example.com/vpasswd\n"
                                   + "evil:x:1:65536:e:/tmp:NOQUOTA\n.\nread_file example.com/vpasswd\nquit\n")
        #expect(store == "+OK \r\n+OK \r\n-ERR 26.1513 Unauthorized Directory.\r\n-ERR 26.1513 Unauthorized Directory.\r\n+OK \r\n", "\(store)")
        #expect(s.read(s.domainDir("example.com") + "/vpasswd") == before)
        let quota = try session(s, "slogin joe@example.com Joe-secret-1\nwrite_file joe@example.com/Maildir/maildirsize\n0S\n.\nquit\n")
        #expect(quota == "+OK \r\n+OK \r\n-ERR 26.1513 Unauthorized Directory.\r\n+OK \r\n", "\(quota)")
        // A user's secrets and vacation are the library's too.
        let secrets = try session(s, "slogin joe@example.com Joe-secret-1\nwrite_file joe@example.com/.vpopmail-secrets\napp x\n.\n"
                                     + "write_file joe@example.com/.vacation\nsubject x\n.\nquit\n")
        #expect(secrets == "+OK \r\n+OK \r\n-ERR 26.1513 Unauthorized Directory.\r\n-ERR 26.1513 Unauthorized Directory.\r\n+OK \r\n", "\(secrets)")
        // A change through vpopmaild is in the audit log: who logged in, from where.
        _ = try session(s, "slogin postmaster@example.com Pm-secret-1\nadd_user kim@example.com Kim-secret-1\nquit\n")
        let audit = s.read(s.home + "/etc/audit.log") ?? ""
        #expect(audit.contains("\"who\":\"postmaster@example.com\",\"via\":\"vpopmaild\",\"from\":\"192.0.2.5\",\"action\":\"add_user\",\"object\":\"kim@example.com\""), "\(audit)")
        #expect(!audit.contains("Kim-secret-1"))
    }

    /// Failed logins count in vchkpw's throttling state (by address and login), and the log
    /// says who failed from where, never the password.
    @Test func loginsAreThrottledLikeVchkpw() throws {
        let log = SyslogCollector(path: NSTemporaryDirectory() + "vpopmaild-log-\(UUID().uuidString.prefix(8)).sock")
        let s = try Site.withJoe("throttle = y\nthrottle-address-refuse-after = 100\nthrottle-address-delay-after = 100\n"
                                 + "throttle-login-delay-after = 100\nthrottle-login-refuse-after = 3\nlog-socket = \(log.path)\n")
        for _ in 1...3 {
            #expect(try session(s, "slogin joe@example.com Wrong-guess-7\n") == "+OK \r\n-ERR 8.207 Invalid Login\r\n")
        }
        #expect(try session(s, "slogin joe@example.com Secret-pw1\n") == "+OK \r\n-ERR 8.207 Invalid Login\r\n")
        #expect(try s.vchkpw("joe@example.com", "Secret-pw1", env: ["TCPLOCALPORT": "110"]).status == 16)
        let lines = log.drain()
        #expect(lines.contains { $0.contains("wrong password for joe@example.com from 192.0.2.5") }, "\(lines)")
        #expect(!lines.contains { $0.contains("Wrong-guess-7") || $0.contains("Secret-pw1") })
    }

    /// Login limits: a bad password, the limit of four lines before login, the read timeout.
    @Test func loginPhase() throws {
        let s = try site("cdb")
        let bad = try session(s, "login joe@example.com wrong\nlogin joe@example.com wrong\nlogin joe@example.com wrong\nlogin joe@example.com wrong\n")
        #expect(bad == "+OK \r\n" + String(repeating: "-ERR 8.207 Invalid Login\r\n", count: 4) + "-ERR 5.105 Too many invalid login attempts\r\n")
        let noise = try session(s, "help\nx\ny\nz\nlogin joe@example.com Joe-secret-1\n")
        #expect(noise.hasSuffix("-ERR 4.104 Invalid Command\r\n-ERR 5.102 Too many invalid login attempts\r\n"), "\(noise)")
        let forms = try session(s, "login\nlogin joe@example.com\nslogin joe@example.com Joe-secret-1\nquit\n")
        #expect(forms == "+OK \r\n-ERR 6.203 Email Address Required\r\n-ERR 7.204 Password Required\r\n+OK \r\n+OK \r\n")
        // A password with spaces is the rest of the line.
        try s.ok(["vpasswd", "joe@example.com", "two words"])
        #expect(try session(s, "slogin joe@example.com two words\n") == "+OK \r\n+OK \r\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: s.home + "/bin/vpopmaild")
        p.environment = s.environment.merging(["VPOPMAILD_TIMEOUT": "1"]) { $1 }
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardInput = inp
        try p.run()
        p.waitUntilExit()
        #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "+OK \r\n-ERR 3.103 Read Timeout\r\n")
        try inp.fileHandleForWriting.close()
    }
}

/// `vpopmaild --listen`: plain TCP and TLS with a self-signed certificate made here, the bound
/// on concurrent sessions, a clean stop on SIGTERM.
@Suite struct VpopmaildListener {
    /// A client in Python (ssl module): connects, sends `lines` one by one, prints every reply line.
    static let client = """
    import socket, ssl, sys, time
    port, tls, hold = int(sys.argv[1]), sys.argv[2] == "tls", float(sys.argv[3])
    s = socket.create_connection(("127.0.0.1", port), timeout=4)
    if tls:
        ctx = ssl.create_default_context(cafile=sys.argv[4])
        ctx.check_hostname = False
        s = ctx.wrap_socket(s, server_hostname="localhost")
        print(s.version())
    f = s.makefile("rwb")
    print(f.readline().decode().rstrip("\\r\\n"))
    time.sleep(hold)
    for l in sys.stdin.read().splitlines():
        f.write((l + "\\n").encode()); f.flush()
        while True:
            r = f.readline().decode().rstrip("\\r\\n")
            print(r)
            if r in (".", "+OK ") or r.startswith("-ERR"): break
    """

    func freePort() -> UInt16 { UInt16(20000 + Int.random(in: 0..<20000)) }

    func start(_ s: Site, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: s.home + "/bin/vpopmaild")
        p.arguments = args
        p.environment = s.environment
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 0.4)
        return p
    }

    func talk(_ s: Site, port: UInt16, tls: Bool, hold: Double = 0, ca: String = "", _ lines: String) throws -> Result {
        let script = s.root + "/client.py"
        if !FileManager.default.fileExists(atPath: script) { try VpopmaildListener.client.write(toFile: script, atomically: true, encoding: .utf8) }
        return try s.run(["/usr/bin/python3", script, "\(port)", tls ? "tls" : "plain", "\(hold)", ca], stdin: lines)
    }

    @Test func tlsPlainBoundAndStop() throws {
        let s = try Site.withJoe()
        try s.ok(["vmoduser", "-S", "joe@example.com"])
        // A self-signed certificate for localhost.
        let cert = s.root + "/cert.pem", key = s.root + "/key.pem"
        let made = try tool(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                             "-days", "1", "-keyout", key, "-out", cert])
        try #require(made.status == 0, "\(made.err)")
        let tlsPort = freePort()
        let tls = try start(s, ["--listen", "127.0.0.1:\(tlsPort)", "--tls-cert", cert, "--tls-key", key, "--max-connections", "2"])
        defer { if tls.isRunning { tls.terminate() } }
        let r = try talk(s, port: tlsPort, tls: true, ca: cert, "slogin joe@example.com Secret-pw1\ndomain_count\nquit")
        #expect(r.out.hasPrefix("TLSv1.") && r.out.contains("+OK \n+OK \n+OK+\ncount 1\n.\n+OK \n"), "\(r.out) \(r.err)")
        // Plain TCP is refused by a TLS listener (no greeting in clear).
        let clear = try talk(s, port: tlsPort, tls: false, "quit")
        #expect(!clear.out.hasPrefix("+OK"))

        // The bound: with two sessions held open, a third waits for one of them to end.
        let plainPort = freePort()
        let plain = try start(s, ["--listen", "127.0.0.1:\(plainPort)", "--max-connections", "2"])
        let held = (0..<2).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = [s.root + "/client.py", "\(plainPort)", "plain", "2.5"]
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            try? p.run()
            return p
        }
        Thread.sleep(forTimeInterval: 0.8)
        let t0 = Date()
        let third = try talk(s, port: plainPort, tls: false, "quit")
        let waited = Date().timeIntervalSince(t0)
        #expect(third.out == "+OK \n+OK \n", "\(third.out) \(third.err)")
        #expect(waited > 1.0, "the third session started before one of two ended (\(waited) s)")
        for p in held { p.waitUntilExit() }

        // SIGTERM: the listener stops accepting and exits 0.
        plain.terminate()
        plain.waitUntilExit()
        #expect(plain.terminationReason == .exit && plain.terminationStatus == 0)
        #expect(try talk(s, port: plainPort, tls: false, "quit").status != 0)
        tls.terminate()
        tls.waitUntilExit()
        #expect(tls.terminationStatus == 0)
    }
}
