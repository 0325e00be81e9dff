/// vconvert's copying (docs/sql-stores.md, "vconvert"): every account of a domain from one
/// installation's stores to another's, with hashes, quotas, flags, gecos and homes, and the
/// domain's hashing state, last logins, aliases and limits where the two keep them in
/// different places. Accounts already in the target are updated, so running it again is safe.
/// The source is never changed.
public struct StoreConverter {
    public let source: Installation
    public let target: Installation
    /// Called with (done, total) after each batch of accounts.
    public var progress: (Int, Int) -> Void = { _, _ in }

    public init(from source: Installation, to target: Installation) {
        self.source = source
        self.target = target
    }

    /// Copies one real domain; returns how many accounts it has.
    public func convert(_ d: DomainInfo) throws(VpopmailError) -> Int {
        let to = target.stores, from = source.stores
        let accounts = try from.accounts.accounts(in: d)
        // A home that is not a mailbox directory of the domain is refused before anything is copied.
        for a in accounts { _ = try target.mailboxComponents(a, d) }
        let lock = try to.accounts.lock(domain: d)
        defer { lock.unlock() }
        try to.accounts.domainAdded(d.realDomain)
        var existing: [String: Account] = [:]
        for a in try to.accounts.accounts(in: d) { existing[a.name] = a }
        let fresh = accounts.filter { existing[$0.name] == nil }
        let changed = accounts.filter { existing[$0.name] != nil && existing[$0.name] != $0 }
        let step = max(1, min(to.accounts.bulkBatch, fresh.count))
        var i = 0
        while i < fresh.count {
            let part = Array(fresh[i..<min(i + step, fresh.count)])
            try to.accounts.insert(part, in: d)
            i += part.count
            progress(i, fresh.count)
        }
        for a in changed { try to.accounts.update(a, in: d, rebuildIndex: false) }
        if !changed.isEmpty { try to.accounts.rebuildIndex(in: d) }

        // The hashing state, so that new users continue the same bucket sequence.
        try to.dirControl.save(try from.dirControl.load(.users(d)), .users(d), owner: d.owner)

        // Last logins: in one query where the source can, in one transaction where the target can.
        let bulk = try from.lastAuth.lastAuths(in: d)
        var logins: [(account: Account, auth: LastAuth)] = []
        for a in accounts {
            if let l = bulk.map({ $0[a.name] }) ?? ((try? from.lastAuth.lastAuth(of: a, in: d)) ?? nil), l.time != 0 {
                logins.append((a, l))
            }
        }
        try to.lastAuth.setLastAuths(logins, in: d)

        // Aliases and limits, unless both keep them in the same place.
        if from.aliases.storage != to.aliases.storage {
            for name in try from.aliases.names(in: d) {
                let have = try to.aliases.lines(of: name, in: d)
                for line in try from.aliases.lines(of: name, in: d) where !have.contains(line) {
                    try target.addAliasLine(name, line, domain: d.realDomain)
                }
            }
        }
        if from.limits.storage != to.limits.storage, let own = try from.limits.limits(of: d) {
            try to.limits.setLimits(own, of: d)
        }
        return accounts.count
    }

    /// An alias domain: its row where the target keeps one (the control files are shared).
    public func convertAliasDomain(_ d: DomainInfo) throws(VpopmailError) {
        try target.stores.accounts.aliasDomainAdded(alias: d.name, real: d.realDomain)
    }

    /// System accounts (`/etc/passwd`, a `user:crypted` file) become new accounts of the domain
    /// (a vpopmail home each) with their existing hashes; accounts without a usable hash (locked,
    /// 2 characters or fewer) are skipped, accounts already present are left alone.
    public func importSystem(_ list: [Account], into d: DomainInfo) throws(VpopmailError) -> Int {
        let existing = Set(try target.stores.accounts.accounts(in: d).map(\.name))
        let add = list.compactMap { a -> (UserName, Account)? in
            guard a.passwordHash.utf8.count > 2, !existing.contains(a.name), let n = UserName(a.name) else { return nil }
            return (n, a)
        }
        var i = 0
        while i < add.count {
            let part = add[i..<min(i + 10_000, add.count)]
            try target.addUsers(part.map { Installation.NewAccount(name: $0.0, password: .hash($0.1.passwordHash), gecos: $0.1.gecos) },
                                domain: d.realDomain)
            i += part.count
            progress(i, add.count)
        }
        return add.count
    }

    /// The IP map, one for the whole installation: entries the target lacks.
    public func convertIPMap() throws(VpopmailError) {
        let have = Set(try target.ipMap().map { "\($0.ip) \($0.domain)" })
        for e in try source.ipMap() where !have.contains("\(e.ip) \(e.domain)") {
            try target.addIPMap(ip: e.ip, domain: e.domain)
        }
    }
}
