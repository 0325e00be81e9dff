#if canImport(Glibc)
import Glibc
#endif
import CShims

extension Installation {
    /// How the password of a new account is given.
    public enum NewPassword: Sendable {
        case clear(ClearPassword)
        case hash(String)
    }

    /// One account to add.
    public struct NewAccount: Sendable {
        public var name: UserName
        public var password: NewPassword
        public var gecos: String?
        public var quota: Quota?
        public var apop: Bool

        public init(name: UserName, password: NewPassword, gecos: String? = nil, quota: Quota? = nil, apop: Bool = false) {
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

    /// The rules a clear password of this installation follows: `min-pwd-length`,
    /// `etc/password_strength.conf`, and no `:` where clear passwords are kept in `vpasswd`.
    public var passwordRules: ClearPassword.Rules {
        ClearPassword.Rules(minLength: config.minPwdLength, forbidsColon: config.clearPasswd && stores.accounts.colonSeparated,
                            policy: passwordPolicy())
    }

    /// `text` as a clear password of this installation (every rule checked).
    public func clearPassword(_ text: String) throws(VpopmailError) -> ClearPassword {
        try ClearPassword(text, rules: passwordRules)
    }

    /// Validates a new account and returns its normalised name, quota, hash and clear password.
    private func prepare(_ n: NewAccount, limits: DomainLimits)
        throws(VpopmailError) -> (name: String, quota: Quota, hash: String, clear: String?, gecos: String) {
        if let g = n.gecos, g.contains(":") || g.contains("\n") { throw VpopmailError(.badChar, "bad character in gecos") }
        let user = n.name.text
        if let g = n.gecos, g.utf8.count > LengthLimits.maxGecos { throw VpopmailError(.gecosTooLong) }
        var hash: String
        var clear: String? = nil
        switch n.password {
        case .clear(let p):
            hash = try Password.hash(p.text, scheme: config.passwordScheme)
            if config.clearPasswd { clear = p.text }
        case .hash(let h):
            hash = h
            if hash.hasPrefix("{"), let close = hash.firstIndex(of: "}") { hash = String(hash[hash.index(after: close)...]) }
            if hash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
            if hash.contains(":") || hash.contains("\n") { throw VpopmailError(.badChar, "bad character in password hash") }
            if config.clearPasswd { clear = "" }
        }
        return (user, n.quota ?? limits.defaultUserQuota ?? config.hardQuota, hash, clear, n.gecos ?? user)
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
        var prepared: [(name: String, quota: Quota, hash: String, clear: String?, gecos: String)] = []
        prepared.reserveCapacity(list.count)
        var seen = Set<String>()
        for n in list {
            let p = try prepare(n, limits: limits)
            if !seen.insert(p.name).inserted { throw VpopmailError(.usernameExists, "Username exists: \(p.name) (twice in the input)") }
            prepared.append(p)
        }
        let lock = try stores.accounts.lock(domain: d)
        defer { lock.unlock() }
        if list.count == 1 {
            if try stores.accounts.account(list[0].name, in: d) != nil { throw VpopmailError(.usernameExists, "Username exists: \(prepared[0].name)") }
        }
        if limits.maxPopAccounts >= 0 {
            let have = try stores.accounts.accounts(in: d).count
            if have + list.count > limits.maxPopAccounts {
                throw VpopmailError(.limitReached, "domain limit reached: at most \(limits.maxPopAccounts) mailboxes in \(d.realDomain)")
            }
        }
        for p in prepared { onchange("add_user", "\(p.name)@\(d.realDomain)", "-", .before) }
        let owner = d.owner
        var dc = try stores.dirControl.load(.users(d))
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
                    if a.quota.keepsMaildirsize {
                        try FS.create(Maildir.sizePath(a.maildir), Array("\(a.quota.spelling)\n0 0\n".utf8), owner: chownTo)
                    }
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
            try stores.accounts.insert(accounts, in: d)
        } catch {
            for h in created { try? FS.removeTree(h) }
            throw error
        }
        if config.usersBigDir {
            try stores.dirControl.save(dc, .users(d), owner: owner)
            try free.save(owner: owner, sync: sync)
        }
        // "Never logged in", dated at creation. A bulk import (like upstream's vconvert) records
        // none: no record reads the same, and saves an inode per account in the cdb layout.
        if config.authLogging && accounts.count == 1 {
            try? stores.lastAuth.setLastAuth(of: accounts[0], in: d, ip: "0.0.0.0", time: nil)
        }
        for a in accounts { onchange("add_user", "\(a.name)@\(d.realDomain)", "-", .after) }
        return accounts
    }

    /// One account, or nil.
    /// The account a command names, or nil: `.domainNameTooLong`, `.domainDoesNotExist`,
    /// `.userNameTooLong`.
    public func user(_ name: String, domain: String) throws(VpopmailError) -> (account: Account, domain: DomainInfo)? {
        let d = try requireDomain(domain)
        guard let u = try UserName.lookup(name), let a = try stores.accounts.account(u, in: d) else { return nil }
        return (a, d)
    }

