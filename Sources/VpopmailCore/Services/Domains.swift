#if canImport(Glibc)
import Glibc
#endif

extension Installation {
    /// A domain (real or alias) from `users/assign`, or nil.
    /// A domain whose mail would run as root (uid 0 in `assign`) is refused.
    public func domain(_ name: DomainName) throws(VpopmailError) -> DomainInfo? {
        guard let d = try qmail.lookup(name.text) else { return nil }
        if d.uid == 0 { throw Installation.rootDomain(d.name) }
        return d
    }

    static func rootDomain(_ name: String) -> VpopmailError {
        VpopmailError(.rootDomain, "the domain \(name) is owned by uid 0 in users/assign: refused (its programs and deliveries would run as root); give it the vpopmail user's ids")
    }

    /// The domain a command names, or nil (no domain can have the name, or there is none).
    public func domain(_ name: String) throws(VpopmailError) -> DomainInfo? {
        guard let n = DomainName(name) else { return nil }
        return try domain(n)
    }

    /// The domain a command names: `.domainNameTooLong`, `.domainDoesNotExist`.
    public func requireDomain(_ name: String) throws(VpopmailError) -> DomainInfo {
        guard let n = try DomainName.lookup(name), let d = try domain(n) else { throw VpopmailError(.domainDoesNotExist) }
        return d
    }

