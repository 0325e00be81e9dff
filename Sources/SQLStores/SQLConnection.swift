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

/// One server connection. `query` returns rows; `execute` returns the number of rows changed.
/// Errors are `VpopmailError`s; `isConnectionLost` tells the store to reconnect and retry.
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    func query(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> SQLRows
    @discardableResult
    func execute(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> Int
    func close()
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

    public init(_ message: String, code: Int = 0, lost: Bool = false, missingTable: Bool = false, duplicateKey: Bool = false) {
        self.message = message
        self.code = code
        self.lost = lost
        self.missingTable = missingTable
        self.duplicateKey = duplicateKey
    }

    public var description: String { message }
}
