import VpopmailCore

/// A bound value: every value reaches the server as a parameter, never as SQL text.
public enum SQLValue: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case null

    public static func i<T: BinaryInteger>(_ v: T) -> SQLValue { .int(Int64(v)) }
}

/// Rows as text (NULL is nil), in the server's column order.
public typealias SQLRows = [[String?]]

/// The SQL spelling differences between the three servers.
public enum SQLDialect: String, Sendable {
    case mysql, pgsql, sqlite

    /// A table name as SQL (quoted; PostgreSQL folds to lower case like upstream).
    public func table(_ name: String) -> String {
        switch self {
        case .mysql: return "`\(name)`"
        case .pgsql: return "\"\(name.lowercased())\""
        case .sqlite: return "\"\(name)\""
        }
    }

    /// Rewrites `?` placeholders to PostgreSQL's `$n`. Our statements have no `?` in literals.
    public func placeholders(_ sql: String) -> String {
        guard self == .pgsql else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var n = 0
        for c in sql {
            if c == "?" { n += 1; out += "$\(n)" } else { out.append(c) }
        }
        return out
    }
}

/// One server connection. `run` prepares `sql`, binds `params`, executes, and returns the rows
/// (as text) and the number of rows returned or changed; `SQLError.lost` tells the store to
/// reconnect and retry.
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    func run(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> (rows: SQLRows, affected: Int)
    func close()
    /// Whether the server's answer to the last statement says that the transaction begun
    /// with `START TRANSACTION` is still open on this connection (nil: the driver cannot tell).
    var explicitTransactionOpen: Bool? { get }
}

extension SQLConnection {
    public var explicitTransactionOpen: Bool? { nil }

    public func query(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> SQLRows {
        try run(sql, params).rows
    }

    /// The number of rows changed.
    @discardableResult
    public func execute(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> Int {
        try run(sql, params).affected
    }
}

/// A server error with its code; `lost` when the connection went away (stale after the
/// server's idle timeout, server restarted) so that a retry on a new connection may work.
public struct SQLError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var code: Int
    public var lost: Bool
    /// A missing table (the store creates tables lazily, like upstream).
    public var missingTable: Bool
    /// A primary-key or unique violation.
    public var duplicateKey: Bool
    /// A column the table does not have (an older or differently built schema).
    public var unknownColumn: Bool
    /// The server aborted the transaction and it may succeed when run again from its start: a
    /// deadlock or lock wait timeout (MySQL 1213, 1205, which is also how Galera reports a
    /// certification failure), a serialization failure or deadlock (PostgreSQL 40001, 40P01).
    public var retryable: Bool

    public init(_ message: String, code: Int = 0, lost: Bool = false, missingTable: Bool = false, duplicateKey: Bool = false,
                unknownColumn: Bool = false, retryable: Bool = false) {
        self.message = message
        self.code = code
        self.lost = lost
        self.missingTable = missingTable
        self.duplicateKey = duplicateKey
        self.unknownColumn = unknownColumn
        self.retryable = retryable
    }

    public var description: String { message }
}

/// The five `|`-separated fields of a connection line; an empty or missing field is nil.
func connectionFields(_ line: String) -> [String?] {
    let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    return (0..<5).map { $0 < f.count && !f[$0].isEmpty ? f[$0] : nil }
}

/// One line of `etc/vpopmail.mysql`: `host|port-or-socket|user|password|database`.
public struct MySQLServer: Sendable, Equatable {
    public var host = "localhost"
    public var port: UInt32 = 0
    public var socket: String? = nil
    public var user = "root"
    public var password = ""
    public var database = "vpopmail"

    public init() {}

    /// The other servers of a line that lists several (`node1,node2,node3|3306|...`, or one port
    /// per host: `node1,node2|3306,3307|...`), tried in order when the first cannot be reached:
    /// the nodes of a Galera cluster, say.
    public var alternates: [MySQLServer] = []

    /// Parses one line; the fields are taken as they are (a `|` cannot be part of a value).
    public init(line: String) {
        let f = connectionFields(line)
        if let h = f[0] { host = h }
        if let p = f[1] {
            if p.hasPrefix("/") { socket = p } else { port = UInt32(p.split(separator: ",").first ?? "") ?? 0 }
        }
        let hosts = host.split(separator: ",").map(String.init)
        let ports = socket == nil ? (f[1] ?? "").split(separator: ",").map { UInt32($0) ?? 0 } : []
        if hosts.count > 1 || ports.count > 1 {
            var all: [MySQLServer] = []
            for i in 0..<max(hosts.count, ports.count) {
                var s = MySQLServer()
                s.host = hosts.isEmpty ? "localhost" : hosts[min(i, hosts.count - 1)]
                s.port = ports.isEmpty ? 0 : ports[min(i, ports.count - 1)]
                all.append(s)
            }
            host = all[0].host
            port = all[0].port
            alternates = all.dropFirst().map { $0 }
        }
        if let u = f[2] { user = u }
        password = f[3] ?? ""
        if let d = f[4] { database = d }
        for i in alternates.indices {
            alternates[i].user = user
            alternates[i].password = password
            alternates[i].database = database
        }
    }

    /// This server and its alternates, in the order to try them.
    public var candidates: [MySQLServer] {
        var first = self
        first.alternates = []
        return [first] + alternates
    }

    public var label: String { socket.map { "\(host):\($0)" } ?? "\(host):\(port)" }
}

/// `etc/vpopmail.pgsql`: `host|port|user|password|database`; empty fields default to
/// `localhost`, the default port, `postgres`, no password and `vpopmail` (docs/sql-stores.md).
/// A host starting with `/` is a socket directory. Several hosts (a primary and its standbys)
/// are a comma-separated list, with one port for all or a list of ports in the same order, as
/// libpq takes them: `db1,db2|5432|...` or `db1,db2|5432,5433|...`.
public struct PGServer: Sendable, Equatable {
    public var host = "localhost"
    public var port = ""
    public var user = "postgres"
    public var password = ""
    public var database = "vpopmail"

    public init() {}

    public init(line: String) {
        let f = connectionFields(line)
        if let h = f[0] { host = h }
        if let p = f[1], p != "0" { port = p }
        if let u = f[2] { user = u }
        password = f[3] ?? ""
        if let d = f[4] { database = d }
    }

    /// More than one host: libpq picks among them by `target_session_attrs`.
    public var hosts: Int { host.split(separator: ",").count }
}
