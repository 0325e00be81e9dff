// The store connection, error texts and upstream's helpers.
import CVpopmail
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// Opens the store (cdb: reads the configuration): 0 or VA_NO_AUTH_CONNECTION.
@_cdecl("vauth_open")
public func c_vauth_open(_ willUpdate: Int32) -> Int32 {
    (try? installation()) == nil ? VACode.noAuthConnection.rawValue : 0
}

/// Closes the store's connections and forgets the iterators; the next call opens again.
@_cdecl("vclose")
public func c_vclose() {
    lib.installation = nil
    lib.getall = nil
    lib.assignCache = nil
    lib.aliasLines = []
    lib.allAliases = []
    lib.aliasNames = []
    lib.domainEntries = []
    lib.ipMap = []
}

nonisolated(unsafe) var errorTexts: [Int32: UnsafeMutablePointer<CChar>] = [:]

/// The text of a VA_* code ("Unknown error" for codes without one), in storage that stays.
@_cdecl("verror")
public func c_verror(_ code: Int32) -> UnsafeMutablePointer<CChar>? {
    if let p = errorTexts[code] { return p }
    let text: String
    if code == 0 {
        text = "Success"
    } else if let c = VACode(rawValue: code) {
        text = c.text
    } else if (-54)...(-45) ~= code {
        let what = ["update server", "update port", "update user", "update password", "update database", "readonly server",
                    "readonly port", "readonly user", "readonly password", "readonly database"][Int(-45 - code)]
        text = "parsing database configuration file - " + what
    } else {
        text = "Unknown error"
    }
    let p = strdup(text)!
    errorTexts[code] = p
    return p
}

/// vclose(), then exit(err) (upstream's vexit).
@_cdecl("vexit")
public func c_vexit(_ err: Int32) -> Int32 {
    c_vclose()
    exit(err)
}

/// Lower-cases ASCII letters in place, cutting the string at 156 bytes as upstream does.
@_cdecl("lowerit")
public func c_lowerit(_ s: UnsafeMutablePointer<CChar>?) {
    guard let s else { return }
    var i = 0
    while s[i] != 0 {
        if i >= 156 { s[i] = 0; break }
        if s[i] >= 65 && s[i] <= 90 { s[i] += 32 }
        i += 1
    }
}

/// Splits an address at '@' (else '%', else '/'), lower-cased; no domain: the default domain.
/// -1 (with a line on stderr) when the user or domain has characters no account or domain can
/// have.
@_cdecl("parse_email")
public func c_parse_email(_ email: UnsafeMutablePointer<CChar>?, _ user: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?,
                          _ size: Int32) -> Int32 {
    guard let e = str(email), let user, let domain, size > 0 else { return -1 }
    var (u, d) = Validate.splitAddress(e)
    if d.isEmpty, let v = try? installation() { d = v.defaultDomain(localIP: Proc.env("TCPLOCALIP")) }
    copy(u, into: user, size: Int(size))
    copy(d, into: domain, size: Int(size))
    if !u.isEmpty && !UserName.accepts(u) {
        errorLine("user invalid \(Validate.printable(u))")
        return -1
    }
    if !d.isEmpty && !DomainName.accepts(d) {
        errorLine("domain invalid \(Validate.printable(d))")
        return -1
    }
    return 0
}

nonisolated(unsafe) let quotaText = StaticString(Int(MAX_BUFF))

/// A quota as an administrator writes it (`10M`, `1000C`, `NOQUOTA`) in its stored spelling;
/// the empty string for one that is not a quota.
@_cdecl("format_maildirquota")
public func c_format_maildirquota(_ q: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    guard let s = str(q), let quota = try? Quota.parse(s) else { return quotaText.set("") }
    return quotaText.set(quota.spelling)
}

/// `len` random password characters into `buffer` (len + 1 bytes).
@_cdecl("vrandom_pass")
public func c_vrandom_pass(_ buffer: UnsafeMutablePointer<CChar>?, _ len: Int32) -> UnsafeMutablePointer<CChar>? {
    guard let buffer, len >= 0 else { return nil }
    copy(Password.random(length: Int(len)), into: buffer, size: Int(len) + 1)
    return buffer
}

nonisolated(unsafe) let enteredPassword = StaticString(Int(MAX_BUFF))

/// Asks twice on the terminal (upstream's prompts) until both agree.
@_cdecl("vgetpasswd")
public func c_vgetpasswd(_ user: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    let who = str(user) ?? ""
    while true {
        guard let a = getpass("Please enter password for \(who): ") else { return nil }
        let first = String(cString: a)
        guard let b = getpass("enter password again: ") else { return nil }
        if first == String(cString: b) { return enteredPassword.set(first) }
        print("Passwords do not match, try again")
    }
}

