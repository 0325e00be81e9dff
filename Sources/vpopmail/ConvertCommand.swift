import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

// MARK: vconvert

/// `vconvert <from> <to> [domain ...]` (reference §5.12, and the seed's flags): copies every
/// account of the named (default: all real) domains from one store to another, with their
/// hashes, quotas, flags, gecos and homes, and the domain's hashing state, last logins, aliases
/// and limits where the two stores keep them in different places. Accounts already in the
/// target are updated, so running it again is safe. The source is never changed.
///
/// Stores: `-c` cdb, `-m`/`-s` the SQL store (`auth-module` when it is an SQL one, else mysql),
/// `-e` `/etc/passwd`+`/etc/shadow` (source only), `-p FILE` a `user:crypted` file (source
/// only), or by name: `--from cdb|mysql|pgsql|sqlite|passwd --to cdb|mysql|pgsql|sqlite`.
func vconvert(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("vconvert: usage")
        say("  The first option sets which format to convert FROM,")
        say("  the second option sets which format to convert TO.")
        say("  -e = etc format")
        say("  -c = cdb format")
        say("  -m = sql format (-s: the same)")
        say("  -p file = user:crypted password file (from only)")
        say("  --from NAME --to NAME: cdb, mysql, pgsql, sqlite, passwd (from only)")
        say("  -q = no progress lines")
        say("  -v = version")
    }
    // Long options first (GetOpt knows only letters).
    var from: String? = nil, to: String? = nil, passFile: String? = nil
    var rest = [args[0]]
    var i = 1
    while i < args.count {
        let a = args[i]
        if a == "--from" || a == "--to", i + 1 < args.count {
            if a == "--from" { from = args[i + 1] } else { to = args[i + 1] }
            i += 2
            continue
        }
        if a.hasPrefix("--from=") { from = String(a.dropFirst(7)); i += 1; continue }
        if a.hasPrefix("--to=") { to = String(a.dropFirst(5)); i += 1; continue }
        rest.append(a)
        i += 1
    }
    let home = Vpopmail.locateHome()
    let confPath = home + "/etc/vpopmail.conf"
    var config = Config()
    do {
        if let text = try? FS.readText(confPath) { config = try Config.parse(text, file: confPath) }
    } catch {
        warn("Error - \(error.message)")
        throw Exit(error.code)
    }
    let sqlName = ["mysql", "pgsql", "sqlite"].contains(config.authModule) ? config.authModule : "mysql"
    var quiet = false
    var g = GetOpt(rest, "cemsp:dvqS")
    func set(_ name: String) {
        if from == nil { from = name } else if to == nil { to = name }
    }
    while let c = g.next() {
        switch c {
        case "c": set("cdb")
        case "e": set("passwd")
        case "m", "s": set(sqlName)
        case "p": passFile = g.optarg; set("file")
        case "q": quiet = true
        case "d": break
        case "v": say(versionString); return 0
        case "S": warn("vconvert: -S (sqwebmail-pass files) is not supported"); return 255
        default: usage(); return 255
        }
    }
    let stores = ["cdb", "mysql", "pgsql", "sqlite"]
    guard let src = from, let dst = to, stores.contains(dst), stores.contains(src) || src == "passwd" || src == "file" else {
        usage()
        return 255
    }
    if src == dst { warn("vconvert: the source and the target are the same store (\(src))"); return 255 }
    let needed = Set([src, dst]).subtracting(["cdb", "passwd", "file"])
    if !needed.isSubset(of: sqlModulesAvailable) {
        do { try Vpopmail.handOverToSQL(home: home, module: "all") } catch { throw fail(error) }
    }
    func open(_ module: String) throws(Exit) -> Vpopmail {
        var c = config
        c.authModule = module
        do {
            return try Vpopmail(home: home, config: c, qmailDir: Proc.env("QMAILDIR").flatMap { $0.isEmpty ? nil : $0 })
        } catch {
            warn("Error - \(error.message). Initial open.")
            throw Exit(error.code)
        }
    }
    let source = try open(src == "file" ? "cdb" : src)
    let target = try open(dst)
    var extra: [Account]? = nil
    if src == "file" {
        guard let path = passFile, let text = try? FS.readText(path) else {
            warn("vconvert: cannot read \(passFile ?? "")")
            return 255
        }
        extra = Bytes.textLines(text).compactMap { l in
            let f = l.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count >= 2, !f[0].isEmpty else { return nil }
            return Account(name: String(f[0]).lowercased(), passwordHash: String(f[1]), gecos: String(f[0]), home: "", quota: "")
        }
    }

    var domains = Array(g.rest.map { $0.lowercased() })
    do {
        if domains.isEmpty { domains = try source.qmail.domainEntries().map(\.name) }
    } catch { throw fail(error) }
    var status: Int32 = 0
    var seen = Set<String>()
    for name in domains where seen.insert(name).inserted {
        do throws(VpopmailError) {
            guard let d = try source.domain(name) else {
                say("\(name): domain does not exist")
                status = 255
                continue
            }
            if d.isAlias {
                say("\(d.name) is an alias of \(d.realDomain).")
                try target.tables?.aliasDomainAdded(alias: d.name, real: d.realDomain)
                continue
            }
            let n: Int
            if src == "passwd" || src == "file" {
                var list: [Account]
                if let extra { list = extra } else { list = try source.store.accounts(in: d) }
                n = try convertSystem(list, into: target, domain: d, quiet: quiet)
            } else {
                n = try convertDomain(d, from: source, to: target, quiet: quiet)
            }
            say("converting \(d.name)...    done (\(n) accounts)")
        } catch {
            say("converting \(name)...    domain conversion failed: \(error.message)")
            status = error.code.exitStatus
        }
    }
    // The IP map is one table for the whole installation.
    if g.rest.isEmpty && src != "passwd" && src != "file" {
        do {
            let have = Set(try target.ipMap().map { "\($0.ip) \($0.domain)" })
            for e in try source.ipMap() where !have.contains("\(e.ip) \(e.domain)") {
                try target.addIPMap(ip: e.ip, domain: e.domain)
            }
        } catch {
            say("ip map conversion failed: \(error.message)")
            status = error.code.exitStatus
        }
    }
    return status
}

