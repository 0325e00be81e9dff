import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// Prints a library error the way vadduser/vpasswd do, with the policy text for policy codes.
func failWithPolicy(_ v: Vpopmail, _ e: VpopmailError) -> Exit {
    say("Error: \(e.message)")
    if (-74 ... -69).contains(e.code.rawValue),
       let t = try? FS.readText(v.etcDir + "/password_strength.conf") {
        let policy = PasswordPolicy.parse(t).policy
        say("A password policy is in place:\t\(policy)")
    }
    return Exit(e.code)
}

// MARK: vadduser

func vadduserUsage() {
    say("vadduser: usage: [options] email_address [passwd]")
    say("options: -v (print the version)")
    say("         -q quota_in_bytes (sets the users quota limit)")
    say("         -s (obsolete: no longer used)")
    say("         -c comment (sets the gecos comment field)")
    say("         -e standard_encrypted_password")
    say("         -n no_password")
    say("         -r[len] (generate a len (default 12) char random password)")
    say("         -f file (bulk import: lines of user@domain:password-or-hash[:quota[:gecos]])")
}

func vadduser(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "q:c:e:r::svf:")
    var quota: String? = nil, gecos: String? = nil, hash: String? = nil, randomLen: Int? = nil, file: String? = nil
    while let c = g.next() {
        switch c {
        case "q": quota = g.optarg
        case "c": gecos = g.optarg
        case "e": hash = g.optarg
        case "r": randomLen = Int(g.optarg ?? "") ?? 12
        case "s": warn("Warning: The -s option has been disabled.")
        case "v": say(versionString)
        case "f": file = g.optarg
        default: vadduserUsage(); return 255
        }
    }
    if let f = file { return try bulkImport(f) }
    let rest = g.rest
    guard let email = rest.first else { vadduserUsage(); return 255 }
    let v = try openVpopmail()
    let (user, domain) = splitEmail(v, email)
    if domain.isEmpty {
        say("You did not use a full email address for the user name")
        say("Only full email addresses should be used")
        return 255
    }
    do {
        if try v.domain(domain) == nil { say("Error: Domain does not exist"); return 255 }
        if try v.user(user, domain: domain) != nil { say("Error: User already exists"); return 255 }
        if let q = quota { _ = try Quota.parse(q) }
    } catch {
        throw failWithPolicy(v, error)
    }
    if let l = randomLen, l > LengthLimits.maxClearPassword || l < 1 { throw fail(VpopmailError(.passwdTooLong)) }
    var password: Vpopmail.NewPassword
    var random: String? = nil
    if let h = hash {
        password = .hash(h)
    } else if rest.count > 1 {
        password = .clear(rest[1])
    } else if let l = randomLen {
        random = Password.random(length: l)
        password = .clear(random!)
    } else {
        guard let p = readPasswordTwice(for: "\(user)@\(domain)"), !p.isEmpty else {
            say("Error: No password entered")
            vadduserUsage()
            return 255
        }
        password = .clear(p)
    }
    do {
        try v.addUser(.init(name: user, password: password, gecos: gecos, quota: quota), domain: domain)
    } catch {
        throw failWithPolicy(v, error)
    }
    if let r = random { say("Random password: \(r)") }
    return 0
}

/// `vadduser -f FILE`: lines of `user@domain:password-or-hash[:quota[:gecos]]`. A value that starts
/// with `$` or `{SCHEME}` is a crypt(3) hash, anything else a clear password. Accounts are added
/// per domain in one pass (one lock, one vpasswd rewrite, one cdb build per domain); a bad line
/// is reported with its number and nothing of that domain is added.
func bulkImport(_ path: String) throws(Exit) -> Int32 {
    let v = try openVpopmail()
    let text: String
    do {
        guard let t = try FS.readText(path == "-" ? "/dev/stdin" : path) else {
            say("Error: cannot read \(path)")
            return Exit(.ioError).status
        }
        text = t
    } catch {
        say("Error: cannot read \(path): \(error)")
        return Exit(.ioError).status
    }
    var byDomain: [String: [Vpopmail.NewAccount]] = [:]
    var order: [String] = []
    var lineNo = 0
    for raw in Bytes.textLines(text) {
        lineNo += 1
        let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
        if line.isEmpty || line.hasPrefix("#") { continue }
        let f = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 2, !f[1].isEmpty else {
            say("Error: \(path):\(lineNo): expected user@domain:password[:quota[:gecos]]")
            return Exit(.parseError).status
        }
        let (user, domain) = splitEmail(v, f[0])
        guard !domain.isEmpty else {
            say("Error: \(path):\(lineNo): not a full email address: \(Validate.printable(f[0]))")
            return Exit(.parseError).status
        }
        let pw: Vpopmail.NewPassword = (f[1].hasPrefix("$") || f[1].hasPrefix("{")) ? .hash(f[1]) : .clear(f[1])
        let quota = f.count > 2 && !f[2].isEmpty ? f[2] : nil
        let gecos = f.count > 3 && !f[3].isEmpty ? f[3] : nil
        if byDomain[domain] == nil { order.append(domain) }
        byDomain[domain, default: []].append(.init(name: user, password: pw, gecos: gecos, quota: quota))
    }
    var total = 0
    for domain in order {
        let list = byDomain[domain]!
        do {
            try v.addUsers(list, domain: domain)
            total += list.count
        } catch {
            say("Error: \(domain): \(error.message)")
            say("\(total) accounts added")
            return Exit(error.code).status
        }
    }
    say("\(total) accounts added")
    return 0
}

