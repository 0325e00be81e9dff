// Domains and users: upstream's vadddomain() ... vauth_getall(), on Installation's operations.
import CVpopmail
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Domains

@_cdecl("vadddomain")
public func c_vadddomain(_ domain: UnsafeMutablePointer<CChar>?, _ dir: UnsafeMutablePointer<CChar>?, _ uid: uid_t, _ gid: gid_t) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let base = str(dir).flatMap { $0.isEmpty ? nil : $0 }
        if let b = base, !b.hasPrefix("/") { throw VpopmailError(.badVDir, "the base directory must be absolute") }
        _ = try v.addDomain(try arg(domain), baseDir: base, uid: uid, gid: gid, optimize: vpopmail_lib_optimize_add_domain() != 0)
        lib.assignCache = nil
    }
}

@_cdecl("vdeldomain")
public func c_vdeldomain(_ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let d = try arg(domain)
        if d.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        try v.deleteDomain(d)
        lib.assignCache = nil
    }
}

@_cdecl("vaddaliasdomain")
public func c_vaddaliasdomain(_ alias: UnsafeMutablePointer<CChar>?, _ real: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        _ = try v.addAliasDomain(alias: try arg(alias), real: try arg(real))
        lib.assignCache = nil
    }
}

@_cdecl("vauth_adddomain")
public func c_vauth_adddomain(_ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        guard let d = DomainName(try arg(domain)) else { throw VpopmailError(.invalidDomainName) }
        try v.stores.accounts.domainAdded(d.text)
    }
}

@_cdecl("vauth_deldomain")
public func c_vauth_deldomain(_ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        guard let d = DomainName(try arg(domain)) else { throw VpopmailError(.invalidDomainName) }
        try v.stores.accounts.domainDeleted(d.text)
    }
}

nonisolated(unsafe) let assignDir = StaticString(Int(MAX_BUFF))

/// The domain's directory from users/assign, its ids into `uid`/`gid`, and `domain` rewritten in
/// place to the real domain when it names an alias. NULL or "" clears the cache.
@_cdecl("vget_assign")
public func c_vget_assign(_ domain: UnsafeMutablePointer<CChar>?, _ dir: UnsafeMutablePointer<CChar>?, _ dirLen: Int32,
                          _ uid: UnsafeMutablePointer<uid_t>?, _ gid: UnsafeMutablePointer<gid_t>?) -> UnsafeMutablePointer<CChar>? {
    guard let domain, domain.pointee != 0 else {
        lib.assignCache = nil
        return nil
    }
    let name = String(cString: domain).lowercased()
    var info: DomainInfo
    if let c = lib.assignCache, c.name == name {
        info = c.info
    } else {
        guard let v = try? installation(), let found = (try? v.domain(name)) ?? nil else { return nil }
        info = found
        lib.assignCache = (name, info)
    }
    // Rewritten only when it differs: a caller's literal real domain stays untouched.
    if String(cString: domain) != info.realDomain { copy(info.realDomain, into: domain, size: Int(MAX_PW_DOMAIN) + 1) }
    copy(info.dir, into: dir, size: Int(dirLen))
    uid?.pointee = info.uid
    gid?.pointee = info.gid
    return assignDir.set(info.dir)
}

final class StaticDomainEntry {
    let entry: UnsafeMutablePointer<domain_entry> = {
        let p = UnsafeMutablePointer<domain_entry>.allocate(capacity: 1)
        p.initialize(to: domain_entry())
        return p
    }()
    let domain = StaticString(Int(MAX_PW_DOMAIN) + 1)
    let real = StaticString(Int(MAX_PW_DOMAIN) + 1)
    let path = StaticString(Int(MAX_BUFF))
}

nonisolated(unsafe) let domainEntrySlot = StaticDomainEntry()

