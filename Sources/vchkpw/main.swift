// vchkpw: the checkpassword authenticator (reference §6). Reads `login\0password\0timestamp\0`
// from fd 3; on success sets the environment and execs the rest of argv. Exit codes are the
// interface (see `Code`). No Foundation: this runs once per login, linked fully static.
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif
registerSQLStores()

/// vchkpw's exit codes (reference §6.7); 111 is ours for internal failures and a failed exec.
enum Code {
    static let disabled: Int32 = 1
    static let badLogin: Int32 = 3
    static let setgid: Int32 = 4
    static let setuid: Int32 = 5
    static let home: Int32 = 6
    static let putenvUser: Int32 = 7
    static let putenvHome: Int32 = 8
    static let putenvShell: Int32 = 9
    static let putenvVpopuser: Int32 = 10
    static let input: Int32 = 11
    static let emptyLogin: Int32 = 12
    static let emptyPassword: Int32 = 13
    static let autoHome: Int32 = 14
    static let noPassword: Int32 = 15
    static let badChars: Int32 = 20
    static let sysNotFound: Int32 = 21
    static let sysNoShadow: Int32 = 22
    static let sysBadPassword: Int32 = 23
    static let sysCrypt: Int32 = 24
    static let temporary: Int32 = 111
}

enum Service { case pop, imap, smtp, webmail }

// MARK: - Connection type

let argv = CommandLine.arguments
let program = argv.count > 1 ? argv[1] : ""
let underDovecot = program == "checkpassword-reply" || program.hasSuffix("/checkpassword-reply")
let lookupOnly = Proc.env("AUTHORIZED") == "1"
let port = Proc.env("TCPLOCALPORT") ?? ""
var service: Service
var logName: String
switch port {
case "25": (service, logName) = (.smtp, "vchkpw-smtp")
case "110": (service, logName) = (.pop, "vchkpw-pop3")
case "143": (service, logName) = (.imap, "vchkpw-imap")
case "465": (service, logName) = (.smtp, "vchkpw-smtps")
case "587": (service, logName) = (.smtp, "vchkpw-submission")
case "993": (service, logName) = (.imap, "vchkpw-imaps")
case "995": (service, logName) = (.pop, "vchkpw-pop3s")
default:
    logName = "vchkpw-\(port)"
    // Dovecot names the service; otherwise guess from the program like upstream.
    switch Proc.env("SERVICE") ?? "" {
    case "pop3": service = .pop
    case "imap": service = .imap
    case "smtp", "submission": service = .smtp
    default: service = program.contains("true") ? .smtp : (program.contains("imap") ? .imap : .pop)
    }
}
let clientIP = Relay.clientIP()

// MARK: - Logging (syslog, facility mail; passwords never logged)

var logLevel: Character = "e"
enum LogClass { case password, logon, access, internalError, success }

@MainActor
func log(_ cls: LogClass, _ text: String) {
    // `sql-logging`: every event also as a `vlog` row (user, domain, login, address, message);
    // the passwd column stays empty.
    if let t = sqlLog {
        try? t.log(user: logUser, domain: logDomain, logon: logLogin, remoteIP: clientIP, message: text, error: cls != .success)
    }
    switch cls {
    case .password: if logLevel == "n" { return }
    case .success: if logLevel != "y" && logLevel != "v" { return }
    default: break
    }
    let msg = String("\(logName): \(text)".map { $0 == "%" ? "#" : $0 })
    Syslog.send(msg, ident: ident, socketPath: logSocket)
}
var ident = "vpopmail"
nonisolated(unsafe) var sqlLog: StoreTables? = nil
var logUser = "", logDomain = "", logLogin = ""
var logSocket = "/dev/log"

func die(_ code: Int32) -> Never { exit(code) }

// MARK: - Input on fd 3

