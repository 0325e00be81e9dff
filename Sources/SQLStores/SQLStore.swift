import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// Accounts and the other vpopmail tables in MySQL/MariaDB, PostgreSQL or SQLite, with upstream
/// 5.6's table and column names (reference §9) so that an existing vpopmail database and the
/// programs that read it (Dovecot SQL passdbs, qmailadmin, scripts) keep working.
///
/// Every statement is prepared with bound values; the only names spliced into SQL text are
/// table names, which are fixed or a validated domain name with `.` and `-` mapped to `_`.
/// Reads go to the read server (`vpopmail.mysql` line 1) and fall back to the update server
/// (line 2) when it cannot be reached; once a process has written, its reads go to the update
/// server too (a replica may lag behind its own writes). A connection that went stale is
/// reopened and the statement retried once.
public final class SQLStore: AccountStore, StoreTables {
    public let dialect: SQLDialect
    public let manyDomains: Bool
    public let keepsAliases: Bool
    public let keepsLimits: Bool
    let aliasDomainTable: Bool
    let logging: Bool

    private let connectRead: () throws(SQLError) -> SQLConnection
    private let connectUpdate: () throws(SQLError) -> SQLConnection
    private let separateRead: Bool
    private var readConn: SQLConnection?
    private var updateConn: SQLConnection?
    private var wrote = false
    private var readServerDown = false
    private var inTransaction = false
    private var checkedSchema = Set<String>()