/// Iterates users/assign: "" every entry, a name the entries of its real domain, NULL the next.
@_cdecl("get_domain_entries")
public func c_get_domain_entries(_ match: UnsafePointer<CChar>?) -> UnsafeMutablePointer<domain_entry>? {
    if let match {
        let m = String(cString: match).lowercased()
        lib.domainEntriesNext = 0
        do throws(VpopmailError) {
            let v = try installation()
            let all = try v.qmail.domainEntries()
            if m.isEmpty {
                lib.domainEntries = all
            } else {
                let real = all.first { $0.name == m }?.realDomain ?? m
                lib.domainEntries = all.filter { $0.realDomain == real }
            }
        } catch {
            vpopmail_lib_set_verrori(VACode.cannotReadAssign.rawValue)
            lib.domainEntries = []
            return nil
        }
    }
    guard lib.domainEntriesNext < lib.domainEntries.count else { return nil }
    let d = lib.domainEntries[lib.domainEntriesNext]
    lib.domainEntriesNext += 1
    let s = domainEntrySlot
    s.entry.pointee.domain = s.domain.set(d.name)
    s.entry.pointee.realdomain = s.real.set(d.realDomain)
    s.entry.pointee.uid = d.uid
    s.entry.pointee.gid = d.gid
    s.entry.pointee.path = s.path.set(d.dir)
    return s.entry
}

/// Fills an empty `domain` (MAX_PW_DOMAIN + 1 bytes) with the default domain; 1 when it did.
@_cdecl("vset_default_domain")
public func c_vset_default_domain(_ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let domain else { return VACode.nullPointer.rawValue }
    if domain.pointee != 0 { return 0 }
    guard let v = try? installation() else { return VACode.noAuthConnection.rawValue }
    let d = v.defaultDomain(localIP: Proc.env("TCPLOCALIP"))
    copy(d, into: domain, size: Int(MAX_PW_DOMAIN) + 1)
    return d.isEmpty ? 0 : 1
}

// MARK: - Users

@_cdecl("vadduser")
public func c_vadduser(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ password: UnsafeMutablePointer<CChar>?,
                       _ gecos: UnsafeMutablePointer<CChar>?, _ apop: Int32) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let g = str(gecos) ?? ""
        if g.contains(":") { throw VpopmailError(.badChar) }
        let name = try UserName(newAccount: try arg(user))
        let d = domainName(v, domain)
        if d.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        let clear = try v.clearPassword(try arg(password))
        _ = try v.addUser(.init(name: name, password: .clear(clear), gecos: g.isEmpty ? nil : g, apop: apop == USE_APOP), domain: d)
    }
}

@_cdecl("vdeluser")
public func c_vdeluser(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        try v.deleteUser(try arg(user).lowercased(), domain: domainName(v, domain))
    }
}

/// Upstream returns -1 (not "user does not exist") for a missing user, as for a user who may not
/// change the password.
@_cdecl("vpasswd")
public func c_vpasswd(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ password: UnsafeMutablePointer<CChar>?,
                      _ apop: Int32) -> Int32 {
    let r = code { () throws(VpopmailError) in
        let v = try installation()
        let u = try arg(user)
        if u.utf8.count > LengthLimits.maxUserName { throw VpopmailError(.userNameTooLong) }
        let d = domainName(v, domain)
        if d.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        let p = try arg(password)
        if p.utf8.count > LengthLimits.maxClearPassword { throw VpopmailError(.passwdTooLong) }
        try v.setPassword(u.lowercased(), domain: d, password: try v.clearPassword(p))
    }
    return r == VACode.userDoesNotExist.rawValue ? -1 : r
}

@_cdecl("vsetuserquota")
public func c_vsetuserquota(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ quota: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let u = try arg(user)
        if u.utf8.count > LengthLimits.maxUserName { throw VpopmailError(.userNameTooLong) }
        let q = try Quota.parse(try arg(quota))
        _ = try v.setQuota(u.lowercased(), domain: domainName(v, domain), quota: q)
    }
}

