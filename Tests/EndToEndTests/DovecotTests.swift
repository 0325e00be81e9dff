import Foundation
import Testing

/// A real Dovecot (POP3 on 127.0.0.1:11110, IMAP on 11143) with vchkpw as its checkpassword
/// passdb and userdb; python's poplib and imaplib log in through it and read a message that
/// vdelivermail delivered.
@Suite(.serialized) struct DovecotLogin {
    /// posix_spawn with stdin/stdout/stderr on /dev/null, then waitpid; the exit status.
    func spawnDetached(_ argv: [String]) -> Int32 {
        var fa: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        for fd in [0, 1, 2] as [Int32] { posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cargs.append(nil)
        defer { for p in cargs { free(p) } }
        // The test runner's threads block signals; a daemon must not inherit that mask (Dovecot
        // would never see SIGCHLD) nor ignored dispositions.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &fa, &attr, cargs, environ) == 0 else { return -1 }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        return (st >> 8) & 0xff
    }

    func waitPort(_ port: Int) -> Bool {
        for _ in 0..<100 {
            let r = try? tool(["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"])
            if r?.status == 0 { return true }
            usleep(100_000)
        }
        return false
    }

    /// Starts Dovecot for site `s` with the passdb/userdb section `auth`; returns its directory
    /// and a function that stops it.
    func startDovecot(_ s: Site, auth: String) throws -> (dir: String, stop: () -> Void) {
        let d = s.root + "/dovecot"
        try FileManager.default.createDirectory(atPath: d + "/run", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: d + "/state", withIntermediateDirectories: true)
        let conf = """
            protocols = pop3 imap
            listen = 127.0.0.1
            base_dir = \(d)/run
            state_dir = \(d)/state
            log_path = \(d)/dovecot.log
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            auth_verbose = yes
            mail_location = maildir:~/Maildir
            mail_plugins = $mail_plugins quota
            plugin {
              quota = maildir:User quota
            }
            first_valid_uid = 89
            first_valid_gid = 89
            import_environment = TZ VPOPMAIL_HOME=\(s.home) QMAILDIR=\(s.qmail)
            \(auth)
            service auth {
              user = root
            }
            service pop3-login {
              inet_listener pop3 {
                address = 127.0.0.1
                port = 11110
              }
              inet_listener pop3s {
                port = 0
              }
            }
            service imap-login {
              inet_listener imap {
                address = 127.0.0.1
                port = 11143
              }
              inet_listener imaps {
                port = 0
              }
            }

            """
        try conf.write(toFile: d + "/dovecot.conf", atomically: true, encoding: .utf8)
        // Dovecot daemonizes: started without Foundation's Process and with every inherited
        // descriptor closed, so that it holds no pipe of this or a concurrent test open.
        let start = spawnDetached(["/usr/bin/python3", "-c",
            "import os,sys; os.closerange(3, 65536); os.execv('/usr/sbin/dovecot', ['dovecot', '-c', sys.argv[1]])",
            d + "/dovecot.conf"])
        #expect(start == 0)
        let stop = {
            if let pid = s.read(d + "/run/master.pid").flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGTERM)
                var stopped = false
                for _ in 0..<100 {
                    let st = (try? tool(["/bin/ps", "-o", "stat=", "-p", "\(pid)"]).out) ?? ""
                    if kill(pid, 0) != 0 || st.hasPrefix("Z") || st.isEmpty { stopped = true; break }
                    usleep(100_000)
                }
                if !stopped { kill(pid, SIGKILL) }
            }
        }
        #expect(waitPort(11110) && waitPort(11143))
        return (d, stop)
    }

    /// Python lines for the login scripts: POP3 as joe@example.com with `password` (a Python
    /// literal), appending to `out` `pop-stat <count>`, `pop-retr <found>` (or `missing` when
    /// message 1 lacks `marker`), and `pop-wrong refused` (or `accepted`) for a wrong password.
    func popLines(password: String, marker: String, found: String) -> String {
        """
        out = []
        p = poplib.POP3('127.0.0.1', 11110, timeout=20)
        p.user('joe@example.com'); p.pass_(\(password))
        out.append('pop-stat %d' % p.stat()[0])
        out.append('pop-retr ' + ('\(found)' if b'\(marker)' in b'\\n'.join(p.retr(1)[1]) else 'missing'))
        p.quit()
        try:
            p = poplib.POP3('127.0.0.1', 11110, timeout=20); p.user('joe@example.com'); p.pass_('wrong'); out.append('pop-wrong accepted')
        except poplib.error_proto:
            out.append('pop-wrong refused')
        """
    }

    /// Through the cdb store, and through PostgreSQL (vchkpw hands over to vchkpw-sql with fd 3
    /// and Dovecot's fd 4 intact).
    @Test(arguments: storesUnderTest(["cdb", "pgsql"]))
    func popAndImapLoginThroughDovecot(store: String) throws {
        let s = try Site(store: store, config: "webmail-ips =\n")
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        try s.ok(["vadduser", "noimap@example.com", "secret"])
        try s.ok(["vmoduser", "-i", "noimap@example.com"])
        let joe = s.domainDir("example.com") + "/joe"
        // The message arrives the way qmail-local delivers it: through vdelivermail.
        let delivered = try s.deliver("Subject: hello joe\n\nThis is the body.\n", to: "joe", at: "example.com")
        #expect(delivered.status == 0)
        let checkpw = s.home + "/bin/vchkpw"
        let (d, stop) = try startDovecot(s, auth: """
            passdb {
              driver = checkpassword
              args = \(checkpw)
            }
            userdb {
              driver = prefetch
            }
            userdb {
              driver = checkpassword
              args = \(checkpw)
            }
            """)
        defer { stop() }
        let script = """
            import poplib, imaplib, sys
            \(popLines(password: "'secret'", marker: "Subject: hello joe", found: "hello joe"))
            m = imaplib.IMAP4('127.0.0.1', 11143)
            m.login('joe@example.com', 'secret')
            typ, data = m.select('INBOX')
            out.append('imap-select %s' % data[0].decode())
            typ, data = m.fetch('1', '(BODY[HEADER.FIELDS (SUBJECT)])')
            out.append('imap-fetch ' + ('hello joe' if b'hello joe' in data[0][1] else 'missing'))
            m.logout()
            try:
                m = imaplib.IMAP4('127.0.0.1', 11143); m.login('noimap@example.com', 'secret'); out.append('imap-noimap accepted')
            except imaplib.IMAP4.error:
                out.append('imap-noimap refused')
            p = poplib.POP3('127.0.0.1', 11110, timeout=20)
            p.user('noimap@example.com'); p.pass_('secret'); out.append('pop-noimap %d' % p.stat()[0]); p.quit()
            print('\\n'.join(out))
            """
        let r = try tool(["/usr/bin/python3", "-c", script])
        let log = s.read(d + "/dovecot.log") ?? ""
        #expect(r.out == """
            pop-stat 1
            pop-retr hello joe
            pop-wrong refused
            imap-select 1
            imap-fetch hello joe
            imap-noimap refused
            pop-noimap 0

            """, "\(r.out) \(r.err) \(log)")
        // userdb lookups (AUTHORIZED=1) answer with the home and the domain's ids.
        let u = try tool(["/usr/bin/doveadm", "-c", d + "/dovecot.conf", "user", "joe@example.com"])
        #expect(u.out.contains("uid") && u.out.contains("89") && u.out.contains("home") && u.out.contains(joe), "\(u.out) \(u.err)")
        #expect(try tool(["/usr/bin/doveadm", "-c", d + "/dovecot.conf", "user", "ghost@example.com"]).status != 0)
        // Dovecot's Maildir++ quota reads the maildirsize vadduser and vdelivermail keep.
        let q = try tool(["/usr/bin/doveadm", "-c", d + "/dovecot.conf", "quota", "get", "-u", "joe@example.com"])
        let sizes = s.read(joe + "/Maildir/maildirsize")!.split(separator: "\n").dropFirst()
            .map { $0.split(separator: " ").compactMap { Int($0) } }
        let bytes = sizes.reduce(0) { $0 + $1[0] }, count = sizes.reduce(0) { $0 + $1[1] }
        let rows = q.out.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
        let storage = rows.first { $0.contains("STORAGE") }, messages = rows.first { $0.contains("MESSAGE") }
        #expect(storage?.suffix(3).first == "\((bytes + 1023) / 1024)" && storage?.suffix(2).first == "51200", "\(q.out) \(q.err)")
        #expect(messages?.suffix(3).first == "\(count)", "\(q.out)")
    }

    /// Sites where Dovecot reads vpopmail's MySQL tables itself (its SQL passdb and userdb, no
    /// vchkpw) keep working: the rows vadduser writes are the rows such queries expect.
    @Test func dovecotReadsTheMySQLTablesDirectly() throws {
        let s = try Site(store: "mysql")
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "s3cret'%\\pw"])
        #expect(try s.deliver("Subject: via sql\n\nbody\n", to: "joe", at: "example.com").status == 0)
        let f = try #require(sqlServer("VPOP_TEST_MYSQL")).split(separator: "|").map(String.init)
        let sqlConf = s.root + "/dovecot-sql.conf.ext"
        try """
            driver = mysql
            connect = host=\(f[0]) port=\(f[1]) dbname=\(s.database!) user=\(f[2]) password=\(f[3])
            default_pass_scheme = CRYPT
            password_query = SELECT CONCAT(pw_name, '@', pw_domain) AS user, pw_passwd AS password FROM vpopmail WHERE pw_name = '%n' AND pw_domain = '%d'
            user_query = SELECT pw_dir AS home, 89 AS uid, 89 AS gid FROM vpopmail WHERE pw_name = '%n' AND pw_domain = '%d'

            """.write(toFile: sqlConf, atomically: true, encoding: .utf8)
        let (d, stop) = try startDovecot(s, auth: """
            passdb {
              driver = sql
              args = \(sqlConf)
            }
            userdb {
              driver = sql
              args = \(sqlConf)
            }
            """)
        defer { stop() }
        let script = """
            import poplib
            \(popLines(password: "\"s3cret'%\\\\pw\"", marker: "Subject: via sql", found: "ok"))
            print('\\n'.join(out))
            """
        let r = try tool(["/usr/bin/python3", "-c", script])
        #expect(r.out == "pop-stat 1\npop-retr ok\npop-wrong refused\n", "\(r.out) \(r.err) \(s.read(d + "/dovecot.log") ?? "")")
    }
}
