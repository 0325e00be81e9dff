import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// One vpopmaild connection: the login phase, then the commands of upstream 5.6's protocol
/// (docs/vpopmaild.md), each a call of the same library operation the commands use.
public final class Session {
    let v: Installation
    let io: Connection
    let clientIP: String
    /// Read timeout in seconds (upstream: 60).
    let timeout: Int32

    enum Level: Int, Comparable {
        case none = 0, user = 1, domainAdmin = 2, systemAdmin = 3
        static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    var level = Level.none
    var account: Account? = nil
    var loginDomain: DomainInfo? = nil
    /// The session's copy of the logged-in user's flags (QA_ADMIN added for a postmaster).
    var flags: UInt32 = 0
    var compact = false
    let domainCache = DomainCache()

    public init(_ v: Installation, io: Connection, clientIP: String, timeout: Int32 = 60) {
        self.v = v
        self.io = io
        self.clientIP = clientIP
        self.timeout = timeout
    }

    /// Serves the connection to its end; the exit status.
    public func run() -> Int32 {
        io.send(Wire.ok)
        guard loginPhase() else { return 0 }
        while true {
            switch io.readLine(timeout: timeout) {
            case .closed: return 0
            case .timeout: io.send(Wire.err(3, 106)); return 0
            case .tooLong: io.send(Wire.err(4, 107))
            case .line(let bytes):
                let line = CommandLine_(bytes)
                if line.isBlank { continue }
                if !command(line) { return 0 }
            }
        }
    }

    // MARK: - Login

    /// True when logged in; false when the connection ends.
    func loginPhase() -> Bool {
        var lines = 0
        var failures = 0
        while true {
            let line: CommandLine_
            switch io.readLine(timeout: timeout) {
            case .closed: return false
            case .timeout: io.send(Wire.err(3, 103)); return false
            case .tooLong: line = CommandLine_([])
            case .line(let b): line = CommandLine_(b)
            }
            lines += 1
            if lines > 4 { io.send(Wire.err(5, 102)); return false }
            if line.isBlank { continue }
            switch line.command {
            case "login", "clogin", "slogin":
                if let reply = login(line) {
                    failures += 1
                    if failures >= 4 { io.send(reply + Wire.err(5, 105)); return false }
                    io.send(reply)
                } else {
                    return true
                }
            case "help":
                io.send(Wire.okData + "login user@domain password\r\nclogin user@domain password\r\nslogin user@domain password\r\nhelp\r\nquit\r\n" + Wire.end)
            case "quit", "exit", "q":
                io.send(Wire.ok)
                return false
            default:
                io.send(Wire.err(4, 104))
            }
        }
    }

