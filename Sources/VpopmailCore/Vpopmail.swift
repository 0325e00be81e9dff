import CShims
#if canImport(Glibc)
import Glibc
#endif

/// The vpopmail API: one installation (home, configuration, qmail directory, account store) and
/// the operations the commands call. Each operation validates everything before it changes
/// anything, takes the lock that serialises it, and writes every file atomically.
public final class Vpopmail {
    public let home: String
    public let config: Config
    public let qmail: QmailControl
    /// The vpopmail user's uid and primary gid (`vpopuser`), owners of new domains by default.
    /// Resolved on first use (vchkpw and vdelivermail never need them).
    public lazy var vpopIDs: (uid: UInt32, gid: UInt32) = Vpopmail.vpopIDs(config)

    static func vpopIDs(_ config: Config) -> (uid: UInt32, gid: UInt32) {
        if let u = SystemUsers.user(config.vpopUser) { return (u.uid, u.gid) }
        return (89, SystemUsers.groupID(config.vpopGroup) ?? 89)
    }
    public var vpopUID: UInt32 { vpopIDs.uid }
    public var vpopGID: UInt32 { vpopIDs.gid }
    public let store: AccountStore
    /// The store's other tables (SQL stores); nil for the cdb store, whose state is in files.
    public let tables: StoreTables?

    public var etcDir: String { home + "/etc" }
    /// Set while a change is part of another (vadddomain's postmaster): no onchange events.
    public var suppressChangeHooks = false
    public var binDir: String { home + "/bin" }
    public var sync: Bool { config.fileSync }
    /// The delivery's sync mode (`off` when `file-sync = n`).
    public var deliverySync: DeliverySync { config.fileSync ? config.deliverySync : .off }

    public init(home: String, config: Config, qmailDir: String? = nil, store: AccountStore? = nil) throws(VpopmailError) {
        self.home = home
        self.config = config
        qmail = QmailControl(qmailDir: qmailDir ?? config.qmailDir, cdbName: config.qmailCdbName, sync: config.fileSync,
                             newuProgram: config.qmailNewu ?? "", newmrhProgram: config.qmailNewmrh ?? "")
        if let store {
            self.store = store
        } else {
            switch config.authModule {
            case "cdb": self.store = CDBStore(sync: config.fileSync, storeClear: config.clearPasswd)
            case "passwd": self.store = PasswdStore()
            default:
                guard let factory = sqlStoreFactory else {
                    throw VpopmailError(.notSupported, "auth-module \(config.authModule) is not available in this build")
                }
                // No /etc/passwd read per login: only a store that creates its file asks.
                self.store = try factory(home, config) { Vpopmail.vpopIDs(config) }
            }
        }
        tables = self.store.tables
    }

    /// This executable lacks the SQL store `module` (`all`: every store): runs the program that
    /// has it with the same arguments (returns only by throwing).
    public static func handOverToSQL(home: String, module: String) throws(VpopmailError) -> Never {
        guard let twin = sqlTwin(home: home, module: module) else {
            throw VpopmailError(.notSupported, "auth-module \(module) needs the SQL programs (vpopmail-\(module), vchkpw-\(module), vdelivermail-\(module), vpopmail-sql), which are not installed")
        }
        beforeSQLHandover?()
        var cargs: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        cargs.append(nil)
        execv(twin, cargs)
        throw VpopmailError(.notSupported, "cannot run \(twin): errno \(errno)")
    }