var input = [UInt8](repeating: 0, count: 1024)
var got = 0
while got < input.count {
    let r = input.withUnsafeMutableBytes { read(3, $0.baseAddress! + got, $0.count - got) }
    if r < 0 {
        if errno == EINTR { continue }
        let m = "\(logName): vchkpw is only for talking with qmail-popup and qmail-pop3d. It is not for runnning on the command line.\n"
        _ = m.withCString { write(2, $0, strlen($0)) }
        die(Code.input)
    }
    if r == 0 { break }
    got += r
}
if got == input.count {
    // More than any login can be: refuse rather than cut a password short.
    var extra: UInt8 = 0
    if read(3, &extra, 1) > 0 {
        log(.logon, "input on fd 3 too long:\(clientIP)")
        die(Code.input)
    }
}
close(3)
let fields = input[0..<got].split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
func field(_ i: Int) -> [UInt8] { i < fields.count ? Array(fields[i]) : [] }
let loginBytes = field(0), passwordBytes = field(1), challengeBytes = field(2)
let login = String(decoding: loginBytes, as: UTF8.self)
let password = String(decoding: passwordBytes, as: UTF8.self)
let challenge = String(decoding: challengeBytes, as: UTF8.self)

// MARK: - The installation

// Handing over to vchkpw-sql (an SQL auth-module): it reads the same input on a new fd 3.
beforeSQLHandover = {
    var p: [Int32] = [0, 0]
    guard pipe(&p) == 0 else { return }
    _ = input.withUnsafeBytes { write(p[1], $0.baseAddress!, got) }
    close(p[1])
    if p[0] != 3 { dup2(p[0], 3); close(p[0]) }
}

let v: Vpopmail
do {
    v = try Vpopmail.open()
} catch {
    log(.internalError, "configuration error: \(error.message)")
    die(Code.temporary)
}
logLevel = v.config.logging
if v.config.sqlLogging { sqlLog = v.tables }
logLogin = login
ident = v.config.logName
logSocket = v.config.logSocket
if service != .smtp && v.config.webmailIPs.contains(clientIP) && !underDovecot {
    service = .webmail
    logName = "vchkpw-webmail"
}

if loginBytes.isEmpty {
    log(.logon, "null user name given \(login):\(clientIP)")
    die(Code.emptyLogin)
}
if passwordBytes.isEmpty && !lookupOnly {
    log(.password, "null password given \(Validate.printable(login)):\(clientIP)")
    die(Code.emptyPassword)
}
if loginBytes.contains(where: { $0 < 32 || $0 == 127 }) || passwordBytes.count > LengthLimits.maxClearPassword {
    log(.password, "invalid user/domain characters \(Validate.printable(login)):\(clientIP)")
    die(passwordBytes.count > LengthLimits.maxClearPassword ? Code.badLogin : Code.badChars)
}

// MARK: - Login name

var (user, domainName) = Validate.splitAddress(login)
if domainName.isEmpty { domainName = v.defaultDomain(localIP: Proc.env("TCPLOCALIP")) }
if !Validate.isUsernameValid(user) || user.utf8.count > LengthLimits.maxUserName
    || (!domainName.isEmpty && (!Validate.isDomainValid(domainName) || domainName.utf8.count > LengthLimits.maxDomain)) {
    log(.password, "invalid user/domain characters \(Validate.printable(login)):\(clientIP)")
    die(Code.badChars)
}
let vpopuser = login.lowercased()
(logUser, logDomain) = (user, domainName)

// MARK: - Exec

@MainActor
func setEnv(_ name: String, _ value: String, _ code: Int32) {
    if setenv(name, value, 1) != 0 {
        log(.internalError, "putenv(\(name)) failed \(user)@\(domainName):\(clientIP)")
        die(code)
    }
}

@MainActor
func execProgram() -> Never {
    guard argv.count > 1 else { die(Code.temporary) }
    var cargs: [UnsafeMutablePointer<CChar>?] = argv[1...].map { strdup($0) }
    cargs.append(nil)
    execvp(argv[1], cargs)
    log(.internalError, "exec \(argv[1]) failed errno \(errno) \(user)@\(domainName):\(clientIP)")
    die(Code.temporary)
}

