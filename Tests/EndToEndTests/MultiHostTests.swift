import Foundation
import Testing

/// Many mail hosts on one store: two installations ("hosts", two `VPOPMAIL_HOME`s) share one
/// database and one domains tree (as hosts share it over NFS), and each host's processes write
/// at the same moment. Only the database can serialise them: the hosts have no file lock in
/// common (the SQL stores take none). On Galera each host talks to its own node.
@Suite(.serialized) struct MultiHost {
    /// A second host for `a`: its own home (programs, etc/), the same configuration pointed at
    /// `connection` (the same server, or another Galera node), the same `users/assign` (so the
    /// same domain directories).
    static func secondHost(of a: Site, connection: (file: String, text: String)?) throws -> Site {
        let b = try Site(store: "cdb")
        try FileManager.default.removeItem(atPath: b.home + "/etc/vpopmail.conf")
        try FileManager.default.copyItem(atPath: a.home + "/etc/vpopmail.conf", toPath: b.home + "/etc/vpopmail.conf")
        if let c = connection { try c.text.write(toFile: b.home + "/etc/" + c.file, atomically: true, encoding: .utf8) }
        try FileManager.default.removeItem(atPath: b.qmail + "/users")
        try FileManager.default.copyItem(atPath: a.qmail + "/users", toPath: b.qmail + "/users")
        return b
    }

    /// Galera: node `n` (1-3) as a `vpopmail.mysql` line for database `db`.
    static func galeraLine(_ n: Int, _ db: String) -> String? {
        guard let g = sqlServer("VPOP_TEST_GALERA"), let nodes = sqlServer("VPOP_TEST_GALERA_NODES") else { return nil }
        var f = g.split(separator: "|").map(String.init)
        f[1] = String(nodes.split(separator: ",")[n - 1])
        return f.joined(separator: "|") + "|" + db
    }

    static func galeraSQL(_ n: Int, _ db: String?, _ statement: String) throws -> Result {
        let f = galeraLine(n, db ?? "")!.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        // Causal reads: the node answers once it has applied what the cluster committed before.
        return try tool(["/usr/bin/mariadb", "--no-defaults", "-N", "-B", "-h", f[0], "-P", f[1], "-u", f[2], "-p" + f[3],
                         "-e", "SET SESSION wsrep_sync_wait = 1; " + statement]
                        + (db.map { [$0] } ?? []))
    }