    /// nil when logged in (the reply sent), else the error reply to send.
    func login(_ line: CommandLine_) -> String? {
        let address = line.token(1)
        if address.isEmpty { return Wire.err(6, 203) }
        let password = line.rest(after: 1)
        if password.isEmpty { return Wire.err(7, 204) }
        var (user, domainName) = Validate.splitAddress(address)
        if domainName.isEmpty { domainName = v.defaultDomain(localIP: Proc.env("TCPLOCALIP")) }
        guard UserName.accepts(user), DomainName.accepts(domainName), password.utf8.count <= LengthLimits.maxClearPassword else {
            return Wire.err(8, 205)
        }
        let login = "\(user)@\(domainName)".lowercased()
        // The same throttling state as vchkpw: by client address and by login.
        let session = v.throttleSession(ip: clientIP, login: login)
        if let session {
            switch session.check(now: Int(time(nil))) {
            case .refuse(let key, let n):
                log("login refused: \(key) has \(n) recent failures (\(login) from \(clientIP))")
                Counters.add([.vpopmaildThrottled], home: v.home)
                return Wire.err(8, 207)
            case .proceed(let delay): Throttle.sleep(delay)
            }
        }
        var found: (account: Account, domain: DomainInfo)? = nil
        do { found = try v.user(user, domain: domainName) } catch {
            log("store error for \(login): \(error.message)")
        }
        guard let (a, d) = found else {
            Password.dummyVerify(password, scheme: v.config.passwordScheme)
            session?.failed(now: Int(time(nil)))
            Counters.add([.vpopmaildFailed], home: v.home)
            log("login failed: unknown user \(login) from \(clientIP)")
            return Wire.err(8, 206)
        }
        // The main password, or an app password that allows IMAP: that one logs in as the user
        // only (never with the account's admin rights).
        var viaAppPassword = false
        if a.passwordHash.isEmpty || !Password.verify(password, against: a.passwordHash) {
            guard (try? v.secrets(of: a, domain: d))?.appPassword(matching: password, for: .imap) != nil else {
                session?.failed(now: Int(time(nil)))
                Counters.add([.vpopmaildFailed], home: v.home)
                log("login failed: wrong password for \(login) from \(clientIP)")
                return Wire.err(8, 207)
            }
            viaAppPassword = true
        }
        session?.succeeded(now: Int(time(nil)))
        Counters.add(viaAppPassword ? [.vpopmaildOK, .appPasswordLogins] : [.vpopmaildOK], home: v.home)
        account = a
        loginDomain = d
        flags = a.flags.rawValue
        v.auditActor = AuditActor(who: login, via: "vpopmaild", from: clientIP)
        if viaAppPassword {
            level = .user
            flags &= ~(AccountFlags.systemAdmin.rawValue | AccountFlags.qmailAdmin.rawValue)
        } else if flags & AccountFlags.systemAdmin.rawValue != 0 {
            level = .systemAdmin
        } else if flags & AccountFlags.qmailAdmin.rawValue != 0 || a.name == "postmaster" {
            level = .domainAdmin
            flags |= AccountFlags.qmailAdmin.rawValue
        } else {
            level = .user
        }
        log("login \(login) from \(clientIP) as \(["user", "domain admin", "system admin"][level.rawValue - 1])")
        switch line.command {
        case "slogin":
            compact = true
            io.send(Wire.ok)
        default:
            compact = line.command == "clogin"
            var s = Wire.okData + "vpopmail_dir \(v.home)\r\ndomain_dir \(d.dir)\r\nuid \(d.uid)\r\ngid \(d.gid)\r\n"
            s += Wire.userBlock(a, flags: flags, compact: compact) + Wire.end
            io.send(s)
        }
        return nil
    }

    func log(_ message: String) {
        Syslog.send(Wire.oneLine(message), ident: "vpopmaild", socketPath: v.config.logSocket)
    }

    // MARK: - Commands

    /// The commands by session level (below it a command is not recognised).
    static let levels: [String: Level] = [
        "user_info": .domainAdmin, "list_domains": .systemAdmin, "find_domain": .systemAdmin, "domain_count": .systemAdmin,
        "add_alias_domain": .systemAdmin, "add_domain": .systemAdmin, "del_domain": .systemAdmin, "dom_info": .systemAdmin,
        "get_limits": .domainAdmin, "set_limits": .systemAdmin, "del_limits": .systemAdmin, "get_domain_size": .domainAdmin,
        "add_user": .domainAdmin, "del_user": .domainAdmin, "user_count": .domainAdmin, "list_users": .domainAdmin,
        "list_lists": .domainAdmin, "mod_user": .user, "get_lastauth": .user, "get_user_size": .user,
        "add_alias": .domainAdmin, "delete_alias": .domainAdmin, "remove_alias": .domainAdmin, "list_alias": .domainAdmin,
        "mk_dir": .user, "rm_dir": .user, "list_dir": .user, "rm_file": .user, "rename_file": .user, "write_file": .user,
        "read_file": .user, "stat_file": .user, "get_ip_map": .user, "add_ip_map": .systemAdmin, "del_ip_map": .systemAdmin,
        "show_ip_map": .systemAdmin, "add_list": .domainAdmin, "del_list": .domainAdmin, "mod_list": .domainAdmin,
        "help": .none, "quit": .none, "exit": .none, "q": .none,
    ]