/// The account, or NULL: unknown, not allowed to this process (not root, not the domain's
/// owner), or a store error.
@_cdecl("vauth_getpw")
public func c_vauth_getpw(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<vqpasswd>? {
    guard let v = try? installation(), let u = str(user) else { return nil }
    guard let found = (try? v.user(u.lowercased(), domain: domainName(v, domain))) ?? nil, mayAccess(found.domain) else { return nil }
    let limits = (try? v.limits(found.domain)) ?? DomainLimits()
    return getpwSlot.fill(found.account, flags: v.effectiveFlags(found.account, limits: limits))
}

/// Replaces one account with the fields of `pw` (every field, as upstream), through the same
/// checks as vmoduser: lengths, line breaks, a home inside the domain.
@_cdecl("vauth_setpw")
public func c_vauth_setpw(_ pw: UnsafeMutablePointer<vqpasswd>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        guard let pw else { throw VpopmailError(.nullPointer) }
        let v = try installation()
        let d = try v.requireDomain(domainName(v, domain))
        if !mayAccess(d) { throw VpopmailError(.badUID) }
        let new = account(of: pw)
        try checkLengths(new)
        try v.modifyUser(new.name.lowercased(), domain: d.realDomain, rebuildIndex: vpopmail_lib_no_make_index() == 0) { (a) throws(VpopmailError) in
            a.passwordHash = new.passwordHash
            a.apopMarker = new.apopMarker
            a.flags = new.flags
            a.gecos = new.gecos
            a.home = new.home
            a.quota = new.quota
            if v.config.clearPasswd { a.clearPassword = new.clearPassword ?? "" }
        }
    }
}

/// Upstream's `vcheck_vqpw`: the field lengths of a record.
func checkLengths(_ a: Account) throws(VpopmailError) {
    if a.name.isEmpty { throw VpopmailError(.illegalUsername) }
    if a.name.utf8.count > LengthLimits.maxUserName { throw VpopmailError(.userNameTooLong) }
    if a.passwordHash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
    if a.gecos.utf8.count > LengthLimits.maxGecos { throw VpopmailError(.gecosTooLong) }
    if a.home.utf8.count > LengthLimits.maxDir { throw VpopmailError(.dirTooLong) }
    if a.quota.spelling.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
    if (a.clearPassword ?? "").utf8.count > LengthLimits.maxClearPassword { throw VpopmailError(.clearPasswdTooLong) }
}

@_cdecl("vcheck_vqpw")
public func c_vcheck_vqpw(_ pw: UnsafeMutablePointer<vqpasswd>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        guard let pw else { throw VpopmailError(.nullPointer) }
        if pw.pointee.pw_name == nil || pw.pointee.pw_passwd == nil || pw.pointee.pw_gecos == nil || pw.pointee.pw_dir == nil
            || pw.pointee.pw_shell == nil { throw VpopmailError(.nullPointer) }
        if let d = str(domain), d.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        try checkLengths(account(of: pw))
    }
}

@_cdecl("vauth_setquota")
public func c_vauth_setquota(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ quota: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let q = try arg(quota)
        if q.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
        try v.modifyUser(try arg(user).lowercased(), domain: domainName(v, domain)) { (a) throws(VpopmailError) in
            a.quota = Quota(stored: q)
        }
    }
}

/// Iterates a domain's accounts (sorted by name in every store): `first` 1 restarts.
@_cdecl("vauth_getall")
public func c_vauth_getall(_ domain: UnsafeMutablePointer<CChar>?, _ first: Int32, _ sortit: Int32) -> UnsafeMutablePointer<vqpasswd>? {
    guard let v = try? installation() else { return nil }
    let d = domainName(v, domain)
    if first != 0 || lib.getall == nil || lib.getall!.domain != d {
        guard let r = try? v.users(domain: d), mayAccess(r.domain) else {
            lib.getall = nil
            return nil
        }
        lib.getall = (d, r.accounts, 0, (try? v.limits(r.domain)) ?? DomainLimits())
    }
    guard let g = lib.getall, g.next < g.accounts.count else {
        lib.getall = nil
        return nil
    }
    lib.getall!.next += 1
    let a = g.accounts[g.next]
    return getallSlot.fill(a, flags: v.effectiveFlags(a, limits: g.limits))
}

@_cdecl("vauth_end_getall")
public func c_vauth_end_getall() {
    lib.getall = nil
}

/// 0 when `clear` is the password of `pw` (any scheme the library reads).
@_cdecl("vauth_crypt")
public func c_vauth_crypt(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ clear: UnsafeMutablePointer<CChar>?,
                          _ pw: UnsafeMutablePointer<vqpasswd>?) -> Int32 {
    guard let pw, let c = str(clear), let hash = str(pw.pointee.pw_passwd), !c.isEmpty, !hash.isEmpty else { return -1 }
    return Password.verify(c, against: hash) ? 0 : -1
}

