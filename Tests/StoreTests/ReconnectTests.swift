import Foundation
import StoreMySQL
import StorePasswd
import StorePostgres
import StoreSQL
import Testing
import VpopmailCore

/// A connection that went away (server restart, idle timeout, killed) is reopened and the
/// statement retried once, without the caller noticing.
@Suite(.enabled(if: withServers, "needs the servers of ./run-tests.sh")) struct Reconnect {
    final class Opened: @unchecked Sendable {
        var connections: [SQLConnection] = []
    }

    func database(_ dialect: SQLDialect, _ opened: Opened, connect: @escaping () throws(SQLError) -> SQLConnection) -> SQLDatabase {
        let open: () throws(SQLError) -> SQLConnection = { () throws(SQLError) in
            let c = try connect()
            opened.connections.append(c)
            return c
        }
        return SQLDatabase(dialect: dialect, name: dialect.rawValue, manyDomains: true, read: open, update: open, separateRead: false)
    }

    func roundTrip(_ db: SQLDatabase, _ opened: Opened, kill: (String) throws -> Void, idQuery: String) throws {
        let s = SQLAccounts(db, aliasDomainTable: false), logins = SQLLastAuth(db)
        let d = DomainInfo(name: "example.com", realDomain: "example.com", uid: 89, gid: 89, dir: "/nonexistent/example.com")
        let joe = Account(name: "joe", passwordHash: "x", gecos: "Joe", home: "/h/joe")
        try s.domainAdded("example.com")
        try s.insert([joe], in: d)
        #expect(opened.connections.count == 1)
        let id = try opened.connections[0].query(idQuery, [])[0][0]!
        try kill(id)
        // The read finds the connection dead, reconnects and answers.
        #expect(try s.account("joe", in: d)?.gecos == "Joe")
        #expect(opened.connections.count == 2)
        // And a write after another kill.
        let id2 = try opened.connections[1].query(idQuery, [])[0][0]!
        try kill(id2)
        try logins.setLastAuth(of: joe, in: d, ip: "192.0.2.1", time: 1000)
        #expect(try logins.lastAuth(of: joe, in: d)?.ip == "192.0.2.1")
        #expect(opened.connections.count == 3)
    }

    @Test func mysql() throws {
        let f = try server("VPOP_TEST_MYSQL")
        var srv = MySQLServer(line: f.joined(separator: "|"))
        srv.database = "vpu_" + UUID().uuidString.prefix(8).lowercased()
        let opened = Opened()
        let s = database(.mysql, opened) { () throws(SQLError) in try MariaDBConnection(srv, createDatabase: true) }
        var admin = srv
        admin.database = "mysql"
        let killer = try MariaDBConnection(admin, createDatabase: false)
        defer { _ = try? killer.execute("DROP DATABASE IF EXISTS \(srv.database)", []) }
        try roundTrip(s, opened, kill: { id in try killer.execute("KILL \(Int(id)!)", []) }, idQuery: "SELECT CONNECTION_ID()")
    }

    /// What the store's transactions rely on to see one the server ended between statements
    /// (docs/sql-stores.md): the tracked state says `T` while `START TRANSACTION`'s is open,
    /// and no longer once it ended (here by the implicit commit of a DDL statement); with
    /// autocommit off, what runs after it is not committed on its own.
    @Test func mysqlTransactionState() throws {
        let f = try server("VPOP_TEST_MYSQL")
        var srv = MySQLServer(line: f.joined(separator: "|"))
        srv.database = "vpu_" + UUID().uuidString.prefix(8).lowercased()
        let c = try MariaDBConnection(srv, createDatabase: true)
        defer { _ = try? c.execute("DROP DATABASE IF EXISTS \(srv.database)", []) }
        try c.execute("CREATE TABLE t (a INT PRIMARY KEY) ENGINE=InnoDB", [])
        try c.execute("SET SESSION autocommit = 0, session_track_transaction_info = 'STATE'", [])
        try c.execute("START TRANSACTION", [])
        #expect(c.explicitTransactionOpen == true)
        try c.execute("INSERT INTO t VALUES (1)", [])
        #expect(c.explicitTransactionOpen == true)
        #expect(try c.query("SELECT a FROM t WHERE a = ? FOR UPDATE", [.int(1)]).count == 1)
        #expect(c.explicitTransactionOpen == true)
        try c.execute("CREATE TABLE u (a INT) ENGINE=InnoDB", [])
        #expect(c.explicitTransactionOpen == false)
        try c.execute("INSERT INTO t VALUES (2)", [])
        #expect(c.explicitTransactionOpen == false)
        try c.execute("ROLLBACK", [])
        try c.execute("SET SESSION autocommit = 1", [])
        #expect(try c.query("SELECT a FROM t ORDER BY a", []).map { $0[0] ?? "" } == ["1"])
    }

    @Test func pgsql() throws {
        let f = try server("VPOP_TEST_PGSQL")
        var srv = PGServer(line: f.joined(separator: "|"))
        srv.database = "postgres"
        let admin = try PGConnection(srv)
        let db = "vpu_" + UUID().uuidString.prefix(8).lowercased()
        try admin.execute("CREATE DATABASE \(db)", [])
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(db) WITH (FORCE)", []) }
        srv.database = db
        let opened = Opened()
        let s = database(.pgsql, opened) { () throws(SQLError) in try PGConnection(srv) }
        try roundTrip(s, opened, kill: { pid in _ = try admin.query("SELECT pg_terminate_backend(?::int)", [.text(pid)]) },
                      idQuery: "SELECT pg_backend_pid()")
    }
}

/// `/etc/passwd` accounts as a store (vconvert -e, auth-module = passwd).
@Suite struct SystemAccounts {
    @Test func loginAccountsWithShadowHashes() throws {
        let dir = NSTemporaryDirectory() + "passwdstore-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            root:x:0:0:root:/root:/bin/bash
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            alice:x:1000:1000:Alice Smith,,,:/home/alice:/bin/bash
            Bob:$1$saltsalt$9xy1btjgzLYfb7hivXtC//:1001:1001::/home/bob:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

            """.write(toFile: dir + "/passwd", atomically: true, encoding: .utf8)
        try "root:*:19000:0:99999:7:::\nalice:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1:19000::::::\n"
            .write(toFile: dir + "/shadow", atomically: true, encoding: .utf8)
        let s = PasswdAccounts(passwdFile: dir + "/passwd", shadowFile: dir + "/shadow")
        let d = DomainInfo(name: "example.com", realDomain: "example.com", uid: 89, gid: 89, dir: dir)
        let all = try s.accounts(in: d)
        #expect(all.map { $0.name } == ["alice", "bob"])
        #expect(all[0].gecos == "Alice Smith" && all[0].home == "/home/alice" && Password.verify("secret", against: all[0].passwordHash))
        #expect(all[1].passwordHash == "$1$saltsalt$9xy1btjgzLYfb7hivXtC//")
        #expect(try s.account("root", in: d) == nil)
        #expect(throws: VpopmailError.self) { try s.insert(all, in: d) }
    }
}
