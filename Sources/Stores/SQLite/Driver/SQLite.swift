import CSQLite
import StoreSQL
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

private let SQLITE_TRANSIENT_PTR = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A SQLite database file (upstream 5.6: `domains/_vpopmail.sqlite`). Writers from many
/// processes wait for each other (busy timeout) instead of failing.
public final class SQLiteConnection: SQLConnection {
    public let dialect = SQLDialect.sqlite
    private var db: OpaquePointer?
    public let path: String

    /// Opens (creating it 0600, owned by `owner`, when missing).
    public init(path: String, owner: (() -> (uid: UInt32, gid: UInt32))?) throws(SQLError) {
        self.path = path
        // A new file is made 0600 here (SQLite gives its journals the database's mode), rather
        // than under a umask of 077: the umask is the whole process's.
        var existed = true
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd >= 0 {
            existed = false
            fchmod(fd, 0o600)
            Glibc.close(fd)
        }
        var h: OpaquePointer?
        let rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        db = h
        if rc != SQLITE_OK {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            close()
            throw SQLError("SQLite open \(path): \(msg)", code: Int(rc))
        }
        sqlite3_busy_timeout(h, 30_000)
        // The rollback journal, not WAL: with WAL even readers need to create files next to
        // the database, which vdelivermail (running as the domain's uid) may not be allowed to.
        if !existed, let owner, geteuid() == 0 {
            let o = owner()
            _ = chown(path, o.uid, o.gid)
        }
    }

    deinit { close() }

    public func close() {
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private func fail(_ what: String) -> SQLError {
        let msg = String(cString: sqlite3_errmsg(db))
        let code = Int(sqlite3_errcode(db))
        return SQLError("SQLite \(what): \(msg) (\(code))", code: code, missingTable: msg.hasPrefix("no such table"),
                        duplicateKey: msg.hasPrefix("UNIQUE constraint failed"),
                        unknownColumn: msg.hasPrefix("no such column"), retryable: code == 5 /* SQLITE_BUSY */ || code == 6 /* LOCKED */)
    }

    public func run(_ sql: String, _ params: [SQLValue]) throws(SQLError) -> (rows: SQLRows, affected: Int) {
        guard let db else { throw SQLError("SQLite: not open") }
        var st: OpaquePointer?
        if sqlite3_prepare_v2(db, sql, -1, &st, nil) != SQLITE_OK { throw fail("prepare") }
        defer { sqlite3_finalize(st) }
        for (i, p) in params.enumerated() {
            let idx = Int32(i + 1)
            let r: Int32
            switch p {
            case .text(let s): r = sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT_PTR)
            case .int(let v): r = sqlite3_bind_int64(st, idx, v)
            case .null: r = sqlite3_bind_null(st, idx)
            }
            if r != SQLITE_OK { throw fail("bind") }
        }
        var rows: SQLRows = []
        let n = Int(sqlite3_column_count(st))
        while true {
            let r = sqlite3_step(st)
            if r == SQLITE_DONE { break }
            if r != SQLITE_ROW { throw fail("step") }
            var row: [String?] = []
            row.reserveCapacity(n)
            for c in 0..<Int32(n) {
                if sqlite3_column_type(st, c) == SQLITE_NULL { row.append(nil); continue }
                let len = Int(sqlite3_column_bytes(st, c))
                if let p = sqlite3_column_text(st, c) {
                    row.append(String(decoding: UnsafeBufferPointer(start: p, count: len), as: UTF8.self))
                } else {
                    row.append("")
                }
            }
            rows.append(row)
        }
        return (rows, n == 0 ? Int(sqlite3_changes(db)) : rows.count)
    }
}

/// Installs the SQLite driver into `SQLStore`.
/// `auth-module = sqlite`: one database file, `<home>/<domains-dir>/_vpopmail.sqlite`, created
/// 0600 and owned by the vpopmail user.
public enum SQLiteDriver: StoreDriver {
    public static var name: StoreName { StoreName("sqlite")! }

    public static func open(_ c: StoreContext) throws(VpopmailError) -> StoreSet {
        let path = c.domainsRoot + "/_vpopmail.sqlite"
        let owner = c.owner
        let connect: () throws(SQLError) -> SQLConnection = { () throws(SQLError) in try SQLiteConnection(path: path, owner: owner) }
        return SQLDatabase(dialect: .sqlite, name: "sqlite", manyDomains: c.config.manyDomains,
                           read: connect, update: connect, separateRead: false).stores(c)
    }
}