// MARK: vdeluser

func vdeluser(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "v")
    func usage() {
        say("vdeluser: usage: [options] email_address")
        say("options: -v (print version number)")
    }
    while let c = g.next() {
        if c == "v" { say(versionString) } else { usage(); return 255 }
    }
    guard let email = g.rest.first else { usage(); return 255 }
    let v = try openVpopmail()
    let (user, domain) = splitEmail(v, email)
    do { try v.deleteUser(user, domain: domain) } catch { throw fail(error) }
    return 0
}

// MARK: vpasswd

func vpasswdCommand(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "vr::")
    var randomLen: Int? = nil
    func usage() {
        say("vpasswd: usage: [options] email_address [passwd]")
        say("options: -v (print version number)")
        say("         -r[len] (generate a len (default 12) char random password)")
    }
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "r": randomLen = Int(g.optarg ?? "") ?? 12
        default: usage(); return 255
        }
    }
    let rest = g.rest
    guard let email = rest.first else { usage(); return 255 }
    let v = try openVpopmail()
    let (user, domain) = splitEmail(v, email)
    var password: String
    if rest.count > 1 {
        password = rest[1]
    } else if let l = randomLen {
        if l > LengthLimits.maxClearPassword || l < 1 { throw fail(VpopmailError(.passwdTooLong)) }
        password = Password.random(length: l)
    } else {
        do throws(VpopmailError) {
            if try v.user(user, domain: domain) == nil { throw VpopmailError(.userDoesNotExist) }
        } catch { throw fail(error) }
        guard let p = readPasswordTwice(for: "\(user)@\(domain)"), !p.isEmpty else {
            say("Error: No password entered")
            return 255
        }
        password = p
    }
    do { try v.setPassword(user, domain: domain, password: password) } catch { throw failWithPolicy(v, error) }
    if randomLen != nil && rest.count < 2 { say("Random password: \(password)") }
    return 0
}

// MARK: vsetuserquota

func vsetuserquota(_ args: [String]) throws(Exit) -> Int32 {
    var g = GetOpt(args, "v")
    func usage() {
        say("vsetuserquota: usage: [options] email_address|domain quota_in_bytes")
        say("options: -v (print version number)")
    }
    while let c = g.next() {
        if c == "v" { say(versionString) } else { usage(); return 255 }
    }
    let rest = g.rest
    guard rest.count >= 2 else { usage(); return 255 }
    let quota = rest[1].uppercased()
    let v = try openVpopmail()
    do {
        if rest[0].contains("@") {
            let (user, domain) = splitEmail(v, rest[0])
            try v.setQuota(user, domain: domain, quota: quota)
        } else {
            _ = try Quota.parse(quota)
            let (accounts, d) = try v.users(domain: rest[0])
            for a in accounts { try v.setQuota(a.name, domain: d.realDomain, quota: quota) }
        }
    } catch { throw fail(error) }
    return 0
}

// MARK: vmoduser

