import VpopmailCore
import StoreFiles
#if canImport(Glibc)
import Glibc
#endif

/// Last logins in the `lastauth` table (PostgreSQL: column `userid` instead of `user`).
public final class SQLLastAuth: LastAuthStore {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }
    public var storage: String { db.name }

    var userColumn: String { db.lastauthUser }
    var table: String { db.t("lastauth") }

    public func lastAuth(of a: Account, in d: DomainInfo) throws(VpopmailError) -> LastAuth? {
        let r = try db.read("SELECT timestamp, remote_ip FROM \(table) WHERE \(userColumn) = ? AND domain = ?",
                            [.text(a.name), .text(d.realDomain)])
        guard let row = r.first else { return nil }
        return LastAuth(time: Int(row[0] ?? "") ?? 0, ip: row[1] ?? "")
    }

    public func setLastAuth(of a: Account, in d: DomainInfo, ip: String, time when: Int?) throws(VpopmailError) {
        try db.upsert("lastauth", [userColumn, "domain", "remote_ip", "timestamp"], key: [userColumn, "domain"],
                      [.text(a.name), .text(d.realDomain), .text(ip), .i(when ?? Int(time(nil)))], table: .lastauth)
    }

    public func lastAuths(in d: DomainInfo) throws(VpopmailError) -> [String: LastAuth]? {
        var out: [String: LastAuth] = [:]
        for row in try db.read("SELECT \(userColumn), timestamp, remote_ip FROM \(table) WHERE domain = ?", [.text(d.realDomain)]) {
            if let u = row[0] { out[u] = LastAuth(time: Int(row[1] ?? "") ?? 0, ip: row[2] ?? "") }
        }
        return out
    }

    public func setLastAuths(_ entries: [(account: Account, auth: LastAuth)], in d: DomainInfo) throws(VpopmailError) {
        guard !entries.isEmpty else { return }
        try db.create(.lastauth)
        try db.transaction { () throws(VpopmailError) in
            var i = 0
            while i < entries.count {
                let part = entries[i..<min(i + 500, entries.count)]
                var values: [SQLValue] = []
                for e in part { values += [.text(e.account.name), .text(d.realDomain), .text(e.auth.ip), .i(e.auth.time)] }
                try db.upsert("lastauth", [userColumn, "domain", "remote_ip", "timestamp"], key: [userColumn, "domain"],
                              values, table: .lastauth, rows: part.count)
                i += 500
            }
        }
    }

    public func forget(_ a: Account, in d: DomainInfo) throws(VpopmailError) {
        try db.write("DELETE FROM \(table) WHERE \(userColumn) = ? AND domain = ?", [.text(a.name), .text(d.realDomain)], table: .lastauth)
    }

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {
        try db.write("DELETE FROM \(table) WHERE domain = ?", [.text(d.realDomain)], table: .lastauth)
    }
}

