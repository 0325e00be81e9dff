import CLibPQ
import StoreSQL
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL connection through libpq. Statements go through `PQexecParams` (an unnamed
/// prepared statement with bound text values).
public final class PGConnection: SQLConnection {
    public let dialect = SQLDialect.pgsql
    private var conn: OpaquePointer?

    /// `target`: libpq's `target_session_attrs` for a line of several hosts (`read-write` for
    /// the update connection, `prefer-standby` for reads).
    public init(_ s: PGServer, target: String? = nil) throws(SQLError) {
        // Keyword/value arrays: nothing is spliced into a conninfo string.
        // statement_timeout: a server that stops answering is an error, not a hung login.
        var keys = ["host", "user", "dbname", "connect_timeout", "client_encoding", "options"]
        var values = [s.host, s.user, s.database, "2", "UTF8", "-c statement_timeout=30000"]
        if let target { keys.append("target_session_attrs"); values.append(target) }
        if !s.port.isEmpty { keys.append("port"); values.append(s.port) }
        if !s.password.isEmpty { keys.append("password"); values.append(s.password) }
        let ck = keys.map { strdup($0) } + [nil]
        let cv = values.map { strdup($0) } + [nil]
        defer { for p in ck + cv { free(p) } }
        let c = ck.map { UnsafePointer($0) }.withUnsafeBufferPointer { kp in
            cv.map { UnsafePointer($0) }.withUnsafeBufferPointer { vp in
                PQconnectdbParams(kp.baseAddress, vp.baseAddress, 0)
            }
        }
        conn = c
        if PQstatus(c) != CONNECTION_OK {
            let msg = PGConnection.oneLine(String(cString: PQerrorMessage(c)))
            close()
            throw SQLError("PostgreSQL connect to \(s.host): \(msg)", lost: true)
        }
        // Quiet "relation already exists" notices of CREATE TABLE IF NOT EXISTS.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
    }

    deinit { close() }

    /// libpq's messages span lines (a hint after a newline and tab): one line for logs.
    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: { $0.isNewline || $0 == "\t" }).map { $0.trimmingSpaces() }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    public func run(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> (rows: SQLRows, affected: Int) {
        guard let conn else { throw SQLError("PostgreSQL: not connected", lost: true) }
        let text = dialect.placeholders(sql)
        let cvals: [UnsafeMutablePointer<CChar>?] = params.map {
            switch $0 {
            case .text(let s): return strdup(s)
            case .int(let i): return strdup(String(i))
            case .null: return nil
            }
        }
        defer { for p in cvals { free(p) } }
        let res = cvals.map { UnsafePointer($0) }.withUnsafeBufferPointer { vp in
            PQexecParams(conn, text, Int32(params.count), nil, vp.baseAddress, nil, nil, 0)
        }
        defer { PQclear(res) }
        let status = PQresultStatus(res)
        if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK {
            let msg = PGConnection.oneLine(String(cString: PQresultErrorMessage(res)))
            let stateP = PQresultErrorField(res, 67 /* 'C': SQLSTATE */)
            let state = stateP.map { String(cString: $0) } ?? ""
            let lost = PQstatus(conn) != CONNECTION_OK || state.hasPrefix("08") || state == "57P01"
            throw SQLError("PostgreSQL: \(msg)", code: 0, lost: lost, missingTable: state == "42P01", duplicateKey: state == "23505",
                           unknownColumn: state == "42703", retryable: state == "40001" || state == "40P01")
        }
        if status == PGRES_COMMAND_OK {
            let n = Int(String(cString: PQcmdTuples(res))) ?? 0
            return ([], n)
        }
        let nrows = Int(PQntuples(res)), ncols = Int(PQnfields(res))
        var rows: SQLRows = []
        rows.reserveCapacity(nrows)
        for r in 0..<nrows {
            var row: [String?] = []
            row.reserveCapacity(ncols)
            for c in 0..<ncols {
                if PQgetisnull(res, Int32(r), Int32(c)) != 0 { row.append(nil); continue }
                row.append(String(cString: PQgetvalue(res, Int32(r), Int32(c))))
            }
            rows.append(row)
        }
        return (rows, nrows)
    }
}

/// Installs the PostgreSQL driver into `SQLStore`.
/// `auth-module = pgsql`: PostgreSQL, the connection in `etc/vpopmail.pgsql`
/// (`host|port|user|password|database`).
public enum PostgresDriver: StoreDriver {
    public static var name: StoreName { StoreName("pgsql")! }

    /// Line 1 is where reads go, line 2 (optional) where writes go, as in `vpopmail.mysql`. A
    /// line of several hosts (a primary and its streaming standbys) serves both: writes go to
    /// whichever host is the primary now (`target_session_attrs=read-write`, so a promoted
    /// standby takes them without a configuration change), reads to a standby when one answers
    /// (`prefer-standby`), else to the primary. `mysql-replication = n` sends reads to the
    /// primary too.
    public static func open(_ c: StoreContext) throws(VpopmailError) -> StoreSet {
        let lines = try SQLDatabase.connectionLines(c.etcDir + "/vpopmail.pgsql")
        let read = PGServer(line: lines.first ?? "")
        let update = lines.count > 1 ? PGServer(line: lines[1]) : read
        let split = (update != read || read.hosts > 1) && c.config.mysqlReplication
        let readTarget = read.hosts > 1 ? "prefer-standby" : nil
        let updateTarget = update.hosts > 1 ? "read-write" : nil
        return SQLDatabase(dialect: .pgsql, name: "pgsql", manyDomains: c.config.manyDomains,
                           read: { () throws(SQLError) in try split ? PGConnection(read, target: readTarget) : PGConnection(update, target: updateTarget) },
                           update: { () throws(SQLError) in try PGConnection(update, target: updateTarget) },
                           separateRead: split).stores(c)
    }
}