    /// Where the store's notices go (schema upgrades); stderr by default.
    public var notice: (String) -> Void = { s in
        let line = s + "\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    }

    public init(dialect: SQLDialect, config: Config,
                read: @escaping () throws(SQLError) -> SQLConnection,
                update: @escaping () throws(SQLError) -> SQLConnection, separateRead: Bool) {
        self.dialect = dialect
        manyDomains = config.manyDomains
        keepsAliases = config.valias
        keepsLimits = config.mysqlLimits
        aliasDomainTable = config.sqlAliasdomains && dialect == .mysql
        logging = config.sqlLogging
        connectRead = read
        connectUpdate = update
        self.separateRead = separateRead
    }

    /// The store `auth-module` names, from its connection file (reference §9).
    public static func open(home: String, config: Config, owner: @escaping OwnerLookup) throws(VpopmailError) -> SQLStore {
        switch config.authModule {
        case "mysql":
            let path = home + "/etc/vpopmail.mysql"
            guard let text = try sys(.badConfig, { () throws(SystemError) in try FS.readText(path) }) else {
                throw VpopmailError(.badConfig, "\(path): missing (host|port|user|password|database)")
            }
            let lines = Bytes.textLines(text).map { $0.trimmingSpaces() }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            guard let first = lines.first else { throw VpopmailError(.badConfig, "\(path): no connection line") }
            let read = MySQLServer(line: first)
            let update = lines.count > 1 ? MySQLServer(line: lines[1]) : read
            let split = update != read && config.mysqlReplication
            guard let driver = SQLDrivers.mysql else { throw missingDriver("mysql") }
            return SQLStore(dialect: .mysql, config: config,
                            read: { () throws(SQLError) in try driver(split ? read : update, false) },
                            update: { () throws(SQLError) in try driver(update, true) },
                            separateRead: split)
        case "pgsql":
            let path = home + "/etc/vpopmail.pgsql"
            guard let text = try sys(.badConfig, { () throws(SystemError) in try FS.readText(path) }) else {
                throw VpopmailError(.badConfig, "\(path): missing (host|port|user|password|database)")
            }
            let lines = Bytes.textLines(text).map { $0.trimmingSpaces() }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            let server = PGServer(line: lines.first ?? "")
            guard let driver = SQLDrivers.pgsql else { throw missingDriver("pgsql") }
            let c: () throws(SQLError) -> SQLConnection = { () throws(SQLError) in try driver(server) }
            return SQLStore(dialect: .pgsql, config: config, read: c, update: c, separateRead: false)
        case "sqlite":
            let path = home + "/" + config.domainsDir + "/_vpopmail.sqlite"
            guard let driver = SQLDrivers.sqlite else { throw missingDriver("sqlite") }
            let c: () throws(SQLError) -> SQLConnection = { () throws(SQLError) in try driver(path, owner) }
            return SQLStore(dialect: .sqlite, config: config, read: c, update: c, separateRead: false)
        default:
            throw VpopmailError(.badConfig, "unknown auth-module \(config.authModule)")
        }
    }

    static func missingDriver(_ module: String) -> VpopmailError {
        VpopmailError(.notSupported, "this program was built without the \(module) store (use vpopmail-sql)")
    }

    // MARK: - Connections and retries

    static func failure(_ e: SQLError) -> VpopmailError {
        VpopmailError(.ioError, e.message, cause: e)
    }

    private func update() throws(VpopmailError) -> SQLConnection {
        if let c = updateConn { return c }
        do { updateConn = try connectUpdate() } catch { throw SQLStore.failure(error) }
        return updateConn!
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
        if updateConn === c { updateConn = nil }
    }

    /// A read. A missing table reads as no rows; `fallback` is run instead when the table lacks
    /// a column the statement names.
    func read(_ sql: String, _ params: [SQLValue] = [], fallback: String? = nil) throws(VpopmailError) -> SQLRows {
        var c = try reader()
        do {
            return try c.query(sql, params)
        } catch let e where e.unknownColumn && fallback != nil {
            return try read(fallback!, params)
        } catch let e where e.lost && !inTransaction {
            reset(c)
            c = try reader()
            do { return try c.query(sql, params) } catch {
                if error.missingTable { return [] }
                throw SQLStore.failure(error)
            }
        } catch {
            if error.missingTable { return [] }
            throw SQLStore.failure(error)
        }
    }

    /// A write; `table` is created when missing and the statement retried.
    @discardableResult
    func write(_ sql: String, _ params: [SQLValue] = [], table: Table? = nil) throws(VpopmailError) -> Int {
        wrote = true
        var c = try update()
        var reconnected = false, created = false
        while true {
            do {
                return try c.execute(sql, params)
            } catch let e where e.lost && !inTransaction && !reconnected {
                reconnected = true
                reset(c)
                c = try update()
            } catch let e where e.missingTable && table != nil && !created {
                created = true
                try create(table!)
            } catch {
                if error.duplicateKey { throw VpopmailError(.usernameExists, error.message, cause: error) }
                throw SQLStore.failure(error)
            }
        }
    }

    /// Runs `body` in one transaction on the update server.
    func transaction<T>(_ body: () throws(VpopmailError) -> T) throws(VpopmailError) -> T {
        let c = try update()
        wrote = true
        let begin = dialect == .sqlite ? "BEGIN IMMEDIATE" : (dialect == .mysql ? "START TRANSACTION" : "BEGIN")
        do { try c.execute(begin, []) } catch {
            guard error.lost else { throw SQLStore.failure(error) }
            reset(c)
            let again = try update()
            do { try again.execute(begin, []) } catch { throw SQLStore.failure(error) }
        }
        inTransaction = true
        defer { inTransaction = false }
        do throws(VpopmailError) {
            let r = try body()
            do { try updateConn?.execute("COMMIT", []) } catch { throw SQLStore.failure(error) }
            return r
        } catch {
            _ = try? updateConn?.execute("ROLLBACK", [])
            throw error
        }
    }

    // MARK: - Schema

    enum Table: Equatable {
        case users(String)  // the table name
        case lastauth, dirControl, relay, ipMap, valias, limits, aliasDomains, vlog, schema
    }

    /// `vauth_munch_domain`: `.` and `-` become `_`.
    public static func mangle(_ domain: String) -> String {
        String(domain.map { $0 == "." || $0 == "-" ? "_" : $0 })
    }

    func userTable(_ domain: String) -> String {
        manyDomains ? "vpopmail" : (domain.isEmpty ? "users" : SQLStore.mangle(domain))
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
                return ["CREATE TABLE IF NOT EXISTS \"valias\" (id serial, alias varchar(32) NOT NULL, domain varchar(96) NOT NULL, "
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
            for c in SQLStore.limitInts { cols += ", \(c) \(I) NOT NULL DEFAULT -1" }
            for c in SQLStore.limitBigs { cols += ", \(c) \(big) NOT NULL DEFAULT 0" }
            for c in SQLStore.limitBools + SQLStore.limitPerms { cols += ", \(c) \(c == "perm_maillist" && dialect == .mysql ? "SMALLINT" : tiny) NOT NULL DEFAULT 0" }
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
        for s in ddl(table) {
            do { try c.execute(s, []) } catch { throw SQLStore.failure(error) }
        }
    }

    static let limitInts = ["maxpopaccounts", "maxaliases", "maxforwards", "maxautoresponders", "maxmailinglists"]
    static let limitBigs = ["diskquota", "maxmsgcount", "defaultquota", "defaultmaxmsgcount"]
    static let limitBools = ["disable_pop", "disable_imap", "disable_dialup", "disable_passwordchanging", "disable_webmail",
                             "disable_relay", "disable_smtp", "disable_spamassassin", "delete_spam", "disable_maildrop"]
    static let limitPerms = ["perm_account", "perm_alias", "perm_forward", "perm_autoresponder", "perm_maillist",
                             "perm_quota", "perm_defaultquota"]

    /// The user-table version this code writes: 56 = 5.6's column sizes.
    static let schemaVersion = 56

    /// Creates the user table when missing, and upgrades an older (5.4) one in place: 5.4's
    /// `pw_passwd CHAR(40)` cannot hold a SHA-512 hash. The upgrade is recorded in
    /// `vpopmail_schema` (name = table, version, time), so it is checked once.
    func ensureUserTable(_ name: String) throws(VpopmailError) {
        if checkedSchema.contains(name) { return }
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
            if (have.flatMap { Int($0) } ?? 0) < SQLStore.schemaVersion {
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
                           [.text(name), .i(SQLStore.schemaVersion), .i(time(nil))], table: .schema)
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
        case .mysql: sql = "REPLACE INTO \(t(table)) (\(list)) VALUES \(marks)"
        case .sqlite: sql = "INSERT OR REPLACE INTO \(t(table)) (\(list)) VALUES \(marks)"
        case .pgsql:
            let set = cols.filter { !key.contains($0) }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            sql = "INSERT INTO \(t(table)) (\(list)) VALUES \(marks) ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET \(set)"
        }
        try write(sql, values, table: spec)
    }

    // MARK: - AccountStore

    public var tables: StoreTables? { self }

    public func lock(domain d: DomainInfo) throws(VpopmailError) -> FileLock {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(d.dir + "/.vpasswd.lock", owner: d.owner) }
    }