/// The hashing state in `dir_control`, keyed by the domain (`dom_<uid>` for the domains tree).
public final class SQLDirControl: DirControlStore {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }
    public var storage: String { db.name }

    static func key(_ k: DirControlKey) -> String {
        switch k {
        case .users(let d): return d.realDomain
        case .domains(_, let uid): return "dom_\(uid)"
        }
    }

    public func load(_ k: DirControlKey) throws(VpopmailError) -> DirControl {
        let r = try db.read("SELECT cur_users, level_cur, level_max, level_index0, level_index1, level_index2, the_dir "
                            + "FROM \(db.t("dir_control")) WHERE domain = ?", [.text(SQLDirControl.key(k))])
        guard let row = r.first else { return DirControl() }
        var dc = DirControl()
        dc.curUsers = UInt64(row[0] ?? "") ?? 0
        dc.levelCur = Int(row[1] ?? "") ?? 0
        dc.levelMax = Int(row[2] ?? "") ?? 3
        dc.levelIndex = [Int(row[3] ?? "") ?? 0, Int(row[4] ?? "") ?? 0, Int(row[5] ?? "") ?? 0]
        dc.theDir = Array((row[6] ?? "").utf8)
        return dc
    }

    /// The columns and values of the row of `key` holding `dc` (upstream's layout).
    static func row(_ dc: DirControl, key: String) -> (cols: [String], vals: [SQLValue]) {
        var cols = ["domain", "cur_users", "level_cur", "level_max"]
        var vals: [SQLValue] = [.text(key), .i(dc.curUsers), .i(dc.levelCur), .i(dc.levelMax)]
        for i in 0..<3 { cols.append("level_start\(i)"); vals.append(.int(0)) }
        for i in 0..<3 { cols.append("level_end\(i)"); vals.append(.int(61)) }
        for (i, m) in [0, 2, 4].enumerated() { cols.append("level_mod\(i)"); vals.append(.i(m)) }
        for i in 0..<3 { cols.append("level_index\(i)"); vals.append(.i(i < dc.levelIndex.count ? dc.levelIndex[i] : 0)) }
        cols.append("the_dir")
        vals.append(.text(dc.bucket))
        return (cols, vals)
    }

    public func save(_ dc: DirControl, _ k: DirControlKey, owner: (uid: UInt32, gid: UInt32)) throws(VpopmailError) {
        let r = SQLDirControl.row(dc, key: SQLDirControl.key(k))
        // An UPDATE of the row (which the domain lock made sure of), the upsert only when it is
        // missing or unchanged: a Galera cluster certifies an UPDATE of the row against another
        // node's, where an INSERT ... ON DUPLICATE KEY UPDATE lost increments under load.
        let set = r.cols.dropFirst().map { "\($0) = ?" }.joined(separator: ", ")
        let n = try db.write("UPDATE \(db.t("dir_control")) SET \(set) WHERE domain = ?", Array(r.vals.dropFirst()) + [r.vals[0]], table: .dirControl)
        if n == 0 { try db.upsert("dir_control", r.cols, key: ["domain"], r.vals, table: .dirControl) }
    }

    public func exists(_ k: DirControlKey) -> Bool { true }

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {
        try db.write("DELETE FROM \(db.t("dir_control")) WHERE domain = ?", [.text(d.realDomain)], table: .dirControl)
    }
}

/// Roaming users' addresses in the `relay` table.
public final class SQLRelay: RelayStore {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }
    public var storage: String { db.name }

    public func open(ip: String, time: Int) throws(VpopmailError) -> Bool {
        let known = try !db.read("SELECT ip_addr FROM \(db.t("relay")) WHERE ip_addr = ?", [.text(ip)]).isEmpty
        try db.upsert("relay", ["ip_addr", "timestamp"], key: ["ip_addr"], [.text(ip), .i(time)], table: .relay)
        return !known
    }

    public func addresses() throws(VpopmailError) -> [(ip: String, time: Int)] {
        try db.read("SELECT ip_addr, timestamp FROM \(db.t("relay")) ORDER BY ip_addr").map { ($0[0] ?? "", Int($0[1] ?? "") ?? 0) }
    }

    public func clear(openedBefore cutoff: Int) throws(VpopmailError) {
        try db.write("DELETE FROM \(db.t("relay")) WHERE timestamp <= ?", [.i(cutoff)], table: .relay)
    }
}

/// `vipmap` entries in `ip_alias_map`.
public final class SQLIPMap: IPMapStore {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }
    public var storage: String { db.name }

    public func entries() throws(VpopmailError) -> [(ip: String, domain: String)] {
        try db.read("SELECT ip_addr, domain FROM \(db.t("ip_alias_map")) ORDER BY ip_addr").map { ($0[0] ?? "", $0[1] ?? "") }
    }

    public func add(ip: String, domain: String) throws(VpopmailError) {
        try db.upsert("ip_alias_map", ["ip_addr", "domain"], key: ["ip_addr"], [.text(ip), .text(domain)], table: .ipMap)
    }

    public func delete(ip: String, domain: String) throws(VpopmailError) {
        try db.write("DELETE FROM \(db.t("ip_alias_map")) WHERE ip_addr = ? AND domain = ?", [.text(ip), .text(domain)], table: .ipMap)
    }
}