    /// The executable that has the SQL store: `vchkpw-<module>`, `vdelivermail-<module>`,
    /// `vpopmail-<module>`, or `vpopmail-sql` (every store) for `all`; next to the running
    /// program or in `<home>/bin`.
    static func sqlTwin(home: String, module: String) -> String? {
        let exe = Proc.executablePath() ?? ""
        let base = Path.basename(exe)
        let twin: String
        if module == "all" {
            twin = "vpopmail-sql"
        } else {
            twin = (base == "vchkpw" || base == "vdelivermail" ? base : "vpopmail") + "-" + module
        }
        for dir in [Path.dirname(exe), home + "/bin"] where !exe.isEmpty || dir != "." {
            let p = dir + "/" + twin
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    /// The installation the running program belongs to: `$VPOPMAIL_HOME`, else the directory
    /// above the executable's `bin/`, else `/home/vpopmail`; `$QMAILDIR` overrides the configured
    /// qmail directory.
    public static func open() throws(VpopmailError) -> Vpopmail {
        let home = locateHome()
        let confPath = home + "/etc/vpopmail.conf"
        var config = Config()
        if let bytes = try sys({ () throws(SystemError) in try FS.readIfExists(confPath) }) {
            config = try Config.parse(bytes: bytes, file: confPath)
        }
        if config.authModule != "cdb" && config.authModule != "passwd" && !sqlModulesAvailable.contains(config.authModule) {
            try handOverToSQL(home: home, module: config.authModule)
        }
        return try Vpopmail(home: home, config: config, qmailDir: Proc.env("QMAILDIR").flatMap { $0.isEmpty ? nil : $0 })
    }

    public static func locateHome() -> String {
        if let h = Proc.env("VPOPMAIL_HOME"), !h.isEmpty { return h }
        // <home>/bin/<program>, on the bytes of /proc/self/exe (every vchkpw and vdelivermail run
        // comes here).
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            var slash = n - 1
            while slash > 0 && buf[slash] != UInt8(ascii: "/") { slash -= 1 }  // before <program>
            var start = slash
            while start > 0 && buf[start - 1] != UInt8(ascii: "/") { start -= 1 }  // start of bin
            if slash - start == 3 && buf[start] == UInt8(ascii: "b") && buf[start + 1] == UInt8(ascii: "i")
                && buf[start + 2] == UInt8(ascii: "n") && start > 0 {
                return start == 1 ? "/" : String(decoding: buf[0..<(start - 1)], as: UTF8.self)
            }
        }
        return "/home/vpopmail"
    }

    // MARK: - Domains

    /// A domain (real or alias) from `users/assign`, or nil.
    public func domain(_ name: String) throws(VpopmailError) -> DomainInfo? {
        let n = name.lowercased()
        guard Validate.isDomainValid(n), n.utf8.count <= LengthLimits.maxDomain else { return nil }
        return try qmail.lookup(n)
    }

    public func requireDomain(_ name: String) throws(VpopmailError) -> DomainInfo {
        if name.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        guard let d = try domain(name) else { throw VpopmailError(.domainDoesNotExist) }
        return d
    }

    /// The `.qmail-default` line of a domain.
    public func qmailDefaultLine(_ delivery: String) -> String {
        "| \(binDir)/vdelivermail '' \(delivery)\n"
    }

    /// Upstream's `vadddomain()` (without the postmaster account, which the command adds).
    public func addDomain(_ name: String, baseDir: String? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
                          optimize: Bool = false) throws(VpopmailError) -> (domain: DomainInfo, notices: [String]) {
        let domain = name.lowercased()
        try Validate.checkNewDomain(domain)
        let base = baseDir ?? home
        let owner = (uid: uid ?? vpopUID, gid: gid ?? vpopGID)
        let root = base + "/" + config.domainsDir
        try sys(.canNotMakeDomainsDir) { () throws(SystemError) in try FS.mkdirs(root, mode: 0o700, owner: owner) }
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(root + "/.dir-control.lock", owner: owner) }
        defer { lock.unlock() }
        if try qmail.lookup(domain) != nil { throw VpopmailError(.domainAlreadyExists) }
        onchange("add_domain", domain, "-", .before)
        let dcKey = "dom_\(owner.uid)"
        var dc = try loadDirControl(dcKey, root + "/.dir-control")
        let bucket = dc.next()
        if base.utf8.count + config.domainsDir.utf8.count + bucket.utf8.count + domain.utf8.count + 1 > LengthLimits.maxDir {
            throw VpopmailError(.dirTooLong)
        }
        let parent = bucket.isEmpty ? root : root + "/" + bucket
        let dir = parent + "/" + domain
        try sys(.couldNotMakeDomainDir) { () throws(SystemError) in
            try FS.mkdirs(parent, mode: 0o700, owner: owner)
            try FS.mkdir(dir, mode: 0o700, owner: owner)
        }
        do {
            try sys(.couldNotOpenQmailDefault) { () throws(SystemError) in
                try FS.writeAtomic(dir + "/.qmail-default", qmailDefaultLine(config.domainDefaultDelivery),
                                   mode: 0o600, owner: owner, sync: sync)
            }
            try saveDirControl(dc, dcKey, root + "/.dir-control", owner: owner)
            try tables?.domainAdded(domain)
            let notices = try qmail.addDomain(name: domain, realDomain: domain, uid: owner.uid, gid: owner.gid,
                                              dir: dir, optimize: optimize)
            if !optimize { qmail.signalQmailSend() }
            onchange("add_domain", domain, "-", .after)
            return (DomainInfo(name: domain, realDomain: domain, uid: owner.uid, gid: owner.gid, dir: dir), notices)
        } catch {
            // Roll back: control files, the directory and the counter.
            try? qmail.removeDomain(name: domain, realDomain: domain, uid: owner.uid, gid: owner.gid, dir: dir)
            try? FS.removeTree(dir)
            try? tables?.domainDeleted(domain)
            if var back = try? loadDirControl(dcKey, root + "/.dir-control"), back.curUsers == dc.curUsers {
                back.release()
                try? saveDirControl(back, dcKey, root + "/.dir-control", owner: owner)
            }
            throw error
        }
    }

    /// Alias domains of a real domain, from `users/assign`.
    public func aliasDomains(of real: String) throws(VpopmailError) -> [String] {
        try qmail.domainEntries().filter { $0.realDomain == real && $0.name != real }.map(\.name)
    }

