import Foundation
import Testing

/// Many mail hosts, one database: reads from a replica (line 1 of `vpopmail.mysql`), writes to
/// the primary (line 2), and logins keep working when the replica stops. Uses the primary and
/// replica run-tests.sh starts (scripts/sqlservers.sh); stops the replica.
@Suite struct Replication {
    func replica(_ f: [String], _ db: String, _ statement: String) throws -> Result {
        try tool(["/usr/bin/mariadb", "--no-defaults", "-N", "-B", "-h", f[0], "-P", f[1], "-u", f[2], "-p" + f[3], db, "-e", statement])
    }

    @Test func readsFromTheReplicaWritesToThePrimary() throws {
        guard let r = sqlServer("VPOP_TEST_MYSQL_REPLICA") else { throw MissingServer(name: "VPOP_TEST_MYSQL_REPLICA") }
        let rf = r.split(separator: "|").map(String.init)
        let ping = try tool(["/usr/bin/mariadb-admin", "--no-defaults", "-h", rf[0], "-P", rf[1], "-u", rf[2], "-p" + rf[3], "ping"])
        #expect(ping.status == 0, "the replica is not running (run ./run-tests.sh): \(ping.err)")
        guard ping.status == 0 else { return }

        let s = try Site(store: "mysql")
        let db = s.database!
        let primary = sqlServer("VPOP_TEST_MYSQL")!
        try "# read server (replica)\n\(rf[0..<4].joined(separator: "|"))|\(db)\n# update server (primary)\n\(primary)|\(db)\n"
            .write(toFile: s.home + "/etc/vpopmail.mysql", atomically: true, encoding: .utf8)

        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        // The write reached the primary ...
        #expect(try s.sql("SELECT pw_name FROM vpopmail WHERE pw_name = 'joe'").out == "joe\n")
        // ... and replicates.
        var replicated = false
        for _ in 0..<100 {
            if (try? replica(rf, db, "SELECT pw_name FROM vpopmail WHERE pw_name = 'joe'").out) == "joe\n" { replicated = true; break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(replicated, "joe never reached the replica")

        // Reads go to the replica: an account that exists only there logs in.
        let ghost = try replica(rf, db, "SET sql_log_bin = 0; INSERT INTO vpopmail VALUES ('ghost', 'example.com', '\(knownHash)', 1, 0, 'ghost', '\(s.domainDir("example.com"))/ghost', 'NOQUOTA', '')")
        #expect(ghost.status == 0, "\(ghost.err)")
        #expect(try s.vchkpw("ghost@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.9"]).status == 0)
        // mysql-replication = n: every read goes to the update server, where ghost does not exist.
        let conf = s.home + "/etc/vpopmail.conf"
        let saved = s.read(conf) ?? ""
        try (saved + "mysql-replication = n\n").write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("ghost@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 3)
        try saved.write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("ghost@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        // lastauth was written to the primary.
        #expect(try s.sql("SELECT remote_ip FROM lastauth WHERE user = 'joe'").out == "192.0.2.9\n")

        // The replica stops: reads fall back to the primary.
        let down = try tool(["/usr/bin/mariadb-admin", "--no-defaults", "--socket=\(rf[4])/mysqld.sock", "-u", "root", "shutdown"])
        #expect(down.status == 0, "\(down.err)")
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try s.vchkpw("ghost@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 3)
        try s.ok(["vadduser", "ann@example.com", "pw2"])
        #expect(try s.vchkpw("ann@example.com", "pw2", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try s.ok(["vuserinfo", "-n", "ann@example.com"]).out == "ann\n")
        let r2 = try s.deliver("Subject: x\n\nbody\n", to: "ann", at: "example.com")
        #expect(r2.status == 0, "\(r2.out)")
    }
}
