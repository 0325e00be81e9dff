#if canImport(Glibc)
import Glibc
#endif

/// The run-time configuration: `$VPOPMAIL_HOME/etc/vpopmail.conf`, one `key = value` per line,
/// `#` comments. Every configure option of upstream 5.6 (and of its admin guide) is a key of the same
/// name without `--enable-` (docs/configuration.md lists them with their defaults).
public struct Config: Sendable {
    // Identities and paths
    public var vpopUser = "vpopmail"
    public var vpopGroup = "vchkpw"
    public var qmailDir = "/var/qmail"
    public var qmailNewu: String? = nil
    public var qmailNewmrh: String? = nil
    public var qmailInject: String? = nil
    public var qmailCdbName = "cdb"
    public var domainsDir = "domains"
    public var tcprulesProg = "/usr/bin/tcprules"
    public var tcpserverFile: String? = nil
    public var spamcProg = "/usr/bin/spamc"
    public var maildropProg = "/usr/bin/maildrop"
    public var adminEmail = ""
    // Account store
    /// `auth-module`: the store driver (`cdb`, `passwd`, `mysql`, `pgsql`, `sqlite`, ...).
    public var authModule: StoreName = .cdb
    public var manyDomains = true
    public var mysqlReplication = true
    public var mysqlLimits = false
    public var valias = false
    public var sqlAliasdomains = true
    public var sqlLogging = false
    public var authLogging = true
    public var passwd = false
    public var learnPasswords = false
    /// A successful login whose hash is weaker than `passwordScheme` gets a new one.
    public var rehashOnLogin = false
    /// Failed-login throttling (docs/vchkpw.md, "Throttling").
    public var throttle = Throttle.Policy()
    /// Its state file; nil: `etc/login-failures`.
    public var throttleFile: String? = nil
    // Passwords
    public var passwordScheme: PasswordScheme = .sha512
    public var clearPasswd = false
    public var sqwebmailPass = false
    public var apop = true
    public var apopFile = ""
    public var minPwdLength = 0
    // Delivery and quota
    public var usersBigDir = true
    public var qmailExt = false
    public var defaultDelivery = false
    public var makeSeekable = true
    public var fileSync = true
    /// How a delivery makes a message durable (docs/crash-safety.md): auto, ordered or strict.
    public var deliverySync: DeliverySync = .auto
    public var domainQuotas = false
    public var spamassassin = false
    public var spamJunkfolder = false
    public var spamThreshold = 0
    public var maildrop = false
    /// Quota given to new users when neither `-q` nor the domain limits give one (50M by default).
    public var hardQuota = Quota(bytes: 50 * 1024 * 1024, count: 0)
    public var quotaWarnPercent = 90
    /// Seed rule: a message of at most this many bytes is delivered even over quota (0 = off).
    public var smallMessageBytes = 1024
    /// What `.qmail-default` of a new domain does with unknown users (upstream 5.6: delete).
    public var domainDefaultDelivery = "delete"
    // Relay
    public var roamingUsers = false
    public var relayClearMinutes = 180
    public var rebuildTcpserverFile = true
    // Domain resolution
    public var ipAliasDomains = false
    public var defaultDomain: DomainName? = nil
    public var webmailIPs: [String] = ["127.0.0.1"]
    // Logging and hooks
    public var logging: Character = "e"
    public var logName = "vpopmail"
    /// The syslog socket (Unix datagram).
    public var logSocket = "/dev/log"
    public var onchangeScript = false
    /// The audit log (Audit.swift): empty for `etc/audit.log`, `off` for none, or a file.
    public var auditLog = ""
    /// What queues vacation replies (qmail-queue's interface: the message on fd 0, the envelope on
    /// fd 1); empty for `<qmail-dir>/bin/qmail-queue`.
    public var vacationQueue = ""
    public var onchangeScriptBeforeAndAfter = false
    public var loggerSyslog = false
    public var loggerSqlite = false
    public var fileLocking = true

    public init() {}