/// Aliases in the `valias` table (`valias = y`): vdelivermail looks them up, since qmail-local
/// finds no `.qmail-<alias>` file for them.
public final class SQLAliases: AliasStore {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }
    public var storage: String { db.name }
    public var needsLookupAtDelivery: Bool { true }

    var order: String { db.dialect == .sqlite ? "rowid" : "id" }
    var table: String { db.t("valias") }

    public func names(in d: DomainInfo) throws(VpopmailError) -> [String] {
        try db.read("SELECT DISTINCT alias FROM \(table) WHERE domain = ?", [.text(d.realDomain)])
            .compactMap { $0[0] }.sorted { $0.lowercased() < $1.lowercased() }
    }

    public func lines(of alias: String, in d: DomainInfo) throws(VpopmailError) -> [String] {
        try db.read("SELECT valias_line FROM \(table) WHERE alias = ? AND domain = ? ORDER BY \(order)",
                    [.text(alias), .text(d.realDomain)]).compactMap { $0[0] }
    }

    public func addLine(_ line: String, to alias: String, in d: DomainInfo) throws(VpopmailError) {
        let l = String(line.drop(while: { $0 == " " || $0 == "\t" }))
        try db.write("INSERT INTO \(table) (alias, domain, valias_line) VALUES (?, ?, ?)",
                     [.text(alias), .text(d.realDomain), .text(l)], table: .valias)
    }

    public func removeLines(_ lines: [String], from alias: String, in d: DomainInfo) throws(VpopmailError) {
        for l in lines {
            try db.write("DELETE FROM \(table) WHERE alias = ? AND valias_line = ? AND domain = ?",
                         [.text(alias), .text(l), .text(d.realDomain)], table: .valias)
        }
    }

    public func delete(_ alias: String, in d: DomainInfo) throws(VpopmailError) {
        try db.write("DELETE FROM \(table) WHERE alias = ? AND domain = ?", [.text(alias), .text(d.realDomain)], table: .valias)
    }

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {
        try db.write("DELETE FROM \(table) WHERE domain = ?", [.text(d.realDomain)], table: .valias)
    }
}

/// Domain limits in the `limits` table (`mysql-limits = y`, on every SQL store).
public final class SQLLimits: LimitsStore {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }
    public var storage: String { db.name }

    static let ints = ["maxpopaccounts", "maxaliases", "maxforwards", "maxautoresponders", "maxmailinglists"]
    static let bigs = ["diskquota", "maxmsgcount", "defaultquota", "defaultmaxmsgcount"]
    static let bools = ["disable_pop", "disable_imap", "disable_dialup", "disable_passwordchanging", "disable_webmail",
                        "disable_relay", "disable_smtp", "disable_spamassassin", "delete_spam", "disable_maildrop"]
    static let perms = ["perm_account", "perm_alias", "perm_forward", "perm_autoresponder", "perm_maillist",
                        "perm_quota", "perm_defaultquota"]
    static var columns: [String] { ints + bigs + bools + perms }

    public func limits(of d: DomainInfo) throws(VpopmailError) -> DomainLimits? {
        let cols = SQLLimits.columns.joined(separator: ", ")
        guard let r = try db.read("SELECT \(cols) FROM \(db.t("limits")) WHERE domain = ?", [.text(d.realDomain)]).first else { return nil }
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

    public func setLimits(_ l: DomainLimits, of d: DomainInfo) throws(VpopmailError) {
        var v: [SQLValue] = [.text(d.realDomain)]
        v += [l.maxPopAccounts, l.maxAliases, l.maxForwards, l.maxAutoresponders, l.maxMailingLists].map { .i($0) }
        v += [l.diskQuota, l.maxMsgCount, l.defaultQuota, l.defaultMaxMsgCount].map { .int(Int64(clamping: $0)) }
        v += [l.disablePOP, l.disableIMAP, l.disableDialup, l.disablePasswordChanging, l.disableWebmail, l.disableRelay,
              l.disableSMTP, l.disableSpamassassin, l.deleteSpam, l.disableMaildrop].map { .int($0 ? 1 : 0) }
        v += [l.permAccount, l.permAlias, l.permForward, l.permAutoresponder,
              l.permMaillist | (l.permMaillistUsers << 3) | (l.permMaillistModerators << 6), l.permQuota, l.permDefaultQuota].map { .i($0) }
        try db.upsert("limits", ["domain"] + SQLLimits.columns, key: ["domain"], v, table: .limits)
    }

    public func deleteLimits(of d: DomainInfo) throws(VpopmailError) {
        try db.write("DELETE FROM \(db.t("limits")) WHERE domain = ?", [.text(d.realDomain)], table: .limits)
    }

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) { try deleteLimits(of: d) }
}

/// Authentication events in `vlog` (`sql-logging = y`); the `passwd` column stays empty.
public final class SQLAuthLog: AuthLog {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }
    public var storage: String { db.name }

    public func record(_ e: AuthEvent) throws(VpopmailError) {
        let u = db.dialect == .pgsql ? "userid" : "user"
        try db.write("INSERT INTO \(db.t("vlog")) (\(u), passwd, domain, logon, remoteip, message, timestamp, error) VALUES (?, '', ?, ?, ?, ?, ?, ?)",
                     [.text(String(e.user.prefix(32))), .text(String(e.domain.prefix(96))), .text(String(e.login.prefix(200))),
                      .text(String(e.remoteIP.prefix(39))), .text(String(e.message.prefix(255))), .i(time(nil)), .int(e.isError ? 1 : 0)],
                     table: .vlog)
    }
}

