import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

// MARK: vadddomain

func vadddomainUsage() {
    say("vadddomain: usage: vadddomain [options] virtual_domain [postmaster password]")
    say("options: -v prints the version")
    say("         -q quota_in_bytes (sets the postmaster quota)")
    say("         -b (unknown users bounce: .qmail-default ends in bounce-no-mailbox)")
    say("         -e email_address (forwards unknown users to this address or mailbox)")
    say("         -u user (sets the uid/gid/home from this /etc/passwd user)")
    say("         -d dir (base directory; domains go in dir/domains)")
    say("         -i uid (sets the uid for this domain)")
    say("         -g gid (sets the gid for this domain)")
    say("         -O (optimize for bulk adds: no HUP of qmail-send, no qmail-newmrh)")
    say("         -r[len] (generate a len (default 12) char random postmaster password)")
}

func vadddomain(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "q:be:u:d:i:g:Or::v")
    var quota: String? = nil, catchAll: String? = nil, unixUser: String? = nil, baseDir: String? = nil
    var uid: UInt32? = nil, gid: UInt32? = nil, optimize = false, randomLen: Int? = nil, bounce = false
    while let c = g.next() {
        switch c {
        case "q": quota = g.optarg
        case "b": bounce = true
        case "e": catchAll = g.optarg
        case "u": unixUser = g.optarg
        case "d": baseDir = g.optarg
        case "i":
            guard let n = UInt32(g.optarg ?? "") else { say("Error: invalid uid \(g.optarg ?? "")"); return 255 }
            uid = n
        case "g":
            guard let n = UInt32(g.optarg ?? "") else { say("Error: invalid gid \(g.optarg ?? "")"); return 255 }
            gid = n
        case "O": optimize = true
        case "r": randomLen = Int(g.optarg ?? "") ?? 12
        case "v": say(versionString)
        default: vadddomainUsage(); return 255
        }
    }
    let rest = g.rest
    guard let domainArg = rest.first else { vadddomainUsage(); return 0 }
    var password = rest.count > 1 ? rest[1] : nil
    if password != nil && randomLen != nil {
        say("Error: don't use -r option when giving password on command line")
        return 255
    }
    if let l = randomLen, l > LengthLimits.maxClearPassword || l < 1 { throw fail(VpopmailError(.passwdTooLong)) }
    if let u = unixUser {
        guard let pw = getpwnam(u) else { say("Error: user \(u) not found in /etc/passwd"); return 255 }
        uid = pw.pointee.pw_uid
        gid = pw.pointee.pw_gid
        if baseDir == nil { baseDir = String(cString: pw.pointee.pw_dir) }
    }
    if let b = baseDir, !b.hasPrefix("/") { say("Error: -d needs an absolute path"); return 255 }
    let v = try openVpopmail()
    let domain = domainArg.lowercased()
    do throws(VpopmailError) {
        try Validate.checkNewDomain(domain)
        if try v.domain(domain) != nil { throw VpopmailError(.domainAlreadyExists) }
        if let q = quota { _ = try Quota.parse(q) }
    } catch { throw fail(error) }
    if let l = randomLen {
        password = Password.random(length: l)
    } else if password == nil {
        guard let p = readPasswordTwice(for: "postmaster"), !p.isEmpty else {
            say("Error: No password entered")
            return 255
        }
        password = p
    }
    let d: DomainInfo
    do {
        let r = try v.addDomain(domain, baseDir: baseDir, uid: uid, gid: gid, optimize: optimize)
        for n in r.notices { warn(n) }
        d = r.domain
    } catch { throw fail(error) }
    do {
        // Part of the domain's creation: no add_user onchange event (as upstream).
        v.suppressChangeHooks = true
        defer { v.suppressChangeHooks = false }
        try v.addUser(.init(name: "postmaster", password: .clear(password!), gecos: "Postmaster", quota: quota), domain: domain)
    } catch {
        // Upstream exits 0 here (bug); we report the failure and roll the domain back.
        say("Error: \(error.message)")
        try? v.deleteDomain(domain)
        throw Exit(error.code)
    }
    if bounce || catchAll != nil {
        var delivery = "bounce-no-mailbox"
        if let e = catchAll {
            delivery = e.contains("@") ? e : d.dir + "/" + (Validate.isUsernameValid(e) ? DirControl.homeName(for: e.lowercased()) : e)
        }
        do {
            try sys(.couldNotUpdateFile) { () throws(SystemError) in
                try FS.writeAtomic(d.dir + "/.qmail-default", v.qmailDefaultLine(delivery), mode: 0o600,
                                   owner: d.owner, sync: v.sync)
            }
        } catch { throw fail(error) }
    }
    if randomLen != nil { say("Random password: \(password!)") }
    return 0
}

