import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// One vpopmail database on MySQL/MariaDB, PostgreSQL or SQLite, with upstream 5.6's table and
/// column names (docs/sql-stores.md) so that an existing vpopmail database and the programs that
/// read it (Dovecot SQL passdbs, qmailadmin, scripts) keep working. The store parts
/// (`SQLAccounts`, `SQLAliases`, ...) share it and its connections.
///
/// Every statement is prepared with bound values; the only names spliced into SQL text are
/// table names, which are fixed or a validated domain name with `.` and `-` mapped to `_`.
/// Reads go to the read server (`vpopmail.mysql` line 1) and fall back to the update server
/// (line 2) when it cannot be reached; once a process has written, its reads go to the update
/// server too (a replica may lag behind its own writes). A connection that went stale is
/// reopened and the statement retried once.
public final class SQLDatabase {
    public let dialect: SQLDialect
    /// `many-domains`: one `vpopmail` table for every domain (else one table per domain).
    public let manyDomains: Bool
    /// The driver's name (`mysql`, `pgsql`, `sqlite`): the `storage` of every part.
    public let name: String

    private let connectRead: () throws(SQLError) -> SQLConnection
    private let connectUpdate: () throws(SQLError) -> SQLConnection
    private let separateRead: Bool
    private var readConn: SQLConnection?
    private var updateConn: SQLConnection?
    private var wrote = false
    private var readServerDown = false
    private var inTransaction = false
    /// MySQL: the update connection runs with autocommit off (set before a transaction, so
    /// that what follows a silent abort is not committed on its own); turned back on before
    /// the next statement outside a transaction.
    private var autocommitOff = false
    /// MySQL: the update connection reports its transaction state (false: the server cannot;
    /// nil: not asked yet).
    private var tracking: Bool?
    private var checkedSchema = Set<String>()

