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
        if let g = n.gecos, g.contains(":") || Validate.breaksLine(g) { throw VpopmailError(.badChar, "bad character in gecos") }
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
            // `{SHA512-CRYPT}$6$...` is stored as the crypt(3) string upstream's readers expect;
            // the schemes that are not crypt(3) (`{SSHA}`, `{PLAIN-MD5}`, ...) keep their prefix.
            hash = Password.storedForm(hash)
            if hash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
            if hash.contains(":") || Validate.breaksLine(hash) { throw VpopmailError(.badChar, "bad character in password hash") }
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
        var hooked = false
        let accounts = try stores.accounts.locked(domain: d) { (tx) throws(VpopmailError) -> [Account] in
        if list.count == 1 {
            if try stores.accounts.account(list[0].name, in: d) != nil { throw VpopmailError(.usernameExists, "Username exists: \(prepared[0].name)") }
        }
        if limits.maxPopAccounts >= 0 {
            let have = try stores.accounts.accounts(in: d).count
            if have + list.count > limits.maxPopAccounts {
                throw VpopmailError(.limitReached, "domain limit reached: at most \(limits.maxPopAccounts) mailboxes in \(d.realDomain)")
            }
        }
        // Once, however often the store runs this body (a retried transaction).
        if !hooked {
            hooked = true
            for p in prepared { onchange("add_user", "\(p.name)@\(d.realDomain)", "-", .before) }
        }
        let owner = d.owner
        // Read inside the lock: on an SQL store, the counter row is locked in this transaction.
        var dc = try stores.dirControl.load(.users(d))
        var free = try DirControlFreeList(path: d.dir + "/.dir_control_free")
        var accounts: [Account] = []
        accounts.reserveCapacity(list.count)
        var created: [String] = []
        // Homes made by a run whose transaction then fails are removed (the retry makes its own).
        tx.onRollback { for h in created { try? FS.removeTree(h) } }
        do throws(VpopmailError) {
            // 1. Buckets and homes, in allocation order.
            var homes: [String] = []
            homes.reserveCapacity(prepared.count)
            var buckets: [String] = []
            var bucketOf: [Int] = []
            bucketOf.reserveCapacity(prepared.count)
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
                if buckets.last != bucket { buckets.append(bucket) }
                bucketOf.append(buckets.count - 1)
                let home = (bucket.isEmpty ? d.dir : d.dir + "/" + bucket) + "/" + DirControl.homeName(for: p.name)
                homes.append(home)
                accounts.append(Account(name: p.name, passwordHash: p.hash, apopMarker: list[i].apop ? 2 : 1, flags: [],
                                        gecos: p.gecos, home: home, quota: p.quota, clearPassword: p.clear))
            }
            // 2. By descriptors from the domain directory (no symlink below it is followed):
            // the buckets, then homes, Maildirs and maildirsize created as the domain owner (when
            // the domain directory is the owner's, as it always is when made here), on two
            // threads for bulk imports.
            var bucketFDs: [Int32] = []
            defer { for f in bucketFDs { close(f) } }
            var dirStat = stat()
            do throws(SystemError) {
                let domainDir = try Directory.open(d.dir)
                _ = fstat(domainDir.fd, &dirStat)
                for b in buckets {
                    var dir = try domainDir.sub(".")
                    for c in b.split(separator: "/") { dir = try dir.makeSub(String(c), mode: 0o700, owner: owner, existing: true) }
                    bucketFDs.append(dup(dir.fd))
                }
            } catch {
                throw VpopmailError.system(error, .badUDir)
            }
            let asOwner = geteuid() == 0 && owner.uid != 0 && dirStat.st_uid == owner.uid
            let chownTo: (uid: UInt32, gid: UInt32)? = asOwner || (dirStat.st_uid == owner.uid && dirStat.st_gid == owner.gid) ? nil : owner
            final class Results: @unchecked Sendable {
                var errors: [VpopmailError?]
                init(_ n: Int) { errors = [VpopmailError?](repeating: nil, count: n) }
            }
            let results = Results(accounts.count)
            let work = accounts
            let parents = bucketFDs
            let slots = bucketOf
            @Sendable func createHome(_ a: Account, in parent: Int32) -> VpopmailError? {
                let name = Path.basename(a.home)
                func made(_ at: Int32, _ n: String, _ path: String, existing: Bool = true) throws(SystemError) -> Int32 {
                    if mkdirat(at, n, 0o700) != 0 && !(existing && errno == EEXIST) { throw SystemError("mkdir", path, errno) }
                    let f = openat(at, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if f < 0 { throw SystemError("open", path, errno) }
                    if let o = chownTo, fchown(f, o.uid, o.gid) != 0 { let e = errno; close(f); throw SystemError("chown", path, e) }
                    return f
                }
                let h: Int32
                do throws(SystemError) {
                    h = try made(parent, name, a.home, existing: false)
                } catch {
                    return error.errno == EEXIST
                        ? VpopmailError(.existUDir, "User's directory already exists: \(a.home)")
                        : VpopmailError.system(error, .badUDir)
                }
                defer { close(h) }
                do throws(SystemError) {
                    let md = try made(h, "Maildir", a.maildir)
                    defer { close(md) }
                    for sub in ["new", "cur", "tmp"] { close(try made(md, sub, a.maildir + "/" + sub)) }
                    if a.quota.keepsMaildirsize {
                        let f = openat(md, "maildirsize", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                        if f < 0 { throw SystemError("open", Maildir.sizePath(a.maildir), errno) }
                        defer { close(f) }
                        if let o = chownTo, fchown(f, o.uid, o.gid) != 0 { throw SystemError("chown", Maildir.sizePath(a.maildir), errno) }
                        try FS.writeAll(fd: f, Array("\(a.quota.spelling)\n0 0\n".utf8), path: Maildir.sizePath(a.maildir))
                    }
                } catch {
                    return VpopmailError.system(error, .subdirCreation)
                }
                return nil
            }
            parallelChunks(work.count, threads: work.count >= 64 ? 2 : 1) { chunk in
                // The file-system ids are per thread: each takes the owner's for itself.
                let run = { for i in chunk { results.errors[i] = createHome(work[i], in: parents[slots[i]]) } }
                if asOwner { FS.asOwner(owner, run) } else { run() }
            }
            for (i, e) in results.errors.enumerated() {
                if e == nil || e!.code != .existUDir { created.append(homes[i]) }
            }
            if let e = results.errors.first(where: { $0 != nil }) { throw e! }
            try stores.accounts.insert(accounts, in: d)
            // The counter in the same transaction as the accounts it counts.
            if config.usersBigDir {
                try stores.dirControl.save(dc, .users(d), owner: owner)
                try free.save(owner: owner, sync: sync)
            }
        } catch {
            for h in created { try? FS.removeTree(h) }
            created = []
            throw error
        }
        // "Never logged in", dated at creation. A bulk import (like upstream's vconvert) records
        // none: no record reads the same, and saves an inode per account in the cdb layout.
        if config.authLogging && accounts.count == 1 {
            try? stores.lastAuth.setLastAuth(of: accounts[0], in: d, ip: "0.0.0.0", time: nil)
        }
        return accounts
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
        guard let last = text.split(whereSeparator: { $0 == " " || $0.isNewline || $0 == "\t" }).last else { return nil }
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
        guard let name = UserName(name) else { throw VpopmailError(.userDoesNotExist) }
        let u = name.text
        var hooked = false, removed = false
        defer { if hooked { onchange("del_user", "\(u)@\(d.realDomain)", "-", .after, done: removed) } }
        // The record, its last login and the counter in one transaction; the home after it
        // committed (a retried or failed transaction leaves the mailbox as it was).
        let home = try stores.accounts.locked(domain: d) { (tx) throws(VpopmailError) -> [String]? in
        guard let a = try stores.accounts.account(name, in: d) else { throw VpopmailError(.userDoesNotExist) }
        if catchAllUser(d) == u { throw VpopmailError(.cannotDeleteCatchall) }
        // Only ever the account's own directory inside its domain, checked before anything changes.
        let home = try mailboxComponents(a, d)
        // Reached by descriptors from the domain directory down, before anything changes: a
        // symlink on the way (a bucket the owner replaced) is refused, never followed.
        var gone = false
        func reach() throws(SystemError) -> Directory {
            let top = try Directory.open(d.dir)
            do throws(SystemError) { return try top.walk(home.dropLast()) } catch where error.errno == ENOENT {
                gone = true
                return top
            }
        }
        do throws(SystemError) { _ = try reach() } catch {
            throw VpopmailError(.outsideTree, "the home directory \(Validate.printable(a.home)) of \(u)@\(d.realDomain) cannot be reached safely (\(error)): nothing changed")
        }
        if !hooked {
            hooked = true
            onchange("del_user", "\(u)@\(d.realDomain)", "-", .before)
        }
        guard try stores.accounts.remove(name, in: d) else { throw VpopmailError(.userDoesNotExist) }
        try? stores.lastAuth.forget(a, in: d)
        if config.usersBigDir {
            var dc = try stores.dirControl.load(.users(d))
            dc.release()
            try stores.dirControl.save(dc, .users(d), owner: d.owner)
            // Record the bucket for back-fill: the path between the domain dir and the user dir.
            if home.count > 1 {
                try DirControlFreeList.add(d.dir + "/.dir_control_free", bucket: home.dropLast().joined(separator: "/"),
                                           owner: d.owner, sync: sync)
            }
        }
        return gone ? nil : home
        }
        removed = true
        // The home itself: reached again by descriptors from the domain directory and removed,
        // a symlink in it (or the home being one) removed, not followed.
        if let home {
            do throws(SystemError) {
                let parent = try Directory.open(d.dir).walk(home.dropLast())
                try parent.removeTree(home.last!)
            } catch where error.errno == ENOENT {
            } catch { throw VpopmailError.system(error, .badDir) }
        }
    }

    /// The components of an account's home below its domain directory, or `.outsideTree`.
    func mailboxComponents(_ a: Account, _ d: DomainInfo) throws(VpopmailError) -> [String] {
        guard let u = UserName(a.name), let c = d.mailboxComponents(a.home, user: u) else {
            let expected = d.dir + "/[bucket/]" + (UserName(a.name)?.homeName ?? a.name)
            throw VpopmailError(.outsideTree, "the home directory \(Validate.printable(a.home)) of \(a.name)@\(d.realDomain) is not a mailbox directory of its domain (\(expected)): nothing changed")
        }
        return c
    }

    /// Changes one account under the domain lock. `rebuildIndex` false is `vmoduser -n`.
    @discardableResult
    public func modifyUser(_ name: String, domain: String, rebuildIndex: Bool = true,
                           _ change: (inout Account) throws(VpopmailError) -> Void) throws(VpopmailError) -> Account {
        let d = try requireDomain(domain)
        guard let name = UserName(name) else { throw VpopmailError(.userDoesNotExist) }
        let u = name.text
        var hooked = false
        var old: Account? = nil
        // `change` sees the account as the transaction read it (again, when it is retried).
        let a = try stores.accounts.locked(domain: d) { (_) throws(VpopmailError) -> Account in
        guard var a = try stores.accounts.account(name, in: d) else { throw VpopmailError(.userDoesNotExist) }
        old = a
        let before = a.home
        try change(&a)
        a.name = u
        if a.home != before { _ = try mailboxComponents(a, d) }
        if a.gecos.utf8.count > LengthLimits.maxGecos { throw VpopmailError(.gecosTooLong) }
        if a.home.utf8.count > LengthLimits.maxDir { throw VpopmailError(.dirTooLong) }
        if a.passwordHash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
        if a.quota.spelling.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
        // No field may hold what would start a line or a field in any store's files (vpasswd,
        // a vconvert to it): NUL, CR, LF anywhere, `:` in all but the gecos (which upstream strips).
        for (f, colon) in [(a.passwordHash, true), (a.home, true), (a.quota.spelling, true), (a.gecos, false),
                           (a.clearPassword ?? "", false)] where Validate.breaksLine(f) || (colon && f.contains(":")) {
            throw VpopmailError(.badChar, "bad character in a field of \(u)@\(d.realDomain): NUL, CR, LF or ':'")
        }
        if !hooked {
            hooked = true
            onchange("mod_user", "\(u)@\(d.realDomain)", "-", .before)
        }
        try stores.accounts.update(a, in: d, rebuildIndex: rebuildIndex)
        return a
        }
        onchange("mod_user", "\(u)@\(d.realDomain)", "-", .after)
        if let o = old {
            let pw = o.passwordHash != a.passwordHash ? " password=changed" : ""
            audit("mod_user", "\(u)@\(d.realDomain)", before: o.auditText, after: a.auditText + pw)
        }
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

    /// Deletes `maildirsize`, and when the account has a quota recalculates it at once: in the
    /// home, as the domain owner.
    public func rebuildMaildirsize(_ a: Account, domain d: DomainInfo) throws(VpopmailError) {
        let md = a.maildir
        try FS.asOwner(d.owner) { () throws(VpopmailError) in
            try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.unlink(Maildir.sizePath(md)) }
            if a.quota.keepsMaildirsize && FS.isDirectory(md) {
                let u = Maildir.scan(md)
                try sys(.couldNotUpdateFile) { () throws(SystemError) in
                    try Maildir.writeSize(maildir: md, quota: a.quota, bytes: u.bytes, count: u.count, owner: nil, sync: sync)
                }
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

    /// Re-creates a missing home and Maildir (upstream's `vmake_maildir`): only the account's own
    /// directory inside its domain, by descriptors from the domain directory, as its owner.
    public func makeHome(_ a: Account, domain d: DomainInfo) throws(VpopmailError) {
        let parts = try mailboxComponents(a, d)
        try sys(.badUDir) { () throws(SystemError) in
            var dir = try Directory.open(d.dir)
            for c in parts { dir = try dir.makeSub(c, mode: 0o700, owner: d.owner, existing: true) }
            try Maildir.create(in: dir, owner: d.owner)
        }
    }
}
