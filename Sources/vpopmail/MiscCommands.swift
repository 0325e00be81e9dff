import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

// MARK: valias

func valias(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("valias: usage: [options] email_address ")
        say("options: -v ( display the vpopmail version number )")
        say("         -n ( show alias names, email_address is domain )")
        say("         -s ( show aliases, can use just domain )")
        say("         -d ( delete alias )")
        say("         -i alias_line (insert alias line)")
    }
    var g = GetOpt(args, "vsndi:")
    var mode: Character = "s"
    var insertLine = ""
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "s", "n", "d": mode = c
        case "i": mode = "i"; insertLine = g.optarg ?? ""
        default: usage(); return 254
        }
    }
    guard let target = g.rest.first else { usage(); return 254 }
    let v = try openVpopmail()
    let hasAt = target.contains("@")
    let (alias, domain) = hasAt ? Validate.splitAddress(target) : ("", target.lowercased())
    do throws(VpopmailError) {
        guard let d = try v.domain(domain) else { say("invalid domain, not in qmail assign file"); return 255 }
        switch mode {
        case "n":
            if hasAt { warn("Please enter domain name only."); return 255 }
            for n in try v.aliasNames(d) { say(n) }
        case "s":
            if hasAt {
                guard let lines = try v.aliasLines(alias, d), !lines.isEmpty else {
                    say("No aliases \(alias)@\(domain) found")
                    return 255
                }
                for l in lines { say("\(alias)@\(domain) -> \(l)") }
            } else {
                let names = try v.aliasNames(d)
                var any = false
                for n in names {
                    for l in try v.aliasLines(n, d) ?? [] { say("\(n)@\(domain) -> \(l)"); any = true }
                }
                if !any { say("No aliases found for domain \(domain)"); return 255 }
            }
        case "i":
            guard hasAt else { usage(); return 254 }
            do { try v.addAliasLine(alias, insertLine, domain: domain) } catch {
                if error.code == .aliasExists { warn("Error: \(error.message)"); return 255 }
                throw error
            }
        case "d":
            guard hasAt else { usage(); return 254 }
            try v.deleteAlias(alias, domain: domain)
        default: break
        }
    } catch { throw fail(error) }
    return 0
}

// MARK: vpopbull

func vpopbull(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("vpopbull: usage: [options] -f emailfile [virtual_domain] [...]")
        say("options: -v (print version number)")
        say("         -V (verbose)")
        say("         -f file (file containing the email message)")
        say("         -e file (file containing emails to exclude)")
        say("         -n (don't mail. Use with -V to list accounts)")
        say("         -c (default, copy file)")
        say("         -h (use hard links)")
        say("         -s (use symbolic links)")
    }
    var g = GetOpt(args, "vVf:e:nchs")
    var file: String? = nil, exclude: String? = nil, noMail = false, verbose = false
    var method: Character = "c"
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "V": verbose = true
        case "f": file = g.optarg
        case "e": exclude = g.optarg
        case "n": noMail = true
        case "c", "h", "s": method = c
        default: usage(); return 255
        }
    }
    if file == nil && !noMail { usage(); return 255 }
    var message: [UInt8] = []
    if let f = file {
        guard let m = try? FS.read(f), !m.isEmpty else { say("Error: could not read message file \(f) or it is empty"); return 255 }
        message = m
    }
    var excluded = Set<String>()
    if let e = exclude {
        guard let t = try? FS.readText(e) else { say("Error: could not read exclude file \(e)"); return 255 }
        for l in Bytes.textLines(t) { excluded.insert(l.trimmingSpaces().lowercased()) }
    }
    let v = try openVpopmail()
    var domains = g.rest.map { $0.lowercased() }
    do {
        if domains.isEmpty {
            domains = try v.qmail.domainEntries().filter { !$0.isAlias }.map(\.name)
        }
    } catch { throw fail(error) }
    // Date header when the message has none in its header block.
    let headerEnd: Int = {
        let b = message
        var i = 0
        while i < b.count {
            if b[i] == 10 && (i == 0 || b[i - 1] == 10) { return i }
            i += 1
        }
        return b.count
    }()
    let headerText = String(decoding: message[0..<headerEnd], as: UTF8.self).lowercased()
    let hasDate = headerText.hasPrefix("date:") || headerText.contains("\ndate:")
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, 255)
    let now = time(nil)
    let hostName = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let fileName = "\(now).\(getpid()).\(hostName)"
    var status: Int32 = 0
    for dom in domains {
        do {
            guard let d = try v.domain(dom) else { say("Error: Domain does not exist: \(dom)"); status = 255; continue }
            if d.isAlias { if verbose { say("skipping alias domain \(dom)") }; continue }
            for a in try v.store.accounts(in: d) {
                let addr = "\(a.name)@\(d.realDomain)"
                if excluded.contains(addr) { continue }
                if verbose || noMail { say(addr) }
                if noMail { continue }
                let newDir = a.maildir + "/new"
                if !FS.isDirectory(newDir) {
                    try? FS.mkdirs(a.home, mode: 0o700, owner: d.owner)
                    try? Maildir.create(home: a.home, owner: d.owner)
                }
                let dest = newDir + "/" + fileName
                var ok = true
                switch method {
                case "h": ok = link(file!, dest) == 0
                case "s": ok = symlink(file!, dest) == 0
                default:
                    var out = Array("To: \(addr)\n".utf8)
                    if !hasDate { out += Array("Date: \(rfc2822Date(now))\n".utf8) }
                    out += message
                    do { try FS.writeAtomic(dest, out, mode: 0o600, owner: (v.vpopUID, v.vpopGID), sync: v.sync) } catch { ok = false }
                }
                if !ok { say("\(addr): ERROR COPYING TO \(newDir)"); status = 255 }
            }
        } catch { say("Error: \(error.message)"); status = Exit(error.code).status }
    }
    return status
}

