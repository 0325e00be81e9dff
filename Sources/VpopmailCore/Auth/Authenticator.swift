#if canImport(Glibc)
import Glibc
#endif

/// vchkpw's decision (docs/vchkpw.md): a `LoginRequest` in, an `AuthResult` out, with what a
/// login records on the way (learned passwords, a re-created home, the last login, the relay
/// address) and its log lines.
public struct Authenticator {
    public let installation: Installation
    /// The log of this login; the program reports its own failures (setuid, exec) through it.
    public private(set) var log: LoginLog
    /// Whether the last login that succeeded used an app password.
    public private(set) var usedAppPassword = false

    public init(_ installation: Installation, request: LoginRequest) {
        self.installation = installation
        log = LoginLog(request, config: installation.config, authLog: installation.stores.authLog)
    }

    /// Adds the login to the shared counters (Counters.swift): by service and result.
    public func count(_ result: AuthResult, service: LoginService) {
        let r: String
        switch result {
        case .ok: r = "ok"
        case .throttled: r = "throttled"
        case .serviceDisabled: r = "refused"
        case .temporary, .inputTooLong: return
        default: r = "failed"
        }
        var list: [Counter] = []
        if let c = Counter.login(service.name, r) { list.append(c) }
        if usedAppPassword, case .ok = result { list.append(.appPasswordLogins) }
        Counters.add(list, home: installation.home)
    }

    /// The decision, throttled (`Throttle`): an address or login with too many recent failures
    /// waits, then is refused without a password check; a failure counts, a success clears.
    public mutating func authenticate(_ r: LoginRequest) -> AuthResult {
        let v = installation
        let throttle = v.loginThrottle
        guard throttle.policy.enabled, !r.lookupOnly, !r.login.isEmpty,
              let session = throttle.session(Throttle.keys(ip: r.remoteIP, login: String(decoding: r.login, as: UTF8.self).lowercased()))
        else { return decide(r) }
        switch session.check(now: Int(time(nil))) {
        case .refuse(let key, let n):
            let (user, domain) = Validate.splitAddress(String(decoding: r.login, as: UTF8.self))
            log.user = Validate.printable(user)
            log.domain = Validate.printable(domain.isEmpty ? v.defaultDomain(localIP: r.localIP) : domain)
            log.emit(.throttled(key: key, failures: n, window: throttle.policy.window))
            return .throttled
        case .proceed(let delay):
            Throttle.sleep(delay)
        }
        let result = decide(r)
        switch result {
        case .ok: session.succeeded(now: Int(time(nil)))
        case .passwordMismatch, .unknownUser, .noPassword, .emptyPassword, .badCharacters, .systemUserUnknown,
             .systemPasswordMismatch, .serviceDisabled:
            session.failed(now: Int(time(nil)))
        default: break
        }
        return result
    }