/// Drops to `uid`/`gid` (supplementary groups cleared) and enters `home`.
@MainActor
func becomeUser(uid: UInt32, gid: UInt32, home: String, makeHome: () -> Bool) {
    if getuid() == 0 || geteuid() == 0 {
        var g = gid_t(gid)
        _ = setgroups(1, &g)
    }
    if setgid(gid) != 0 {
        log(.internalError, "setgid \(gid) failed errno \(errno) \(user)@\(domainName):\(clientIP)")
        die(Code.setgid)
    }
    if setuid(uid) != 0 {
        log(.internalError, "setuid \(uid) failed errno \(errno) \(user)@\(domainName):\(clientIP)")
        die(Code.setuid)
    }
    if chdir(home) != 0 {
        guard makeHome(), chdir(home) == 0 else {
            log(.internalError, "chdir failed errno \(errno) \(user)@\(domainName):\(clientIP)")
            die(Code.home)
        }
    }
}

// MARK: - System accounts (/etc/passwd, /etc/shadow)

@MainActor
func systemLogin() -> Never {
    guard let pw = SystemUsers.user(user) else {
        log(.logon, "system user not found \(user):\(clientIP)")
        die(lookupOnly ? Code.badLogin : Code.sysNotFound)
    }
    let uid = pw.uid, gid = pw.gid, home = pw.home
    if !lookupOnly {
        var hash = pw.passwordHash
        if hash == "x" || hash == "*" {
            guard let sh = SystemUsers.shadowHash(user) else {
                log(.logon, "system user shadow entry not found \(user):\(clientIP)")
                die(Code.sysNoShadow)
            }
            hash = sh
        }
        let locked = hash.isEmpty || hash.hasPrefix("!") || hash.hasPrefix("*")
        if !locked && Password.crypt(password, setting: hash) == nil {
            log(.internalError, "system crypt failed \(user):\(clientIP)")
            die(Code.sysCrypt)
        }
        guard Password.verify(password, against: hash) else {
            log(.password, "system password fail \(user):\(clientIP)")
            die(Code.sysBadPassword)
        }
        log(.success, "system password login success \(user):\(clientIP)")
        if service != .smtp && v.config.roamingUsers { _ = try? Relay(v).open(ip: clientIP, now: Int(time(nil))) }
    }
    if underDovecot {
        setEnv("USER", user, Code.putenvUser)
        setEnv("HOME", home, Code.putenvHome)
        setEnv("userdb_uid", "\(uid)", Code.putenvUser)
        setEnv("userdb_gid", "\(gid)", Code.putenvUser)
        setEnv("EXTRA", "userdb_uid userdb_gid", Code.putenvUser)
        if lookupOnly { setEnv("AUTHORIZED", "2", Code.putenvUser) }
        execProgram()
    }
    if service != .smtp { becomeUser(uid: uid, gid: gid, home: home, makeHome: { false }) }
    setEnv("USER", user, Code.putenvUser)
    setEnv("HOME", home, Code.putenvHome)
    setEnv("SHELL", "NOLOGIN", Code.putenvShell)
    setEnv("VPOPUSER", vpopuser, Code.putenvVpopuser)
    execProgram()
}

// MARK: - Virtual users

// `auth-module = passwd`: the system's accounts are the only ones.
if v.config.authModule == "passwd" { systemLogin() }

var found: (account: Account, domain: DomainInfo)? = nil
do {
    if !domainName.isEmpty { found = try v.user(user, domain: domainName) }
} catch {
    if error.code != .domainDoesNotExist && error.code != .userNameTooLong {
        log(.internalError, "\(error.message) \(user)@\(domainName):\(clientIP)")
        die(Code.temporary)
    }
}
guard var (account, domain) = found else {
    if v.config.passwd { systemLogin() }
    log(.logon, "vpopmail user not found \(user)@\(domainName):\(clientIP)")
    die(Code.badLogin)
}

if account.home.isEmpty {
    log(.internalError, "user has no home directory \(user)@\(domainName):\(clientIP)")
    die(Code.autoHome)
}