/// The account when `password` is its password, else NULL. Failed attempts count in the same
/// throttling state as vchkpw's (by client address and login): a web login page is one more
/// door to guess passwords at.
@_cdecl("vauth_user")
public func c_vauth_user(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ password: UnsafeMutablePointer<CChar>?,
                         _ apop: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<vqpasswd>? {
    guard let v = try? installation(), let u = str(user), let p = str(password) else { return nil }
    let d = domainName(v, domain)
    let ip = Relay.sanitize(Proc.env("REMOTE_ADDR") ?? Proc.env("TCPREMOTEIP") ?? "")
    let session = v.throttleSession(ip: ip, login: "\(u.lowercased())@\(d)")
    if let session {
        switch session.check(now: Int(time(nil))) {
        case .refuse: return nil
        case .proceed(let delay): Throttle.sleep(delay)
        }
    }
    let pw = c_vauth_getpw(user, domain)
    // An unknown user costs what a wrong password costs.
    if pw == nil { Password.dummyVerify(p, scheme: v.config.passwordScheme) }
    guard let pw, !p.isEmpty, c_vauth_crypt(user, domain, password, pw) == 0 else {
        session?.failed(now: Int(time(nil)))
        return nil
    }
    session?.succeeded(now: Int(time(nil)))
    return pw
}

/// The backend's own add: the record only (the caller makes the home), `dir` the hash bucket
/// below the domain directory ("" for none).
@_cdecl("vauth_adduser")
public func c_vauth_adduser(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ pass: UnsafeMutablePointer<CChar>?,
                            _ gecos: UnsafeMutablePointer<CChar>?, _ dir: UnsafeMutablePointer<CChar>?, _ apop: Int32) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let name = try UserName(newAccount: try arg(user))
        let d = try v.requireDomain(domainName(v, domain))
        if !mayAccess(d) { throw VpopmailError(.badUID) }
        let g = str(gecos) ?? ""
        if g.contains(":") || Validate.breaksLine(g) { throw VpopmailError(.badChar) }
        if g.utf8.count > LengthLimits.maxGecos { throw VpopmailError(.gecosTooLong) }
        let bucket = str(dir) ?? ""
        let home = (bucket.isEmpty ? d.dir : d.dir + "/" + bucket) + "/" + name.homeName
        guard d.mailboxComponents(home, user: name) != nil else {
            throw VpopmailError(.outsideTree, "not a hash bucket of \(d.realDomain): \(Validate.printable(bucket))")
        }
        if home.utf8.count > LengthLimits.maxDir { throw VpopmailError(.dirTooLong) }
        let clear = try v.clearPassword(try arg(pass))
        let hash = try Password.hash(clear.text, scheme: v.config.passwordScheme)
        let a = Account(name: name.text, passwordHash: hash, apopMarker: apop == USE_APOP ? 2 : 1, gecos: g.isEmpty ? name.text : g,
                        home: home, quota: .none, clearPassword: v.config.clearPasswd ? clear.text : nil)
        try v.stores.accounts.locked(domain: d) { (_) throws(VpopmailError) in try v.stores.accounts.insert([a], in: d) }
    }
}

/// The backend's own delete: the record only; 0 also when there was none.
@_cdecl("vauth_deluser")
public func c_vauth_deluser(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        guard let name = UserName(try arg(user)) else { throw VpopmailError(.illegalUsername) }
        let d = try v.requireDomain(domainName(v, domain))
        if !mayAccess(d) { throw VpopmailError(.badUID) }
        _ = try v.stores.accounts.locked(domain: d) { (_) throws(VpopmailError) in try v.stores.accounts.remove(name, in: d) }
    }
}

/// The backend's own password change: a crypted password stored as it is.
@_cdecl("vauth_vpasswd")
public func c_vauth_vpasswd(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ crypted: UnsafeMutablePointer<CChar>?,
                            _ apop: Int32) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let hash = try arg(crypted)
        if hash.utf8.count > LengthLimits.maxPassword { throw VpopmailError(.passwdTooLong) }
        try v.modifyUser(try arg(user).lowercased(), domain: domainName(v, domain)) { (a) throws(VpopmailError) in
            a.passwordHash = hash
        }
    }
}