/// Hashes `clear` with the installation's scheme into `crypted` (`ssize` bytes): 0 or
/// VA_CRYPT_FAILED.
@_cdecl("mkpasswd3")
public func c_mkpasswd3(_ clear: UnsafeMutablePointer<CChar>?, _ crypted: UnsafeMutablePointer<CChar>?, _ ssize: Int32) -> Int32 {
    guard let c = str(clear), let crypted, let v = try? installation() else { return VACode.cryptFailed.rawValue }
    guard let h = try? Password.hash(c, scheme: v.config.passwordScheme), h.utf8.count < Int(ssize) else { return VACode.cryptFailed.rawValue }
    copy(h, into: crypted, size: Int(ssize))
    return 0
}

nonisolated(unsafe) let maildirEmail = StaticString(Int(MAX_BUFF))

/// `user@domain` of a Maildir path, or NULL.
@_cdecl("maildir_to_email")
public func c_maildir_to_email(_ maildir: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    guard let m = str(maildir), let e = Maildir.address(ofPath: m) else { return nil }
    return maildirEmail.set(e)
}

/// Removes a directory tree (or a file): by descriptors, never following a symlink, never
/// leaving the file system. 0 or -1.
@_cdecl("vdelfiles")
public func c_vdelfiles(_ dir: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let d = str(dir), !d.isEmpty, d != "/" else { return -1 }
    do throws(SystemError) {
        try FS.removeTree(d)
        return 0
    } catch {
        return -1
    }
}

/// mkdir -p, each new directory owned by uid/gid (mode 0750 under vpopmail's umask).
@_cdecl("r_mkdir")
public func c_r_mkdir(_ path: UnsafeMutablePointer<CChar>?, _ uid: uid_t, _ gid: gid_t) -> Int32 {
    guard let p = str(path), !p.isEmpty else { return -1 }
    do throws(SystemError) {
        try FS.mkdirs(p, mode: 0o750, owner: (uid, gid))
        return 0
    } catch {
        return -1
    }
}

/// Compiles users/assign into users/cdb (qmail-newu).
@_cdecl("update_newu")
public func c_update_newu() -> Int32 {
    code { () throws(VpopmailError) in try installation().qmail.compileAssign() }
}

/// Sends `sig` to every process whose command name is `name`: 0, or -1 when none was found.
@_cdecl("signal_process")
public func c_signal_process(_ name: UnsafeMutablePointer<CChar>?, _ sig: Int32) -> Int32 {
    guard let n = str(name), !n.isEmpty, let dir = opendir("/proc") else { return -1 }
    defer { closedir(dir) }
    var found = false
    while let e = readdir(dir) {
        let pidText = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let pid = pid_t(pidText), let comm = (try? FS.readText("/proc/\(pidText)/comm")) ?? nil else { continue }
        if comm.trimmingSpaces() == String(n.prefix(15)) && kill(pid, sig) == 0 { found = true }
    }
    return found ? 0 : -1
}

nonisolated(unsafe) let remoteIP = StaticString(Int(MAX_BUFF))

/// The client address ($TCPREMOTEIP), IPv4-mapped addresses unwrapped; NULL when unknown.
@_cdecl("get_remote_ip")
public func c_get_remote_ip() -> UnsafeMutablePointer<CChar>? {
    let ip = Relay.clientIP()
    return ip.isEmpty ? nil : remoteIP.set(ip)
}

nonisolated(unsafe) let defaultDomainText = StaticString(Int(MAX_PW_DOMAIN) + 1)

@_cdecl("vget_default_domain")
public func c_vget_default_domain() -> UnsafeMutablePointer<CChar>? {
    guard let v = try? installation() else { return nil }
    return defaultDomainText.set(v.defaultDomain(localIP: Proc.env("TCPLOCALIP")))
}

// MARK: - Quotas

/// The usage of the Maildir at `dir`, by its maildirsize (recounted when stale or missing, as
/// vdelivermail does): 0, or -1 when `dir` is not a Maildir.
@_cdecl("readuserquota")
public func c_readuserquota(_ dir: UnsafePointer<CChar>?, _ sizep: UnsafeMutablePointer<storage_t>?, _ cntp: UnsafeMutablePointer<storage_t>?) -> Int32 {
    guard let d = str(dir), FS.isDirectory(d) else { return -1 }
    let u = usage(d)
    sizep?.pointee = u.bytes
    cntp?.pointee = u.count
    return 0
}

func usage(_ maildir: String) -> (bytes: UInt64, count: UInt64) {
    let sync = (try? installation())?.sync ?? true
    var fileQuota = Quota(stored: "")
    if let data = (try? FS.readIfExists(Maildir.sizePath(maildir))) ?? nil, let q = Maildir.quotaLine(data) { fileQuota = q }
    return fileQuota.keepsMaildirsize ? Maildir.usage(maildir: maildir, quota: fileQuota, owner: nil, sync: sync) : Maildir.scan(maildir)
}

