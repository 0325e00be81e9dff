#if canImport(Glibc)
import Glibc
#endif

/// What a mail client may use an app password for.
public enum AppService: String, Sendable, CaseIterable, Comparable {
    case pop, imap, smtp

    public static func < (a: AppService, b: AppService) -> Bool { a.rawValue < b.rawValue }

    /// The service of a login (webmail logs in as an IMAP client does).
    public init(_ s: LoginService) {
        switch s {
        case .pop: self = .pop
        case .imap, .webmail: self = .imap
        case .smtp: self = .smtp
        }
    }
}

/// One app password: shown once when made, kept as the SHA-256 of its text (it is 80 random
/// bits, so a fast hash is as strong as a slow one, and a login checks several).
public struct AppPassword: Sendable, Equatable {
    public var id: String
    public var label: String
    public var services: [AppService]
    public var hash: String
    public var created: Int

    public init(id: String, label: String, services: [AppService], hash: String, created: Int) {
        self.id = id
        self.label = label
        self.services = services
        self.hash = hash
        self.created = created
    }
}

/// A user's second factor, recovery codes and app passwords (docs/web.md, "Second factors and
/// app passwords"): the file `.vpopmail-secrets` in the user's home, the account's own and
/// the library's alone (vpopmaild's file commands refuse it), on every store: the homes are
/// where every mail host of a site already shares the mailboxes.
///
///     totp SECRET-BASE32 ALGORITHM DIGITS PERIOD LAST-COUNTER
///     pending SECRET-BASE32 ALGORITHM DIGITS PERIOD     (an enrolment not yet confirmed)
///     recovery SHA256-HEX
///     app ID SHA256-HEX SERVICES CREATED LABEL          (SERVICES: pop,imap,smtp; LABEL %-escaped)
public struct UserSecrets: Sendable, Equatable {
    public static let fileName = ".vpopmail-secrets"
    /// Bounds of what one user keeps (a request can't grow the file without limit).
    public static let maxAppPasswords = 20
    public static let maxLabel = 64

    public var totp: TOTP?
    /// The last time step a code was accepted for: a code is never accepted twice.
    public var totpUsed: UInt64 = 0
    public var pending: TOTP?
    public var recovery: [String] = []
    public var appPasswords: [AppPassword] = []

    public init() {}

    public var hasSecondFactor: Bool { totp != nil }
    public var isEmpty: Bool { totp == nil && pending == nil && recovery.isEmpty && appPasswords.isEmpty }

    public static func hashHex(_ text: String) -> String { MD5.hex(SHA.sha256(Array(text.utf8))) }