    /// Parses `text`; `file` names the file in error messages.
    public static func parse(_ text: String, file: String) throws(VpopmailError) -> Config {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses the bytes of a configuration file (on bytes: every vchkpw and vdelivermail run
    /// reads it, and this way it needs no string splitting).
    public static func parse(bytes b: [UInt8], file: String) throws(VpopmailError) -> Config {
        var c = Config()
        var lineNo = 0
        var i = 0
        let n = b.count
        while i < n {
            lineNo += 1
            var end = i
            while end < n && b[end] != 10 { end += 1 }
            var s = i, e = end
            i = end + 1
            while s < e && (b[s] == 32 || b[s] == 9) { s += 1 }
            while e > s && (b[e - 1] == 32 || b[e - 1] == 9 || b[e - 1] == 13) { e -= 1 }
            if s == e || b[s] == 35 { continue }  // empty, or a # comment
            var eq = s
            while eq < e && b[eq] != 61 { eq += 1 }
            guard eq < e else { throw VpopmailError(.badConfig, "\(file):\(lineNo): expected 'key = value'") }
            var ke = eq
            while ke > s && (b[ke - 1] == 32 || b[ke - 1] == 9) { ke -= 1 }
            var vs = eq + 1
            while vs < e && (b[vs] == 32 || b[vs] == 9) { vs += 1 }
            var ve = e
            if ve - vs >= 2 && (b[vs] == 34 || b[vs] == 39) && b[ve - 1] == b[vs] { vs += 1; ve -= 1 }
            var key = Array(b[s..<ke])
            for j in key.indices where key[j] >= 65 && key[j] <= 90 { key[j] += 32 }
            if key.starts(with: "--enable-".utf8) { key.removeFirst(9) }
            try c.set(String(decoding: key, as: UTF8.self), String(decoding: b[vs..<ve], as: UTF8.self),
                      at: "\(file):\(lineNo)")
        }
        return c
    }

    private static func bool(_ v: String, _ key: String, _ at: String) throws(VpopmailError) -> Bool {
        switch v.lowercased() {
        case "y", "yes", "true", "on", "1": return true
        case "n", "no", "false", "off", "0": return false
        default: throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected y or n")
        }
    }

    private static func int(_ v: String, _ key: String, _ at: String, min: Int = 0) throws(VpopmailError) -> Int {
        guard let n = Int(v), n >= min else {
            throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected a number")
        }
        return n
    }

    private static func path(_ v: String, _ key: String, _ at: String) throws(VpopmailError) -> String {
        guard v.hasPrefix("/") else {
            throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected an absolute path")
        }
        return v
    }

    /// Sets one key. Throws for an unknown key or a bad value.
    public mutating func set(_ key: String, _ v: String, at: String) throws(VpopmailError) {
        func B(_ v: String, _ k: String, _ a: String) throws(VpopmailError) -> Bool { try Config.bool(v, k, a) }
        func I(_ v: String, _ k: String, _ a: String, min: Int = 0) throws(VpopmailError) -> Int { try Config.int(v, k, a, min: min) }
        func P(_ v: String, _ k: String, _ a: String) throws(VpopmailError) -> String { try Config.path(v, k, a) }
        switch key {
        case "vpopuser": vpopUser = v
        case "vpopgroup": vpopGroup = v
        case "qmaildir": qmailDir = try P(v, key, at)
        case "qmail-newu": qmailNewu = v.isEmpty ? nil : try P(v, key, at)
        case "qmail-newmrh": qmailNewmrh = v.isEmpty ? nil : try P(v, key, at)
        case "qmail-inject": qmailInject = v.isEmpty ? nil : try P(v, key, at)
        case "qmail-cdb-name":
            guard !v.isEmpty, !v.contains("/") else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected a file name")
            }
            qmailCdbName = v
        case "domains-dir":
            guard !v.isEmpty, !v.contains("/"), v != ".", v != ".." else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected a directory name")
            }
            domainsDir = v
        case "tcprules-prog": tcprulesProg = try P(v, key, at)
        case "tcpserver-file": tcpserverFile = try P(v, key, at)
        case "spamc-prog": spamcProg = try P(v, key, at)
        case "maildrop-prog": maildropProg = try P(v, key, at)
        case "admin-email": adminEmail = v
        case "auth-module":
            // Any well-formed name: the program that has the driver knows it (docs/sql-stores.md).
            guard let m = StoreName(v) else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected a store name such as cdb, mysql, pgsql or sqlite")
            }
            authModule = m
        // The admin guide's backend switches, kept as aliases of auth-module.
        case "mysql", "pgsql": if try B(v, key, at) { authModule = StoreName(key)! }
        case "many-domains": manyDomains = try B(v, key, at)
        case "large-site": manyDomains = !(try B(v, key, at))
        case "mysql-replication": mysqlReplication = try B(v, key, at)
        case "mysql-limits": mysqlLimits = try B(v, key, at)
        case "valias": valias = try B(v, key, at)
        case "sql-aliasdomains": sqlAliasdomains = try B(v, key, at)
        case "sql-logging", "mysql-logging", "pgsql-logging": sqlLogging = try B(v, key, at)
        case "auth-logging": authLogging = try B(v, key, at)
        case "passwd": passwd = try B(v, key, at)
        case "learn-passwords": learnPasswords = try B(v, key, at)
        case "rehash-on-login": rehashOnLogin = try B(v, key, at)
        case "throttle": throttle.enabled = try B(v, key, at)
        case "throttle-address-delay-after": throttle.addressDelayAfter = try I(v, key, at)
        case "throttle-address-refuse-after": throttle.addressRefuseAfter = try I(v, key, at)
        case "throttle-login-delay-after": throttle.loginDelayAfter = try I(v, key, at)
        case "throttle-login-refuse-after": throttle.loginRefuseAfter = try I(v, key, at)
        case "throttle-window": throttle.window = try I(v, key, at, min: 1)
        case "throttle-delay", "throttle-max-delay":
            guard let d = Double(v), d >= 0, d <= 300 else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected seconds (0-300, decimals allowed)")
            }
            if key == "throttle-delay" { throttle.delay = d } else { throttle.maxDelay = d }
        case "throttle-file": throttleFile = try P(v, key, at)
        case "password-scheme":
            guard let s = PasswordScheme(name: v) else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected \(PasswordScheme.names)")
            }
            passwordScheme = s
        case "sha512-passwords":
            if try B(v, key, at) { passwordScheme = .sha512 } else if passwordScheme == .sha512 { passwordScheme = .des }
        case "md5-passwords":
            if try B(v, key, at) { if passwordScheme != .sha512 { passwordScheme = .md5 } }
        case "clear-passwd": clearPasswd = try B(v, key, at)
        case "sqwebmail-pass": sqwebmailPass = try B(v, key, at)
        case "apop": apop = try B(v, key, at)
        case "apop-file": apopFile = v
        case "min-pwd-length": minPwdLength = try I(v, key, at)
        case "users-big-dir": usersBigDir = try B(v, key, at)
        case "qmail-ext": qmailExt = try B(v, key, at)
        case "defaultdelivery": defaultDelivery = try B(v, key, at)
        case "make-seekable": makeSeekable = try B(v, key, at)
        case "file-sync": fileSync = try B(v, key, at)
        case "delivery-sync":
            guard let m = DeliverySync(rawValue: v.lowercased()), m != .off else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected auto, ordered or strict")
            }
            deliverySync = m
        case "domainquotas": domainQuotas = try B(v, key, at)
        case "spamassassin": spamassassin = try B(v, key, at)
        case "spam-junkfolder": spamJunkfolder = try B(v, key, at)
        case "spam-threshold": spamThreshold = try I(v, key, at)
        case "maildrop": maildrop = try B(v, key, at)
        case "hardquota", "defaultquota":
            let up = v.uppercased()
            if up == "N" || up == "NO" || up == "NOQUOTA" { hardQuota = .none; return }
            guard let q = try? Quota.parse(v), !q.isNone else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected a quota such as 50M or NOQUOTA")
            }
            hardQuota = q
        case "quota-warn-percent": quotaWarnPercent = try I(v, key, at)
            if quotaWarnPercent > 100 { throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected 0-100") }
        case "small-message-bytes": smallMessageBytes = try I(v, key, at)
        case "domain-default-delivery":
            guard !v.isEmpty, !Validate.breaksLine(v) else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key)")
            }
            domainDefaultDelivery = v
        case "roaming-users": roamingUsers = try B(v, key, at)
        case "relay-clear-minutes": relayClearMinutes = try I(v, key, at, min: 1)
        case "rebuild-tcpserver-file": rebuildTcpserverFile = try B(v, key, at)
        case "ip-alias-domains": ipAliasDomains = try B(v, key, at)
        case "default-domain":
            if v.isEmpty { defaultDomain = nil; return }
            guard let d = DomainName(v) else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): not a domain name")
            }
            defaultDomain = d
        case "webmail-ips":
            webmailIPs = v.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        case "logging":
            guard v.count == 1, let ch = v.lowercased().first, "nyepv".contains(ch) else {
                throw VpopmailError(.badConfig, "\(at): bad value '\(v)' for \(key): expected n, y, e, p or v")
            }
            logging = ch
        case "log-name": logName = v
        case "log-socket": logSocket = try P(v, key, at)
        case "onchange-script": onchangeScript = try B(v, key, at)
        case "audit-log": auditLog = v == "off" ? v : try P(v, key, at)
        case "vacation-queue": vacationQueue = try P(v, key, at)
        case "onchange-script-before-and-after": onchangeScriptBeforeAndAfter = try B(v, key, at)
        case "logger-syslog": loggerSyslog = try B(v, key, at)
        case "logger-sqlite": loggerSqlite = try B(v, key, at)
        case "file-locking": fileLocking = try B(v, key, at)
        // Build-time options of upstream (and its admin guide): accepted, no run-time effect.
        case "ucspi-dir", "sqlincdir", "sqllibdir", "sqllibs", "incdir", "libdir", "tinycdb",
             "non-root-build", "mysql-bin", "ldap":
            return
        default:
            throw VpopmailError(.badConfig, "\(at): unknown key '\(key)'")
        }
    }
}
