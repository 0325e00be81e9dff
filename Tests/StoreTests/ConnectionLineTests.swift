import StoreSQL
import Testing

/// Connection lines of several servers (docs/sql-stores.md: several mail hosts on one store).
@Suite struct ConnectionLines {
    @Test func mysqlLineOfSeveralNodes() {
        let s = MySQLServer(line: "db1,db2,db3|3306,3307|vp|pw|mail")
        #expect(s.candidates.map { "\($0.host):\($0.port)" } == ["db1:3306", "db2:3307", "db3:3307"])
        #expect(s.candidates.allSatisfy { $0.user == "vp" && $0.password == "pw" && $0.database == "mail" && $0.alternates.isEmpty })
        let one = MySQLServer(line: "db1|3306|vp|pw|mail")
        #expect(one.candidates.count == 1 && one.alternates.isEmpty && one.port == 3306)
        let sock = MySQLServer(line: "localhost|/run/mysqld/mysqld.sock|vp|pw|mail")
        #expect(sock.candidates.count == 1 && sock.socket == "/run/mysqld/mysqld.sock")
        let hosts = MySQLServer(line: "db1,db2|3306|vp|pw|mail")
        #expect(hosts.candidates.map { "\($0.host):\($0.port)" } == ["db1:3306", "db2:3306"])
    }

    @Test func pgsqlLineOfSeveralHosts() {
        let s = PGServer(line: "db1,db2|5432,5433|vp|pw|mail")
        #expect(s.hosts == 2 && s.host == "db1,db2" && s.port == "5432,5433")
        #expect(PGServer(line: "db1|5432|vp|pw|mail").hosts == 1)
    }
}
