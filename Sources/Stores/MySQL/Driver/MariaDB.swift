import CMariaDB
import StoreSQL
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// A MariaDB/MySQL connection through libmariadb, with server-side prepared statements only.
public final class MariaDBConnection: SQLConnection {
    public let dialect = SQLDialect.mysql
    private var db: UnsafeMutablePointer<MYSQL>?
    public let server: MySQLServer

    /// Connects (timeout 2 s); with `createDatabase`, creates the database when it is missing.
    public init(_ server: MySQLServer, createDatabase: Bool) throws(SQLError) {
        self.server = server
        guard let db = mysql_init(nil) else { throw SQLError("mysql_init failed") }
        self.db = db
        var timeout: UInt32 = 2
        mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        // A server that stops answering mid-statement: an error (vchkpw/vdelivermail: 111)
        // instead of a login or a delivery that hangs forever.
        var ioTimeout: UInt32 = 30
        mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &ioTimeout)
        mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &ioTimeout)
        mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        let ok = mysql_real_connect(db, server.host, server.user, server.password, nil, server.port, server.socket, UInt(CLIENT_FOUND_ROWS))
        if ok == nil {
            let e = MariaDBConnection.error(db, "connect to \(server.label)")
            mysql_close(db)
            self.db = nil
            throw e
        }
        if mysql_select_db(db, server.database) != 0 {
            let code = Int(mysql_errno(db))
            if code == 1049 && createDatabase && MariaDBConnection.isIdentifier(server.database) {
                if mysql_query(db, "CREATE DATABASE IF NOT EXISTS `\(server.database)`") != 0 || mysql_select_db(db, server.database) != 0 {
                    let e = MariaDBConnection.error(db, "create database \(server.database)")
                    close()
                    throw e
                }
            } else {
                let e = MariaDBConnection.error(db, "select database \(server.database)")
                close()
                throw e
            }
        }
    }

    deinit { close() }

    var serverInTransaction: Bool {
        guard let db else { return false }
        return db.pointee.server_status & UInt32(SERVER_STATUS_IN_TRANS) != 0
    }

    /// From the transaction state the server tracks for the session (`T` first: explicit, `I`:
    /// implicit, `_`: none; sent when the session has `session_track_transaction_info =
    /// STATE`), else from the status flags of its last answer.
    public var explicitTransactionOpen: Bool? {
        guard let db else { return nil }
        var data: UnsafePointer<CChar>?
        var length = 0
        if mysql_session_track_get_first(db, SESSION_TRACK_TRANSACTION_STATE, &data, &length) == 0, length > 0, let data {
            return data[0] == CChar(UInt8(ascii: "T"))
        }
        return serverInTransaction
    }

    public func close() {
        closeStatements()
        if let db { mysql_close(db) }
        db = nil
    }

    /// Prepared statements by their text, kept until the connection closes: a statement run
    /// again is one round trip (no prepare), and no `COM_STMT_CLOSE` goes out between the
    /// statements of a transaction. That command has no answer, so an error the server has
    /// for the client then (a Galera node's abort of the transaction for another node's
    /// conflicting write) could be lost, and the next statements run in autocommit mode.
    private var statements: [String: UnsafeMutablePointer<MYSQL_STMT>] = [:]
    /// At most this many (processes with one table per domain name a table in the text);
    /// emptied, when full, outside a transaction only.
    static let keptStatements = 64

    private func closeStatements() {
        for st in statements.values { mysql_stmt_close(st) }
        statements = [:]
    }

    private func statement(_ db: UnsafeMutablePointer<MYSQL>, _ sql: String) throws(SQLError) -> UnsafeMutablePointer<MYSQL_STMT> {
        if let st = statements[sql] { return st }
        if statements.count >= MariaDBConnection.keptStatements && !serverInTransaction { closeStatements() }
        guard let st = mysql_stmt_init(db) else { throw MariaDBConnection.error(db, "statement") }
        let prepared = sql.withCString { mysql_stmt_prepare(st, $0, UInt(strlen($0))) }
        if prepared != 0 {
            let e = MariaDBConnection.stmtError(st, sql)
            mysql_stmt_close(st)
            throw e
        }
        statements[sql] = st
        return st
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 36 }
    }

    static func error(_ db: UnsafeMutablePointer<MYSQL>, _ what: String) -> SQLError {
        let code = Int(mysql_errno(db))
        let text = String(cString: mysql_error(db))
        return SQLError("MySQL \(what): \(text) (\(code))", code: code,
                        lost: [2002, 2003, 2006, 2013, 2055, 1927, 4031].contains(code), missingTable: code == 1146, duplicateKey: code == 1062, unknownColumn: code == 1054,
                        retryable: code == 1213 || code == 1205)
    }

    static func stmtError(_ st: UnsafeMutablePointer<MYSQL_STMT>, _ sql: String) -> SQLError {
        let code = Int(mysql_stmt_errno(st))
        let text = String(cString: mysql_stmt_error(st))
        return SQLError("MySQL: \(text) (\(code))", code: code,
                        lost: [2002, 2003, 2006, 2013, 2055, 1927, 4031].contains(code), missingTable: code == 1146, duplicateKey: code == 1062, unknownColumn: code == 1054,
                        retryable: code == 1213 || code == 1205)
    }

    /// Prepares, binds every value, executes and fetches every column as text.
    public func run(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> (rows: SQLRows, affected: Int) {
        guard let db else { throw SQLError("MySQL: not connected", code: 2006, lost: true) }
        let st = try statement(db, sql)
        do {
            return try run(st, sql, params)
        } catch {
            // Prepared again next time: the error may have left it unusable (a lost
            // connection, a table changed under it).
            statements[sql] = nil
            mysql_stmt_close(st)
            throw error
        }
    }

    private func run(_ st: UnsafeMutablePointer<MYSQL_STMT>, _ sql: String, _ params: [SQLValue]) throws(SQLError) -> (rows: SQLRows, affected: Int) {
        // Parameters: text as MYSQL_TYPE_STRING, integers as LONGLONG; buffers live until execute.
        var binds = [MYSQL_BIND](repeating: MYSQL_BIND(), count: params.count)
        var buffers: [UnsafeMutableRawPointer] = []
        defer { for b in buffers { b.deallocate() } }
        for (i, p) in params.enumerated() {
            switch p {
            case .text(let s):
                let bytes = Array(s.utf8)
                let buf = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
                bytes.withUnsafeBytes { if $0.count > 0 { buf.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
                buffers.append(buf)
                binds[i].buffer_type = MYSQL_TYPE_STRING
                binds[i].buffer = buf
                binds[i].buffer_length = UInt(bytes.count)
            case .int(let v):
                let buf = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
                buf.storeBytes(of: v, as: Int64.self)
                buffers.append(buf)
                binds[i].buffer_type = MYSQL_TYPE_LONGLONG
                binds[i].buffer = buf
            case .null:
                binds[i].buffer_type = MYSQL_TYPE_NULL
            }
        }
        if !params.isEmpty {
            let r = binds.withUnsafeMutableBufferPointer { mysql_stmt_bind_param(st, $0.baseAddress) }
            if r != 0 { throw MariaDBConnection.stmtError(st, sql) }
        }
        if mysql_stmt_execute(st) != 0 { throw MariaDBConnection.stmtError(st, sql) }
        guard let meta = mysql_stmt_result_metadata(st) else {
            return ([], Int(mysql_stmt_affected_rows(st)))
        }
        defer {
            mysql_free_result(meta)
            mysql_stmt_free_result(st)
        }
        let n = Int(mysql_num_fields(meta))
        let lengths = UnsafeMutablePointer<UInt>.allocate(capacity: n)
        let nulls = UnsafeMutablePointer<my_bool>.allocate(capacity: n)
        let errs = UnsafeMutablePointer<my_bool>.allocate(capacity: n)
        defer { lengths.deallocate(); nulls.deallocate(); errs.deallocate() }
        var out = [MYSQL_BIND](repeating: MYSQL_BIND(), count: n)
        for i in 0..<n {
            lengths[i] = 0; nulls[i] = 0; errs[i] = 0
            out[i].buffer_type = MYSQL_TYPE_STRING
            out[i].buffer = nil
            out[i].buffer_length = 0
            out[i].length = lengths + i
            out[i].is_null = nulls + i
            out[i].error = errs + i
        }
        let bound = out.withUnsafeMutableBufferPointer { mysql_stmt_bind_result(st, $0.baseAddress) }
        if bound != 0 { throw MariaDBConnection.stmtError(st, sql) }
        if mysql_stmt_store_result(st) != 0 { throw MariaDBConnection.stmtError(st, sql) }
        var rows: SQLRows = []
        while true {
            let r = mysql_stmt_fetch(st)
            if r == MYSQL_NO_DATA { break }
            if r == 1 { throw MariaDBConnection.stmtError(st, sql) }
            var row: [String?] = []
            row.reserveCapacity(n)
            for i in 0..<n {
                if nulls[i] != 0 { row.append(nil); continue }
                let len = Int(lengths[i])
                if len == 0 { row.append(""); continue }
                var col = MYSQL_BIND()
                var bytes = [UInt8](repeating: 0, count: len)
                var got: UInt = 0
                let fr = bytes.withUnsafeMutableBytes { b -> Int32 in
                    col.buffer_type = MYSQL_TYPE_STRING
                    col.buffer = b.baseAddress
                    col.buffer_length = UInt(len)
                    return withUnsafeMutablePointer(to: &got) { g in
                        col.length = g
                        return mysql_stmt_fetch_column(st, &col, UInt32(i), 0)
                    }
                }
                if fr != 0 { throw MariaDBConnection.stmtError(st, sql) }
                row.append(String(decoding: bytes.prefix(Int(got)), as: UTF8.self))
            }
            rows.append(row)
        }
        return (rows, rows.count)
    }
}

/// `auth-module = mysql`: MariaDB or MySQL, connection lines in `etc/vpopmail.mysql`
/// (`host|port-or-socket|user|password|database`; line 1 the read server, line 2 the update
/// server).
public enum MySQLDriver: StoreDriver {
    public static var name: StoreName { StoreName("mysql")! }

    /// The first of the line's servers that can be reached (a server that answers with an
    /// error, a wrong password say, is not passed over).
    static func connect(_ s: MySQLServer, createDatabase: Bool) throws(SQLError) -> SQLConnection {
        var last: SQLError? = nil
        for c in s.candidates {
            do { return try MariaDBConnection(c, createDatabase: createDatabase) } catch {
                guard error.lost else { throw error }
                last = error
            }
        }
        throw last ?? SQLError("MySQL: no server in the connection line", lost: true)
    }

    public static func open(_ c: StoreContext) throws(VpopmailError) -> StoreSet {
        let path = c.etcDir + "/vpopmail.mysql"
        let lines = try SQLDatabase.connectionLines(path)
        guard !lines.isEmpty else { throw VpopmailError(.badConfig, "\(path): no connection line") }
        let read = MySQLServer(line: lines[0])
        let update = lines.count > 1 ? MySQLServer(line: lines[1]) : read
        let split = update != read && c.config.mysqlReplication
        let db = SQLDatabase(dialect: .mysql, name: "mysql", manyDomains: c.config.manyDomains,
                             read: { () throws(SQLError) in try MySQLDriver.connect(split ? read : update, createDatabase: false) },
                             update: { () throws(SQLError) in try MySQLDriver.connect(update, createDatabase: true) },
                             separateRead: split)
        return db.stores(c)
    }
}