/// 1 when the Maildir at `dir` is at or over `quota`, else 0.
@_cdecl("user_over_maildirquota")
public func c_user_over_maildirquota(_ dir: UnsafePointer<CChar>?, _ quota: UnsafePointer<CChar>?) -> Int32 {
    guard let d = str(dir), let q = str(quota), FS.isDirectory(d) else { return 0 }
    let quota = Quota(stored: q)
    if quota.isNone { return 0 }
    let u = usage(d)
    return (quota.bytes > 0 && u.bytes >= quota.bytes) || (quota.count > 0 && u.count >= quota.count) ? 1 : 0
}

/// The usage of the Maildir at `dir` in percent of `quota` (the larger of size and count).
@_cdecl("vmaildir_readquota")
public func c_vmaildir_readquota(_ dir: UnsafePointer<CChar>?, _ quota: UnsafePointer<CChar>?) -> Int32 {
    guard let d = str(dir), let q = str(quota), FS.isDirectory(d) else { return -1 }
    let u = usage(d)
    return Int32(clamping: Maildir.percent(bytes: u.bytes, count: u.count, quota: Quota(stored: q)))
}

// MARK: - Password strength

/// 0 when `pass` follows the installation's password rules, else the VA_PWSTR_* code.
@_cdecl("pw_strength")
public func c_pw_strength(_ pass: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let p = str(pass) else { return VACode.pwstrEmpty.rawValue }
    return code { () throws(VpopmailError) in _ = try installation().clearPassword(p) }
}

nonisolated(unsafe) let policyText = StaticString(1024)

/// The description of etc/password_strength.conf's policy, NULL when there is none.
@_cdecl("pw_strength_policy")
public func c_pw_strength_policy() -> UnsafeMutablePointer<CChar>? {
    guard let v = try? installation(), let p = v.passwordRules.policy, !p.policy.isEmpty else { return nil }
    return policyText.set(p.policy)
}

/// One line on stderr.
func errorLine(_ s: String) {
    let b = Array((s + "\n").utf8)
    _ = b.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

// MARK: - What an address is (vutil.h)

/// The lines of `<path>/.qmail-<name>` (a '.' in the name is ':' in the file name), nil when
/// the name cannot be an address or there is no such file.
func dotQmailLines(_ path: UnsafeMutablePointer<CChar>?, _ name: UnsafeMutablePointer<CChar>?) -> [String]? {
    guard let dir = str(path), !dir.isEmpty, let n = str(name), let u = UserName(n) else { return nil }
    let file = dir + "/.qmail-" + String(u.text.map { $0 == "." ? ":" : $0 })
    guard let text = (try? FS.readText(file)) ?? nil else { return nil }
    return Bytes.textLines(text).map { String($0) }
}

func isList(_ lines: [String]) -> Bool { lines.contains { $0.contains("ezmlm-") } }
func isRobot(_ lines: [String]) -> Bool { lines.contains { $0.contains("autorespond") } }

@_cdecl("isValidMailList")
public func c_isValidMailList(_ path: UnsafeMutablePointer<CChar>?, _ name: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let lines = dotQmailLines(path, name) else { return 0 }
    return isList(lines) ? 1 : 0
}

@_cdecl("isExistingRobot")
public func c_isExistingRobot(_ path: UnsafeMutablePointer<CChar>?, _ name: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let lines = dotQmailLines(path, name) else { return 0 }
    return isRobot(lines) && !isList(lines) ? 1 : 0
}

@_cdecl("isExistingAlias")
public func c_isExistingAlias(_ path: UnsafeMutablePointer<CChar>?, _ name: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let v = try? installation(), let n = str(name), UserName(n) != nil, let d = try? aliasDomain(v, domain),
          let lines = (try? v.aliasLines(n, d)) ?? nil else { return 0 }
    return isList(lines) || isRobot(lines) ? 0 : 1
}

@_cdecl("isExistingUser")
public func c_isExistingUser(_ name: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    c_vauth_getpw(name, domain) == nil ? 0 : 1
}

@_cdecl("isExistingAddress")
public func c_isExistingAddress(_ domain: UnsafeMutablePointer<CChar>?, _ name: UnsafeMutablePointer<CChar>?, _ path: UnsafeMutablePointer<CChar>?) -> Int32 {
    if c_isExistingUser(name, domain) != 0 || c_isExistingAlias(path, name, domain) != 0 { return 1 }
    return c_isValidMailList(path, name) != 0 || c_isExistingRobot(path, name) != 0 ? 1 : 0
}

@_cdecl("isQmailAlias")
public func c_isQmailAlias(_ name: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let v = try? installation(), let n = str(name), let u = UserName(n) else { return 0 }
    return FS.exists(v.qmail.qmailDir + "/alias/.qmail-" + String(u.text.map { $0 == "." ? ":" : $0 })) ? 1 : 0
}

@_cdecl("isExistingAnyAddress")
public func c_isExistingAnyAddress(_ domain: UnsafeMutablePointer<CChar>?, _ name: UnsafeMutablePointer<CChar>?, _ path: UnsafeMutablePointer<CChar>?) -> Int32 {
    c_isExistingAddress(domain, name, path) != 0 || c_isQmailAlias(name) != 0 ? 1 : 0
}