    /// One command; false when the connection ends.
    func command(_ line: CommandLine_) -> Bool {
        let c = line.command
        guard let need = Session.levels[c], level >= need else { io.send(Wire.err(4, 107)); return true }
        switch c {
        case "quit", "exit", "q": io.send(Wire.ok); return false
        case "help": help()
        case "user_info": userInfo(line)
        case "list_domains": listDomains(line)
        case "find_domain": findDomain(line)
        case "domain_count": domainCount()
        case "add_alias_domain": addAliasDomain(line)
        case "add_domain": addDomain(line)
        case "del_domain": delDomain(line)
        case "dom_info": domInfo(line)
        case "get_limits": getLimits(line)
        case "set_limits": setLimits(line)
        case "del_limits": delLimits(line)
        case "get_domain_size": getDomainSize(line)
        case "add_user": addUser(line)
        case "del_user": delUser(line)
        case "user_count": userCount(line)
        case "list_users": listUsers(line)
        case "list_lists": listLists(line)
        case "mod_user": modUser(line)
        case "get_lastauth": getLastAuth(line)
        case "get_user_size": getUserSize(line)
        case "add_alias": addAlias(line)
        case "delete_alias": deleteAlias(line)
        case "remove_alias": removeAlias(line)
        case "list_alias": listAlias(line)
        case "mk_dir", "rm_dir", "list_dir", "rm_file", "rename_file", "write_file", "read_file", "stat_file": file(c, line)
        case "get_ip_map": getIPMap(line)
        case "add_ip_map": addIPMap(line)
        case "del_ip_map": delIPMap(line)
        case "show_ip_map": showIPMap()
        case "add_list": io.send(Wire.err(36, 4001))
        case "del_list": io.send(Wire.err(36, 4101))
        case "mod_list": io.send(Wire.err(36, 4201))
        default: io.send(Wire.err(4, 107))
        }
        return true
    }

    func help() {
        var s = Wire.okData
        for (c, need) in Session.levels.sorted(by: { $0.key < $1.key }) where level >= need { s += c + "\r\n" }
        io.send(s + Wire.end)
    }

    // MARK: - Who may act where

    /// Whether the session may act in `domain`: a system admin anywhere, a domain admin in its
    /// own login domain (its real domain), a user only where its own address is.
    func mayActIn(_ d: DomainInfo) -> Bool {
        switch level {
        case .systemAdmin: return true
        case .domainAdmin, .user: return loginDomain?.realDomain == d.realDomain
        case .none: return false
        }
    }

    /// `user@domain` of a command: the account and its domain, or the error reply sent.
    func target(_ address: String, major11 minor11: Int, unknown minor12: Int) -> (account: Account, domain: DomainInfo)? {
        let (u, dn) = Validate.splitAddress(address)
        guard !u.isEmpty, !dn.isEmpty, let d = domain(dn) else { io.send(Wire.err(12, minor12)); return nil }
        guard mayActIn(d) else { io.send(Wire.err(11, minor11)); return nil }
        guard let a = account(u, d) else { io.send(Wire.err(12, minor12)); return nil }
        return (a, d)
    }

    /// A domain argument the session may act in, or the error reply sent.
    func domainArg(_ name: String, _ minor: Int) -> DomainInfo? {
        guard !name.isEmpty else { io.send(Wire.err(13, minor)); return nil }
        guard let d = domain(name) else { io.send(Wire.err(11, minor)); return nil }
        guard mayActIn(d) else { io.send(Wire.err(11, minor)); return nil }
        return d
    }

    func requireAdminOf(_ d: DomainInfo, _ minor: Int) -> Bool {
        if level == .systemAdmin || (level == .domainAdmin && mayActIn(d)) { return true }
        io.send(Wire.err(11, minor))
        return false
    }

    // MARK: - Users

    func userInfo(_ line: CommandLine_) {
        guard !line.token(1).isEmpty else { io.send(Wire.err(6, 602)); return }
        guard let (a, d) = target(line.token(1), major11: 603, unknown: 605), requireAdminOf(d, 604) else { return }
        io.send(Wire.okData + Wire.userBlock(a, flags: a.flags.rawValue, compact: compact) + Wire.end)
    }

    func addUser(_ line: CommandLine_) {
        let address = line.token(1)
        guard !address.isEmpty else { io.send(Wire.err(6, 301)); return }
        let password = line.rest(after: 1)
        guard !password.isEmpty else { io.send(Wire.err(7, 302)); return }
        let (u, dn) = Validate.splitAddress(address)
        guard let d = domainArg(dn, 303), requireAdminOf(d, 304) else { return }
        do {
            let name = try UserName(newAccount: u)
            try v.addUser(.init(name: name, password: .clear(try v.clearPassword(password)), gecos: name.text), domain: d.realDomain)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err0(305, error.code.text))
        }
    }