    mutating func decide(_ r: LoginRequest) -> AuthResult {
        let v = installation
        var service = r.service
        if service != .smtp && v.config.webmailIPs.contains(r.remoteIP) && !r.viaDovecot {
            service = .webmail
            log.logName = "vchkpw-webmail"
        }
        if r.inputTooLong { log.emit(.inputTooLong); return .inputTooLong }
        if r.login.isEmpty { log.emit(.nullUser); return .emptyLogin }
        if r.password.isEmpty && !r.lookupOnly { log.emit(.nullPassword); return .emptyPassword }
        let tooLong = r.password.count > LengthLimits.maxClearPassword
        if tooLong || r.login.contains(where: { $0 < 32 || $0 == 127 }) {
            log.emit(.invalidCharacters)
            return tooLong ? .passwordMismatch : .badCharacters
        }
        let login = String(decoding: r.login, as: UTF8.self)
        var (user, domainName) = Validate.splitAddress(login)
        if domainName.isEmpty { domainName = v.defaultDomain(localIP: r.localIP) }
        guard UserName.accepts(user), domainName.isEmpty || DomainName.accepts(domainName) else {
            log.emit(.invalidCharacters)
            return .badCharacters
        }
        let name = UserName(checked: user)
        log.user = user
        log.domain = domainName
        let vpopUser = login.lowercased()
        let password = String(decoding: r.password, as: UTF8.self)

        // `auth-module = passwd`: the system's accounts are the only ones.
        if v.config.authModule == .passwd { return systemLogin(r, service, user: user, password: password, vpopUser: vpopUser) }

        var found: (account: Account, domain: DomainInfo)? = nil
        do {
            if !domainName.isEmpty, let d = try v.domain(DomainName(checked: domainName)),
               let a = try v.stores.accounts.account(name, in: d) { found = (a, d) }
        } catch {
            log.emit(.storeError(error.message))
            return .temporary
        }
        // Without a hash to check, the check of a dummy one: an unknown user, an unknown domain,
        // an account without a home or a password cost what a wrong password costs.
        func dummy() { if !r.lookupOnly { Password.dummyVerify(password, scheme: v.config.passwordScheme) } }
        guard case (var account, let domain)? = found else {
            if v.config.passwd { return systemLogin(r, service, user: user, password: password, vpopUser: vpopUser) }
            dummy()
            log.emit(.userNotFound)
            return .unknownUser
        }
        if account.home.isEmpty { dummy(); log.emit(.noHomeDirectory); return .noHome }

        var method = "PLAIN"
        usedAppPassword = false
        if !r.lookupOnly {
            var ok = false
            if let clear = account.clearPassword, !clear.isEmpty, !r.challenge.isEmpty {
                if service == .smtp {
                    // CRAM-MD5: hex HMAC-MD5(clear, challenge) == response
                    if MD5.hex(MD5.hmac(key: Array(clear.utf8), r.challenge)) == password { ok = true; method = "CRAM-MD5" }
                } else if v.config.apop {
                    // APOP: hex MD5(timestamp + clear) == response
                    if MD5.hex(MD5.digest(r.challenge + Array(clear.utf8))) == password { ok = true; method = "APOP" }
                }
            }
            if !ok && account.passwordHash.isEmpty {
                guard v.config.learnPasswords else { dummy(); log.emit(.noPassword); return .noPassword }
                do {
                    account = try v.learnPassword(password, user: name, domain: domain)
                    ok = true
                } catch {
                    log.emit(.learnPasswordFailed(error.message))
                    return .temporary
                }
            }
            if !ok && !Password.verify(password, against: account.passwordHash) {
                // An app password (UserSecrets) that allows this service.
                guard let app = (try? v.secrets(of: account, domain: domain))?.appPassword(matching: password, for: AppService(service)) else {
                    log.emit(.passwordFail)
                    return .passwordMismatch
                }
                ok = true
                method = "APP-PASSWORD \(app.id)"
                usedAppPassword = true
            } else if !ok {
                // The main password of an account that keeps it off POP and IMAP (its mail
                // clients use app passwords; the main one, with its second factor, is the web's).
                if account.flags.contains(.appPasswordsOnly) && (service == .pop || service == .imap) {
                    log.emit(.mainPasswordRefused(service))
                    return .passwordMismatch
                }
                // `rehash-on-login`: a hash weaker than the configured scheme is replaced, under
                // the lock, only if it is still the one just checked. A failure costs no login.
                let scheme = v.config.passwordScheme
                if v.config.rehashOnLogin && Password.isWeaker(account.passwordHash, than: scheme) {
                    let old = account.passwordHash
                    do {
                        if let a = try v.rehash(password, user: name, domain: domain, replacing: old) {
                            account = a
                            log.emit(.rehashed(from: Password.schemeName(of: old), to: scheme.rawValue))
                        }
                    } catch {
                        log.emit(.rehashFailed(error.message))
                    }
                }
            }
        }

        let limits: DomainLimits
        do { limits = try v.limits(domain) } catch {
            log.emit(.storeError(error.message))
            return .temporary
        }
        let flags = v.effectiveFlags(account, limits: limits)
        if flags.contains(service.closedBy) {
            log.emit(.accessDenied(service))
            return r.lookupOnly ? .unknownUser : .serviceDisabled
        }

        if !r.lookupOnly {
            log.emit(.loginSuccess(method: method))
            if !FS.isDirectory(account.home) {
                do { try v.makeHome(account, domain: domain) } catch {
                    log.emit(.homeCreationFailed)
                    return .noHome
                }
            }
            if v.config.authLogging { v.setLastAuth(account, domain: domain, ip: r.remoteIP) }
            if v.config.roamingUsers && service != .smtp && !flags.contains(.noRelay) {
                do { try Relay(v).open(ip: r.remoteIP, now: Int(time(nil))) } catch {
                    log.emit(.relayUpdateFailed(error.message))
                }
            }
        } else if r.viaDovecot && !FS.isDirectory(account.home) {
            // Dovecot's lookup is followed by its own access to the home.
            try? v.makeHome(account, domain: domain)
        }
        return .ok(Login(user: account.name, dovecotUser: "\(account.name)@\(domain.realDomain)", home: account.home,
                         uid: domain.uid, gid: domain.gid, vpopUser: vpopUser, switchesUser: service != .smtp,
                         owner: .virtual(account, domain)))
    }