// MARK: vdeloldusers

func vdeloldusers(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("vdeloldusers: usage: [options]")
        say("options: -a age_in_days (will delete accounts older than this date)")
        say("                        (default 6 months or 180 days)")
        say("         -d domain (only delete users in this domain)")
        say("         -e (delete users in all domains)")
        say("         -D (actually delete users. no users are deleted without this option)")
        say("         -V (verbose -- print old users that will be deleted)")
        say("         -v (print version number)")
    }
    var g = GetOpt(args, "a:d:eDVv")
    var days = 180, domain: String? = nil, everything = false, doDelete = false, verbose = false
    while let c = g.next() {
        switch c {
        case "a":
            guard let n = Int(g.optarg ?? ""), n >= 0 else { usage(); return 255 }
            days = n
        case "d": domain = g.optarg
        case "e": everything = true
        case "D": doDelete = true
        case "V": verbose = true
        case "v": say(versionString); return 255
        default: usage(); return 255
        }
    }
    if domain == nil && !everything { usage(); return 255 }
    let v = try openVpopmail()
    if !v.config.authLogging {
        say("vdeloldusers needs auth-logging = y in vpopmail.conf (last-login times are not recorded)")
        return 255
    }
    let cutoff = Int(time(nil)) - days * 86400
    var found = 0
    do throws(VpopmailError) {
        var domains: [String]
        if let dm = domain { domains = [dm.lowercased()] } else { domains = try v.qmail.domainEntries().filter { !$0.isAlias }.map(\.name) }
        for dom in domains {
            let (accounts, d) = try v.users(domain: dom)
            let bulk = try v.lastAuths(d)
            for a in accounts where a.name != "postmaster" {
                let t = bulk.map { $0[a.name]?.time ?? 0 } ?? v.lastAuth(a, domain: d.realDomain).time
                guard t != 0 && t < cutoff else { continue }
                found += 1
                if verbose { say("\(a.name)@\(d.realDomain)") }
                if doDelete { try v.deleteUser(a.name, domain: d.realDomain) }
            }
        }
    } catch { throw fail(error) }
    if found == 0 { say("no old users found") }
    else if !doDelete { say(" ** no users were deleted  **"); say(" ** use -D to delete users **") }
    return 0
}

// MARK: clearopensmtp

func clearopensmtp(_ args: [String]) throws(Exit) -> Int32 {
    let v = try openVpopmail()
    guard v.config.roamingUsers else {
        say("vpopmail not configure with --enable-roaming-users")
        return 0
    }
    do { try Relay(v).clear(now: Int(time(nil))) } catch { throw fail(error) }
    return 0
}