    func delUser(_ line: CommandLine_) {
        let address = line.token(1)
        guard !address.isEmpty else { io.send(Wire.err(6, 401)); return }
        let (u, dn) = Validate.splitAddress(address)
        guard let d = domainArg(dn, 402), requireAdminOf(d, 403) else { return }
        do {
            try v.deleteUser(u, domain: d.realDomain)
            io.send(Wire.ok)
        } catch {
            io.send("-ERR 0,405 \(Wire.oneLine(error.code.text))\r\n")
        }
    }

    func userCount(_ line: CommandLine_) {
        guard let d = domainArg(line.token(1), 2101), requireAdminOf(d, 2102) else { return }
        guard let n = try? v.users(domain: d.realDomain).accounts.count else { io.send(Wire.err0(2103, "store error")); return }
        io.send(Wire.okData + "count \(n)\r\n" + Wire.end)
    }

    /// `page` and `per_page` (1-based; both > 0 to page).
    func page(_ line: CommandLine_, from n: Int) -> (first: Int, count: Int)? {
        guard let p = Int(line.token(n)), let per = Int(line.token(n + 1)), p > 0, per > 0 else { return nil }
        return ((p - 1) * per, per)
    }

    func listUsers(_ line: CommandLine_) {
        guard let d = domainArg(line.token(1), 2001), requireAdminOf(d, 2002) else { return }
        guard let all = try? v.users(domain: d.realDomain).accounts else { io.send(Wire.err0(2003, "store error")); return }
        var s = Wire.okData
        let range = page(line, from: 2)
        for (i, a) in all.enumerated() {
            if let r = range {
                if i >= r.first + r.count { break }
                if i < r.first { s += "\r\n"; continue }
            }
            s += Wire.userBlock(a, flags: a.flags.rawValue, compact: compact) + "\r\n"
        }
        io.send(s + Wire.end)
    }

    func getLastAuth(_ line: CommandLine_) {
        guard let (a, d) = target(line.token(1), major11: 2701, unknown: 2702) else { return }
        if level == .user && a.name != account?.name { io.send(Wire.err(9, 2703)); return }
        guard v.config.authLogging else { io.send(Wire.ok); return }
        let l = v.lastAuth(a, domain: d)
        io.send(Wire.okData + "time \(l?.time ?? 0)\r\nip \(l?.ip ?? "")\r\n" + Wire.end)
    }

    func getUserSize(_ line: CommandLine_) {
        guard let (a, _) = target(line.token(1), major11: 3801, unknown: 3802) else { return }
        if level == .user && a.name != account?.name { io.send("-ERR 3801 not authorized\r\n"); return }
        let u = Maildir.scan(a.maildir)
        io.send(Wire.okData + "size \(u.bytes)\r\ncount \(u.count)\r\n" + Wire.end)
    }

    func getDomainSize(_ line: CommandLine_) {
        guard let d = domainArg(line.token(1), 3901), requireAdminOf(d, 3902) else { return }
        guard let all = try? v.users(domain: d.realDomain).accounts else { io.send(Wire.err0(3903, "store error")); return }
        var s = Wire.okData
        var total: (UInt64, UInt64) = (0, 0)
        for a in all {
            let u = Maildir.scan(a.maildir)
            total.0 += u.bytes
            total.1 += u.count
            s += "user \(a.name)@\(d.realDomain)\r\nsize \(u.bytes)\r\ncount \(u.count)\r\n"
        }
        io.send(s + "domain \(d.realDomain)\r\nsize \(total.0)\r\ncount \(total.1)\r\n" + Wire.end)
    }

    /// Option lines up to `.`: (name, value) pairs, name and value split at space, `=` or `:`.
    func optionLines() -> [(String, String)]? {
        var out: [(String, String)] = []
        while true {
            switch io.readLine(timeout: timeout) {
            case .closed: return nil
            case .timeout: io.send(Wire.err(3, 106)); return nil
            case .tooLong: continue
            case .line(var b):
                while let l = b.last, l == 13 || l == 10 { b.removeLast() }
                while let f = b.first, f == 13 { b.removeFirst() }
                if b.first == UInt8(ascii: ".") { return out }
                guard let sep = b.firstIndex(where: { $0 == 32 || $0 == 61 || $0 == 58 || $0 == 9 }) else {
                    if !b.isEmpty { out.append((String(decoding: b, as: UTF8.self).lowercased(), "")) }
                    continue
                }
                let name = String(decoding: b[..<sep], as: UTF8.self).lowercased()
                var rest = b[(sep + 1)...]
                while let f = rest.first, f == 32 || f == 9 { rest = rest.dropFirst() }
                out.append((name, String(decoding: rest, as: UTF8.self)))
            }
        }
    }