    /// `/etc/passwd` and `/etc/shadow`, read as files.
    mutating func systemLogin(_ r: LoginRequest, _ service: LoginService, user: String, password: String,
                              vpopUser: String) -> AuthResult {
        guard let pw = SystemUsers.user(user) else {
            if !r.lookupOnly { Password.dummyVerify(password, scheme: installation.config.passwordScheme) }
            log.emit(.systemUserNotFound)
            return r.lookupOnly ? .unknownUser : .systemUserUnknown
        }
        if !r.lookupOnly {
            var hash = pw.passwordHash
            if hash == "x" || hash == "*" {
                guard let sh = SystemUsers.shadowHash(user) else { log.emit(.systemNoShadow); return .systemNoShadow }
                hash = sh
            }
            let locked = hash.isEmpty || hash.hasPrefix("!") || hash.hasPrefix("*")
            if !locked && Password.crypt(password, setting: hash) == nil { log.emit(.systemCryptFailed); return .systemCryptFailed }
            guard Password.verify(password, against: hash) else { log.emit(.systemPasswordFail); return .systemPasswordMismatch }
            log.emit(.systemLoginSuccess)
            if service != .smtp && installation.config.roamingUsers {
                _ = try? Relay(installation).open(ip: r.remoteIP, now: Int(time(nil)))
            }
        }
        return .ok(Login(user: user, dovecotUser: user, home: pw.home, uid: pw.uid, gid: pw.gid, vpopUser: vpopUser,
                         switchesUser: service != .smtp, owner: .system))
    }

    /// Re-creates the home of a virtual account (when entering it failed).
    public func makeHome(_ login: Login) -> Bool {
        guard case .virtual(let a, let d) = login.owner else { return false }
        return (try? installation.makeHome(a, domain: d)) != nil
    }
}

extension Installation {
    /// `rehash-on-login`: the account's hash becomes one of `password-scheme`, atomically under
    /// the domain lock, and only when the stored hash is still `old` (a password changed
    /// meanwhile stays). Returns the account as written, nil when nothing was.
    public func rehash(_ password: String, user: UserName, domain: DomainInfo, replacing old: String) throws(VpopmailError) -> Account? {
        let hash = try Password.hash(password, scheme: config.passwordScheme)
        return try stores.accounts.locked(domain: domain) { (_) throws(VpopmailError) -> Account? in
            guard var a = try stores.accounts.account(user, in: domain), a.passwordHash == old else { return nil }
            a.passwordHash = hash
            try stores.accounts.update(a, in: domain, rebuildIndex: true)
            return a
        }
    }

    /// `learn-passwords`: the first password an account without one logs in with becomes its
    /// password (and its clear password, when those are kept and it has none).
    /// A password that breaks the rules (`ClearPassword`) is not learned.
    public func learnPassword(_ password: String, user: UserName, domain: DomainInfo) throws(VpopmailError) -> Account {
        let p = try clearPassword(password)
        let hash = try Password.hash(p.text, scheme: config.passwordScheme)
        return try modifyUser(user.text, domain: domain.realDomain) { (a) throws(VpopmailError) in
            a.passwordHash = hash
            if config.clearPasswd && (a.clearPassword ?? "").isEmpty { a.clearPassword = p.text }
        }
    }
}