    /// A catch-all for `.qmail-default` (`vadddomain -e`): an address or a mailbox name, in
    /// characters the shell takes as they are (the line runs through /bin/sh); `.badChar`.
    public static func checkCatchAll(_ e: String) throws(VpopmailError) {
        let shellSafe = !e.isEmpty && e.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || "._+-@=".utf8.contains(c)
        }
        let parts = Validate.splitAddress(e)
        let named = e.contains("@") ? UserName.accepts(parts.user) && DomainName.accepts(parts.domain) : UserName(e) != nil
        guard shellSafe, named else {
            throw VpopmailError(.badChar, "bad catch-all (-e): an address or a mailbox name of letters, digits and ._+-=: \(Validate.printable(e))")
        }
    }

    /// The `.qmail-default` line of a domain.
    public func qmailDefaultLine(_ delivery: String) -> String {
        "| \(binDir)/vdelivermail '' \(delivery)\n"
    }

    /// Upstream's `vadddomain()` (without the postmaster account, which the command adds).
    public func addDomain(_ name: String, baseDir: String? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
                          optimize: Bool = false) throws(VpopmailError) -> (domain: DomainInfo, notices: [String]) {
        let domain = try DomainName(newDomain: name).text
        let base = baseDir ?? home
        if base.contains(":") || Validate.breaksLine(base) {
            throw VpopmailError(.badChar, "bad character in the base directory (':', NUL, CR or LF): \(Validate.printable(base))")
        }
        let owner = (uid: uid ?? vpopUID, gid: gid ?? vpopGID)
        if owner.uid == 0 { throw Installation.rootDomain(domain) }
        let root = base + "/" + config.domainsDir
        try sys(.canNotMakeDomainsDir) { () throws(SystemError) in try FS.mkdirs(root, mode: 0o700, owner: owner) }
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(root + "/.dir-control.lock", owner: owner) }
        defer { lock.unlock() }
        if try qmail.lookup(domain) != nil { throw VpopmailError(.domainAlreadyExists) }
        onchange("add_domain", domain, "-", .before)
        let key = DirControlKey.domains(root: root, uid: owner.uid)
        var dc = try stores.dirControl.load(key)
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
            try stores.dirControl.save(dc, key, owner: owner)
            try stores.accounts.domainAdded(domain)
            let notices = try qmail.addDomain(name: domain, realDomain: domain, uid: owner.uid, gid: owner.gid,
                                              dir: dir, optimize: optimize)
            if !optimize { qmail.signalQmailSend() }
            onchange("add_domain", domain, "-", .after)
            return (DomainInfo(name: domain, realDomain: domain, uid: owner.uid, gid: owner.gid, dir: dir), notices)
        } catch {
            // Roll back: control files, the directory, the store and the counter.
            let d = DomainInfo(name: domain, realDomain: domain, uid: owner.uid, gid: owner.gid, dir: dir)
            try? qmail.removeDomain(name: domain, realDomain: domain, uid: owner.uid, gid: owner.gid, dir: dir)
            try? FS.removeTree(dir)
            try? forgetDomain(d)
            if var back = try? stores.dirControl.load(key), back.curUsers == dc.curUsers {
                back.release()
                try? stores.dirControl.save(back, key, owner: owner)
            }
            throw error
        }
    }

    /// A new domain and its postmaster (what vadddomain, the API and the web pages do): the
    /// domain is rolled back when its postmaster can't be made. Making the postmaster is part
    /// of the domain's creation: no `add_user` onchange event (as upstream).
    @discardableResult
    public func addDomain(_ name: String, postmasterPassword: ClearPassword, postmasterQuota: Quota? = nil,
                          baseDir: String? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
                          optimize: Bool = false) throws(VpopmailError) -> (domain: DomainInfo, notices: [String]) {
        let r = try addDomain(name, baseDir: baseDir, uid: uid, gid: gid, optimize: optimize)
        do {
            suppressChangeHooks = true
            defer { suppressChangeHooks = false }
            try addUser(.init(name: UserName("postmaster")!, password: .clear(postmasterPassword), gecos: "Postmaster",
                              quota: postmasterQuota), domain: r.domain.name)
        } catch {
            try? deleteDomain(r.domain.name)
            throw error
        }
        return r
    }

    /// Everything the stores keep about a real domain.
    func forgetDomain(_ d: DomainInfo) throws(VpopmailError) {
        try stores.accounts.domainDeleted(d.realDomain)
        try stores.lastAuth.domainDeleted(d)
        try stores.dirControl.domainDeleted(d)
        try stores.aliases.domainDeleted(d)
        try stores.limits.domainDeleted(d)
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
        // Only ever the domain's own directory: named after it, and (below) reached by
        // descriptors and removed without following a symlink.
        if !d.isAlias && !d.hasOwnDirectory {
            throw VpopmailError(.outsideTree, "the directory \(Validate.printable(d.dir)) of \(d.realDomain) in users/assign is not named after the domain (<domains>/[bucket/]\(d.realDomain)): nothing changed")
        }
        if d.isAlias {
            onchange("del_domain", "\(d.name) alias of \(d.realDomain)", "-", .before)
            try stores.accounts.aliasDomainDeleted(alias: d.name)
            try qmail.removeDomain(name: d.name, realDomain: d.realDomain, uid: d.uid, gid: d.gid, dir: d.dir)
            qmail.signalQmailSend()
            onchange("del_domain", "\(d.name) alias of \(d.realDomain)", "-", .after)
            return
        }
        onchange("del_domain", d.name, "-", .before)
        var forgotten = false
        defer { onchange("del_domain", d.name, "-", .after, done: forgotten) }
        let root: String = {
            // The domains root is the directory that holds the domain (and its buckets).
            var p = Path.dirname(d.dir)
            while Path.basename(p).utf8.count == 1 && p.count > 1 { p = Path.dirname(p) }
            return p
        }()
        // The store first: when it does not answer nothing has changed, and once it has answered
        // a second vdeldomain can finish whatever fails after it.
        try forgetDomain(d)
        forgotten = true
        for alias in try aliasDomains(of: d.name) {
            try stores.accounts.aliasDomainDeleted(alias: alias)
            try qmail.removeDomain(name: alias, realDomain: d.name, uid: d.uid, gid: d.gid, dir: d.dir)
        }
        try qmail.removeDomain(name: d.name, realDomain: d.name, uid: d.uid, gid: d.gid, dir: d.dir)
        qmail.signalQmailSend()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.removeTree(d.dir)  // a symlinked domain directory: the link goes, not its target
        }
        let key = DirControlKey.domains(root: root, uid: d.uid)
        if stores.dirControl.exists(key) {
            let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(root + "/.dir-control.lock") }
            defer { lock.unlock() }
            var dc = try stores.dirControl.load(key)
            dc.release()
            try stores.dirControl.save(dc, key, owner: (d.uid, d.gid))
        }
    }

    /// Upstream's `vaddaliasdomain()`.
    public func addAliasDomain(alias: String, real: String) throws(VpopmailError) -> [String] {
        let a = try DomainName(newDomain: alias).text
        let r = try requireDomain(real)
        if a == r.realDomain { throw VpopmailError(.domainAlreadyExists, "real domain and alias domain are the same") }
        if try qmail.lookup(a) != nil { throw VpopmailError(.domainAlreadyExists) }
        onchange("add_alias_domain", a, r.realDomain, .before)
        let notices = try qmail.addDomain(name: a, realDomain: r.realDomain, uid: r.uid, gid: r.gid, dir: r.dir, optimize: false)
        do { try stores.accounts.aliasDomainAdded(alias: a, real: r.realDomain) } catch {
            try? qmail.removeDomain(name: a, realDomain: r.realDomain, uid: r.uid, gid: r.gid, dir: r.dir)
            throw error
        }
        qmail.signalQmailSend()
        onchange("add_alias_domain", a, r.realDomain, .after)
        return notices
    }

    /// The allocation counter of a domain's user hashing (`vdominfo`'s "users").
    public func userCounter(_ d: DomainInfo) throws(VpopmailError) -> UInt64 {
        try stores.dirControl.load(.users(d)).curUsers
    }

    // MARK: - Limits

    public var defaultLimitsPath: String { etcDir + "/vlimits.default" }

    /// The domain's limits: its own (`.qmailadmin-limits` or its row), else `vlimits.default`,
    /// else the built-in defaults (upstream fails when both are missing).
    public func limits(_ d: DomainInfo) throws(VpopmailError) -> DomainLimits {
        if let own = try stores.limits.limits(of: d) { return own }
        return try defaultLimits() ?? DomainLimits()
    }

    /// `vlimits.default`, nil when missing.
    public func defaultLimits() throws(VpopmailError) -> DomainLimits? {
        guard let t = try sys(.cannotReadLimits, { () throws(SystemError) in try FS.readText(defaultLimitsPath) }) else { return nil }
        return DomainLimits.parse(t)
    }

    /// Sets a domain's limits, or the defaults (`vlimits.default`) when `d` is nil.
    public func setLimits(_ l: DomainLimits, for d: DomainInfo?) throws(VpopmailError) {
        let before = d == nil ? try defaultLimits() : try stores.limits.limits(of: d!)
        if let d {
            try stores.limits.setLimits(l, of: d)
        } else {
            try sys(.couldNotUpdateFile) { () throws(SystemError) in
                try FS.writeAtomic(defaultLimitsPath, l.fileText, mode: 0o600, sync: sync)
            }
        }
        audit("set_limits", d?.realDomain ?? "(defaults)", before: before.map { Escape.percent($0.fileText) }, after: Escape.percent(l.fileText))
    }

    public func deleteLimits(_ d: DomainInfo) throws(VpopmailError) {
        let before = try stores.limits.limits(of: d)
        try stores.limits.deleteLimits(of: d)
        audit("del_limits", d.realDomain, before: before.map { Escape.percent($0.fileText) })
    }

    /// `pw_flags`: the user's flags ORed with the domain's, unless the user overrides them.
    public func effectiveFlags(_ a: Account, limits: DomainLimits) -> AccountFlags {
        a.flags.contains(.overrideDomainLimits) ? a.flags : a.flags.union(limits.flagMask)
    }

    // MARK: - IP map

    public func ipMap() throws(VpopmailError) -> [(ip: String, domain: String)] { try stores.ipMap.entries() }

    public func ipMapDomain(_ ip: String) throws(VpopmailError) -> String? {
        try ipMap().first { $0.ip == ip }?.domain
    }

    public func addIPMap(ip: String, domain: String) throws(VpopmailError) {
        try checkIP(ip)
        guard let dom = DomainName(domain) else { throw VpopmailError(.invalidDomainName) }
        try stores.ipMap.add(ip: ip, domain: dom.text)
        audit("add_ip_map", ip, after: dom.text)
    }

    public func deleteIPMap(ip: String, domain: String) throws(VpopmailError) {
        try stores.ipMap.delete(ip: ip, domain: domain.lowercased())
        audit("del_ip_map", ip, before: domain.lowercased())
    }

    func checkIP(_ ip: String) throws(VpopmailError) {
        guard !ip.isEmpty, ip.utf8.count <= 39,
              ip.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else {
            throw VpopmailError(.illegalUsername, "invalid IP address: \(Validate.printable(ip))")
        }
    }
}
