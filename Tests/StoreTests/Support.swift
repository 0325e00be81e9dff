import Foundation
import StoreFiles
import StoreMemory
import StoreMySQL
import StorePostgres
import StoreSQL
import StoreSQLite
import Testing
import VpopmailCore

/// `host|port|user|password` of a server run-tests.sh started (scripts/sqlservers.sh), from the
/// environment, else from `$SQLDIR/env`.
func server(_ name: String) throws -> [String] {
    let env = ProcessInfo.processInfo.environment
    var value = env[name]
    if value == nil, let text = try? String(contentsOfFile: (env["SQLDIR"] ?? "/tmp/vpop-sql") + "/env", encoding: .utf8) {
        value = text.split(separator: "\n").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }
    guard let v = value else { throw SQLError("\(name) is not set: run ./run-tests.sh (it starts the servers)") }
    return v.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
}

/// The servers are there when run-tests.sh says so (`VPOP_TEST_SERVERS=1`); without them the
/// MySQL and PostgreSQL cases are left out, so that the suite runs anywhere.
let withServers = ProcessInfo.processInfo.environment["VPOP_TEST_SERVERS"] == "1"

/// Every store the in-process suites run against: the in-memory one, the cdb files and SQLite
/// always, MySQL (both layouts) and PostgreSQL with the servers.
let storeKinds: [String] = (["memory", "cdb", "sqlite", "sqlite-large"] + (withServers ? ["mysql", "mysql-large", "pgsql"] : []))
    .filter { k in ProcessInfo.processInfo.environment["VPOP_TEST_ONLY_STORE"].map { k.hasPrefix($0) } ?? true }

/// A temporary installation tree (`home` with etc/ and domains/, a qmail directory) whose files
/// belong to the user running the tests, on one store; removed with the value.
final class Tree: @unchecked Sendable {
    let root: String
    let home: String
    let qmail: String
    let kind: String
    var config = Config()
    var dropDatabase: (() -> Void)? = nil
    let uid = getuid(), gid = getgid()

    init(_ kind: String, config extra: String = "") throws {
        self.kind = kind
        root = NSTemporaryDirectory() + "vpop-store-\(UUID().uuidString.prefix(8))"
        home = root + "/home"
        qmail = root + "/qmail"
        for d in [home + "/etc", home + "/domains", qmail + "/users", qmail + "/control"] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        let large = kind.hasSuffix("-large")
        let module = large ? String(kind.dropLast(6)) : kind
        var text = "file-sync = n\nauth-module = \(module)\n" + extra
        if module != "cdb" && module != "memory" { text += "valias = y\nmysql-limits = y\nsql-logging = y\n" + (large ? "many-domains = n\n" : "") }
        config = try Config.parse(text, file: "test")
        let db = "vpu_" + UUID().uuidString.prefix(8).lowercased()
        switch module {
        case "mysql":
            let f = try server("VPOP_TEST_MYSQL")
            try "\(f.joined(separator: "|"))|\(db)\n".write(toFile: home + "/etc/vpopmail.mysql", atomically: true, encoding: .utf8)
            dropDatabase = {
                var s = MySQLServer(line: f.joined(separator: "|"))
                s.database = "mysql"
                _ = try? MariaDBConnection(s, createDatabase: false).execute("DROP DATABASE IF EXISTS \(db)", [])
            }
        case "pgsql":
            let f = try server("VPOP_TEST_PGSQL")
            var s = PGServer(line: f.joined(separator: "|"))
            s.database = "postgres"
            let admin = try PGConnection(s)
            try admin.execute("CREATE DATABASE \(db)", [])
            try "\(f.joined(separator: "|"))|\(db)\n".write(toFile: home + "/etc/vpopmail.pgsql", atomically: true, encoding: .utf8)
            dropDatabase = { _ = try? admin.execute("DROP DATABASE IF EXISTS \(db) WITH (FORCE)", []) }
        default: break
        }
    }

    deinit {
        dropDatabase?()
        try? FileManager.default.removeItem(atPath: root)
    }

    var driver: any StoreDriver.Type {
        switch config.authModule.text {
        case "memory": return MemoryDriver.self
        case "mysql": return MySQLDriver.self
        case "pgsql": return PostgresDriver.self
        case "sqlite": return SQLiteDriver.self
        default: return FilesDriver.self
        }
    }

    func stores() throws -> StoreSet {
        try driver.open(StoreContext(home: home, config: config) { (self.uid, self.gid) })
    }

    func installation() throws -> Installation {
        try Installation(home: home, config: config, qmailDir: qmail, driver: driver)
    }

    /// A domain directory of the tree (created), owned by the test user.
    func domain(_ name: String) throws -> DomainInfo {
        let dir = home + "/domains/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return DomainInfo(name: name, realDomain: name, uid: uid, gid: gid, dir: dir)
    }

    /// An account whose home exists.
    func account(_ name: String, in d: DomainInfo, hash: String = "$1$x$y", quota: Quota = .none) throws -> Account {
        let home = d.dir + "/" + name
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return Account(name: name, passwordHash: hash, gecos: "G \(name)", home: home, quota: quota)
    }
}

/// Names as literals, in tests only (the library parses every name it is given).
extension UserName: ExpressibleByStringLiteral {
    public init(stringLiteral s: String) { self = UserName(s)! }
}