    /// Lines it does not know are dropped (a damaged line never blocks a login).
    public static func parse(_ text: String) -> UserSecrets {
        var s = UserSecrets()
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let kind = f.first else { continue }
            func otp(_ at: Int) -> TOTP? {
                guard f.count >= at + 4, let key = Base32.decode(f[at]), let alg = TOTP.Algorithm(rawValue: f[at + 1]),
                      let digits = Int(f[at + 2]), let period = Int(f[at + 3]) else { return nil }
                return TOTP(secret: key, algorithm: alg, digits: digits, period: period)
            }
            switch kind {
            case "totp":
                if let t = otp(1) { s.totp = t; s.totpUsed = f.count > 5 ? UInt64(f[5]) ?? 0 : 0 }
            case "pending":
                s.pending = otp(1)
            case "recovery":
                if f.count == 2, f[1].utf8.count == 64 { s.recovery.append(f[1]) }
            case "app":
                guard f.count >= 5, f[2].utf8.count == 64, let created = Int(f[4]) else { continue }
                let services = f[3].split(separator: ",").compactMap { AppService(rawValue: String($0)) }
                let label = f.count > 5 ? Escape.unpercent(f[5]) : ""
                s.appPasswords.append(AppPassword(id: f[1], label: label, services: services, hash: f[2], created: created))
            default:
                continue
            }
        }
        return s
    }

    public func text() -> String {
        var out = ""
        func otp(_ t: TOTP) -> String { "\(Base32.encode(t.secret)) \(t.algorithm.rawValue) \(t.digits) \(t.period)" }
        if let t = totp { out += "totp \(otp(t)) \(totpUsed)\n" }
        if let t = pending { out += "pending \(otp(t))\n" }
        for r in recovery { out += "recovery \(r)\n" }
        for a in appPasswords {
            let services = a.services.map(\.rawValue).joined(separator: ",")
            out += "app \(a.id) \(a.hash) \(services.isEmpty ? "-" : services) \(a.created) \(Escape.percent(a.label))\n"
        }
        return out
    }

    /// The app password `password` is, when it allows `service`.
    public func appPassword(matching password: String, for service: AppService) -> AppPassword? {
        let h = Array(UserSecrets.hashHex(password).utf8)
        var hit: AppPassword? = nil
        // Every entry is compared, in constant time: which one matched leaks nothing.
        for a in appPasswords where Password.constantTimeEqual(h, Array(a.hash.utf8)) && a.services.contains(service) { hit = a }
        return hit
    }

    /// Checks a second-factor code: a TOTP code (not one already used) or an unused recovery
    /// code, which is then spent. True when accepted; the caller writes the changed secrets.
    public mutating func acceptCode(_ raw: String, now: Int) -> Bool {
        let code = raw.filter { $0 != " " }
        guard let t = totp else { return false }
        if code.utf8.count == t.digits, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let step = t.verify(code, at: now, window: 1, after: totpUsed == 0 ? nil : totpUsed) else { return false }
            totpUsed = step
            return true
        }
        let h = UserSecrets.hashHex(code.lowercased())
        guard let i = recovery.firstIndex(of: h) else { return false }
        recovery.remove(at: i)
        return true
    }
}