    /// Upstream's `vdeldomain()`: an alias domain loses only its control-file entries; a real
    /// domain loses its aliases, its control-file entries, its directory and its counter slot.
    /// Mail stops being accepted (control files) before anything is deleted.
    public func deleteDomain(_ name: String) throws(VpopmailError) {
        let d = try requireDomain(name)
        if d.isAlias {
            onchange("del_domain", "\(d.name) alias of \(d.realDomain)", "-", .before)
            try tables?.aliasDomainDeleted(alias: d.name)
            try qmail.removeDomain(name: d.name, realDomain: d.realDomain, uid: d.uid, gid: d.gid, dir: d.dir)
            qmail.signalQmailSend()
            onchange("del_domain", "\(d.name) alias of \(d.realDomain)", "-", .after)
            return
        }
        onchange("del_domain", d.name, "-", .before)
        defer { onchange("del_domain", d.name, "-", .after) }
        let root: String = {
            // The domains root is the directory that holds the domain (and its buckets).
            var p = Path.dirname(d.dir)
            while Path.basename(p).utf8.count == 1 && p.count > 1 { p = Path.dirname(p) }
            return p
        }()
        // The store first: when it does not answer nothing has changed, and once it has answered
        // a second vdeldomain can finish whatever fails after it.
        try tables?.domainDeleted(d.name)
        for alias in try aliasDomains(of: d.name) {
            try tables?.aliasDomainDeleted(alias: alias)
            try qmail.removeDomain(name: alias, realDomain: d.name, uid: d.uid, gid: d.gid, dir: d.dir)
        }
        try qmail.removeDomain(name: d.name, realDomain: d.name, uid: d.uid, gid: d.gid, dir: d.dir)
        qmail.signalQmailSend()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            if FS.isSymlink(d.dir) { try FS.unlink(d.dir) } else { try FS.removeTree(d.dir) }
        }
        let dcPath = root + "/.dir-control"
        let dcKey = "dom_\(d.uid)"
        if tables != nil || FS.exists(dcPath) {
            let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(root + "/.dir-control.lock") }
            defer { lock.unlock() }
            var dc = try loadDirControl(dcKey, dcPath)
            dc.release()
            try saveDirControl(dc, dcKey, dcPath, owner: (d.uid, d.gid))
        }
    }

    /// Upstream's `vaddaliasdomain()`.
    public func addAliasDomain(alias: String, real: String) throws(VpopmailError) -> [String] {
        let a = alias.lowercased()
        try Validate.checkNewDomain(a)
        let r = try requireDomain(real)
        if a == r.realDomain { throw VpopmailError(.domainAlreadyExists, "real domain and alias domain are the same") }
        if try qmail.lookup(a) != nil { throw VpopmailError(.domainAlreadyExists) }
        onchange("add_alias_domain", a, r.realDomain, .before)
        let notices = try qmail.addDomain(name: a, realDomain: r.realDomain, uid: r.uid, gid: r.gid, dir: r.dir, optimize: false)
        do { try tables?.aliasDomainAdded(alias: a, real: r.realDomain) } catch {
            try? qmail.removeDomain(name: a, realDomain: r.realDomain, uid: r.uid, gid: r.gid, dir: r.dir)
            throw error
        }
        qmail.signalQmailSend()
        onchange("add_alias_domain", a, r.realDomain, .after)
        return notices
    }

    /// The allocation counter of a domain's user hashing (`vdominfo`'s "users").
    public func userCounter(_ d: DomainInfo) throws(VpopmailError) -> UInt64 {
        try loadDirControl(d.realDomain, d.dir + "/.dir-control").curUsers
    }

    /// The hashing state `key` (a domain, or `dom_<uid>` for the domains tree): the store's
    /// `dir_control` table, else the `.dir-control` file at `path`.
    public func loadDirControl(_ key: String, _ path: String) throws(VpopmailError) -> DirControl {
        if let t = tables { return try t.dirControl(key) ?? DirControl() }
        return try DirControl.load(path)
    }

    public func saveDirControl(_ dc: DirControl, _ key: String, _ path: String, owner: (uid: UInt32, gid: UInt32)) throws(VpopmailError) {
        if let t = tables { try t.setDirControl(key, dc) } else { try dc.save(path, owner: owner, sync: sync) }
    }

    // MARK: - Limits

    public func limitsPath(_ d: DomainInfo) -> String { d.dir + "/.qmailadmin-limits" }
    public var defaultLimitsPath: String { etcDir + "/vlimits.default" }

    /// The domain's limits: `.qmailadmin-limits`, else `vlimits.default`, else the built-in
    /// defaults (upstream fails when both files are missing).
    public func limits(_ d: DomainInfo) throws(VpopmailError) -> DomainLimits {
        if let t = tables, t.keepsLimits, let l = try t.limits(domain: d.realDomain) { return l }
        for p in tables?.keepsLimits == true ? [defaultLimitsPath] : [limitsPath(d), defaultLimitsPath] {
            if let t = try sys(.cannotReadLimits, { () throws(SystemError) in try FS.readText(p) }) {
                return DomainLimits.parse(t)
            }
        }
        return DomainLimits()
    }

    public func defaultLimits() throws(VpopmailError) -> DomainLimits? {
        guard let t = try sys(.cannotReadLimits, { () throws(SystemError) in try FS.readText(defaultLimitsPath) }) else { return nil }
        return DomainLimits.parse(t)
    }

    public func setLimits(_ l: DomainLimits, for d: DomainInfo?) throws(VpopmailError) {
        if let d, let t = tables, t.keepsLimits { return try t.setLimits(l, domain: d.realDomain) }
        let path = d.map(limitsPath) ?? defaultLimitsPath
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(path, l.fileText, mode: 0o600, owner: d.map { ($0.uid, $0.gid) }, sync: sync)
        }
    }

    public func deleteLimits(_ d: DomainInfo) throws(VpopmailError) {
        if let t = tables, t.keepsLimits { return try t.deleteLimits(domain: d.realDomain) }
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.unlink(limitsPath(d)) }
    }

    /// `pw_flags`: the user's flags ORed with the domain's, unless the user overrides them.
    public func effectiveFlags(_ a: Account, limits: DomainLimits) -> AccountFlags {
        a.flags.contains(.overrideDomainLimits) ? a.flags : a.flags.union(limits.flagMask)
    }

    // MARK: - Users

    /// How the password of a new account is given.
    public enum NewPassword: Sendable {
        case clear(String)
        case hash(String)
    }

    /// One account to add.
    public struct NewAccount: Sendable {
        public var name: String
        public var password: NewPassword
        public var gecos: String?
        public var quota: String?
        public var apop: Bool

        public init(name: String, password: NewPassword, gecos: String? = nil, quota: String? = nil, apop: Bool = false) {
            self.name = name
            self.password = password
            self.gecos = gecos
            self.quota = quota
            self.apop = apop
        }
    }

    func passwordPolicy() -> PasswordPolicy? {
        guard let t = try? FS.readText(etcDir + "/password_strength.conf") else { return nil }
        return PasswordPolicy.parse(t)
    }

    /// Validates a new account and returns its normalised name, quota, hash and clear password.
    private func prepare(_ n: NewAccount, limits: DomainLimits, policy: PasswordPolicy?)
        throws(VpopmailError) -> (name: String, quota: String, hash: String, clear: String?, gecos: String) {
        if let g = n.gecos, g.contains(":") || g.contains("\n") { throw VpopmailError(.badChar, "bad character in gecos") }
        let user = n.name.lowercased()
        try Validate.checkUser(user)
        if let g = n.gecos, g.utf8.count > LengthLimits.maxGecos { throw VpopmailError(.gecosTooLong) }
        var hash: String
        var clear: String? = nil
        switch n.password {
        case .clear(let p):
            if p.utf8.count > LengthLimits.maxClearPassword { throw VpopmailError(.passwdTooLong) }
            if p.contains("\n") || (config.clearPasswd && p.contains(":")) { throw VpopmailError(.badChar, "bad character in password") }
            if config.minPwdLength > 0 && p.utf8.count < config.minPwdLength { throw VpopmailError(.pwstrLength) }
            try policy?.check(p)
            hash = try Password.hash(p, scheme: config.passwordScheme)
            if config.clearPasswd { clear = p }
        case .hash(let h):
            hash = h
            if hash.hasPrefix("{"), let close = hash.firstIndex(of: "}") { hash = String(hash[hash.index(after: close)...]) }
            if hash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
            if hash.contains(":") || hash.contains("\n") { throw VpopmailError(.badChar, "bad character in password hash") }
            if config.clearPasswd { clear = "" }
        }
        let quota: String
        if let q = n.quota {
            quota = try Quota.parse(q.uppercased() == "NOQUOTA" ? "NOQUOTA" : q).description
        } else if let q = limits.defaultUserQuota {
            quota = q
        } else {
            quota = config.hardQuota == "NOQUOTA" ? "NOQUOTA" : (try Quota.parse(config.hardQuota)).description
        }
        return (user, quota, hash, clear, n.gecos ?? user)
    }

    /// Upstream's `vadduser()`: validates, allocates the hash bucket (back-fill list first),
    /// creates the home and Maildir, writes the account, then `maildirsize` and `lastauth`.
    @discardableResult
    public func addUser(_ n: NewAccount, domain: String) throws(VpopmailError) -> Account {
        try addUsers([n], domain: domain)[0]
    }

    /// Adds many accounts to one domain with one lock, one `vpasswd` rewrite and one cdb build.
    /// Nothing is added when one of them is invalid or exists.
    @discardableResult
    public func addUsers(_ list: [NewAccount], domain: String) throws(VpopmailError) -> [Account] {
        let d = try requireDomain(domain)
        let limits = try limits(d)
        let policy = passwordPolicy()
        var prepared: [(name: String, quota: String, hash: String, clear: String?, gecos: String)] = []
        prepared.reserveCapacity(list.count)
        var seen = Set<String>()
        for n in list {
            let p = try prepare(n, limits: limits, policy: policy)
            if !seen.insert(p.name).inserted { throw VpopmailError(.usernameExists, "Username exists: \(p.name) (twice in the input)") }
            prepared.append(p)
        }
        let lock = try store.lock(domain: d)
        defer { lock.unlock() }
        if list.count == 1 {
            if try store.account(prepared[0].name, in: d) != nil { throw VpopmailError(.usernameExists, "Username exists: \(prepared[0].name)") }
        }
        if limits.maxPopAccounts >= 0 {
            let have = try store.accounts(in: d).count
            if have + list.count > limits.maxPopAccounts {
                throw VpopmailError(.limitReached, "domain limit reached: at most \(limits.maxPopAccounts) mailboxes in \(d.realDomain)")
            }
        }
        for p in prepared { onchange("add_user", "\(p.name)@\(d.realDomain)", "-", .before) }
        let owner = d.owner
        let dcPath = d.dir + "/.dir-control"
        let freePath = d.dir + "/.dir_control_free"
        var dc = try loadDirControl(d.realDomain, dcPath)
        var free = try DirControlFreeList(path: d.dir + "/.dir_control_free")
        var accounts: [Account] = []
        accounts.reserveCapacity(list.count)
        var created: [String] = []
        do throws(VpopmailError) {
            // 1. Buckets and homes, in allocation order.
            var homes: [String] = []
            homes.reserveCapacity(prepared.count)
            var parents: [String] = []
            for (i, p) in prepared.enumerated() {
                var bucket = ""
                if config.usersBigDir {
                    if let b = free.take() {
                        bucket = b
                        if dc.curUsers != 0 { dc.curUsers += 1 }
                    } else {
                        bucket = dc.next()
                    }
                }
                if d.dir.utf8.count + bucket.utf8.count + p.name.utf8.count + 2 > LengthLimits.maxDir {
                    throw VpopmailError(.dirTooLong)
                }
                let parent = bucket.isEmpty ? d.dir : d.dir + "/" + bucket
                if parents.last != parent { parents.append(parent) }
                let home = parent + "/" + DirControl.homeName(for: p.name)
                homes.append(home)
                accounts.append(Account(name: p.name, passwordHash: p.hash, apopMarker: list[i].apop ? 2 : 1, flags: [],
                                        gecos: p.gecos, home: home, quota: p.quota, clearPassword: p.clear))
            }
            try sys(.badUDir) { () throws(SystemError) in
                for p in parents { try FS.mkdirs(p, mode: 0o700, owner: owner) }
            }
            // 2. Homes, Maildirs, maildirsize and lastauth, created as the domain owner (no chown
            // each), on two threads for bulk imports.
            final class Results: @unchecked Sendable {
                var errors: [VpopmailError?]
                init(_ n: Int) { errors = [VpopmailError?](repeating: nil, count: n) }
            }
            let results = Results(accounts.count)
            let work = accounts
            // A bulk import (like upstream's vconvert) writes no lastauth: a missing file reads
            // the same as vadduser's "0.0.0.0" (never logged in) and saves an inode per account.
            let lastauth = config.authLogging && work.count == 1 && tables == nil
            let switchable = geteuid() == 0 && owner.uid != 0
            @Sendable func createHome(_ a: Account, chownTo: (uid: UInt32, gid: UInt32)?) -> VpopmailError? {
                do throws(SystemError) {
                    try FS.mkdir(a.home, mode: 0o700, owner: chownTo)
                } catch {
                    if error.errno == EACCES { return VpopmailError.system(error, .badUDir) }
                    return error.errno == EEXIST
                        ? VpopmailError(.existUDir, "User's directory already exists: \(a.home)")
                        : VpopmailError.system(error, .badUDir)
                }
                do throws(SystemError) {
                    try Maildir.create(home: a.home, owner: chownTo)
                    if a.quota != "NOQUOTA" && !a.quota.isEmpty {
                        try FS.create(Maildir.sizePath(a.maildir), Array("\(a.quota)\n0 0\n".utf8), owner: chownTo)
                    }
                    if lastauth { try FS.create(a.home + "/lastauth", Array("0.0.0.0".utf8), owner: chownTo) }
                } catch {
                    return VpopmailError.system(error, .subdirCreation)
                }
                return nil
            }
            parallelChunks(work.count, threads: work.count >= 64 ? 2 : 1) { chunk in
                // As the owner (set once per thread), without a chown each; where the owner
                // cannot reach the directory (a private parent), as root with chown.
                if switchable {
                    _ = setfsgid(owner.gid)
                    _ = setfsuid(owner.uid)
                }
                for i in chunk {
                    let a = work[i]
                    if !switchable {
                        results.errors[i] = createHome(a, chownTo: owner)
                        continue
                    }
                    let e = createHome(a, chownTo: nil)
                    if let e, (e.cause as? SystemError)?.errno == EACCES {
                        _ = setfsuid(0)
                        _ = setfsgid(getegid())
                        try? FS.removeTree(a.home)
                        results.errors[i] = createHome(a, chownTo: owner)
                        _ = setfsgid(owner.gid)
                        _ = setfsuid(owner.uid)
                    } else {
                        results.errors[i] = e
                    }
                }
                if switchable {
                    _ = setfsuid(0)
                    _ = setfsgid(getegid())
                }
            }
            for (i, e) in results.errors.enumerated() {
                if e == nil || e!.code != .existUDir { created.append(homes[i]) }
            }
            if let e = results.errors.first(where: { $0 != nil }) { throw e! }
            try store.insert(accounts, in: d)
        } catch {
            for h in created { try? FS.removeTree(h) }
            throw error
        }
        if config.usersBigDir {
            try saveDirControl(dc, d.realDomain, dcPath, owner: owner)
            try free.save(owner: owner, sync: sync)
        }
        if let t = tables, config.authLogging && accounts.count == 1 {
            // As the cdb store's lastauth file: "never logged in", dated at creation.
            try? t.setLastAuth(user: accounts[0].name, domain: d.realDomain, ip: "0.0.0.0", time: Int(time(nil)))
        }
        for a in accounts { onchange("add_user", "\(a.name)@\(d.realDomain)", "-", .after) }
        return accounts
    }

    /// One account, or nil.
    public func user(_ name: String, domain: String) throws(VpopmailError) -> (account: Account, domain: DomainInfo)? {
        let d = try requireDomain(domain)
        let u = name.lowercased()
        if u.utf8.count > LengthLimits.maxUserName { throw VpopmailError(.userNameTooLong) }
        guard Validate.isUsernameValid(u) else { return nil }
        guard let a = try store.account(u, in: d) else { return nil }
        return (a, d)
    }

    public func users(domain: String) throws(VpopmailError) -> (accounts: [Account], domain: DomainInfo) {
        let d = try requireDomain(domain)
        return (try store.accounts(in: d), d)
    }

    /// The user named by the domain's `.qmail-default` delivery argument (catch-all), if any.
    public func catchAllUser(_ d: DomainInfo) -> String? {
        guard let text = try? FS.readText(d.dir + "/.qmail-default") else { return nil }
        guard let last = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).last else { return nil }
        let arg = String(last)
        if let at = arg.firstIndex(of: "@") {
            let dom = arg[arg.index(after: at)...].lowercased()
            return dom == d.realDomain ? String(arg[..<at]).lowercased() : nil
        }
        let prefix = d.dir + "/"
        if arg.hasPrefix(prefix) {
            var rest = arg.dropFirst(prefix.count)
            while rest.hasSuffix("/") { rest = rest.dropLast() }
            if rest.hasSuffix("/Maildir") { rest = rest.dropLast(8) }
            return String(DirControl.user(ofHomeName: rest.split(separator: "/").last ?? ""))
        }
        return nil
    }

    /// Upstream's `vdeluser()`.
    public func deleteUser(_ name: String, domain: String) throws(VpopmailError) {
        let u = name.lowercased()
        if u.isEmpty { throw VpopmailError(.illegalUsername) }
        let d = try requireDomain(domain)
        let lock = try store.lock(domain: d)
        defer { lock.unlock() }
        guard let a = try store.account(u, in: d) else { throw VpopmailError(.userDoesNotExist) }
        if catchAllUser(d) == u { throw VpopmailError(.cannotDeleteCatchall) }
        onchange("del_user", "\(u)@\(d.realDomain)", "-", .before)
        defer { onchange("del_user", "\(u)@\(d.realDomain)", "-", .after) }
        guard try store.remove(u, in: d) else { throw VpopmailError(.userDoesNotExist) }
        if config.usersBigDir {
            // Record the bucket for back-fill: the path between the domain dir and the user dir.
            let prefix = d.dir + "/"
            if a.home.hasPrefix(prefix) {
                let rel = a.home.dropFirst(prefix.count)
                if let slash = rel.lastIndex(of: "/"), rel[rel.index(after: slash)...] == DirControl.homeName(for: u) {
                    try DirControlFreeList.add(d.dir + "/.dir_control_free", bucket: String(rel[..<slash]), sync: sync)
                }
            }
            let dcPath = d.dir + "/.dir-control"
            var dc = try loadDirControl(d.realDomain, dcPath)
            dc.release()
            try saveDirControl(dc, d.realDomain, dcPath, owner: d.owner)
        }
        // Only ever remove a home inside the domain directory.
        if a.home.hasPrefix(d.dir + "/") && !a.home.contains("/../") {
            try sys(.badDir) { () throws(SystemError) in try FS.removeTree(a.home) }
        }
    }

    /// Changes one account under the domain lock. `rebuildIndex` false is `vmoduser -n`.
    @discardableResult
    public func modifyUser(_ name: String, domain: String, rebuildIndex: Bool = true,
                           _ change: (inout Account) throws(VpopmailError) -> Void) throws(VpopmailError) -> Account {
        let d = try requireDomain(domain)
        let u = name.lowercased()
        let lock = try store.lock(domain: d)
        defer { lock.unlock() }
        guard var a = try store.account(u, in: d) else { throw VpopmailError(.userDoesNotExist) }
        try change(&a)
        a.name = u
        if a.gecos.utf8.count > LengthLimits.maxGecos { throw VpopmailError(.gecosTooLong) }
        if a.home.utf8.count > LengthLimits.maxDir { throw VpopmailError(.dirTooLong) }
        if a.passwordHash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
        if a.quota.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
        for f in [a.passwordHash, a.home, a.quota] where f.contains(":") || f.contains("\n") {
            throw VpopmailError(.badChar)
        }
        onchange("mod_user", "\(u)@\(d.realDomain)", "-", .before)
        try store.update(a, in: d, rebuildIndex: rebuildIndex)
        onchange("mod_user", "\(u)@\(d.realDomain)", "-", .after)
        return a
    }

    /// Upstream's `vpasswd()`: refuses accounts flagged NO_PASSWD_CHNG unless `force`.
    public func setPassword(_ name: String, domain: String, password: String, force: Bool = false) throws(VpopmailError) {
        if password.utf8.count > LengthLimits.maxClearPassword { throw VpopmailError(.passwdTooLong) }
        if password.contains("\n") { throw VpopmailError(.badChar, "bad character in password") }
        try passwordPolicy()?.check(password)
        let d = try requireDomain(domain)
        let limits = try limits(d)
        let hash = try Password.hash(password, scheme: config.passwordScheme)
        try modifyUser(name, domain: d.realDomain) { (a) throws(VpopmailError) in
            if !force && effectiveFlags(a, limits: limits).contains(.noPasswordChange) {
                throw VpopmailError(.illegalUsername, "password changes are disabled for this account")
            }
            a.passwordHash = hash
            if config.clearPasswd { a.clearPassword = password }
        }
    }

    /// Upstream's `vsetuserquota()`: stores the normalised quota and rebuilds `maildirsize`.
    @discardableResult
    public func setQuota(_ name: String, domain: String, quota: String) throws(VpopmailError) -> Account {
        if quota.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
        let q = try Quota.parse(quota).description
        let a = try modifyUser(name, domain: domain) { (a) throws(VpopmailError) in a.quota = q }
        try rebuildMaildirsize(a, domain: try requireDomain(domain))
        return a
    }

    /// Deletes `maildirsize`, and when the account has a quota recalculates it at once.
    public func rebuildMaildirsize(_ a: Account, domain d: DomainInfo) throws(VpopmailError) {
        let md = a.maildir
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.unlink(Maildir.sizePath(md)) }
        if a.quota != "NOQUOTA" && !a.quota.isEmpty && FS.isDirectory(md) {
            let u = Maildir.scan(md)
            try sys(.couldNotUpdateFile) { () throws(SystemError) in
                try Maildir.writeSize(maildir: md, quota: a.quota, bytes: u.bytes, count: u.count, owner: d.owner, sync: sync)
            }
        }
    }

    // MARK: - Last auth

    /// Time and IP of the last login (`<home>/lastauth`: content = IP, mtime = time).
    public func lastAuth(_ a: Account, domain: String) -> (time: Int, ip: String?) {
        if let t = tables {
            guard let r = try? t.lastAuth(user: a.name, domain: domain) else { return (0, nil) }
            return (r.time, r.ip)
        }
        var st = Glibc.stat()
        let p = a.home + "/lastauth"
        guard posixStat(p, &st) == 0 else { return (0, nil) }
        let ip = (try? FS.readText(p)).map { $0.trimmingSpaces() }
        return (Int(st.st_mtim.tv_sec), ip)
    }

    // MARK: - Aliases (.qmail-<alias> files)

    public func aliasPath(_ alias: String, _ d: DomainInfo) -> String {
        d.dir + "/.qmail-" + String(alias.map { $0 == "." ? ":" : $0 })
    }

    func checkAliasName(_ alias: String) throws(VpopmailError) {
        guard Validate.isUsernameValid(alias), alias != "default", alias.utf8.count <= LengthLimits.maxUserName else {
            throw VpopmailError(.illegalUsername, "Illegal alias name: \(Validate.printable(alias))")
        }
    }

    /// Alias names of a domain, sorted case-insensitively (reference §2.3.6).
    public func aliasNames(_ d: DomainInfo) throws(VpopmailError) -> [String] {
        if let t = tables, t.keepsAliases { return try t.aliasNames(domain: d.realDomain) }
        var out: [String] = []
        for n in try sys({ () throws(SystemError) in try FS.list(d.dir) }) where n.hasPrefix(".qmail-") && n != ".qmail-default" {
            if n.hasSuffix(".lock") || n.contains(".tmp.") { continue }
            if FS.isSymlink(d.dir + "/" + n) && (n.contains("-default") || n.contains("-owner")) { continue }
            out.append(String(n.dropFirst(7).map { $0 == ":" ? "." : $0 }))
        }
        return out.sorted { $0.lowercased() < $1.lowercased() }
    }

    /// The lines of one alias (nil when there is no such alias).
    public func aliasLines(_ alias: String, _ d: DomainInfo) throws(VpopmailError) -> [String]? {
        if let t = tables, t.keepsAliases {
            let l = try t.aliasLines(alias.lowercased(), domain: d.realDomain)
            return l.isEmpty ? nil : l
        }
        let p = aliasPath(alias.lowercased(), d)
        guard let t = try sys({ () throws(SystemError) in try FS.readText(p) }) else { return nil }
        return Bytes.textLines(t)
    }

    /// `valias -i`: appends a line; refuses an exact duplicate and enforces maxaliases.
    public func addAliasLine(_ alias: String, _ line: String, domain: String) throws(VpopmailError) {
        let a = alias.lowercased()
        try checkAliasName(a)
        if line.utf8.count > LengthLimits.maxAliasLine { throw VpopmailError(.aliasLineTooLong) }
        if line.isEmpty || line.contains("\n") || line.contains("\0") { throw VpopmailError(.badChar, "bad character in alias line") }
        let d = try requireDomain(domain)
        let lock = try store.lock(domain: d)
        defer { lock.unlock() }
        var lines = try aliasLines(a, d) ?? []
        if lines.contains(line) { throw VpopmailError(.aliasExists, "alias \(a)@\(d.realDomain) -> \(line) already exists.") }
        if lines.isEmpty {
            let l = try limits(d)
            if l.maxAliases >= 0, try aliasNames(d).count >= l.maxAliases {
                throw VpopmailError(.limitReached, "domain limit reached: at most \(l.maxAliases) aliases in \(d.realDomain)")
            }
        }
        lines.append(line)
        onchange("valias_insert", "\(a)@\(d.realDomain)", line, .before)
        if let t = tables, t.keepsAliases {
            try t.addAliasLine(a, domain: d.realDomain, line: line)
            onchange("valias_insert", "\(a)@\(d.realDomain)", line, .after)
            return
        }
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(aliasPath(a, d), lines.joined(separator: "\n") + "\n", mode: 0o600, owner: d.owner, sync: sync)
        }
        onchange("valias_insert", "\(a)@\(d.realDomain)", line, .after)
    }

    /// Removes the lines of an alias that start with `prefix`.
    public func removeAliasLines(_ alias: String, prefix: String, domain: String) throws(VpopmailError) {
        let a = alias.lowercased()
        let d = try requireDomain(domain)
        let lock = try store.lock(domain: d)
        defer { lock.unlock() }
        guard let lines = try aliasLines(a, d) else { throw VpopmailError(.userDoesNotExist, "No such alias") }
        let keep = lines.filter { !$0.hasPrefix(prefix) }
        onchange("valias_remove", "\(a)@\(d.realDomain)", prefix, .before)
        defer { onchange("valias_remove", "\(a)@\(d.realDomain)", prefix, .after) }
        if let t = tables, t.keepsAliases {
            for l in lines where l.hasPrefix(prefix) { try t.removeAliasLine(a, domain: d.realDomain, line: l) }
            return
        }
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            if keep.isEmpty { try FS.unlink(aliasPath(a, d)) }
            else { try FS.writeAtomic(aliasPath(a, d), keep.joined(separator: "\n") + "\n", mode: 0o600, owner: d.owner, sync: sync) }
        }
    }

    /// `valias -d`: deletes the alias file.
    public func deleteAlias(_ alias: String, domain: String) throws(VpopmailError) {
        let a = alias.lowercased()
        try checkAliasName(a)
        let d = try requireDomain(domain)
        if let t = tables, t.keepsAliases {
            guard try !(t.aliasLines(a, domain: d.realDomain).isEmpty) else {
                throw VpopmailError(.userDoesNotExist, "No aliases \(a)@\(d.realDomain) found")
            }
            onchange("valias_delete", "\(a)@\(d.realDomain)", "-", .before)
            try t.deleteAlias(a, domain: d.realDomain)
            onchange("valias_delete", "\(a)@\(d.realDomain)", "-", .after)
            return
        }
        guard FS.exists(aliasPath(a, d)) else { throw VpopmailError(.userDoesNotExist, "No aliases \(a)@\(d.realDomain) found") }
        onchange("valias_delete", "\(a)@\(d.realDomain)", "-", .before)
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.unlink(aliasPath(a, d)) }
        onchange("valias_delete", "\(a)@\(d.realDomain)", "-", .after)
    }

    // MARK: - IP map (etc/ip_alias_map)

    public var ipMapPath: String { etcDir + "/ip_alias_map" }

    public func ipMap() throws(VpopmailError) -> [(ip: String, domain: String)] {
        if let t = tables { return try t.ipMap() }
        guard let t = try sys({ () throws(SystemError) in try FS.readText(ipMapPath) }) else { return [] }
        return Bytes.textLines(t).compactMap { l in
            let p = l.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return p.count >= 2 ? (String(p[0]), String(p[1])) : nil
        }
    }

    public func ipMapDomain(_ ip: String) throws(VpopmailError) -> String? {
        try ipMap().first { $0.ip == ip }?.domain
    }

    public func addIPMap(ip: String, domain: String) throws(VpopmailError) {
        try checkIP(ip)
        let dom = domain.lowercased()
        guard Validate.isDomainValid(dom) else { throw VpopmailError(.invalidDomainName) }
        if let t = tables { return try t.addIPMap(ip: ip, domain: dom) }
        try editIPMap { $0.removeAll { $0.ip == ip && $0.domain == dom }; $0.append((ip, dom)) }
    }

    public func deleteIPMap(ip: String, domain: String) throws(VpopmailError) {
        let dom = domain.lowercased()
        if let t = tables { return try t.deleteIPMap(ip: ip, domain: dom) }
        try editIPMap { $0.removeAll { $0.ip == ip && $0.domain == dom } }
    }

    func checkIP(_ ip: String) throws(VpopmailError) {
        guard !ip.isEmpty, ip.utf8.count <= 39,
              ip.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else {
            throw VpopmailError(.illegalUsername, "invalid IP address: \(Validate.printable(ip))")
        }
    }

    private func editIPMap(_ change: (inout [(ip: String, domain: String)]) -> Void) throws(VpopmailError) {
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(ipMapPath + ".lock") }
        defer { lock.unlock() }
        var m = try ipMap()
        change(&m)
        let text = m.map { "\($0.ip) \($0.domain)\n" }.joined()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.writeAtomic(ipMapPath, text, mode: 0o600, sync: sync) }
    }
}