extension SQLDatabase {
    /// The store set of this database under `config`: accounts, last logins, hashing state,
    /// relay and IP map in tables; aliases (`valias = y`) and limits (`mysql-limits = y`) in
    /// tables or files; `vlog` rows with `sql-logging = y`.
    public func stores(_ c: StoreContext) -> StoreSet {
        let files = FilesDriver.stores(c, accounts: SQLAccounts(self, aliasDomainTable: c.config.sqlAliasdomains))
        lockedTables = [.dirControl, .lastauth] + (c.config.valias ? [.valias] : []) + (c.config.mysqlLimits ? [.limits] : [])
        return StoreSet(accounts: files.accounts,
                        aliases: c.config.valias ? SQLAliases(self) : files.aliases,
                        limits: c.config.mysqlLimits ? SQLLimits(self) : files.limits,
                        lastAuth: SQLLastAuth(self), dirControl: SQLDirControl(self), ipMap: SQLIPMap(self), relay: SQLRelay(self),
                        authLog: c.config.sqlLogging ? SQLAuthLog(self) : nil, schema: SQLSchema(self))
    }
}

/// vpopmail's tables as the server describes them, for `vconvert --upgrade`.
public final class SQLSchema: SchemaStore {
    let db: SQLDatabase
    public init(_ db: SQLDatabase) { self.db = db }

    /// Upstream's tables and ours; user tables are found by their `pw_name` column.
    static let known: Set<String> = ["vpopmail", "lastauth", "dir_control", "relay", "ip_alias_map", "valias", "limits",
                                     "aliasdomains", "vlog", "vpopmail_schema"]

    public func tables() throws(VpopmailError) -> [TableState] {
        let rows: SQLRows
        switch db.dialect {
        case .mysql:
            rows = try db.read("""
                SELECT t.TABLE_NAME, t.ENGINE,
                  (SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA
                     AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY'),
                  (SELECT COUNT(*) FROM information_schema.COLUMNS k WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA
                     AND k.TABLE_NAME = t.TABLE_NAME AND k.COLUMN_NAME = 'pw_name')
                FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
                ORDER BY t.TABLE_NAME
                """)
        case .pgsql:
            rows = try db.read("""
                SELECT c.relname, NULL,
                  (SELECT COUNT(*) FROM pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p'),
                  (SELECT COUNT(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'pw_name' AND NOT a.attisdropped)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname
                """)
        case .sqlite:
            return []  // one file, one writer at a time: nothing a cluster needs
        }
        return rows.compactMap { r in
            guard let name = r[0], SQLSchema.known.contains(name.lowercased()) || (r[3] ?? "0") != "0" else { return nil }
            return TableState(name: name, engine: r[1] ?? nil, hasPrimaryKey: (r[2] ?? "0") != "0")
        }
    }

    public func makeTransactional(_ table: String) throws(VpopmailError) {
        guard db.dialect == .mysql, SQLSchema.safe(table) else { return }
        try db.write("ALTER TABLE \(db.t(table)) ENGINE = InnoDB")
    }

    public func addPrimaryKey(_ table: String, dryRun: Bool) throws(VpopmailError) -> Bool {
        guard table.lowercased() == "valias" else { return false }
        if dryRun { return true }
        switch db.dialect {
        case .mysql:
            let hasID = try db.read("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'id'",
                                    [.text(table)]).first?.first == "1"
            try db.write(hasID ? "ALTER TABLE \(db.t(table)) ADD PRIMARY KEY (id)"
                               : "ALTER TABLE \(db.t(table)) ADD COLUMN id INT NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST")
        case .pgsql:
            let hasID = try db.read("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'valias' AND column_name = 'id'")
                .first?.first == "1"
            try db.write(hasID ? "ALTER TABLE \"valias\" ADD PRIMARY KEY (id)" : "ALTER TABLE \"valias\" ADD COLUMN id serial PRIMARY KEY")
        case .sqlite:
            return false
        }
        return true
    }

    /// A name the server gave: spliced into ALTER TABLE only when it is a plain identifier.
    static func safe(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }
}