    /// A site whose store is `store` (`galera`: mysql on node 1 of the cluster, database dropped
    /// at the end by the caller) with the domain example.com, and its second host.
    static func hosts(_ store: String) throws -> (a: Site, b: Site, db: String?) {
        if store == "galera" {
            let a = try Site(store: "cdb")
            let db = "vpg_" + UUID().uuidString.prefix(8).lowercased()
            guard let one = galeraLine(1, db), let two = galeraLine(2, db) else { throw MissingServer(name: "VPOP_TEST_GALERA") }
            try "\(one)\n".write(toFile: a.home + "/etc/vpopmail.mysql", atomically: true, encoding: .utf8)
            try "auth-module = mysql\nvalias = y\nmysql-limits = y\nthrottle = n\n".write(toFile: a.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
            try a.ok(["vadddomain", "example.com", "pw"])
            return (a, try secondHost(of: a, connection: ("vpopmail.mysql", "\(two)\n")), db)
        }
        let a = try Site(store: store)
        try a.ok(["vadddomain", "example.com", "pw"])
        if store == "sqlite" {
            // One database file: the second host is a second set of processes on the same home.
            return (a, a, nil)
        }
        let file = store == "mysql" ? "vpopmail.mysql" : "vpopmail.pgsql"
        return (a, try secondHost(of: a, connection: (file, a.read(a.home + "/etc/" + file)!)), nil)
    }

    /// The domain's accounts (name, home) and its `dir_control` counter, as the server has them.
    static func rows(_ store: String, _ a: Site, _ db: String?, node: Int = 3) throws -> (accounts: [(String, String)], counter: Int) {
        func q(_ s: String) throws -> String {
            let r = store == "galera" ? try galeraSQL(node, db, s) : try a.sql(s)
            #expect(r.status == 0, "\(s): \(r.err)")
            return r.out
        }
        let acc = try q("SELECT pw_name, pw_dir FROM vpopmail WHERE pw_domain = 'example.com' ORDER BY pw_name")
            .split(separator: "\n").map { l -> (String, String) in
                let f = l.split(separator: "\t").map(String.init)
                return (f[0], f.count > 1 ? f[1] : "")
            }
        let counter = Int(try q("SELECT cur_users FROM dir_control WHERE domain = 'example.com'").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        return (acc, counter)
    }

    /// Two hosts, three processes each, add 60 accounts to one domain at the same moment, and
    /// both add `both` at the same moment: every account once, distinct homes on disk, the
    /// counter equal to the number of accounts, `both` added by exactly one of them.
    @Test(arguments: storesUnderTest(["mysql", "pgsql", "sqlite", "galera"]))
    func twoHostsAddToOneDomain(store: String) throws {
        let (a, b, db) = try MultiHost.hosts(store)
        defer { if let db { _ = try? MultiHost.galeraSQL(1, nil, "DROP DATABASE IF EXISTS \(db)") } }
        let workers = 6, each = 10
        final class Outcomes: @unchecked Sendable {
            let lock = NSLock()
            var both: [Int32] = []
            var failures: [String] = []
        }
        let out = Outcomes()
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let host = w % 2 == 0 ? a : b
            if w < 2 {
                let r = try? host.run(["vadduser", "-e", knownHash, "both@example.com"])
                out.lock.withLock { out.both.append(r?.status ?? -1) }
            }
            for i in 0..<each {
                let r = try? host.run(["vadduser", "-e", knownHash, "w\(w)u\(i)@example.com"])
                if r?.status != 0 { out.lock.withLock { out.failures.append("w\(w)u\(i): \(r?.status ?? -1) \(r?.out ?? "") \(r?.err ?? "")") } }
            }
        }
        #expect(out.failures.isEmpty, "\(out.failures)")
        #expect(out.both.count == 2 && out.both.filter { $0 == 0 }.count == 1, "both@ added twice or never: \(out.both)")
        let (accounts, counter) = try MultiHost.rows(store, a, db)
        let names = accounts.map(\.0)
        #expect(names.count == workers * each + 2, "\(names.count) accounts")
        #expect(Set(names).count == names.count)
        for w in 0..<workers { for i in 0..<each { #expect(names.contains("w\(w)u\(i)"), "w\(w)u\(i) missing") } }
        let homes = accounts.map(\.1)
        #expect(Set(homes).count == homes.count, "two accounts share a home")
        for h in homes { #expect(FileManager.default.fileExists(atPath: h + "/Maildir/new"), "\(h) missing") }
        #expect(counter == names.count, "dir_control says \(counter) users, the table has \(names.count)")
        // Both hosts read the same accounts.
        #expect(try b.vchkpw("w0u3@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try a.vchkpw("w1u3@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        // Concurrent changes of one account from both hosts: none is lost.
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            let host = k % 2 == 0 ? a : b
            let r = try? host.run(["valias", "-i", "dest\(k)@remote.test", "list@example.com"])
            if r?.status != 0 { out.lock.withLock { out.failures.append("valias \(k): \(r?.err ?? "")") } }
        }
        #expect(out.failures.isEmpty, "\(out.failures)")
        let lines = try a.ok(["valias", "-s", "list@example.com"]).out
        for k in 0..<8 { #expect(lines.contains("dest\(k)@remote.test"), "line \(k) lost: \(lines)") }
        // Deletes from both hosts keep the counter right.
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            let host = k % 2 == 0 ? a : b
            for i in 0..<5 {
                let r = try? host.run(["vdeluser", "w\(k)u\(i)@example.com"])
                if r?.status != 0 { out.lock.withLock { out.failures.append("vdeluser w\(k)u\(i): \(r?.status ?? -1) \(r?.err ?? "")") } }
            }
        }
        #expect(out.failures.isEmpty, "\(out.failures)")
        let after = try MultiHost.rows(store, a, db)
        #expect(after.accounts.count == names.count - 20)
        #expect(after.counter == after.accounts.count, "counter \(after.counter), accounts \(after.accounts.count)")
        for k in 0..<4 { #expect(!FileManager.default.fileExists(atPath: a.domainDir("example.com") + "/w\(k)u0")) }
    }

    /// A Galera node killed with SIGKILL while both hosts add accounts: the host on a surviving
    /// node goes on, a host whose connection line also lists another node goes on through it,
    /// every account a vadduser acknowledged (exit 0) is there, on every node once the killed one
    /// has rejoined, and the counter still equals the accounts.
    @Test func galeraNodeKilledMidRun() throws {
        guard sqlServer("VPOP_TEST_GALERA") != nil else { throw MissingServer(name: "VPOP_TEST_GALERA") }
        let (a, b, db) = try MultiHost.hosts("galera")
        defer { if let db { _ = try? MultiHost.galeraSQL(1, nil, "DROP DATABASE IF EXISTS \(db)") } }
        final class Acks: @unchecked Sendable {
            let lock = NSLock()
            var ok: [String] = []
            var failedOnA: [String] = []
        }
        let acks = Acks()
        let each = 40
        let killer = Thread {
            Thread.sleep(forTimeInterval: 0.6)
            _ = MultiHost.galeraShell("galera_kill 2")
        }
        killer.start()
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            let host = w % 2 == 0 ? a : b
            for i in 0..<each {
                let name = "k\(w)u\(i)"
                let r = try? host.run(["vadduser", "-e", knownHash, name + "@example.com"])
                acks.lock.withLock {
                    if r?.status == 0 { acks.ok.append(name) } else if w % 2 == 0 { acks.failedOnA.append("\(name): \(r?.err ?? "")") }
                }
            }
        }
        while !killer.isFinished { Thread.sleep(forTimeInterval: 0.05) }
        // Host A (node 1) never failed; host B (node 2) failed once its node was gone.
        #expect(acks.failedOnA.isEmpty, "\(acks.failedOnA)")
        #expect(acks.ok.filter { $0.hasPrefix("k1") || $0.hasPrefix("k3") }.count < 2 * each, "node 2 was never killed")
        // A host whose line lists its node and another goes on through the other while its own
        // is down.
        let ports = sqlServer("VPOP_TEST_GALERA_NODES")!.split(separator: ",")
        try "127.0.0.1,127.0.0.1|\(ports[1]),\(ports[2])|vpopmail|vpoppw|\(db!)\n".write(toFile: b.home + "/etc/vpopmail.mysql", atomically: true, encoding: .utf8)
        try b.ok(["vadduser", "-e", knownHash, "failover@example.com"])
        #expect(try b.vchkpw("failover@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        acks.ok.append("failover")
        let rejoin = MultiHost.galeraShell("galera_node 2")
        #expect(rejoin.status == 0, "\(rejoin.err)")
        for node in [1, 2, 3] {
            let (accounts, counter) = try MultiHost.rows("galera", a, db, node: node)
            let names = Set(accounts.map(\.0))
            for n in acks.ok { #expect(names.contains(n), "\(n) acknowledged, missing on node \(node)") }
            #expect(names.count == accounts.count)
            #expect(counter == accounts.count, "node \(node): counter \(counter), accounts \(accounts.count)")
        }
        // The cluster takes writes through node 2 again.
        try b.ok(["vadduser", "-e", knownHash, "back@example.com"])
        #expect(try a.vchkpw("back@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
    }

    /// A PostgreSQL primary and its streaming standby, one connection line listing both: writes
    /// go to the primary, reads to the standby (shown by pausing its replay: an account added
    /// meanwhile cannot log in until it resumes), and when the primary is gone and the standby
    /// promoted, the same configuration adds and logs in.
    @Test func postgresStandbyAndPromotion() throws {
        let dir = (sqlServer("VPOP_TEST_GALERA_DIR") ?? "/tmp/vpop-sql") + "/pgpair-" + UUID().uuidString.prefix(6).lowercased()
        let p1 = 15440 + Int.random(in: 0..<20) * 2
        let standbyPort = p1 + 1
        let up = MultiHost.galeraShell("pg_pair_start '\(dir)' \(p1) \(standbyPort)")
        defer { _ = MultiHost.galeraShell("pg_pair_stop '\(dir)'") }
        #expect(up.status == 0, "\(up.out)")
        guard up.status == 0 else { return }
        func su(_ port: Int, _ sql: String) throws -> Result {
            try tool(["/usr/bin/psql", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "vpopmail", "-c", sql])
        }
        func replicated(_ name: String) throws -> Bool {
            for _ in 0..<100 {
                if try su(standbyPort, "SELECT pw_name FROM vpopmail WHERE pw_name = '\(name)'").out == "\(name)\n" { return true }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return false
        }
        let s = try Site(store: "cdb")
        try "auth-module = pgsql\nvalias = y\nmysql-limits = y\nthrottle = n\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        try "# the primary and its standby, in any order\n127.0.0.1,127.0.0.1|\(standbyPort),\(p1)|vpopmail|vpoppw|vpopmail\n"
            .write(toFile: s.home + "/etc/vpopmail.pgsql", atomically: true, encoding: .utf8)
        let pop = ["TCPLOCALPORT": "110"]
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        #expect(try su(p1, "SELECT pw_name FROM vpopmail WHERE pw_name = 'joe'").out == "joe\n", "the write did not reach the primary")
        #expect(try replicated("joe"))
        #expect(try s.vchkpw("joe@example.com", "secret", env: pop).status == 0)

        // Reads go to the standby: with its replay paused, a new account is not there yet.
        #expect(try su(standbyPort, "SELECT pg_wal_replay_pause()").status == 0)
        try s.ok(["vadduser", "ann@example.com", "secret"])
        #expect(try s.vchkpw("ann@example.com", "secret", env: pop).status == 3, "a login read the primary")
        #expect(try su(standbyPort, "SELECT pg_wal_replay_resume()").status == 0)
        #expect(try replicated("ann"))
        #expect(try s.vchkpw("ann@example.com", "secret", env: pop).status == 0)

        // The primary dies: logins go on on the standby; writes wait for a primary.
        let down = MultiHost.galeraShell("pg_pair_ctl '\(dir)' primary -m immediate -w stop")
        #expect(down.status == 0, "\(down.out)")
        #expect(try s.vchkpw("joe@example.com", "secret", env: pop).status == 0)
        let refused = try s.run(["vadduser", "bob@example.com", "secret"])
        #expect(refused.status != 0, "a write succeeded with no primary")
        // Promoted: the same configuration writes to it.
        let promote = MultiHost.galeraShell("pg_pair_ctl '\(dir)' standby -w promote")
        #expect(promote.status == 0, "\(promote.out)")
        try s.ok(["vadduser", "bob@example.com", "secret"])
        #expect(try s.vchkpw("bob@example.com", "secret", env: pop).status == 0)
        try s.ok(["vpasswd", "joe@example.com", "newpass"])
        #expect(try s.vchkpw("joe@example.com", "newpass", env: pop).status == 0)
    }

    /// `vconvert --upgrade` on a database laid out by upstream (MyISAM tables, a valias without
    /// a key): `-n` says what it would do and changes nothing; then the tables are InnoDB, valias
    /// has its key and keeps its rows, a table the command cannot key is reported, another
    /// program's table is left alone, and a second run has nothing to do. A fresh database of
    /// ours (MySQL, PostgreSQL) has nothing to upgrade; cdb, which has no tables, is refused.
    @Test func upgradeMakesUpstreamTablesClusterReady() throws {
        let s = try Site(store: "mysql")
        _ = try s.sql("CREATE DATABASE \(s.database!)", module: "mysql-server")
        let made = try s.sql("""
            CREATE TABLE dir_control (domain char(96) not null, cur_users int, level_cur int, level_max int, level_start0 int,
              level_start1 int, level_start2 int, level_end0 int, level_end1 int, level_end2 int, level_mod0 int, level_mod1 int,
              level_mod2 int, level_index0 int, level_index1 int, level_index2 int, the_dir char(160), primary key (domain)) ENGINE=MyISAM;
            CREATE TABLE lastauth (user char(32) not null, domain char(96) not null, remote_ip char(18) not null,
              timestamp bigint default 0 not null, primary key (user, domain)) ENGINE=MyISAM;
            CREATE TABLE valias (alias char(32) not null, domain char(96) not null, valias_line text not null, index (alias, domain)) ENGINE=MyISAM;
            CREATE TABLE relay (ip_addr char(18) not null, timestamp char(12), unique index (ip_addr)) ENGINE=MyISAM;
            CREATE TABLE other_app (x int) ENGINE=MyISAM;
            INSERT INTO valias VALUES ('info', 'example.com', '&joe@remote.test');
            """)
        #expect(made.status == 0, "\(made.err)")
        func engines() throws -> String {
            try s.sql("SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME").out
        }
        let before = try engines()
        let dry = try s.ok(["vconvert", "--upgrade", "-n"]).out
        #expect(dry.contains("valias: MyISAM, would become InnoDB\n") && dry.contains("valias: no primary key, would get id\n"), "\(dry)")
        #expect(try engines() == before, "-n changed the tables")
        let out = try s.ok(["vconvert", "--upgrade"]).out
        #expect(out == """
            dir_control: MyISAM -> InnoDB
            lastauth: MyISAM -> InnoDB
            relay: MyISAM -> InnoDB
            relay: no primary key (a Galera cluster replicates its deletes unsafely: add one)
            valias: MyISAM -> InnoDB
            valias: primary key id added

            """, "\(out)")
        #expect(try engines() == "dir_control\tInnoDB\nlastauth\tInnoDB\nother_app\tMyISAM\nrelay\tInnoDB\nvalias\tInnoDB\n")
        #expect(try s.sql("SELECT id, alias, valias_line FROM valias").out == "1\tinfo\t&joe@remote.test\n")
        #expect(try s.ok(["vconvert", "--upgrade"]).out == "relay: no primary key (a Galera cluster replicates its deletes unsafely: add one)\n")
        // The upgraded tables work: a domain, its users, an alias line.
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["valias", "-i", "&ann@remote.test", "info@example.com"])
        #expect(try s.ok(["valias", "-s", "info@example.com"]).out.contains("&ann@remote.test"))

        for store in ["mysql", "pgsql"] {
            let fresh = try Site(store: store)
            try fresh.ok(["vadddomain", "example.com", "pw"])
            try fresh.ok(["valias", "-i", "&x@remote.test", "info@example.com"])
            #expect(try fresh.ok(["vconvert", "--upgrade"]).out == "nothing to upgrade: every table is InnoDB and has a primary key\n", "\(store)")
        }
        let cdb = try Site()
        #expect(try cdb.run(["vconvert", "--upgrade"]).status != 0)
    }

    /// Runs one of scripts/galera.sh's (or pgstandby.sh's) functions. Not through Foundation's
    /// Process: the servers it starts outlive the shell, and get an empty signal mask (the test
    /// process blocks signals in its threads) and no pipe of ours; output goes to a file.
    static func galeraShell(_ command: String) -> Result {
        let dir = sqlServer("VPOP_TEST_GALERA_DIR") ?? "/tmp/vpop-sql"
        return shell("cd '\(packageRoot)' && SQLDIR='\(dir)' && . ./scripts/common.sh && . ./scripts/sqlservers.sh && . ./scripts/pgstandby.sh && \(command)")
    }
}

/// `/bin/sh -c command` by posix_spawn with an empty signal mask, waited for with waitpid;
/// stdout and stderr through a temporary file.
func shell(_ command: String) -> Result {
    let log = NSTemporaryDirectory() + "vpop-sh-\(UUID().uuidString.prefix(8)).log"
    defer { unlink(log) }
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attr, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let words: [String] = ["/bin/sh", "-c", command]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ)
    guard rc == 0 else { return Result(status: -1, out: "", err: "posix_spawn: \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let out = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    let exited = status & 0x7f == 0
    return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out: out, err: out)
}
