import VpopmailCore

/// Accounts in the `vpopmail` table (`many-domains = y`) or one table per domain, and MySQL's
/// `aliasdomains` table (`sql-aliasdomains = y`).
public final class SQLAccounts: AccountStore {
    let db: SQLDatabase
    let aliasDomainTable: Bool

    public init(_ db: SQLDatabase, aliasDomainTable: Bool) {
        self.db = db
        self.aliasDomainTable = aliasDomainTable && db.dialect == .mysql
    }

    public var storage: String { db.name }

    public func lock(domain d: DomainInfo) throws(VpopmailError) -> FileLock {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(d.dir + "/.vpasswd.lock", owner: d.owner) }
    }

    /// The domain's writers on every host that shares the database wait for each other: the
    /// body runs in one transaction that first locks the domain's `dir_control` row
    /// (`SELECT ... FOR UPDATE`; SQLite: `BEGIN IMMEDIATE` locks the database), so the counter,
    /// the accounts and the existence checks are read and written under one lock. On a Galera
    /// cluster, whose row locks are local to a node, a writer on another node that changed the
    /// same rows makes the commit fail certification (1213): the body is run again. No local
    /// file lock: the database is what the hosts share.
    public func locked<T>(domain d: DomainInfo, _ body: (StoreTransaction) throws(VpopmailError) -> T) throws(VpopmailError) -> T {
        try db.prepareDomainLock(userTable: db.userTable(d.realDomain))
        let key = d.realDomain
        return try db.transaction(prologue: { () throws(VpopmailError) in try db.lockDomainRow(key) }, body)
    }

    static let columns = "pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, pw_clear_passwd"
    /// For tables of builds without clear passwords (upstream creates `pw_clear_passwd` only
    /// with `--enable-clear-passwd`).
    static let columnsNoClear = "pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, NULL"

    /// A row as an account; a row with NUL, CR or LF in a field (an edit outside vpopmail) is
    /// refused: it could add lines to every file the account's fields reach.
    func account(_ r: [String?]) throws(VpopmailError) -> Account {
        if let i = r.prefix(8).firstIndex(where: { Validate.breaksLine($0 ?? "") }) {
            throw VpopmailError(.corruptFile, "the account row of \(Validate.printable(r.first.flatMap { $0 } ?? "")) has NUL, CR or LF in column \(i + 1)")
        }
        return Account(name: r[0] ?? "", passwordHash: r[1] ?? "", apopMarker: UInt32(r[2] ?? "") ?? 0,
                flags: AccountFlags(rawValue: UInt32(r[3] ?? "") ?? 0), gecos: r[4] ?? "", home: r[5] ?? "",
                quota: Quota(stored: r[6] ?? ""), clearPassword: (r[7] ?? "").isEmpty ? nil : r[7])
    }

    var manyDomains: Bool { db.manyDomains }
    func t(_ name: String) -> String { db.t(name) }
    func whereUser(_ d: String) -> String { manyDomains ? "pw_name = ? AND pw_domain = ?" : "pw_name = ?" }
    func keyParams(_ name: String, _ d: String) -> [SQLValue] { manyDomains ? [.text(name), .text(d)] : [.text(name)] }

    public func account(_ user: UserName, in d: DomainInfo) throws(VpopmailError) -> Account? {
        let name = user.text
        let rest = "FROM \(t(db.userTable(d.realDomain))) WHERE \(whereUser(d.realDomain))"
        let rows = try db.read("SELECT \(SQLAccounts.columns) \(rest)", keyParams(name, d.realDomain),
                               fallback: "SELECT \(SQLAccounts.columnsNoClear) \(rest)")
        guard let r = rows.first else { return nil }
        return try account(r)
    }

    public func accounts(in d: DomainInfo) throws(VpopmailError) -> [Account] {
        let rows = manyDomains
            ? try db.read("SELECT \(SQLAccounts.columns) FROM vpopmail WHERE pw_domain = ?", [.text(d.realDomain)],
                          fallback: "SELECT \(SQLAccounts.columnsNoClear) FROM vpopmail WHERE pw_domain = ?")
            : try db.read("SELECT \(SQLAccounts.columns) FROM \(t(db.userTable(d.realDomain)))",
                          fallback: "SELECT \(SQLAccounts.columnsNoClear) FROM \(t(db.userTable(d.realDomain)))")
        // Byte order, as in vpasswd (server collations differ).
        var out: [Account] = []
        out.reserveCapacity(rows.count)
        for r in rows { out.append(try account(r)) }
        return out.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    func rowValues(_ a: Account, _ d: String) -> [SQLValue] {
        var v: [SQLValue] = [.text(a.name)]
        if manyDomains { v.append(.text(d)) }
        v += [.text(a.passwordHash), .i(a.apopMarker), .i(a.flags.rawValue), .text(a.gecos), .text(a.home), .text(a.quota.spelling),
              a.clearPassword.map { .text($0) } ?? .text("")]
        return v
    }

    var insertColumns: String {
        manyDomains ? "pw_name, pw_domain, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, pw_clear_passwd"
                    : "pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, pw_clear_passwd"
    }

    public func insert(_ accounts: [Account], in d: DomainInfo) throws(VpopmailError) {
        let table = db.userTable(d.realDomain)
        try db.ensureUserTable(table)
        let ncol = manyDomains ? 9 : 8
        let row = "(" + Array(repeating: "?", count: ncol).joined(separator: ", ") + ")"
        if accounts.count == 1 {
            try db.write("INSERT INTO \(t(table)) (\(insertColumns)) VALUES \(row)", rowValues(accounts[0], d.realDomain), table: .users(table))
            return
        }
        // Many rows per statement, all in one transaction: a duplicate adds none.
        let chunk = 200
        try db.transaction { () throws(VpopmailError) in
            var i = 0
            while i < accounts.count {
                let part = accounts[i..<min(i + chunk, accounts.count)]
                let sql = "INSERT INTO \(t(table)) (\(insertColumns)) VALUES " + Array(repeating: row, count: part.count).joined(separator: ", ")
                var params: [SQLValue] = []
                params.reserveCapacity(part.count * ncol)
                for a in part { params += rowValues(a, d.realDomain) }
                try db.write(sql, params)
                i += chunk
            }
        }
    }

    public func update(_ a: Account, in d: DomainInfo, rebuildIndex: Bool) throws(VpopmailError) {
        let table = db.userTable(d.realDomain)
        try db.ensureUserTable(table)
        let n = try db.write("UPDATE \(t(table)) SET pw_passwd = ?, pw_uid = ?, pw_gid = ?, pw_gecos = ?, pw_dir = ?, pw_shell = ?, "
                             + "pw_clear_passwd = ? WHERE \(whereUser(d.realDomain))",
                             [.text(a.passwordHash), .i(a.apopMarker), .i(a.flags.rawValue), .text(a.gecos), .text(a.home),
                              .text(a.quota.spelling), a.clearPassword.map { .text($0) } ?? .text("")] + keyParams(a.name, d.realDomain))
        if n == 0 { throw VpopmailError(.userDoesNotExist) }
    }

    public func remove(_ name: UserName, in d: DomainInfo) throws(VpopmailError) -> Bool {
        try db.write("DELETE FROM \(t(db.userTable(d.realDomain))) WHERE \(whereUser(d.realDomain))", keyParams(name.text, d.realDomain)) > 0
    }

    // MARK: - Domains

    public func domainAdded(_ domain: String) throws(VpopmailError) {
        try db.ensureUserTable(db.userTable(domain))
    }

    public func domainDeleted(_ domain: String) throws(VpopmailError) {
        if manyDomains {
            try db.write("DELETE FROM vpopmail WHERE pw_domain = ?", [.text(domain)])
        } else {
            try db.write("DROP TABLE IF EXISTS \(t(db.userTable(domain)))")
            // The table's layout record goes with it (a domain added again gets a new table).
            if db.dialect != .sqlite {
                try db.write("DELETE FROM \(t("vpopmail_schema")) WHERE name = ?", [.text(db.userTable(domain))], table: .schema)
            }
            db.forgetSchema(db.userTable(domain))
        }
        if aliasDomainTable { try db.write("DELETE FROM \(t("aliasdomains")) WHERE domain = ?", [.text(domain)], table: .aliasDomains) }
    }

    public func aliasDomainAdded(alias: String, real: String) throws(VpopmailError) {
        guard aliasDomainTable else { return }
        try db.upsert("aliasdomains", ["alias", "domain"], key: ["alias"], [.text(alias), .text(real)], table: .aliasDomains)
    }

    public func aliasDomainDeleted(alias: String) throws(VpopmailError) {
        guard aliasDomainTable else { return }
        try db.write("DELETE FROM \(t("aliasdomains")) WHERE alias = ?", [.text(alias)], table: .aliasDomains)
    }

    /// The `aliasdomains` rows (alias, real domain), sorted by alias.
    public func aliasDomainRows() throws(VpopmailError) -> [(alias: String, domain: String)] {
        try db.read("SELECT alias, domain FROM \(t("aliasdomains")) ORDER BY alias").map { ($0[0] ?? "", $0[1] ?? "") }
    }
}