/// %-escaping of the bytes that would break a space-separated line (space, %, controls).
public enum Escape {
    public static func percent(_ s: String) -> String {
        var out = [UInt8]()
        let hex = Array("0123456789ABCDEF".utf8)
        for b in s.utf8 {
            if b <= 32 || b == 37 || b == 127 { out += [37, hex[Int(b >> 4)], hex[Int(b & 15)]] } else { out.append(b) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func unpercent(_ s: String) -> String {
        let b = Array(s.utf8)
        var out = [UInt8]()
        var i = 0
        func val(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            case 97...102: return c - 87
            default: return nil
            }
        }
        while i < b.count {
            if b[i] == 37, i + 2 < b.count, let h = val(b[i + 1]), let l = val(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Installation {
    /// The secrets of `a` (empty when it has none). Read without following a symlink, and only
    /// from a file of the domain's owner (or root's).
    public func secrets(of a: Account, domain d: DomainInfo) throws(VpopmailError) -> UserSecrets {
        guard !a.home.isEmpty else { return UserSecrets() }
        let path = Path.join(a.home, UserSecrets.fileName)
        let f = retry { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        if f < 0 {
            if errno == ENOENT || errno == ENOTDIR { return UserSecrets() }
            throw .system(SystemError("open", path, errno))
        }
        defer { close(f) }
        var st = stat()
        guard fstat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == d.uid || st.st_uid == 0,
              st.st_size <= 1 << 20 else {
            throw .system(SystemError("open", path, EPERM))
        }
        let bytes: [UInt8]
        do { bytes = try FS.readAll(fd: f, path: path, status: st) } catch { throw .system(error) }
        return UserSecrets.parse(String(decoding: bytes, as: UTF8.self))
    }

    /// Read-modify-write of `a`'s secrets under a lock in its home, written atomically as the
    /// domain's owner. `what` names the change for the audit log.
    @discardableResult
    public func updateSecrets<T>(of a: Account, domain d: DomainInfo, what: String,
                                 _ body: (inout UserSecrets) throws(VpopmailError) -> T) throws(VpopmailError) -> T {
        guard !a.home.isEmpty else { throw VpopmailError(.badUDir2, "\(a.name)@\(d.realDomain) has no home directory") }
        if !FS.isDirectory(a.home) { try makeHome(a, domain: d) }
        let lock: FileLock
        do { lock = try FileLock(Path.join(a.home, UserSecrets.fileName + ".lock"), owner: d.owner) } catch { throw .system(error) }
        defer { lock.unlock() }
        var s = try secrets(of: a, domain: d)
        let before = s
        let result = try body(&s)
        if s != before {
            do {
                let dir = try Directory.open(a.home)
                try dir.writeAtomic(Directory.privileged ? UserSecrets.fileName : Path.join(a.home, UserSecrets.fileName),
                                    Array(s.text().utf8), mode: 0o600, owner: d.owner, sync: sync, syncDirectory: sync)
            } catch { throw .system(error) }
            audit(what, "\(a.name)@\(d.realDomain)", before: before.auditText, after: s.auditText)
        }
        return result
    }

    /// Makes an app password for `a`: its record and the text, shown once.
    public func addAppPassword(_ a: Account, domain d: DomainInfo, label: String, services: [AppService]) throws(VpopmailError) -> (AppPassword, String) {
        let clean = label.trimmingSpaces()
        guard !clean.isEmpty, clean.utf8.count <= UserSecrets.maxLabel, !clean.utf8.contains(where: { $0 < 32 || $0 == 127 }) else {
            throw VpopmailError(.invalidValue, "app password label: 1 to \(UserSecrets.maxLabel) printable characters")
        }
        let set = Array(Set(services)).sorted()
        guard !set.isEmpty else { throw VpopmailError(.invalidValue, "app password: name at least one service (pop, imap, smtp)") }
        // 16 letters from a 32-letter alphabet: 80 bits, shown as four groups of four.
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789".utf8) + [UInt8(ascii: "i")]
        let raw = Password.randomBytes(16).map { alphabet[Int($0) & 31] }
        let text = stride(from: 0, to: 16, by: 4).map { String(decoding: raw[$0..<$0 + 4], as: UTF8.self) }.joined(separator: "-")
        let id = MD5.hex(Password.randomBytes(4))
        let entry = AppPassword(id: id, label: clean, services: set, hash: UserSecrets.hashHex(text), created: Int(time(nil)))
        try updateSecrets(of: a, domain: d, what: "add_app_password") { (s: inout UserSecrets) throws(VpopmailError) in
            guard s.appPasswords.count < UserSecrets.maxAppPasswords else {
                throw VpopmailError(.limitReached, "\(a.name)@\(d.realDomain) has \(UserSecrets.maxAppPasswords) app passwords already")
            }
            guard !s.appPasswords.contains(where: { $0.label == clean }) else { throw VpopmailError(.alreadyExists, "an app password labelled \"\(clean)\" exists") }
            s.appPasswords.append(entry)
        }
        return (entry, text)
    }

    public func revokeAppPassword(_ a: Account, domain d: DomainInfo, id: String) throws(VpopmailError) {
        try updateSecrets(of: a, domain: d, what: "revoke_app_password") { (s: inout UserSecrets) throws(VpopmailError) in
            guard let i = s.appPasswords.firstIndex(where: { $0.id == id }) else { throw VpopmailError(.noSuchItem, "no app password \(id)") }
            s.appPasswords.remove(at: i)
        }
    }
}

extension UserSecrets {
    /// What the audit log shows of a user's secrets: never a secret or a hash.
    var auditText: String {
        var parts = ["second-factor=\(totp != nil ? "on" : pending != nil ? "pending" : "off")", "recovery-codes=\(recovery.count)"]
        parts.append("app-passwords=[\(appPasswords.map { "\($0.id):\($0.label):\($0.services.map(\.rawValue).joined(separator: ","))" }.joined(separator: " "))]")
        return parts.joined(separator: " ")
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