func vmoduser(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("vmoduser: usage: [options] email_addr or domain (for each user in domain)")
        say("options: -v ( display the vpopmail version number )")
        say("         -n ( don't rebuild the vpasswd.cdb file )")
        say("         -q quota ( set quota )")
        say("         -c comment (set the comment/gecos field )")
        say("         -e encrypted_passwd (set the password field )")
        say("         -C clear_text_passwd (set the password field )")
        say("         -D dir (set the home directory field; no files are moved )")
        say("the following options are bit flags in the gid int field")
        say("         -x ( clear all flags )")
        say("         -d ( don't allow user to change password )")
        say("         -p ( disable POP access )")
        say("         -s ( disable SMTP AUTH access )")
        say("         -w ( disable webmail [IMAP from localhost*] access )")
        say("         -i ( disable non-webmail IMAP access )")
        say("         -b ( bounce all mail )")
        say("         -o ( user is not subject to domain limits )")
        say("         -r ( disable roaming user/pop-before-smtp )")
        say("         -a ( grant qmailadmin administrator privileges )")
        say("         -S ( grant system administrator privileges - access all domains )")
        say("         -E ( grant system expert privileges )")
        say("         -f ( disable spamassassin )")
        say("         -F ( delete spam )")
        say("         -m ( disable maildrop )")
        say("         -u ( set no dialup flag )")
        say("         -0 ( set V_USER0 flag )")
        say("         -1 ( set V_USER1 flag )")
        say("         -2 ( set V_USER2 flag )")
        say("         -3 ( set V_USER3 flag )")
    }
    var g = GetOpt(args, "avxc:q:dpswibo0123he:C:D:nSEfFmru")
    var gecos: String? = nil, quota: String? = nil, hash: String? = nil, clear: String? = nil, dir: String? = nil
    var noRebuild = false, clearFlags = false
    var add: AccountFlags = []
    let letterFlags: [Character: AccountFlags] = [
        "d": .noPasswordChange, "p": .noPOP, "s": .noSMTP, "w": .noWebmail, "i": .noIMAP, "b": .bounceMail,
        "o": .overrideDomainLimits, "r": .noRelay, "u": .noDialup, "0": .user0, "1": .user1, "2": .user2,
        "3": .user3, "a": .qmailAdmin, "f": .noSpamassassin, "F": .deleteSpam, "m": .noMaildrop,
    ]
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "h": usage(); return 0
        case "c": gecos = g.optarg
        case "q": quota = g.optarg
        case "e": hash = g.optarg
        case "C": clear = g.optarg
        case "D": dir = g.optarg
        case "n": noRebuild = true
        case "x": clearFlags = true
        case "S": if getuid() == 0 { add.insert(.systemAdmin) }
        case "E": if getuid() == 0 { add.insert(.systemExpert) }
        default:
            if let f = letterFlags[c] { add.insert(f) } else { usage(); return 255 }
        }
    }
    guard let target = g.rest.first else { usage(); return 255 }
    let v = try openVpopmail()
    do throws(VpopmailError) {
        if let q = quota { quota = try Quota.parse(q).description }
        if let d = dir, !d.hasPrefix("/") { throw VpopmailError(.badDir, "the home directory must be an absolute path") }
        if let g = gecos, g.contains(":") || g.contains("\n") { throw VpopmailError(.badChar, "bad character in gecos") }
        if let c = clear, c.utf8.count > LengthLimits.maxClearPassword { throw VpopmailError(.passwdTooLong) }
    } catch { throw fail(error) }
    let newHash: String?
    do { newHash = try clear.map { (c) throws(VpopmailError) in try Password.hash(c, scheme: v.config.passwordScheme) } } catch { throw fail(error) }
    func apply(_ user: String, _ domain: String) throws(VpopmailError) {
        let a = try v.modifyUser(user, domain: domain, rebuildIndex: !noRebuild) { (a) throws(VpopmailError) in
            if let g = gecos { a.gecos = g }
            if let q = quota { a.quota = q }
            if let h = hash { a.passwordHash = h }
            if let h = newHash {
                a.passwordHash = h
                if v.config.clearPasswd { a.clearPassword = clear }
            }
            if let d = dir { a.home = d }
            if clearFlags { a.flags = [] }
            a.flags.formUnion(add)
        }
        if quota != nil { try v.rebuildMaildirsize(a, domain: try v.requireDomain(domain)) }
    }
    if target.contains("@") {
        let (user, domain) = splitEmail(v, target)
        do { try apply(user, domain) } catch {
            if error.code == .userDoesNotExist { say("no such user \(user)@\(domain)"); return 255 }
            throw fail(error)
        }
    } else {
        do {
            let (accounts, d) = try v.users(domain: target)
            for a in accounts { try apply(a.name, d.realDomain) }
        } catch { throw fail(error) }
    }
    return 0
}

// MARK: vuserinfo

func asctimeString(_ t: Int) -> String {
    var tt = time_t(t)
    var tmv = tm()
    localtime_r(&tt, &tmv)
    var buf = [UInt8](repeating: 0, count: 64)
    buf.withUnsafeMutableBufferPointer { b in
        b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 64) { _ = asctime_r(&tmv, $0) }
    }
    return String(decoding: buf.prefix(while: { $0 != 0 }), as: UTF8.self)  // ends in a newline, like asctime(3)
}