    static let columns = "pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, pw_clear_passwd"
    /// For tables of builds without clear passwords (upstream creates `pw_clear_passwd` only
    /// with `--enable-clear-passwd`).
    static let columnsNoClear = "pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, NULL"

    func account(_ r: [String?]) -> Account {
        Account(name: r[0] ?? "", passwordHash: r[1] ?? "", apopMarker: UInt32(r[2] ?? "") ?? 0,
                flags: AccountFlags(rawValue: UInt32(r[3] ?? "") ?? 0), gecos: r[4] ?? "", home: r[5] ?? "",
                quota: r[6] ?? "", clearPassword: (r[7] ?? "").isEmpty ? nil : r[7])
    }

    func whereUser(_ d: String) -> String { manyDomains ? "pw_name = ? AND pw_domain = ?" : "pw_name = ?" }
    func keyParams(_ name: String, _ d: String) -> [SQLValue] { manyDomains ? [.text(name), .text(d)] : [.text(name)] }

    public func account(_ name: String, in d: DomainInfo) throws(VpopmailError) -> Account? {
        let rest = "FROM \(t(userTable(d.realDomain))) WHERE \(whereUser(d.realDomain))"
        let rows = try read("SELECT \(SQLStore.columns) \(rest)", keyParams(name, d.realDomain),
                            fallback: "SELECT \(SQLStore.columnsNoClear) \(rest)")
        return rows.first.map(account)
    }