    /// Where the store's notices go (schema upgrades); stderr by default.
    public var notice: (String) -> Void = { s in
        let line = s + "\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    }

    public init(dialect: SQLDialect, name: String, manyDomains: Bool,
                read: @escaping () throws(SQLError) -> SQLConnection,
                update: @escaping () throws(SQLError) -> SQLConnection, separateRead: Bool) {
        self.dialect = dialect
        self.name = name
        self.manyDomains = manyDomains
        connectRead = read
        connectUpdate = update
        self.separateRead = separateRead
    }

    /// The connection lines of `etc/vpopmail.mysql` or `etc/vpopmail.pgsql`, without blank and
    /// `#` lines; a missing file is a configuration error.
    public static func connectionLines(_ path: String) throws(VpopmailError) -> [String] {
        guard let text = try sys(.badConfig, { () throws(SystemError) in try FS.readText(path) }) else {
            throw VpopmailError(.badConfig, "\(path): missing (host|port|user|password|database)")
        }
        return Bytes.textLines(text).map { $0.trimmingSpaces() }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    // MARK: - Connections and retries

    static func failure(_ e: SQLError) -> VpopmailError {
        VpopmailError(.ioError, e.message, cause: e)
    }

    private func update() throws(VpopmailError) -> SQLConnection {
        if let c = updateConn { return c }
        do { updateConn = try connectUpdate() } catch { throw SQLDatabase.failure(error) }
        autocommitOff = false
        tracking = nil
        return updateConn!
    }

    /// Outside a transaction, on the update connection: autocommit is on again.
    private func autocommitting(_ c: SQLConnection) throws(SQLError) {
        guard autocommitOff, !inTransaction, c === updateConn else { return }
        try c.execute("SET SESSION autocommit = 1", [])
        autocommitOff = false
    }

    /// MySQL, before `START TRANSACTION`: autocommit off and the session's transaction state
    /// tracked, so that `stillOpen` sees a transaction the server ended between statements and
    /// nothing sent after it commits. A server without the tracker (before MariaDB 10.3, MySQL
    /// 5.7) keeps autocommit on: the status flag of the statement that ran on its own then shows
    /// the transaction gone, and what follows it is not run.
    private func manualCommit(_ c: SQLConnection) throws(SQLError) {
        guard dialect == .mysql, !autocommitOff, tracking != false else { return }
        if tracking == nil {
            do {
                try c.execute("SET SESSION autocommit = 0, session_track_transaction_info = 'STATE'", [])
                tracking = true
            } catch let e where !e.lost {
                tracking = false
                return
            }
        } else {
            try c.execute("SET SESSION autocommit = 0", [])
        }
        autocommitOff = true
    }

    private func reader() throws(VpopmailError) -> SQLConnection {
        if !separateRead || wrote || readServerDown { return try update() }
        if let c = readConn { return c }
        do {
            readConn = try connectRead()
            return readConn!
        } catch {
            // The read server is down: the update server answers reads, for the rest of this
            // process (no connect timeout per statement).
            readServerDown = true
            return try update()
        }
    }

    private func reset(_ c: SQLConnection) {
        c.close()
        if readConn === c { readConn = nil }
        if updateConn === c { updateConn = nil }   // update() starts the next one afresh
    }

    /// A read. A missing table reads as no rows; `fallback` is run instead when the table lacks
    /// a column the statement names.
    func read(_ sql: String, _ params: [SQLValue] = [], fallback: String? = nil) throws(VpopmailError) -> SQLRows {
        if inTransaction, let e = doomed { throw SQLDatabase.failure(e) }
        var c = try reader()
        do {
            try autocommitting(c)
            let rows = try c.query(sql, params)
            try stillOpen(c)
            return rows
        } catch let e where inTransaction && dooms(e) {
            doomed = e
            throw SQLDatabase.failure(e)
        } catch let e where e.unknownColumn && fallback != nil {
            return try read(fallback!, params)
        } catch let e where e.lost && !inTransaction {
            reset(c)
            c = try reader()
            do { return try c.query(sql, params) } catch {
                if error.missingTable { return [] }
                throw SQLDatabase.failure(error)
            }
        } catch {
            if error.missingTable { return [] }
            throw SQLDatabase.failure(error)
        }
    }

    /// A write; `table` is created when missing and the statement retried. Outside a
    /// transaction, a statement the server aborts (a deadlock, a cluster's certification
    /// failure) is run again, bounded, with backoff.
    @discardableResult
    func write(_ sql: String, _ params: [SQLValue] = [], table: Table? = nil) throws(VpopmailError) -> Int {
        if inTransaction, let e = doomed { throw SQLDatabase.failure(e) }
        wrote = true
        var c = try update()
        var reconnected = false, created = false, attempt = 0
        while true {
            do {
                try autocommitting(c)
                let n = try c.execute(sql, params)
                try stillOpen(c)
                return n
            } catch let e where inTransaction && dooms(e) {
                doomed = e
                if e.duplicateKey { throw VpopmailError(.usernameExists, e.message, cause: e) }
                throw SQLDatabase.failure(e)
            } catch let e where e.lost && !inTransaction && !reconnected {
                reconnected = true
                reset(c)
                c = try update()
            } catch let e where e.missingTable && table != nil && !created {
                created = true
                try create(table!)
            } catch let e where e.retryable && !inTransaction && attempt < SQLDatabase.retries {
                attempt += 1
                SQLDatabase.backoff(attempt)
            } catch {
                if error.duplicateKey { throw VpopmailError(.usernameExists, error.message, cause: error) }
                throw SQLDatabase.failure(error)
            }
        }
    }

    /// Inside a transaction: the server's answer to the statement just run still says one is
    /// open. A Galera node that aborts a transaction for a conflicting write set from another
    /// node (a brute-force abort) while the client is between statements rolls it back at once;
    /// when the abort's error did not reach this client, what it sent next ran on its own, in
    /// autocommit mode. Seen with MariaDB 10.11: a `vadduser` read a counter after losing the
    /// row lock, and two hosts committed the same value. The transaction is then doomed
    /// (retryable), as after the deadlock error itself.
    private func stillOpen(_ c: SQLConnection) throws(SQLError) {
        guard inTransaction, c.explicitTransactionOpen == false else { return }
        throw SQLError("MySQL: the server ended the transaction (aborted by a conflicting write on another node)", code: 1213, retryable: true)
    }

    /// How often a transaction the server aborted is run again.
    static let retries = 8

    /// Before run `attempt` (1...): a random pause, up to 5 ms doubling each time, at most 200 ms
    /// (two hosts that collided do not collide again in step).
    static func backoff(_ attempt: Int) {
        let cap = min(200_000, 5_000 << min(attempt, 6))
        usleep(UInt32(Int.random(in: cap / 4...cap)))
    }

    /// Whether `e` came from a statement or commit the server aborted and that may succeed when
    /// the whole transaction runs again.
    static func retryable(_ e: VpopmailError) -> Bool {
        (e.cause as? SQLError)?.retryable ?? false
    }

    /// The error that ended the current transaction on the server's side: a deadlock, a
    /// cluster's certification failure or a lost connection (MySQL has then rolled it back),
    /// any error on PostgreSQL (which then ignores the rest of it). Every later statement of the
    /// transaction and its COMMIT throw it, without reaching the server: after such an error
    /// MySQL runs what follows in autocommit mode, so a caller that went on past the statement
    /// (a `try?`) would commit the rest of a half-rolled-back body piece by piece (found with
    /// Galera: a retried delete decremented the counter twice).
    private var doomed: SQLError?

    private func dooms(_ e: SQLError) -> Bool {
        e.retryable || e.lost || dialect == .pgsql
    }

    /// The transaction running now (a nested `transaction` call joins it).
    private var current: StoreTransaction?

    /// Runs `body` in one transaction on the update server.
    func transaction<T>(_ body: () throws(VpopmailError) -> T) throws(VpopmailError) -> T {
        try transaction { (_: StoreTransaction) throws(VpopmailError) -> T in try body() }
    }

    /// Runs `body` in one transaction on the update server, after `prologue` (the row locks),
    /// inside it. When the server aborts the transaction (deadlock, lock wait timeout, a Galera
    /// certification failure, a PostgreSQL serialization failure), it is rolled back, the
    /// body's undo actions run, and the whole of it runs again: at most `retries` more times,
    /// with backoff. Inside another transaction, `body` is part of that one.
    func transaction<T>(prologue: () throws(VpopmailError) -> Void = {}, _ body: (StoreTransaction) throws(VpopmailError) -> T) throws(VpopmailError) -> T {
        if inTransaction, let tx = current { return try body(tx) }
        var attempt = 0
        while true {
            let tx = StoreTransaction()
            do throws(VpopmailError) {
                return try once(tx, prologue, body)
            } catch {
                tx.rolledBack()
                guard SQLDatabase.retryable(error) && attempt < SQLDatabase.retries else { throw error }
                attempt += 1
                SQLDatabase.backoff(attempt)
            }
        }
    }

    private func once<T>(_ tx: StoreTransaction, _ prologue: () throws(VpopmailError) -> Void,
                         _ body: (StoreTransaction) throws(VpopmailError) -> T) throws(VpopmailError) -> T {
        let c = try update()
        wrote = true
        let begin = dialect == .sqlite ? "BEGIN IMMEDIATE" : (dialect == .mysql ? "START TRANSACTION" : "BEGIN")
        do { try manualCommit(c); try c.execute(begin, []) } catch {
            guard error.lost else { throw SQLDatabase.failure(error) }
            reset(c)
            let again = try update()
            do { try manualCommit(again); try again.execute(begin, []) } catch { throw SQLDatabase.failure(error) }
        }
        inTransaction = true
        current = tx
        doomed = nil
        defer {
            inTransaction = false
            current = nil
            doomed = nil
        }
        do throws(VpopmailError) {
            try prologue()
            let r = try body(tx)
            if let e = doomed { throw SQLDatabase.failure(e) }
            do { try updateConn?.execute("COMMIT", []) } catch { throw SQLDatabase.failure(error) }
            return r
        } catch {
            _ = try? updateConn?.execute("ROLLBACK", [])
            throw error
        }
    }

    private var preparedLocks = false
    /// The tables a locked body may read or write (the store set's configuration says which).
    var lockedTables: [Table] = [.dirControl, .lastauth]

    /// Before the first locked transaction of this process: the tables a locked body reads and
    /// writes exist. DDL inside it would commit a MySQL transaction halfway (releasing its
    /// locks); a missing table aborts a PostgreSQL transaction.
    func prepareDomainLock(userTable: String) throws(VpopmailError) {
        try ensureUserTable(userTable)
        if preparedLocks { return }
        // No-op statements that create the tables when missing (and replicate nothing).
        for table in lockedTables {
            try write("DELETE FROM \(t(table.name)) WHERE 1 = 0", table: table)
        }
        preparedLocks = true
    }

    /// Locks the `dir_control` row of `key` until the transaction ends, adding the row
    /// (holding the state of a domain without one) when it is missing.
    func lockDomainRow(_ key: String) throws(VpopmailError) {
        if dialect == .sqlite { return }  // BEGIN IMMEDIATE holds the database's write lock
        let sql = "SELECT cur_users FROM \(t("dir_control")) WHERE domain = ? FOR UPDATE"
        if try !read(sql, [.text(key)]).isEmpty { return }
        let r = SQLDirControl.row(DirControl(), key: key)
        let marks = Array(repeating: "?", count: r.cols.count).joined(separator: ", ")
        let list = r.cols.joined(separator: ", ")
        try write(dialect == .mysql ? "INSERT IGNORE INTO \(t("dir_control")) (\(list)) VALUES (\(marks))"
                                    : "INSERT INTO \(t("dir_control")) (\(list)) VALUES (\(marks)) ON CONFLICT (domain) DO NOTHING", r.vals)
        _ = try read(sql, [.text(key)])
    }

    // MARK: - Schema

    enum Table: Equatable {
        case users(String)  // the table name
        case lastauth, dirControl, relay, ipMap, valias, limits, aliasDomains, vlog, schema

        var name: String {
            switch self {
            case .users(let n): return n
            case .lastauth: return "lastauth"
            case .dirControl: return "dir_control"
            case .relay: return "relay"
            case .ipMap: return "ip_alias_map"
            case .valias: return "valias"
            case .limits: return "limits"
            case .aliasDomains: return "aliasdomains"
            case .vlog: return "vlog"
            case .schema: return "vpopmail_schema"
            }
        }
    }

    /// `vauth_munch_domain`: `.` and `-` become `_`.
    public static func mangle(_ domain: String) -> String {
        String(domain.map { $0 == "." || $0 == "-" ? "_" : $0 })
    }

    func userTable(_ domain: String) -> String {
        manyDomains ? "vpopmail" : (domain.isEmpty ? "users" : SQLDatabase.mangle(domain))
    }

    var lastauthUser: String { dialect == .pgsql ? "userid" : "user" }

    func t(_ name: String) -> String { dialect.table(name) }

    private var intType: String { dialect == .sqlite ? "integer" : "INT" }
    private func vc(_ n: Int) -> String { dialect == .sqlite ? "text" : "VARCHAR(\(n))" }

    func ddl(_ table: Table) -> [String] {
        let I = intType
        switch table {
        case .users(let name):
            let dom = manyDomains ? "pw_domain \(vc(96)) NOT NULL, " : ""
            let pk = manyDomains ? "pw_name, pw_domain" : "pw_name"
            return ["CREATE TABLE IF NOT EXISTS \(t(name)) (pw_name \(vc(64)) NOT NULL, \(dom)pw_passwd \(vc(128)), "
                    + "pw_uid \(I), pw_gid \(I), pw_gecos \(vc(64)), pw_dir \(vc(160)), pw_shell \(vc(20)), "
                    + "pw_clear_passwd \(vc(128)), PRIMARY KEY (\(pk)))"]
        case .lastauth:
            return ["CREATE TABLE IF NOT EXISTS \(t("lastauth")) (\(lastauthUser) \(vc(64)) NOT NULL, domain \(vc(96)) NOT NULL, "
                    + "remote_ip \(vc(39)) NOT NULL, timestamp \(dialect == .pgsql ? "bigint" : I) NOT NULL DEFAULT 0, "
                    + "PRIMARY KEY (\(lastauthUser), domain))"]
        case .dirControl:
            var cols = "domain \(vc(96)) NOT NULL, cur_users \(I), level_cur \(I), level_max \(I)"
            for k in ["start", "end", "mod", "index"] { for i in 0..<3 { cols += ", level_\(k)\(i) \(I)" } }
            return ["CREATE TABLE IF NOT EXISTS \(t("dir_control")) (\(cols), the_dir \(vc(160)), PRIMARY KEY (domain))"]
        case .relay:
            return ["CREATE TABLE IF NOT EXISTS \(t("relay")) (ip_addr \(vc(39)) NOT NULL, timestamp \(dialect == .pgsql ? "bigint" : I), PRIMARY KEY (ip_addr))"]
        case .ipMap:
            return ["CREATE TABLE IF NOT EXISTS \(t("ip_alias_map")) (ip_addr \(vc(39)) NOT NULL, domain \(vc(96)), PRIMARY KEY (ip_addr))"]
        case .valias:
            switch dialect {
            case .mysql:
                return ["CREATE TABLE IF NOT EXISTS `valias` (id INT NOT NULL AUTO_INCREMENT, alias VARCHAR(32) NOT NULL, "
                        + "domain VARCHAR(96) NOT NULL, valias_line TEXT NOT NULL, PRIMARY KEY (id), INDEX (alias, domain))"]
            case .pgsql:
                return ["CREATE TABLE IF NOT EXISTS \"valias\" (id serial PRIMARY KEY, alias varchar(32) NOT NULL, domain varchar(96) NOT NULL, "
                        + "valias_line varchar(160) NOT NULL)",
                        "CREATE INDEX IF NOT EXISTS valias_idx ON \"valias\" (alias, domain)"]
            case .sqlite:
                return ["CREATE TABLE IF NOT EXISTS \"valias\" (alias text NOT NULL, domain text NOT NULL, valias_line text NOT NULL)",
                        "CREATE INDEX IF NOT EXISTS valias_idx ON \"valias\" (alias, domain)"]
            }
        case .limits:
            let big = dialect == .mysql ? "BIGINT UNSIGNED" : (dialect == .pgsql ? "bigint" : "integer")
            let tiny = dialect == .mysql ? "TINYINT(1)" : (dialect == .pgsql ? "smallint" : "integer")
            var cols = "domain \(vc(96)) NOT NULL"
            for c in SQLLimits.ints { cols += ", \(c) \(I) NOT NULL DEFAULT -1" }
            for c in SQLLimits.bigs { cols += ", \(c) \(big) NOT NULL DEFAULT 0" }
            for c in SQLLimits.bools + SQLLimits.perms { cols += ", \(c) \(c == "perm_maillist" && dialect == .mysql ? "SMALLINT" : tiny) NOT NULL DEFAULT 0" }
            return ["CREATE TABLE IF NOT EXISTS \(t("limits")) (\(cols), PRIMARY KEY (domain))"]
        case .aliasDomains:
            return ["CREATE TABLE IF NOT EXISTS \(t("aliasdomains")) (alias \(vc(100)) NOT NULL, domain \(vc(100)) NOT NULL, PRIMARY KEY (alias))"]
        case .vlog:
            switch dialect {
            case .mysql:
                return ["CREATE TABLE IF NOT EXISTS `vlog` (id BIGINT NOT NULL AUTO_INCREMENT, user VARCHAR(32), passwd VARCHAR(32), "
                        + "domain VARCHAR(96), logon VARCHAR(200), remoteip VARCHAR(39), message VARCHAR(255), "
                        + "timestamp INT NOT NULL DEFAULT 0, error TINYINT(1), PRIMARY KEY (id), INDEX user_idx (user), "
                        + "INDEX domain_idx (domain), INDEX remoteip_idx (remoteip), INDEX error_idx (error), "
                        + "INDEX message_idx (message), INDEX timestamp_idx (timestamp))"]
            case .pgsql:
                return ["CREATE TABLE IF NOT EXISTS \"vlog\" (id serial PRIMARY KEY, userid varchar(32), passwd varchar(32), "
                        + "domain varchar(96), logon varchar(200), remoteip varchar(39), message varchar(255), "
                        + "timestamp bigint NOT NULL DEFAULT 0, error int)"]
            case .sqlite:
                return ["CREATE TABLE IF NOT EXISTS \"vlog\" (id integer PRIMARY KEY AUTOINCREMENT, user text, passwd text, domain text, "
                        + "logon text, remoteip text, message text, timestamp integer NOT NULL DEFAULT 0, error integer)"]
            }
        case .schema:
            return ["CREATE TABLE IF NOT EXISTS \(t("vpopmail_schema")) (name \(vc(64)) NOT NULL, version \(I) NOT NULL, "
                    + "updated \(dialect == .pgsql ? "bigint" : I) NOT NULL, PRIMARY KEY (name))"]
        }
    }

    func create(_ table: Table) throws(VpopmailError) {
        let c = try update()
        do { try autocommitting(c) } catch { throw SQLDatabase.failure(error) }
        for s in ddl(table) {
            do { try c.execute(s, []) } catch { throw SQLDatabase.failure(error) }
        }
    }

    func forgetSchema(_ name: String) { checkedSchema.remove(name) }

    /// The user-table version this code writes: 56 = 5.6's column sizes.
    static let schemaVersion = 56

    /// Creates the user table when missing, and upgrades an older (5.4) one in place: 5.4's
    /// `pw_passwd CHAR(40)` cannot hold a SHA-512 hash. The upgrade is recorded in
    /// `vpopmail_schema` (name = table, version, time), so it is checked once.
    func ensureUserTable(_ name: String) throws(VpopmailError) {
        if checkedSchema.contains(name) { return }
        // Recorded as current: nothing to check, and no DDL (which a cluster runs on every node).
        if dialect != .sqlite,
           let v = try read("SELECT version FROM \(t("vpopmail_schema")) WHERE name = ?", [.text(name)]).first?.first ?? nil,
           (Int(v) ?? 0) >= SQLDatabase.schemaVersion {
            checkedSchema.insert(name)
            return
        }
        try create(.users(name))
        // A table from a build without clear passwords gets the column (nullable: readers that
        // do not know it are unaffected).
        let hasClear: Bool
        switch dialect {
        case .sqlite:
            hasClear = try read("SELECT name FROM pragma_table_info(?) WHERE name = 'pw_clear_passwd'", [.text(name)]).count == 1
        case .mysql:
            hasClear = try read("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'pw_clear_passwd'",
                                [.text(name)]).first?.first == "1"
        case .pgsql:
            hasClear = try read("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = 'pw_clear_passwd'",
                                [.text(name.lowercased())]).first?.first == "1"
        }
        if !hasClear {
            notice("vpopmail: adding pw_clear_passwd to table \(name)")
            try write("ALTER TABLE \(t(name)) ADD COLUMN pw_clear_passwd \(vc(128))")
        }
        if dialect != .sqlite {
            try create(.schema)
            let have = try read("SELECT version FROM \(t("vpopmail_schema")) WHERE name = ?", [.text(name)]).first?.first ?? nil
            if (have.flatMap { Int($0) } ?? 0) < SQLDatabase.schemaVersion {
                let lengthSQL = dialect == .mysql
                    ? "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'pw_passwd'"
                    : "SELECT character_maximum_length FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = 'pw_passwd'"
                let len = try read(lengthSQL, [.text(dialect == .pgsql ? name.lowercased() : name)]).first?.first ?? nil
                if let l = len.flatMap({ Int($0) }), l < 128 {
                    notice("vpopmail: upgrading table \(name) from the 5.4 layout (pw_passwd \(l) characters) to 5.6")
                    let cols: [(String, Int, Bool)] = [("pw_name", 64, true), ("pw_passwd", 128, false), ("pw_gecos", 64, false),
                                                      ("pw_dir", 160, false), ("pw_shell", 20, false), ("pw_clear_passwd", 128, false)]
                        + (manyDomains ? [("pw_domain", 96, true)] : [])
                    let sql: String
                    if dialect == .mysql {
                        sql = "ALTER TABLE \(t(name)) " + cols.map { "MODIFY \($0.0) VARCHAR(\($0.1))\($0.2 ? " NOT NULL" : "")" }.joined(separator: ", ")
                    } else {
                        sql = "ALTER TABLE \(t(name)) " + cols.map { "ALTER COLUMN \($0.0) TYPE varchar(\($0.1))" }.joined(separator: ", ")
                    }
                    try write(sql)
                }
                try upsert("vpopmail_schema", ["name", "version", "updated"], key: ["name"],
                           [.text(name), .i(SQLDatabase.schemaVersion), .i(time(nil))], table: .schema)
            }
        }
        checkedSchema.insert(name)
    }

    /// `REPLACE INTO` in each dialect; `rows` rows of values at once.
    func upsert(_ table: String, _ cols: [String], key: [String], _ values: [SQLValue], table spec: Table, rows: Int = 1) throws(VpopmailError) {
        let row = "(" + Array(repeating: "?", count: cols.count).joined(separator: ", ") + ")"
        let marks = Array(repeating: row, count: rows).joined(separator: ", ")
        let list = cols.joined(separator: ", ")
        let sql: String
        switch dialect {
        case .mysql:
            // Not REPLACE (a delete and an insert, two row changes to log and replicate).
            let set = cols.filter { !key.contains($0) }.map { "\($0) = VALUES(\($0))" }.joined(separator: ", ")
            sql = set.isEmpty ? "INSERT IGNORE INTO \(t(table)) (\(list)) VALUES \(marks)"
                              : "INSERT INTO \(t(table)) (\(list)) VALUES \(marks) ON DUPLICATE KEY UPDATE \(set)"
        case .sqlite: sql = "INSERT OR REPLACE INTO \(t(table)) (\(list)) VALUES \(marks)"
        case .pgsql:
            let set = cols.filter { !key.contains($0) }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            sql = "INSERT INTO \(t(table)) (\(list)) VALUES \(marks) ON CONFLICT (\(key.joined(separator: ", "))) "
                + (set.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(set)")
        }
        try write(sql, values, table: spec)
    }
}