/// Rebuilds the domain's vpasswd.cdb (cdb); nothing to do for the SQL stores.
@_cdecl("vmkpasswd")
public func c_vmkpasswd(_ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let d = try v.requireDomain(domainName(v, domain))
        if !mayAccess(d) { throw VpopmailError(.badUID) }
        try v.stores.accounts.rebuildIndex(in: d)
    }
}

nonisolated(unsafe) let userDir = StaticString(Int(MAX_BUFF))

/// Re-creates the home and Maildir of an existing account; the home, or NULL.
@_cdecl("make_user_dir")
public func c_make_user_dir(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ uid: uid_t, _ gid: gid_t) -> UnsafeMutablePointer<CChar>? {
    guard let v = try? installation(), let u = str(user),
          let found = (try? v.user(u.lowercased(), domain: domainName(v, domain))) ?? nil, mayAccess(found.domain) else { return nil }
    guard (try? v.makeHome(found.account, domain: found.domain)) != nil else { return nil }
    return userDir.set(found.account.home)
}

/// Re-creates a missing home and Maildir at `dir`, which must be the home of an account of the
/// domain.
@_cdecl("vmake_maildir")
public func c_vmake_maildir(_ domain: UnsafeMutablePointer<CChar>?, _ dir: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        var home = try arg(dir)
        while home.count > 1 && home.hasSuffix("/") { home.removeLast() }
        let user = String(DirControl.user(ofHomeName: Substring(Path.basename(home))))
        guard let found = try v.user(user, domain: domainName(v, domain)), found.account.home == home else {
            throw VpopmailError(.badUDir, "not the home of an account of the domain: \(Validate.printable(home))")
        }
        if !mayAccess(found.domain) { throw VpopmailError(.badUID) }
        try v.makeHome(found.account, domain: found.domain)
    }
}

/// sqwebmail's password file: not kept by this vpopmail (upstream's --enable-sqwebmail-pass,
/// off by default); nothing to write.
@_cdecl("vsqwebmail_pass")
public func c_vsqwebmail_pass(_ dir: UnsafeMutablePointer<CChar>?, _ crypted: UnsafeMutablePointer<CChar>?, _ uid: uid_t, _ gid: gid_t) -> Int32 {
    dir == nil || crypted == nil ? VACode.nullPointer.rawValue : 0
}

// MARK: - Last logins

@_cdecl("vset_lastauth")
public func c_vset_lastauth(_ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ ip: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        guard let found = try v.user(try arg(user).lowercased(), domain: domainName(v, domain)) else { throw VpopmailError(.userDoesNotExist) }
        if !mayAccess(found.domain) { throw VpopmailError(.badUID) }
        let address = Relay.sanitize(try arg(ip))
        try v.stores.lastAuth.setLastAuth(of: found.account, in: found.domain, ip: address, time: nil)
    }
}

func lastAuth(_ pw: UnsafeMutablePointer<vqpasswd>?, _ domain: UnsafeMutablePointer<CChar>?) -> LastAuth? {
    guard let pw, let v = try? installation(), let name = str(pw.pointee.pw_name) else { return nil }
    guard let found = (try? v.user(name.lowercased(), domain: domainName(v, domain))) ?? nil else { return nil }
    return v.lastAuth(found.account, domain: found.domain)
}

@_cdecl("vget_lastauth")
public func c_vget_lastauth(_ pw: UnsafeMutablePointer<vqpasswd>?, _ domain: UnsafeMutablePointer<CChar>?) -> time_t {
    time_t(lastAuth(pw, domain)?.time ?? 0)
}

nonisolated(unsafe) let lastAuthIP = StaticString(Int(MAX_BUFF))

@_cdecl("vget_lastauthip")
public func c_vget_lastauthip(_ pw: UnsafeMutablePointer<vqpasswd>?, _ domain: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    guard let l = lastAuth(pw, domain), !l.ip.isEmpty else { return nil }
    return lastAuthIP.set(l.ip)
}