/// Prints `  n/total accounts` on stderr every 10,000 accounts (long runs only).
private func progress(_ done: Int, _ total: Int, quiet: Bool) {
    if !quiet && total >= 20_000 { warn("  \(done)/\(total) accounts") }
}

/// Copies one domain between two stores that both hold vpopmail accounts.
private func convertDomain(_ d: DomainInfo, from source: Vpopmail, to target: Vpopmail, quiet: Bool) throws(VpopmailError) -> Int {
    let accounts = try source.store.accounts(in: d)
    let lock = try target.store.lock(domain: d)
    defer { lock.unlock() }
    try target.tables?.domainAdded(d.realDomain)
    var existing: [String: Account] = [:]
    for a in try target.store.accounts(in: d) { existing[a.name] = a }
    let fresh = accounts.filter { existing[$0.name] == nil }
    let changed = accounts.filter { existing[$0.name] != nil && existing[$0.name] != $0 }
    let chunk = 10_000
    var done = 0
    var i = 0
    // The cdb store rewrites vpasswd per insert: one insert of everything there.
    let step = target.tables == nil ? max(fresh.count, 1) : chunk
    while i < fresh.count {
        let part = Array(fresh[i..<min(i + step, fresh.count)])
        try target.store.insert(part, in: d)
        done += part.count
        i += step
        progress(done, fresh.count, quiet: quiet)
    }
    for a in changed { try target.store.update(a, in: d, rebuildIndex: false) }
    if !changed.isEmpty { try target.store.rebuildIndex(in: d) }

    // The hashing state, so that new users continue the same bucket sequence.
    let dc = try source.loadDirControl(d.realDomain, d.dir + "/.dir-control")
    try target.saveDirControl(dc, d.realDomain, d.dir + "/.dir-control", owner: d.owner)

    // Last logins: one query from a table, one transaction into one.
    let bulk = try source.lastAuths(d)
    var logins: [(user: String, ip: String, time: Int)] = []
    for a in accounts {
        let (t, ip) = bulk.map { ($0[a.name]?.time ?? 0, $0[a.name]?.ip) } ?? source.lastAuth(a, domain: d.realDomain)
        if t != 0 { logins.append((a.name, ip ?? "", t)) }
    }
    if let tables = target.tables {
        try tables.setLastAuths(logins, domain: d.realDomain)
    } else {
        var byName: [String: Account] = [:]
        for a in accounts { byName[a.name] = a }
        for l in logins { if let a = byName[l.user] { target.setLastAuth(a, domain: d, ip: l.ip, at: l.time) } }
    }

    // Aliases and limits, unless both keep them in the same files.
    if (source.tables?.keepsAliases ?? false) || (target.tables?.keepsAliases ?? false) {
        for name in try source.aliasNames(d) {
            let have = try target.aliasLines(name, d) ?? []
            for line in try source.aliasLines(name, d) ?? [] where !have.contains(line) {
                try target.addAliasLine(name, line, domain: d.realDomain)
            }
        }
    }
    if (source.tables?.keepsLimits ?? false) || (target.tables?.keepsLimits ?? false) {
        let own = source.tables?.keepsLimits == true ? try source.tables!.limits(domain: d.realDomain) != nil
                                                     : FS.exists(source.limitsPath(d))
        if own { try target.setLimits(try source.limits(d), for: d) }
    }
    return accounts.count
}

/// `-e` and `-p`: system accounts become new vpopmail accounts of the domain (a vpopmail home
/// each) with their existing hashes; accounts without a usable hash (locked, 2 characters or
/// fewer) are skipped, accounts already present are left alone.
private func convertSystem(_ list: [Account], into target: Vpopmail, domain d: DomainInfo, quiet: Bool) throws(VpopmailError) -> Int {
    let existing = Set(try target.store.accounts(in: d).map(\.name))
    let add = list.filter { $0.passwordHash.utf8.count > 2 && !existing.contains($0.name) && Validate.isUsernameValid($0.name) }
    var i = 0
    while i < add.count {
        let part = add[i..<min(i + 10_000, add.count)]
        try target.addUsers(part.map { Vpopmail.NewAccount(name: $0.name, password: .hash($0.passwordHash), gecos: $0.gecos) },
                            domain: d.realDomain)
        i += part.count
        progress(i, add.count, quiet: quiet)
    }
    return add.count
}