// MARK: vdeldomain

func vdeldomain(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "vf")
    var force = false
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "f": force = true
        default: say("vdeldomain: usage: vdeldomain [options] domain_name"); say("options: -v (print version number)"); say("         -f (force delete of domain and all aliases)"); return 255
        }
    }
    guard let name = g.rest.first else {
        say("vdeldomain: usage: vdeldomain [options] domain_name")
        say("options: -v (print version number)")
        say("         -f (force delete of domain and all aliases)")
        return 0
    }
    let v = try openVpopmail()
    do {
        let d = try v.requireDomain(name)
        if !d.isAlias {
            let aliases = try v.aliasDomains(of: d.realDomain)
            if !aliases.isEmpty {
                if !force {
                    say("Warning: Alias domains exist:")
                    for a in aliases { say("   \(a)") }
                    say("   use -f to force delete of domain and all aliases")
                    return 0
                }
                say("Warning: Alias domains deleted:")
                for a in aliases { say("   \(a)") }
            }
        }
        try v.deleteDomain(name)
    } catch {
        if error.code == .cannotReadAssign { say("Error: Can't get domain entries - \(error.message)"); return Exit(error.code).status }
        throw fail(error)
    }
    return 0
}

// MARK: vaddaliasdomain

func vaddaliasdomain(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "v")
    func usage() {
        say("vaddaliasdomain: usage: vaddaliasdomain [options] real_domain alias_domain")
        say("options: -v (print version number)")
    }
    while let c = g.next() {
        if c == "v" { say(versionString) } else { usage(); return 255 }
    }
    let r = g.rest
    guard r.count >= 2 else { usage(); return 255 }
    let a = r[0].lowercased(), b = r[1].lowercased()
    if a == b {
        say("Error: real domain and alias domain are the same!")
        usage()
        return 255
    }
    let v = try openVpopmail()
    do {
        let da = try v.domain(a), db = try v.domain(b)
        if da != nil && db != nil { say("Error: Both domains already exist, unable to create alias."); return 255 }
        if da == nil && db == nil { say("Error: Neither '\(a)' or '\(b)'  exist, unable to create alias."); return 255 }
        let (real, alias) = da != nil ? (a, b) : (b, a)
        for n in try v.addAliasDomain(alias: alias, real: real) { warn(n) }
    } catch { throw fail(error) }
    return 0
}

// MARK: vdominfo

func vdominfo(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "nugdtrav")
    var sel: Set<Character> = []
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "a": sel = []
        case "n", "u", "g", "d", "t", "r": sel.insert(c)
        default:
            say("vdominfo: usage: [options] [domain]")
            say("options: -v (print version number)")
            say("         -a (display all fields, this is the default)")
            say("         -n (display domain name)")
            say("         -u (display uid field)")
            say("         -g (display gid field)")
            say("         -d (display domain directory)")
            say("         -t (display total users)")
            say("         -r (display real domain)")
            return 255
        }
    }
    let all = sel.isEmpty
    let v = try openVpopmail()
    func block(_ e: DomainInfo) {
        let users = (try? v.userCounter(DomainInfo(name: e.realDomain, realDomain: e.realDomain, uid: e.uid, gid: e.gid, dir: e.dir))) ?? 0
        if all {
            say(e.isAlias ? "domain: \(e.name) (alias of \(e.realDomain))" : "domain: \(e.name)")
            say("uid:    \(e.uid)")
            say("gid:    \(e.gid)")
            say("dir:    \(e.dir)")
            say("users:  \(users)")
            return
        }
        if sel.contains("n") { say(e.name) }
        if sel.contains("r") { say(e.realDomain) }
        if sel.contains("u") { say("\(e.uid)") }
        if sel.contains("g") { say("\(e.gid)") }
        if sel.contains("d") { say(e.dir) }
        if sel.contains("t") { say("\(users)") }
    }
    do {
        if let name = g.rest.first {
            guard let d = try v.domain(name) else { say("Invalid domain name"); return VACode.domainDoesNotExist.exitStatus }
            let real = try v.requireDomain(d.realDomain)
            block(real)
            if all { for a in try v.aliasDomains(of: real.realDomain) { say("alias: \(a)") } }
        } else {
            for e in try v.qmail.domainEntries() {
                block(e)
                say("")
            }
        }
    } catch {
        if error.code == .cannotReadAssign { say("Can't get domain entries - \(error.message)"); return Exit(error.code).status }
        throw fail(error)
    }
    return 0
}

// MARK: vipmap