var authType = "PLAIN"
if !lookupOnly {
    var ok = false
    if let clear = account.clearPassword, !clear.isEmpty, !challenge.isEmpty {
        if service == .smtp {
            // CRAM-MD5: hex HMAC-MD5(clear, challenge) == response
            if MD5.hex(MD5.hmac(key: Array(clear.utf8), challengeBytes)) == password { ok = true; authType = "CRAM-MD5" }
        } else if v.config.apop {
            // APOP: hex MD5(timestamp + clear) == response
            if MD5.hex(MD5.digest(challengeBytes + Array(clear.utf8))) == password { ok = true; authType = "APOP" }
        }
    }
    if !ok && account.passwordHash.isEmpty {
        if v.config.learnPasswords {
            do {
                let hash = try Password.hash(password, scheme: v.config.passwordScheme)
                account = try v.modifyUser(user, domain: domain.realDomain) { (a) throws(VpopmailError) in
                    a.passwordHash = hash
                    if v.config.clearPasswd && (a.clearPassword ?? "").isEmpty { a.clearPassword = password }
                }
                ok = true
            } catch {
                log(.internalError, "learn password failed: \(error.message) \(user)@\(domainName):\(clientIP)")
                die(Code.temporary)
            }
        } else {
            log(.internalError, "user has no password \(user)@\(domainName):\(clientIP)")
            die(Code.noPassword)
        }
    }
    if !ok && !Password.verify(password, against: account.passwordHash) {
        log(.password, "password fail \(user)@\(domainName):\(clientIP)")
        die(Code.badLogin)
    }
}

let limits: DomainLimits
do { limits = try v.limits(domain) } catch {
    log(.internalError, "\(error.message) \(user)@\(domainName):\(clientIP)")
    die(Code.temporary)
}
let flags = v.effectiveFlags(account, limits: limits)
let denied: (AccountFlags, String)? = {
    switch service {
    case .pop: return (.noPOP, "pop")
    case .imap: return (.noIMAP, "imap")
    case .smtp: return (.noSMTP, "smtp")
    case .webmail: return (.noWebmail, "webmail")
    }
}()
if let (flag, name) = denied, flags.contains(flag) {
    log(.access, "\(name) access denied \(user)@\(domainName):\(clientIP)")
    die(lookupOnly ? Code.badLogin : Code.disabled)
}

if !lookupOnly {
    log(.success, "(\(authType)) login success \(user)@\(domainName):\(clientIP)")
    if !FS.isDirectory(account.home) {
        do { try v.makeHome(account, domain: domain) } catch {
            log(.internalError, "dir auto create failed \(user)@\(domainName):\(clientIP)")
            die(Code.autoHome)
        }
    }
    if v.config.authLogging { v.setLastAuth(account, domain: domain, ip: clientIP) }
    if v.config.roamingUsers && service != .smtp && !flags.contains(.noRelay) {
        do { try Relay(v).open(ip: clientIP, now: Int(time(nil))) } catch {
            log(.internalError, "relay update failed: \(error.message)")
        }
    }
}

if underDovecot {
    // Dovecot's checkpassword-reply refuses a changed uid: report the ids instead.
    if lookupOnly && !FS.isDirectory(account.home) { try? v.makeHome(account, domain: domain) }
    setEnv("USER", "\(account.name)@\(domain.realDomain)", Code.putenvUser)
    setEnv("HOME", account.home, Code.putenvHome)
    setEnv("userdb_uid", "\(domain.uid)", Code.putenvUser)
    setEnv("userdb_gid", "\(domain.gid)", Code.putenvUser)
    setEnv("EXTRA", "userdb_uid userdb_gid", Code.putenvUser)
    if lookupOnly { setEnv("AUTHORIZED", "2", Code.putenvUser) }
    execProgram()
}

if service != .smtp {
    becomeUser(uid: domain.uid, gid: domain.gid, home: account.home) {
        (try? v.makeHome(account, domain: domain)) != nil
    }
}
setEnv("USER", account.name, Code.putenvUser)
setEnv("HOME", account.home, Code.putenvHome)
setEnv("SHELL", "NOLOGIN", Code.putenvShell)
setEnv("VPOPUSER", vpopuser, Code.putenvVpopuser)
execProgram()