    public func accounts(in d: DomainInfo) throws(VpopmailError) -> [Account] {
        let rows = manyDomains
            ? try read("SELECT \(SQLStore.columns) FROM vpopmail WHERE pw_domain = ?", [.text(d.realDomain)],
                       fallback: "SELECT \(SQLStore.columnsNoClear) FROM vpopmail WHERE pw_domain = ?")
            : try read("SELECT \(SQLStore.columns) FROM \(t(userTable(d.realDomain)))",
                       fallback: "SELECT \(SQLStore.columnsNoClear) FROM \(t(userTable(d.realDomain)))")
        // Byte order, as in vpasswd (server collations differ).
        return rows.map(account).sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    func rowValues(_ a: Account, _ d: String) -> [SQLValue] {
        var v: [SQLValue] = [.text(a.name)]
        if manyDomains { v.append(.text(d)) }
        v += [.text(a.passwordHash), .i(a.apopMarker), .i(a.flags.rawValue), .text(a.gecos), .text(a.home), .text(a.quota),
              a.clearPassword.map { .text($0) } ?? .text("")]
        return v
    }

    var insertColumns: String {
        manyDomains ? "pw_name, pw_domain, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, pw_clear_passwd"
                    : "pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, pw_clear_passwd"
    }

    public func insert(_ accounts: [Account], in d: DomainInfo) throws(VpopmailError) {
        let table = userTable(d.realDomain)
        try ensureUserTable(table)
        let ncol = manyDomains ? 9 : 8
        let row = "(" + Array(repeating: "?", count: ncol).joined(separator: ", ") + ")"
        if accounts.count == 1 {
            try write("INSERT INTO \(t(table)) (\(insertColumns)) VALUES \(row)", rowValues(accounts[0], d.realDomain), table: .users(table))
            return
        }
        // Many rows per statement, all in one transaction: a duplicate adds none.
        let chunk = 200
        try transaction { () throws(VpopmailError) in
            var i = 0
            while i < accounts.count {
                let part = accounts[i..<min(i + chunk, accounts.count)]
                let sql = "INSERT INTO \(t(table)) (\(insertColumns)) VALUES " + Array(repeating: row, count: part.count).joined(separator: ", ")
                var params: [SQLValue] = []
                params.reserveCapacity(part.count * ncol)
                for a in part { params += rowValues(a, d.realDomain) }
                try write(sql, params)
                i += chunk
            }
        }
    }

    public func update(_ a: Account, in d: DomainInfo, rebuildIndex: Bool) throws(VpopmailError) {
        let table = userTable(d.realDomain)
        try ensureUserTable(table)
        let n = try write("UPDATE \(t(table)) SET pw_passwd = ?, pw_uid = ?, pw_gid = ?, pw_gecos = ?, pw_dir = ?, pw_shell = ?, "
                          + "pw_clear_passwd = ? WHERE \(whereUser(d.realDomain))",
                          [.text(a.passwordHash), .i(a.apopMarker), .i(a.flags.rawValue), .text(a.gecos), .text(a.home),
                           .text(a.quota), a.clearPassword.map { .text($0) } ?? .text("")] + keyParams(a.name, d.realDomain))
        if n == 0 { throw VpopmailError(.userDoesNotExist) }
    }

    public func remove(_ name: String, in d: DomainInfo) throws(VpopmailError) -> Bool {
        let n = try write("DELETE FROM \(t(userTable(d.realDomain))) WHERE \(whereUser(d.realDomain))", keyParams(name, d.realDomain))
        _ = try? write("DELETE FROM \(t("lastauth")) WHERE \(lastauthUser) = ? AND domain = ?", [.text(name), .text(d.realDomain)])
        return n > 0
    }

    public func rebuildIndex(in d: DomainInfo) throws(VpopmailError) {}

    // MARK: - Domains

    public func domainAdded(_ domain: String) throws(VpopmailError) {
        try ensureUserTable(userTable(domain))
    }

    public func domainDeleted(_ domain: String) throws(VpopmailError) {
        if manyDomains {
            try write("DELETE FROM vpopmail WHERE pw_domain = ?", [.text(domain)])
        } else {
            try write("DROP TABLE IF EXISTS \(t(userTable(domain)))")
        }
        let d: [SQLValue] = [.text(domain)]
        for (table, spec) in [("lastauth", Table.lastauth), ("dir_control", .dirControl)] {
            try write("DELETE FROM \(t(table)) WHERE domain = ?", d, table: spec)
        }
        if keepsAliases { try write("DELETE FROM \(t("valias")) WHERE domain = ?", d, table: .valias) }
        if keepsLimits { try write("DELETE FROM \(t("limits")) WHERE domain = ?", d, table: .limits) }
        if aliasDomainTable { try write("DELETE FROM \(t("aliasdomains")) WHERE domain = ?", d, table: .aliasDomains) }
    }

    public func aliasDomainAdded(alias: String, real: String) throws(VpopmailError) {
        guard aliasDomainTable else { return }
        try upsert("aliasdomains", ["alias", "domain"], key: ["alias"], [.text(alias), .text(real)], table: .aliasDomains)
    }

    public func aliasDomainDeleted(alias: String) throws(VpopmailError) {
        guard aliasDomainTable else { return }
        try write("DELETE FROM \(t("aliasdomains")) WHERE alias = ?", [.text(alias)], table: .aliasDomains)
    }

    /// The `aliasdomains` rows (alias, real domain), sorted by alias.
    public func aliasDomainRows() throws(VpopmailError) -> [(alias: String, domain: String)] {
        try read("SELECT alias, domain FROM \(t("aliasdomains")) ORDER BY alias").map { ($0[0] ?? "", $0[1] ?? "") }
    }

    // MARK: - lastauth

    public func lastAuth(user: String, domain: String) throws(VpopmailError) -> (time: Int, ip: String)? {
        let r = try read("SELECT timestamp, remote_ip FROM \(t("lastauth")) WHERE \(lastauthUser) = ? AND domain = ?",
                         [.text(user), .text(domain)])
        guard let row = r.first else { return nil }
        return (Int(row[0] ?? "") ?? 0, row[1] ?? "")
    }

    public func setLastAuth(user: String, domain: String, ip: String, time: Int) throws(VpopmailError) {
        try upsert("lastauth", [lastauthUser, "domain", "remote_ip", "timestamp"], key: [lastauthUser, "domain"],
                   [.text(user), .text(domain), .text(ip), .i(time)], table: .lastauth)
    }

    public func lastAuths(domain: String) throws(VpopmailError) -> [String: (time: Int, ip: String)] {
        var out: [String: (time: Int, ip: String)] = [:]
        for row in try read("SELECT \(lastauthUser), timestamp, remote_ip FROM \(t("lastauth")) WHERE domain = ?", [.text(domain)]) {
            if let u = row[0] { out[u] = (Int(row[1] ?? "") ?? 0, row[2] ?? "") }
        }
        return out
    }

    public func setLastAuths(_ entries: [(user: String, ip: String, time: Int)], domain: String) throws(VpopmailError) {
        guard !entries.isEmpty else { return }
        try create(.lastauth)
        try transaction { () throws(VpopmailError) in
            var i = 0
            while i < entries.count {
                let part = entries[i..<min(i + 500, entries.count)]
                var values: [SQLValue] = []
                for e in part { values += [.text(e.user), .text(domain), .text(e.ip), .i(e.time)] }
                try upsert("lastauth", [lastauthUser, "domain", "remote_ip", "timestamp"], key: [lastauthUser, "domain"],
                           values, table: .lastauth, rows: part.count)
                i += 500
            }
        }
    }

    // MARK: - dir_control

    public func dirControl(_ key: String) throws(VpopmailError) -> DirControl? {
        let r = try read("SELECT cur_users, level_cur, level_max, level_index0, level_index1, level_index2, the_dir "
                         + "FROM \(t("dir_control")) WHERE domain = ?", [.text(key)])
        guard let row = r.first else { return nil }
        var dc = DirControl()
        dc.curUsers = UInt64(row[0] ?? "") ?? 0
        dc.levelCur = Int(row[1] ?? "") ?? 0
        dc.levelMax = Int(row[2] ?? "") ?? 3
        dc.levelIndex = [Int(row[3] ?? "") ?? 0, Int(row[4] ?? "") ?? 0, Int(row[5] ?? "") ?? 0]
        dc.theDir = Array((row[6] ?? "").utf8)
        return dc
    }

    public func setDirControl(_ key: String, _ dc: DirControl) throws(VpopmailError) {
        var cols = ["domain", "cur_users", "level_cur", "level_max"]
        var vals: [SQLValue] = [.text(key), .i(dc.curUsers), .i(dc.levelCur), .i(dc.levelMax)]
        for i in 0..<3 { cols.append("level_start\(i)"); vals.append(.int(0)) }
        for i in 0..<3 { cols.append("level_end\(i)"); vals.append(.int(61)) }
        for (i, m) in [0, 2, 4].enumerated() { cols.append("level_mod\(i)"); vals.append(.i(m)) }
        for i in 0..<3 { cols.append("level_index\(i)"); vals.append(.i(i < dc.levelIndex.count ? dc.levelIndex[i] : 0)) }
        cols.append("the_dir")
        vals.append(.text(dc.bucket))
        try upsert("dir_control", cols, key: ["domain"], vals, table: .dirControl)
    }

    public func deleteDirControl(_ key: String) throws(VpopmailError) {
        try write("DELETE FROM \(t("dir_control")) WHERE domain = ?", [.text(key)], table: .dirControl)
    }

    // MARK: - relay

    public func openRelay(ip: String, time: Int) throws(VpopmailError) -> Bool {
        let known = try !read("SELECT ip_addr FROM \(t("relay")) WHERE ip_addr = ?", [.text(ip)]).isEmpty
        try upsert("relay", ["ip_addr", "timestamp"], key: ["ip_addr"], [.text(ip), .i(time)], table: .relay)
        return !known
    }

    public func relayAddresses() throws(VpopmailError) -> [(ip: String, time: Int)] {
        try read("SELECT ip_addr, timestamp FROM \(t("relay")) ORDER BY ip_addr").map { ($0[0] ?? "", Int($0[1] ?? "") ?? 0) }
    }

    public func clearRelay(olderThan: Int) throws(VpopmailError) {
        try write("DELETE FROM \(t("relay")) WHERE timestamp <= ?", [.i(olderThan)], table: .relay)
    }

    // MARK: - ip map

    public func ipMap() throws(VpopmailError) -> [(ip: String, domain: String)] {
        try read("SELECT ip_addr, domain FROM \(t("ip_alias_map")) ORDER BY ip_addr").map { ($0[0] ?? "", $0[1] ?? "") }
    }

    public func addIPMap(ip: String, domain: String) throws(VpopmailError) {
        try upsert("ip_alias_map", ["ip_addr", "domain"], key: ["ip_addr"], [.text(ip), .text(domain)], table: .ipMap)
    }

    public func deleteIPMap(ip: String, domain: String) throws(VpopmailError) {
        try write("DELETE FROM \(t("ip_alias_map")) WHERE ip_addr = ? AND domain = ?", [.text(ip), .text(domain)], table: .ipMap)
    }

    // MARK: - valias

    var valiasOrder: String { dialect == .sqlite ? "rowid" : "id" }

    public func aliasNames(domain: String) throws(VpopmailError) -> [String] {
        try read("SELECT DISTINCT alias FROM \(t("valias")) WHERE domain = ?", [.text(domain)])
            .compactMap { $0[0] }.sorted { $0.lowercased() < $1.lowercased() }
    }

    public func aliasLines(_ alias: String, domain: String) throws(VpopmailError) -> [String] {
        try read("SELECT valias_line FROM \(t("valias")) WHERE alias = ? AND domain = ? ORDER BY \(valiasOrder)",
                 [.text(alias), .text(domain)]).compactMap { $0[0] }
    }

    public func addAliasLine(_ alias: String, domain: String, line: String) throws(VpopmailError) {
        let l = String(line.drop(while: { $0 == " " || $0 == "\t" }))
        try write("INSERT INTO \(t("valias")) (alias, domain, valias_line) VALUES (?, ?, ?)",
                  [.text(alias), .text(domain), .text(l)], table: .valias)
    }

    public func removeAliasLine(_ alias: String, domain: String, line: String) throws(VpopmailError) {
        try write("DELETE FROM \(t("valias")) WHERE alias = ? AND valias_line = ? AND domain = ?",
                  [.text(alias), .text(line), .text(domain)], table: .valias)
    }

    public func deleteAlias(_ alias: String, domain: String) throws(VpopmailError) {
        try write("DELETE FROM \(t("valias")) WHERE alias = ? AND domain = ?", [.text(alias), .text(domain)], table: .valias)
    }

    // MARK: - limits

    public func limits(domain: String) throws(VpopmailError) -> DomainLimits? {
        let cols = (SQLStore.limitInts + SQLStore.limitBigs + SQLStore.limitBools + SQLStore.limitPerms).joined(separator: ", ")
        guard let r = try read("SELECT \(cols) FROM \(t("limits")) WHERE domain = ?", [.text(domain)]).first else { return nil }
        let v = r.map { Int64($0 ?? "") ?? 0 }
        var l = DomainLimits()
        l.maxPopAccounts = Int(v[0]); l.maxAliases = Int(v[1]); l.maxForwards = Int(v[2])
        l.maxAutoresponders = Int(v[3]); l.maxMailingLists = Int(v[4])
        l.diskQuota = UInt64(v[5]); l.maxMsgCount = UInt64(v[6]); l.defaultQuota = UInt64(v[7]); l.defaultMaxMsgCount = UInt64(v[8])
        l.disablePOP = v[9] != 0; l.disableIMAP = v[10] != 0; l.disableDialup = v[11] != 0
        l.disablePasswordChanging = v[12] != 0; l.disableWebmail = v[13] != 0; l.disableRelay = v[14] != 0
        l.disableSMTP = v[15] != 0; l.disableSpamassassin = v[16] != 0; l.deleteSpam = v[17] != 0; l.disableMaildrop = v[18] != 0
        l.permAccount = Int(v[19]); l.permAlias = Int(v[20]); l.permForward = Int(v[21]); l.permAutoresponder = Int(v[22])
        // Read in column order (upstream's MySQL module was off by one from perm_autoresponder on).
        l.permMaillist = Int(v[23]) & 7; l.permMaillistUsers = (Int(v[23]) >> 3) & 7; l.permMaillistModerators = (Int(v[23]) >> 6) & 7
        l.permQuota = Int(v[24]); l.permDefaultQuota = Int(v[25])
        return l
    }

    public func setLimits(_ l: DomainLimits, domain: String) throws(VpopmailError) {
        let cols = ["domain"] + SQLStore.limitInts + SQLStore.limitBigs + SQLStore.limitBools + SQLStore.limitPerms
        var v: [SQLValue] = [.text(domain)]
        v += [l.maxPopAccounts, l.maxAliases, l.maxForwards, l.maxAutoresponders, l.maxMailingLists].map { .i($0) }
        v += [l.diskQuota, l.maxMsgCount, l.defaultQuota, l.defaultMaxMsgCount].map { .int(Int64(clamping: $0)) }
        v += [l.disablePOP, l.disableIMAP, l.disableDialup, l.disablePasswordChanging, l.disableWebmail, l.disableRelay,
              l.disableSMTP, l.disableSpamassassin, l.deleteSpam, l.disableMaildrop].map { .int($0 ? 1 : 0) }
        v += [l.permAccount, l.permAlias, l.permForward, l.permAutoresponder,
              l.permMaillist | (l.permMaillistUsers << 3) | (l.permMaillistModerators << 6), l.permQuota, l.permDefaultQuota].map { .i($0) }
        try upsert("limits", cols, key: ["domain"], v, table: .limits)
    }

    public func deleteLimits(domain: String) throws(VpopmailError) {
        try write("DELETE FROM \(t("limits")) WHERE domain = ?", [.text(domain)], table: .limits)
    }

    // MARK: - vlog

    public func log(user: String, domain: String, logon: String, remoteIP: String, message: String, error: Bool) throws(VpopmailError) {
        guard logging else { return }
        let u = dialect == .pgsql ? "userid" : "user"
        try write("INSERT INTO \(t("vlog")) (\(u), passwd, domain, logon, remoteip, message, timestamp, error) VALUES (?, '', ?, ?, ?, ?, ?, ?)",
                  [.text(String(user.prefix(32))), .text(String(domain.prefix(96))), .text(String(logon.prefix(200))),
                   .text(String(remoteIP.prefix(39))), .text(String(message.prefix(255))), .i(time(nil)), .int(error ? 1 : 0)],
                  table: .vlog)
    }
}

/// Installs the SQL stores into `Vpopmail` (the `-sql` executables call this first).
public enum SQLStores {
    public static func register() {
        sqlStoreFactory = { (home, config, owner) throws(VpopmailError) in
            try SQLStore.open(home: home, config: config, owner: owner)
        }
    }
}
