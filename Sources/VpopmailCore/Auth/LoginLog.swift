#if canImport(Glibc)
import Glibc
#endif

/// What a login reports, with its syslog class. Every text vchkpw logs is here. Passwords never
/// are: not in any text, at any level.
public enum LoginEvent: Sendable {
    case nullUser, nullPassword, invalidCharacters, inputTooLong
    case configurationError(String)
    case storeError(String)
    case userNotFound, noHomeDirectory, noPassword, passwordFail
    case learnPasswordFailed(String)
    case accessDenied(LoginService)
    case loginSuccess(method: String)
    case homeCreationFailed
    case relayUpdateFailed(String)
    case throttled(key: String, failures: Int, window: Int)
    case rehashed(from: String, to: String)
    case rehashFailed(String)
    case mainPasswordRefused(LoginService)
    case systemUserNotFound, systemNoShadow, systemCryptFailed, systemPasswordFail, systemLoginSuccess
    // The program's own steps after the decision.
    case putenvFailed(String)
    case execFailed(program: String, errno: Int32)
    case setgidFailed(UInt32, errno: Int32)
    case setuidFailed(UInt32, errno: Int32)
    case chdirFailed(errno: Int32)

    /// Which `logging` levels report it.
    public enum Class: Sendable { case password, logon, access, internalError, success }

    public var logClass: Class {
        switch self {
        case .nullPassword, .invalidCharacters, .passwordFail, .systemPasswordFail, .mainPasswordRefused: return .password
        case .nullUser, .inputTooLong, .userNotFound, .systemUserNotFound, .systemNoShadow: return .logon
        case .accessDenied, .throttled: return .access
        case .loginSuccess, .systemLoginSuccess: return .success
        default: return .internalError
        }
    }

    /// The log text; `login` is the login as given, `who` the parsed `user@domain` (or the
    /// system user), `ip` the client address.
    public func text(login: String, who: String, ip: String) -> String {
        switch self {
        case .nullUser: return "null user name given \(login):\(ip)"
        case .nullPassword: return "null password given \(Validate.printable(login)):\(ip)"
        case .invalidCharacters: return "invalid user/domain characters \(Validate.printable(login)):\(ip)"
        case .inputTooLong: return "input on fd 3 too long:\(ip)"
        case .configurationError(let m): return "configuration error: \(m)"
        case .storeError(let m): return "\(m) \(who):\(ip)"
        case .userNotFound: return "vpopmail user not found \(who):\(ip)"
        case .noHomeDirectory: return "user has no home directory \(who):\(ip)"
        case .noPassword: return "user has no password \(who):\(ip)"
        case .passwordFail: return "password fail \(who):\(ip)"
        case .learnPasswordFailed(let m): return "learn password failed: \(m) \(who):\(ip)"
        case .accessDenied(let s): return "\(s.name) access denied \(who):\(ip)"
        case .loginSuccess(let method): return "(\(method)) login success \(who):\(ip)"
        case .homeCreationFailed: return "dir auto create failed \(who):\(ip)"
        case .relayUpdateFailed(let m): return "relay update failed: \(m)"
        case .throttled(let key, let n, let w):
            // A stable form for fail2ban (etc/fail2ban/filter.d/vpopmail.conf).
            return "login refused after repeated failures from \(ip) for \(who) (\(key.hasPrefix("ip ") ? "address" : "login"): \(n) failures in \(w) s)"
        case .rehashed(let from, let to): return "password rehashed (\(from) to \(to)) \(who):\(ip)"
        case .rehashFailed(let m): return "password rehash failed: \(m) \(who):\(ip)"
        case .mainPasswordRefused(let s): return "main password refused for \(s.name) (app passwords only) \(who):\(ip)"
        case .systemUserNotFound: return "system user not found \(who):\(ip)"
        case .systemNoShadow: return "system user shadow entry not found \(who):\(ip)"
        case .systemCryptFailed: return "system crypt failed \(who):\(ip)"
        case .systemPasswordFail: return "system password fail \(who):\(ip)"
        case .systemLoginSuccess: return "system password login success \(who):\(ip)"
        case .putenvFailed(let name): return "putenv(\(name)) failed \(who):\(ip)"
        case .execFailed(let p, let e): return "exec \(p) failed errno \(e) \(who):\(ip)"
        case .setgidFailed(let g, let e): return "setgid \(g) failed errno \(e) \(who):\(ip)"
        case .setuidFailed(let u, let e): return "setuid \(u) failed errno \(e) \(who):\(ip)"
        case .chdirFailed(let e): return "chdir failed errno \(e) \(who):\(ip)"
        }
    }
}

/// Where vchkpw's events go: syslog (facility mail, `log-name`, `log-socket`, filtered by
/// `logging`), and with `sql-logging = y` a `vlog` row each, whatever the level.
public struct LoginLog {
    public var logName: String
    public var level: Character = "e"
    public var ident = "vpopmail"
    public var socket = "/dev/log"
    public var authLog: (any AuthLog)? = nil
    /// The login as given, and the parsed user and domain, for the texts.
    public var login = ""
    public var user = ""
    public var domain = ""
    public let ip: String

    /// A log before the configuration is known (the defaults).
    public init(logName: String, ip: String) {
        self.logName = logName
        self.ip = ip
    }

    /// The log of `request` as `config` sets it up.
    public init(_ request: LoginRequest, config: Config, authLog: (any AuthLog)?) {
        logName = request.logName
        ip = request.remoteIP
        level = config.logging
        ident = config.logName
        socket = config.logSocket
        self.authLog = authLog
        login = String(decoding: request.login, as: UTF8.self)
    }

    public func emit(_ e: LoginEvent) {
        let cls = e.logClass
        let who: String
        switch e {
        case .systemUserNotFound, .systemNoShadow, .systemCryptFailed, .systemPasswordFail, .systemLoginSuccess: who = user
        default: who = "\(user)@\(domain)"
        }
        let text = e.text(login: login, who: who, ip: ip)
        if let authLog {
            try? authLog.record(AuthEvent(user: user, domain: domain, login: login, remoteIP: ip, message: text,
                                          isError: cls != .success))
        }
        switch cls {
        case .password: if level == "n" { return }
        case .success: if level != "y" && level != "v" { return }
        default: break
        }
        Syslog.send(String("\(logName): \(text)".map { $0 == "%" ? "#" : $0 }), ident: ident, socketPath: socket)
    }
}