func vuserinfo(_ args: [String]) throws(Exit) -> Int32 {
    func usage() {
        say("vuserinfo: usage: [options] email_address")
        say("options: -v (print version number)")
        say("         -a (display all fields, this is the default)")
        say("         -n (display name field)")
        say("         -p (display crypted password)")
        say("         -u (display uid field)")
        say("         -g (display gid field)")
        say("         -c (display comment field)")
        say("         -d (display directory)")
        say("         -q (display quota field)")
        say("         -Q (display quota usage)")
        say("         -C (display clear text password)")
        say("         -l (display last authentication time)")
        say("         -D domain (display all users in this domain)")
    }
    var g = GetOpt(args, "vanpugcdqQClD:")
    var sel: Set<Character> = []
    var domainAll: String? = nil
    while let c = g.next() {
        switch c {
        case "v": say(versionString)
        case "a": sel = []
        case "D": domainAll = g.optarg
        case "n", "p", "u", "g", "c", "d", "q", "Q", "C", "l": sel.insert(c)
        default: usage(); return 255
        }
    }
    let v = try openVpopmail()
    let all = sel.isEmpty
    var limitsOfDomain: (dir: String, limits: DomainLimits)? = nil
    func display(_ a: Account, _ d: DomainInfo) throws(VpopmailError) {
        // One read of the domain's limits, also for a -D listing of every user.
        if limitsOfDomain?.dir != d.dir { limitsOfDomain = (d.dir, try v.limits(d)) }
        let limits = limitsOfDomain!.limits
        let flags = v.effectiveFlags(a, limits: limits)
        let quota = Quota.stored(a.quota)
        func usageText() -> String {
            if quota.isNone { return "NOQUOTA" }
            let u = Maildir.usage(maildir: a.maildir, quota: a.quota, owner: d.owner, sync: v.sync)
            return "\(Maildir.percent(bytes: u.bytes, count: u.count, quota: quota))%"
        }
        if all {
            say("name:   \(a.name)")
            say("passwd: \(a.passwordHash)")
            say("clear passwd: \(a.clearPassword ?? "")")
            say("comment/gecos: \(a.gecos)")
            say("uid:    \(a.apopMarker)")
            say("gid:    \(a.flags.rawValue)")
            say("flags:  \(flags.rawValue)")
            say("gecos: \(a.gecos)")
            if flags.isEmpty {
                say("limits: No user limits set.")
            } else {
                say("limits: ")
                for (f, text) in AccountFlags.descriptions where flags.contains(f) {
                    say("        \(text)" + (a.flags.contains(f) ? "" : " (*)"))
                }
                if flags != a.flags { say("        * = set by domain-wide limits") }
            }
            say("dir:       \(a.home)")
            say("quota:     \(a.quota)")
            say("usage:     \(usageText())")
            if v.config.authLogging { printLastAuth(a, d) }
            return
        }
        if sel.contains("n") { say(a.name) }
        if sel.contains("p") { say(a.passwordHash) }
        if sel.contains("C") { say(a.clearPassword ?? "") }
        if sel.contains("u") { say("\(a.apopMarker)") }
        if sel.contains("g") { say("\(a.flags.rawValue)") }
        if sel.contains("c") { say(a.gecos) }
        if sel.contains("d") { say(a.home) }
        if sel.contains("q") { say(a.quota) }
        if sel.contains("Q") { say(usageText()) }
        if sel.contains("l") { printLastAuth(a, d) }
    }
    func printLastAuth(_ a: Account, _ d: DomainInfo) {
        let (t, ip) = v.lastAuth(a, domain: d.realDomain)
        if t == 0 || ip == nil || ip == "0.0.0.0" || ip == "" {
            if t != 0 { print("account created: \(asctimeString(t))", terminator: "") }
            say("last auth: Never logged in")
        } else {
            print("last auth: \(asctimeString(t))", terminator: "")
            say("last auth ip: \(ip!)")
        }
    }
    do {
        if let dom = domainAll {
            let (accounts, d) = try v.users(domain: dom)
            for a in accounts {
                say(String(repeating: "-", count: 42))
                try display(a, d)
            }
            return 0
        }
        guard let email = g.rest.first else { usage(); return 255 }
        let (user, domain) = splitEmail(v, email)
        guard let (a, d) = try v.user(user, domain: domain) else {
            say("no such user \(user)@\(domain)")
            return 255
        }
        try display(a, d)
    } catch { throw fail(error) }
    return 0
}

// MARK: vmkpasswd

func vmkpasswd(_ args: [String]) throws(Exit) -> Int32 {
    let rest = Array(args.dropFirst())
    guard rest.count == 1 else {
        say("vmkpasswd: usage: vmkpasswd domain")
        return 255
    }
    let v = try openVpopmail()
    if v.config.authModule != "cdb" {
        warn("vmkpasswd: auth-module \(v.config.authModule) keeps no vpasswd.cdb; nothing to rebuild")
        return 0
    }
    do {
        let d = try v.requireDomain(rest[0])
        let lock = try v.store.lock(domain: d)
        defer { lock.unlock() }
        try v.store.rebuildIndex(in: d)
    } catch { throw fail(error) }
    return 0
}