extension Vpopmail {
    /// The domain for a login without one (reference §2.9, plus the seed's reverse DNS):
    /// `$VPOPMAIL_DOMAIN`; with `ip-alias-domains`, the `vipmap` entry of the server address
    /// `localIP` (unless that domain is in `control/locals`), else the reverse DNS name of that
    /// address (or its parent) when it is a vpopmail domain; then `default-domain`, then
    /// `etc/defaultdomain`. Empty when none applies.
    public func defaultDomain(localIP: String?) -> String {
        if let e = Proc.env("VPOPMAIL_DOMAIN"), !e.isEmpty { return Relay.sanitize(e).lowercased() }
        if config.ipAliasDomains, var ip = localIP, !ip.isEmpty {
            if ip.lowercased().hasPrefix("::ffff:") && ip.contains(".") { ip = String(ip.dropFirst(7)) }
            ip = Relay.sanitize(ip)
            if let d = try? ipMapDomain(ip) {
                let locals = (try? qmail.readLines(qmail.control("locals"))) ?? []
                if d == "localhost" || !locals.contains(d) { return d }
            } else if let name = Vpopmail.reverseDNS(ip) {
                var candidate = name.lowercased()
                while candidate.contains(".") {
                    if (try? domain(candidate)) ?? nil != nil { return candidate }
                    candidate = String(candidate.drop(while: { $0 != "." }).dropFirst())
                }
            }
        }
        if let d = config.defaultDomain { return d }
        if let t = try? FS.readText(etcDir + "/defaultdomain"), let first = Bytes.textLines(t).first {
            return first.trimmingSpaces().lowercased()
        }
        return ""
    }