    func modUser(_ line: CommandLine_) {
        let address = line.token(1)
        let (u, dn) = Validate.splitAddress(address)
        let found = domain(dn).flatMap { d in account(u, d).map { (account: $0, domain: d) } }
        // Who may target whom; the option lines are read in every case.
        var refusal: String? = nil
        if address.isEmpty || found == nil {
            refusal = Wire.err(12, 505)
        } else if level == .domainAdmin && !mayActIn(found!.domain) {
            refusal = Wire.err(11, 503)
        } else if level == .user && !(mayActIn(found!.domain) && found!.account.name == account?.name) {
            refusal = Wire.err(11, 504)
        }
        if refusal == nil { io.send(Wire.ok) }
        guard let options = optionLines() else { return }
        if let refusal { io.send(refusal); return }
        let (target, domain) = found!
        let isSA = level == .systemAdmin
        let override = isSA || (level == .domainAdmin && flags & AccountFlags.overrideDomainLimits.rawValue != 0)
        let limits = (try? v.limits(domain)) ?? DomainLimits()
        let noChange = v.effectiveFlags(target, limits: limits).contains(.noPasswordChange)
        let anyone: Set<String> = ["user_flag_2", "user_flag_3", "no_spamassassin", "delete_spam", "no_maildrop"]
        let overrideOnly: Set<String> = ["no_password_change", "no_pop", "no_webmail", "no_imap", "bounce_mail", "no_relay",
                                         "no_dialup", "user_flag_0", "user_flag_1", "no_smtp"]
        let flagBits = Dictionary(uniqueKeysWithValues: Wire.flagNames.map { ($0.0, $0.1) }
                                  + [("system_expert_privileges", AccountFlags.systemExpert.rawValue)])
        var quota: Quota? = nil
        do throws(VpopmailError) {
            var newPassword: ClearPassword? = nil
            var newHash: String? = nil
            var gecos: String? = nil
            var setFlags: [(UInt32, Bool)] = []
            var clearAll = false
            for (name, value) in options {
                switch name {
                case "comment": gecos = value
                case "encrypted_password": newHash = value
                case "clear_text_password": if !noChange { newPassword = try v.clearPassword(value) }
                case "quota": if override { quota = try Quota.parse(value) }
                case "clear_all_flags": if override && value == "1" { clearAll = true; setFlags = [] }
                case "domain_admin_privileges", "system_admin_privileges", "system_expert_privileges", "override_domain_limits":
                    let allowed = name == "domain_admin_privileges" ? level >= .domainAdmin : isSA
                    if allowed, value == "0" || value == "1" { setFlags.append((flagBits[name]!, value == "1")) }
                default:
                    if (anyone.contains(name) || (override && overrideOnly.contains(name))), value == "0" || value == "1" {
                        setFlags.append((flagBits[name]!, value == "1"))
                    }
                }
            }
            let hash = try newPassword.map { (p) throws(VpopmailError) in try Password.hash(p.text, scheme: v.config.passwordScheme) }
            let keepClear = v.config.clearPasswd
            try v.modifyUser(target.name, domain: domain.realDomain) { (a) throws(VpopmailError) in
                if let gecos { a.gecos = gecos }
                if let newHash { a.passwordHash = Password.storedForm(newHash) }
                if let p = newPassword, let hash {
                    a.passwordHash = hash
                    if keepClear { a.clearPassword = p.text }
                }
                if let quota { a.quota = quota }
                var f = clearAll ? 0 : a.flags.rawValue
                for (bit, on) in setFlags { f = on ? f | bit : f & ~bit }
                a.flags = AccountFlags(rawValue: f)
            }
            if quota != nil, let a = try v.user(target.name, domain: domain.realDomain)?.account {
                try v.rebuildMaildirsize(a, domain: domain)
            }
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err0(507, error.code.text))
        }
    }

    // MARK: - Domains

    func listDomains(_ line: CommandLine_) {
        guard let all = try? v.qmail.domainEntries() else { io.send(Wire.err(31, 1001)); return }
        var list = all[...]
        if let r = page(line, from: 1) { list = all.dropFirst(r.first).prefix(r.count) }
        io.send(Wire.okData + list.map { "\($0.realDomain) \($0.name)\r\n" }.joined() + Wire.end)
    }

    func findDomain(_ line: CommandLine_) {
        let name = line.token(1).lowercased()
        guard !name.isEmpty else { io.send(Wire.err(13, 1101)); return }
        guard let all = try? v.qmail.domainEntries() else { io.send(Wire.err(31, 1102)); return }
        guard let i = all.firstIndex(where: { $0.name == name }) else { io.send(Wire.okData + Wire.end); return }
        let per = Int(line.token(2)) ?? 0
        io.send(Wire.okData + "page \(per > 0 ? i / per + 1 : i + 1)\r\n" + Wire.end)
    }

    func domainCount() {
        guard let all = try? v.qmail.domainEntries() else { io.send(Wire.err(31, 1201)); return }
        io.send(Wire.okData + "count \(all.count)\r\n" + Wire.end)
    }

    func addAliasDomain(_ line: CommandLine_) {
        let real = line.token(1), alias = line.token(2)
        guard !real.isEmpty else { io.send(Wire.err(13, 1201)); return }
        guard !alias.isEmpty else { io.send(Wire.err(13, 1202)); return }
        do {
            _ = try v.addAliasDomain(alias: alias, real: real)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err0(1204, error.code.text))
        }
    }

    func addDomain(_ line: CommandLine_) {
        let name = line.token(1).lowercased()
        guard !name.isEmpty else { io.send(Wire.err(13, 801)); return }
        let password = line.rest(after: 1)
        guard !password.isEmpty else { io.send(Wire.err(7, 802)); return }
        let clear: ClearPassword
        do { clear = try v.clearPassword(password) } catch { io.send(Wire.err0(805, error.code.text)); return }
        do {
            _ = try v.addDomain(name)
        } catch {
            io.send(Wire.err0(804, error.code.text))
            return
        }
        do {
            v.suppressChangeHooks = true
            defer { v.suppressChangeHooks = false }
            try v.addUser(.init(name: UserName("postmaster")!, password: .clear(clear), gecos: "postmaster"), domain: name)
            io.send(Wire.ok)
        } catch {
            try? v.deleteDomain(name)
            io.send(Wire.err0(805, error.code.text))
        }
    }

    func delDomain(_ line: CommandLine_) {
        let name = line.token(1)
        guard !name.isEmpty else { io.send(Wire.err(13, 1301)); return }
        do {
            try v.deleteDomain(name)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err0(1303, error.code.text))
        }
    }

    func domInfo(_ line: CommandLine_) {
        let name = line.token(1)
        guard !name.isEmpty else { io.send(Wire.err(13, 1401)); return }
        do {
            let d = try v.requireDomain(name)
            var s = Wire.okData + "domain \(d.realDomain)\r\npath \(d.dir)\r\nuid \(d.uid)\r\ngid \(d.gid)\r\n"
            for a in try v.aliasDomains(of: d.realDomain) { s += "alias \(a)\r\n" }
            io.send(s + Wire.end)
        } catch {
            io.send(Wire.err0(error.code == .domainDoesNotExist ? 1403 : 1404, error.code.text))
        }
    }

    // MARK: - Limits

    typealias LimitField = (name: String, shown: Bool, get: (DomainLimits) -> Int, set: (inout DomainLimits, Int) -> Void)

    static func number(_ n: String, _ k: WritableKeyPath<DomainLimits, Int>) -> LimitField {
        (n, true, { $0[keyPath: k] }, { $0[keyPath: k] = $1 })
    }
    static func size(_ n: String, _ k: WritableKeyPath<DomainLimits, UInt64>) -> LimitField {
        (n, true, { Int(clamping: $0[keyPath: k]) }, { $0[keyPath: k] = UInt64(max(0, $1)) })
    }
    static func flag(_ n: String, _ k: WritableKeyPath<DomainLimits, Bool>) -> LimitField {
        (n, true, { $0[keyPath: k] ? 1 : 0 }, { $0[keyPath: k] = $1 != 0 })
    }
    static func perm(_ n: String, _ k: WritableKeyPath<DomainLimits, Int>, shown: Bool = true) -> LimitField {
        (n, shown, { $0[keyPath: k] }, { $0[keyPath: k] = $1 & 7 })
    }

    /// The limits as get_limits shows them (in upstream's order) and set_limits takes them.
    nonisolated(unsafe) static let limitFields: [LimitField] = [
        number("max_popaccounts", \.maxPopAccounts), number("max_aliases", \.maxAliases), number("max_forwards", \.maxForwards),
        number("max_autoresponders", \.maxAutoresponders), number("max_mailinglists", \.maxMailingLists),
        size("disk_quota", \.diskQuota), size("max_msgcount", \.maxMsgCount), size("default_quota", \.defaultQuota),
        size("default_maxmsgcount", \.defaultMaxMsgCount),
        flag("disable_pop", \.disablePOP), flag("disable_imap", \.disableIMAP), flag("disable_dialup", \.disableDialup),
        flag("disable_password_changing", \.disablePasswordChanging), flag("disable_webmail", \.disableWebmail),
        flag("disable_external_relay", \.disableRelay), flag("disable_smtp", \.disableSMTP),
        flag("disable_spamassassin", \.disableSpamassassin), flag("delete_spam", \.deleteSpam), flag("disable_maildrop", \.disableMaildrop),
        perm("perm_account", \.permAccount), perm("perm_alias", \.permAlias), perm("perm_forward", \.permForward),
        perm("perm_autoresponder", \.permAutoresponder), perm("perm_maillist", \.permMaillist),
        // Upstream shows the maillist user and moderator bits in perm_quota.
        ("perm_quota", true, { $0.permQuota | ($0.permMaillistUsers << 3) | ($0.permMaillistModerators << 6) }, { $0.permQuota = $1 & 7 }),
        perm("perm_defaultquota", \.permDefaultQuota),
        perm("perm_maillist_users", \.permMaillistUsers, shown: false),
        perm("perm_maillist_moderators", \.permMaillistModerators, shown: false),
    ]

    func getLimits(_ line: CommandLine_) {
        guard level == .systemAdmin else { io.send(Wire.err(9, 3401)); return }
        guard let d = domainArg(line.token(1), 3402) else { return }
        guard let l = try? v.limits(d) else { io.send(Wire.err(34, 3403)); return }
        var s = Wire.okData
        for f in Session.limitFields where f.shown { s += "\(f.name) \(f.get(l))\r\n" }
        // Upstream sends perm_defaultquota twice; clients read either.
        s += "perm_defaultquota \(l.permDefaultQuota)\r\n"
        io.send(s + Wire.end)
    }

    func setLimits(_ line: CommandLine_) {
        let d = domain(line.token(1))
        guard let d else {
            io.send(Wire.err(line.token(1).isEmpty ? 13 : 11, 3501))
            _ = optionLines()
            return
        }
        guard var l = try? v.limits(d) else { io.send(Wire.err(34, 3505)); _ = optionLines(); return }
        io.send(Wire.ok)
        guard let options = optionLines() else { return }
        var warnings = ""
        for (name, value) in options {
            if value.isEmpty { warnings += "  Warning: missing value\r\n"; continue }
            guard let f = Session.limitFields.first(where: { $0.name == name }) else { warnings += "  Warning: invalid option\r\n"; continue }
            f.set(&l, Int(value.prefix { $0 == "-" || $0.isNumber }) ?? 0)
        }
        do {
            try v.setLimits(l, for: d)
            io.send(warnings + Wire.ok)
        } catch {
            io.send(warnings + Wire.err(35, 3504))
        }
    }

    func delLimits(_ line: CommandLine_) {
        guard let d = domainArg(line.token(1), 3601) else { return }
        do {
            try v.deleteLimits(d)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err0(3603, error.message + "."))
        }
    }

    // MARK: - Aliases

    func aliasParts(_ address: String, _ minor: Int) -> (alias: String, domain: DomainInfo)? {
        let (a, dn) = Validate.splitAddress(address)
        guard !a.isEmpty else { io.send(Wire.err(14, minor)); return nil }
        guard let d = domainArg(dn, minor + 1), requireAdminOf(d, minor + 2) else { return nil }
        return (a, d)
    }

    func addAlias(_ line: CommandLine_) {
        guard let (a, d) = aliasParts(line.token(1), 901) else { return }
        let target = line.token(2)
        guard !target.isEmpty else { io.send(Wire.err(16, 904)); return }
        do {
            try v.addAliasLine(a, target, domain: d.realDomain)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err(17, 907))
        }
    }

    func removeAlias(_ line: CommandLine_) {
        guard let (a, d) = aliasParts(line.token(1), 1001) else { return }
        let target = line.token(2)
        guard !target.isEmpty else { io.send(Wire.err(16, 1004)); return }
        do {
            try v.removeAliasLines(a, prefix: target, exact: true, domain: d.realDomain)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err(18, 1007))
        }
    }

    func deleteAlias(_ line: CommandLine_) {
        guard let (a, d) = aliasParts(line.token(1), 1101) else { return }
        do {
            try v.deleteAlias(a, domain: d.realDomain)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err(19, 1106))
        }
    }

    func listAlias(_ line: CommandLine_) {
        let arg = line.token(1)
        let (a, dn) = arg.contains("@") ? Validate.splitAddress(arg) : ("", arg.lowercased())
        guard let d = domainArg(dn, 1201), requireAdminOf(d, 1202) else { return }
        var s = Wire.okData
        let names = a.isEmpty ? ((try? v.aliasNames(d)) ?? []) : [a]
        for n in names {
            for l in ((try? v.aliasLines(n, d)) ?? nil) ?? [] { s += "\(n)@\(d.realDomain) \(Wire.oneLine(l))\r\n" }
        }
        io.send(s + Wire.end)
    }

    func listLists(_ line: CommandLine_) {
        guard let d = domainArg(line.token(1), 1301), requireAdminOf(d, 1302) else { return }
        var lists: [String] = []
        for n in ((try? FS.list(d.dir)) ?? []) where n.hasPrefix(".qmail-") {
            if let t = (try? FS.readText(d.dir + "/" + n)) ?? nil, let first = Bytes.textLines(t).first,
               first.lowercased().contains("ezmlm-reject") {
                lists.append(n)
            }
        }
        lists.sort { $0.lowercased() < $1.lowercased() }
        var out = lists[...]
        if let r = page(line, from: 2) { out = lists.dropFirst(r.first).prefix(r.count) }
        io.send(Wire.okData + out.map { $0 + "\r\n" }.joined() + Wire.end)
    }

    // MARK: - IP map

    func getIPMap(_ line: CommandLine_) {
        guard level == .systemAdmin else { io.send(Wire.err(9, 3001)); return }
        let ip = line.token(1)
        guard !ip.isEmpty else { io.send(Wire.err(32, 3002)); return }
        guard let d = (try? v.ipMapDomain(ip)) ?? nil else { io.send("-ERR 0.3003 error\r\n"); return }
        io.send(Wire.okData + "\(ip) \(d)\r\n" + Wire.end)
    }

    func addIPMap(_ line: CommandLine_) {
        let ip = line.token(1), dn = line.token(2)
        guard !ip.isEmpty else { io.send(Wire.err(32, 3101)); return }
        guard !dn.isEmpty else { io.send(Wire.err(13, 3102)); return }
        guard domain(dn) != nil else { io.send(Wire.err(38, 3103)); return }
        do {
            try v.addIPMap(ip: ip, domain: dn)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err0(3104, error.code.text))
        }
    }

    func delIPMap(_ line: CommandLine_) {
        let ip = line.token(1), dn = line.token(2)
        guard !ip.isEmpty else { io.send(Wire.err(32, 3201)); return }
        guard !dn.isEmpty else { io.send(Wire.err(13, 3202)); return }
        do {
            try v.deleteIPMap(ip: ip, domain: dn)
            io.send(Wire.ok)
        } catch {
            io.send(Wire.err0(3204, error.code.text))
        }
    }

    func showIPMap() {
        guard let all = try? v.ipMap() else { io.send(Wire.err0(3301, "error")); return }
        io.send(Wire.okData + all.map { "\($0.ip) \($0.domain)\r\n" }.joined() + Wire.end)
    }
}