func vipmap(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("vipmap: usage: [options]")
        say("options: -d ip domain (delete mapping)")
        say("         -a ip domain (add mapping)")
        say("         -p (print mapping)")
        say("         -v (print version number)")
    }
    var g = GetOpt(args, "dapv")
    var mode: Character? = nil
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "d", "a", "p": mode = c
        default: usage(); return 255
        }
    }
    guard let m = mode else { usage(); return 255 }
    let v = try openVpopmail()
    do {
        switch m {
        case "p":
            for e in try v.ipMap() { say("\(e.ip) \(e.domain)") }
        default:
            let r = g.rest
            guard r.count >= 2 else { usage(); return 255 }
            if m == "a" { try v.addIPMap(ip: r[0], domain: r[1]) } else { try v.deleteIPMap(ip: r[0], domain: r[1]) }
        }
    } catch { throw fail(error) }
    return 0
}

// MARK: vmoddomlimits

func vmoddomlimits(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("vmoddomlimits: usage: [options] domain")
        say("options: -v ( display the vpopmail version number )")
        say("         -d ( use the vlimits.default file, instead of domain )")
        say("         -S ( show current settings )")
        say("         -D ( delete limits for this domain, i.e. switch to default limits)")
        say("         -Q quota-in-megabytes ( set domain disk quota, '-1' for unlimited )")
        say("         -q quota-in-bytes ( set default user quota, K/M suffixes allowed )")
        say("         -M count ( set domain max msg count )")
        say("         -m count ( set default user max msg count )")
        say("         -P count ( set max amount of pop accounts )")
        say("         -A count ( set max amount of aliases )")
        say("         -F count ( set max amount of forwards )")
        say("         -R count ( set max amount of autoresponders )")
        say("         -L count ( set max amount of mailing lists )")
        say("the following options are bit flags in the gid int field")
        say("         -g \"flags\"  (set flags, see below)")
        say("         gid flags:")
        say("            u ( set no dialup flag )")
        say("            d ( set no password changing flag )")
        say("            p ( set no pop access flag )")
        say("            s ( set no smtp access flag )")
        say("            w ( set no web mail access flag )")
        say("            i ( set no imap access flag )")
        say("            r ( set no external relay flag )")
        say("            c ( set no spamassasssin flag )")
        say("            x ( set delete spam flag )")
        say("            m ( set no maildrop flag )")
        say("the following options are bit flags for non postmaster admins")
        say("         -p \"flags\"  (set pop account flags)")
        say("         -a \"flags\"  (set alias flags)")
        say("         -f \"flags\"  (set forward flags)")
        say("         -r \"flags\"  (set autoresponder flags)")
        say("         -l \"flags\"  (set mailinglist flags)")
        say("         -u \"flags\"  (set mailinglist users flags)")
        say("         -o \"flags\"  (set mailinglist moderators flags)")
        say("         -x \"flags\"  (set quota flags)")
        say("         -z \"flags\"  (set default quota flags)")
        say("         perm flags:")
        say("            a ( set deny all flag )")
        say("            c ( set deny create flag )")
        say("            m ( set deny modify flag )")
        say("            d ( set deny delete flag )")
    }
    var g = GetOpt(args, "vdSDQ:q:M:m:P:A:F:R:L:g:p:a:f:r:l:u:o:x:z:h")
    var useDefault = false, show = false, delete = false
    var edits: [(Character, String)] = []
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "d": useDefault = true
        case "S": show = true
        case "D": delete = true
        case "h": usage(); return 0
        case "?": usage(); return 255
        default: edits.append((c, g.optarg ?? ""))
        }
    }
    let v = try openVpopmail()
    var d: DomainInfo? = nil
    if !useDefault {
        guard let name = g.rest.first else { usage(); return 255 }
        do {
            guard let found = try v.domain(name) else { return 0 }
            d = found
        } catch { throw fail(error) }
    }
    var l: DomainLimits
    do {
        if let d { l = try v.limits(d) } else {
            guard let dl = try v.defaultLimits() else { say("Failed to read the vlimits.default file."); return 255 }
            l = dl
        }
    } catch { say("Failed to vget_limits"); return 255 }
    if delete {
        guard let d else { say("Failed to delete limits"); return 255 }
        do { try v.deleteLimits(d); say("Limits deleted") } catch { say("Failed to delete limits"); return 255 }
        return 0
    }
    func perm(_ s: String) -> Int {
        var p = 0
        for ch in s {
            switch ch {
            case "a", "A": p |= 7
            case "c", "C": p |= 1
            case "m", "M": p |= 2
            case "d", "D": p |= 4
            default: break
            }
        }
        return p
    }
    for (c, a) in edits {
        func int() throws(Exit) -> Int {
            guard let n = Int(a) else { say("Error: invalid number '\(a)' for -\(c)"); throw Exit(255) }
            return n
        }
        func u64() throws(Exit) -> UInt64 {
            if a == "-1" { return 0 }
            guard let n = UInt64(a) else { say("Error: invalid number '\(a)' for -\(c)"); throw Exit(255) }
            return n
        }
        switch c {
        case "Q": l.diskQuota = try u64()
        case "q":
            if a == "-1" || a.uppercased() == "NOQUOTA" { l.defaultQuota = 0; break }
            do { l.defaultQuota = try Quota.parse(a).bytes } catch { throw fail(error) }
        case "M": l.maxMsgCount = try u64()
        case "m": l.defaultMaxMsgCount = try u64()
        case "P": l.maxPopAccounts = try int()
        case "A": l.maxAliases = try int()
        case "F": l.maxForwards = try int()
        case "R": l.maxAutoresponders = try int()
        case "L": l.maxMailingLists = try int()
        case "g":
            l.disableDialup = a.contains("u"); l.disablePasswordChanging = a.contains("d")
            l.disablePOP = a.contains("p"); l.disableSMTP = a.contains("s"); l.disableWebmail = a.contains("w")
            l.disableIMAP = a.contains("i"); l.disableRelay = a.contains("r"); l.disableSpamassassin = a.contains("c")
            l.deleteSpam = a.contains("x"); l.disableMaildrop = a.contains("m")
        case "p": l.permAccount = perm(a)
        case "a": l.permAlias = perm(a)
        case "f": l.permForward = perm(a)
        case "r": l.permAutoresponder = perm(a)
        case "l": l.permMaillist = perm(a)
        case "u": l.permMaillistUsers = perm(a)
        case "o": l.permMaillistModerators = perm(a)
        case "x": l.permQuota = perm(a)
        case "z": l.permDefaultQuota = perm(a)
        default: break
        }
    }
    if show {
        say(d.map { "Domain: \($0.realDomain)" } ?? "Default limits: \(v.defaultLimitsPath)")
        say("--")
        say("Max Pop Accounts: \(l.maxPopAccounts)")
        say("Max Aliases: \(l.maxAliases)")
        say("Max Forwards: \(l.maxForwards)")
        say("Max Autoresponders: \(l.maxAutoresponders)")
        say("Max Mailinglists: \(l.maxMailingLists)")
        say("GID Flags:")
        let flags: [(Bool, String, String)] = [
            (l.disableIMAP, "NO_IMAP", "i"), (l.disableSMTP, "NO_SMTP", "s"), (l.disablePOP, "NO_POP", "p"),
            (l.disableWebmail, "NO_WEBMAIL", "w"), (l.disablePasswordChanging, "NO_PASSWD_CHNG", "d"),
            (l.disableRelay, "NO_RELAY", "r"), (l.disableDialup, "NO_DIALUP", "u"),
            (l.disableSpamassassin, "NO_SPAMASSASSIN", "c"), (l.deleteSpam, "DEL_SPAM", "x"),
            (l.disableMaildrop, "NO_MAILDROP", "m"),
        ]
        for f in flags where f.0 { say("  \(f.1)") }
        say("Flags (for commandline): " + flags.filter(\.0).map(\.2).joined())
        say("Flags for non postmaster accounts:")
        func permLine(_ label: String, _ p: Int) {
            var s = "  " + label
            while s.count < 26 { s += " " }
            s += (p & 1 != 0 ? "DENY_CREATE  " : "ALLOW_CREATE ")
            s += (p & 2 != 0 ? "DENY_MODIFY  " : "ALLOW_MODIFY ")
            s += (p & 4 != 0 ? "DENY_DELETE" : "ALLOW_DELETE")
            say(s)
        }
        permLine("pop account:", l.permAccount)
        permLine("alias:", l.permAlias)
        permLine("forward:", l.permForward)
        permLine("autoresponder:", l.permAutoresponder)
        permLine("mailinglist:", l.permMaillist)
        permLine("mailinglist users:", l.permMaillistUsers)
        permLine("mailinglist moderators:", l.permMaillistModerators)
        permLine("quota:", l.permQuota)
        permLine("default quota:", l.permDefaultQuota)
        say("Domain Quota: \(l.diskQuota) MB")
        say("Default User Quota: \(l.defaultQuota) bytes")
        say("Max Domain Messages: \(l.maxMsgCount)")
        say("Default Max Messages per User: \(l.defaultMaxMsgCount)")
        if edits.isEmpty { return 0 }
    }
    if !edits.isEmpty {
        do { try v.setLimits(l, for: d) } catch { say("Failed to vset_limits"); return 255 }
    }
    return 0
}