    /// The name of an IPv4 or IPv6 address (getnameinfo, name required), or nil.
    static func reverseDNS(_ ip: String) -> String? {
        var host = [CChar](repeating: 0, count: 1025)
        var r: Int32 = -1
        var a4 = sockaddr_in()
        var a6 = sockaddr_in6()
        if inet_pton(AF_INET, ip, &a4.sin_addr) == 1 {
            a4.sin_family = sa_family_t(AF_INET)
            r = withUnsafePointer(to: &a4) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
                }
            }
        } else if inet_pton(AF_INET6, ip, &a6.sin6_addr) == 1 {
            a6.sin6_family = sa_family_t(AF_INET6)
            r = withUnsafePointer(to: &a6) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, socklen_t(MemoryLayout<sockaddr_in6>.size), &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
                }
            }
        }
        guard r == 0 else { return nil }
        return String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `<home>/lastauth`: the client address, the time in its mtime. Rewritten in place
    /// (one open, write, close per login; the file is a hint, not a record worth a rename).
    /// Every last login of a domain at once when the store keeps them in a table (one query
    /// instead of one per account); nil when they are files.
    public func lastAuths(_ d: DomainInfo) throws(VpopmailError) -> [String: (time: Int, ip: String)]? {
        try tables?.lastAuths(domain: d.realDomain)
    }

    public func setLastAuth(_ a: Account, domain d: DomainInfo, ip: String, at when: Int? = nil) {
        if let t = tables {
            try? t.setLastAuth(user: a.name, domain: d.realDomain, ip: ip, time: when ?? Int(time(nil)))
            return
        }
        defer {
            if let when {
                var ts = [timespec(tv_sec: when, tv_nsec: 0), timespec(tv_sec: when, tv_nsec: 0)]
                _ = utimensat(AT_FDCWD, a.home + "/lastauth", &ts, 0)
            }
        }
        let path = a.home + "/lastauth"
        var fd = Glibc.open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { _ = fchown(fd, d.uid, d.gid) }
        }
        guard fd >= 0 else { return }
        // Overwrite without truncating first (truncation costs a journal transaction); cut
        // the tail only when the new address is shorter.
        let bytes = Array(ip.utf8)
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        var st = Glibc.stat()
        if n == bytes.count && fstat(fd, &st) == 0 && Int(st.st_size) != bytes.count { _ = ftruncate(fd, off_t(bytes.count)) }
        if bytes.isEmpty { _ = futimens(fd, nil) }
        close(fd)
    }

    /// Re-creates a missing home and Maildir (upstream's `vmake_maildir`).
    public func makeHome(_ a: Account, domain d: DomainInfo) throws(VpopmailError) {
        try sys(.badUDir) { () throws(SystemError) in
            try FS.mkdirs(a.home, mode: 0o700, owner: d.owner)
            try Maildir.create(home: a.home, owner: d.owner)
        }
    }
}