    public func users(domain: String) throws(VpopmailError) -> (accounts: [Account], domain: DomainInfo) {
        let d = try requireDomain(domain)
        return (try stores.accounts.accounts(in: d), d)
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
        if name.isEmpty { throw VpopmailError(.illegalUsername) }
        let d = try requireDomain(domain)
        let lock = try stores.accounts.lock(domain: d)
        defer { lock.unlock() }
        guard let name = UserName(name), let a = try stores.accounts.account(name, in: d) else { throw VpopmailError(.userDoesNotExist) }
        let u = name.text
        if catchAllUser(d) == u { throw VpopmailError(.cannotDeleteCatchall) }
        onchange("del_user", "\(u)@\(d.realDomain)", "-", .before)
        defer { onchange("del_user", "\(u)@\(d.realDomain)", "-", .after) }
        guard try stores.accounts.remove(name, in: d) else { throw VpopmailError(.userDoesNotExist) }
        try? stores.lastAuth.forget(a, in: d)
        if config.usersBigDir {
            // Record the bucket for back-fill: the path between the domain dir and the user dir.
            let prefix = d.dir + "/"
            if a.home.hasPrefix(prefix) {
                let rel = a.home.dropFirst(prefix.count)
                if let slash = rel.lastIndex(of: "/"), rel[rel.index(after: slash)...] == name.homeName {
                    try DirControlFreeList.add(d.dir + "/.dir_control_free", bucket: String(rel[..<slash]), sync: sync)
                }
            }
            var dc = try stores.dirControl.load(.users(d))
            dc.release()
            try stores.dirControl.save(dc, .users(d), owner: d.owner)
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
        let lock = try stores.accounts.lock(domain: d)
        defer { lock.unlock() }
        guard let name = UserName(name), var a = try stores.accounts.account(name, in: d) else {
            throw VpopmailError(.userDoesNotExist)
        }
        let u = name.text
        try change(&a)
        a.name = u
        if a.gecos.utf8.count > LengthLimits.maxGecos { throw VpopmailError(.gecosTooLong) }
        if a.home.utf8.count > LengthLimits.maxDir { throw VpopmailError(.dirTooLong) }
        if a.passwordHash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
        if a.quota.spelling.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
        for f in [a.passwordHash, a.home, a.quota.spelling] where f.contains(":") || f.contains("\n") {
            throw VpopmailError(.badChar)
        }
        onchange("mod_user", "\(u)@\(d.realDomain)", "-", .before)
        try stores.accounts.update(a, in: d, rebuildIndex: rebuildIndex)
        onchange("mod_user", "\(u)@\(d.realDomain)", "-", .after)
        return a
    }

    /// Upstream's `vpasswd()`: refuses accounts flagged NO_PASSWD_CHNG unless `force`.
    public func setPassword(_ name: String, domain: String, password: ClearPassword, force: Bool = false) throws(VpopmailError) {
        let d = try requireDomain(domain)
        let limits = try limits(d)
        let hash = try Password.hash(password.text, scheme: config.passwordScheme)
        try modifyUser(name, domain: d.realDomain) { (a) throws(VpopmailError) in
            if !force && effectiveFlags(a, limits: limits).contains(.noPasswordChange) {
                throw VpopmailError(.illegalUsername, "password changes are disabled for this account")
            }
            a.passwordHash = hash
            if config.clearPasswd { a.clearPassword = password.text }
        }
    }

    /// Upstream's `vsetuserquota()`: stores the normalised quota and rebuilds `maildirsize`.
    @discardableResult
    public func setQuota(_ name: String, domain: String, quota: Quota) throws(VpopmailError) -> Account {
        let a = try modifyUser(name, domain: domain) { (a) throws(VpopmailError) in a.quota = quota }
        try rebuildMaildirsize(a, domain: try requireDomain(domain))
        return a
    }

    /// Deletes `maildirsize`, and when the account has a quota recalculates it at once.
    public func rebuildMaildirsize(_ a: Account, domain d: DomainInfo) throws(VpopmailError) {
        let md = a.maildir
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.unlink(Maildir.sizePath(md)) }
        if a.quota.keepsMaildirsize && FS.isDirectory(md) {
            let u = Maildir.scan(md)
            try sys(.couldNotUpdateFile) { () throws(SystemError) in
                try Maildir.writeSize(maildir: md, quota: a.quota, bytes: u.bytes, count: u.count, owner: d.owner, sync: sync)
            }
        }
    }

    // MARK: - Last auth

    /// Time and address of the last login (nil when none is recorded or the store fails).
    public func lastAuth(_ a: Account, domain d: DomainInfo) -> LastAuth? {
        (try? stores.lastAuth.lastAuth(of: a, in: d)) ?? nil
    }

    /// Every last login of a domain at once when the store can say them in one query, else nil.
    public func lastAuths(_ d: DomainInfo) throws(VpopmailError) -> [String: LastAuth]? {
        try stores.lastAuth.lastAuths(in: d)
    }

    /// Records a login (failures are ignored: the record is a hint, never worth a login).
    public func setLastAuth(_ a: Account, domain d: DomainInfo, ip: String, at when: Int? = nil) {
        try? stores.lastAuth.setLastAuth(of: a, in: d, ip: ip, time: when)
    }

    /// Re-creates a missing home and Maildir (upstream's `vmake_maildir`).
    public func makeHome(_ a: Account, domain d: DomainInfo) throws(VpopmailError) {
        try sys(.badUDir) { () throws(SystemError) in
            try FS.mkdirs(a.home, mode: 0o700, owner: d.owner)
            try Maildir.create(home: a.home, owner: d.owner)
        }
    }
}
