#if canImport(Glibc)
import Glibc
#endif

/// Who makes the changes an installation records (docs/audit.md): the program sets it once
/// (a command: the login name of its real uid, `local`), per session (vpopmaild: the address
/// that logged in, the client's IP) or per request (the web admin and the API).
public struct AuditActor: Sendable, Equatable {
    /// The person or key: `root`, `postmaster@example.com`, `api-key:3f2a...`.
    public var who: String
    /// The path the change came by: `command:vadduser`, `vpopmaild`, `web`, `api`, `capi:qmailadmin`, `vchkpw`.
    public var via: String
    /// The client's address, `local` for a command.
    public var from: String

    public init(who: String, via: String, from: String) {
        self.who = who
        self.via = via
        self.from = from
    }

    /// The running program: its name, the user of its real uid, `$TCPREMOTEIP` or `local`.
    public static func process(via: String? = nil) -> AuditActor {
        let prog = Path.basename(CommandLine.arguments.first ?? "vpopmail")
        let uid = getuid()
        let who = SystemUsers.all().first { $0.uid == uid }?.name ?? "uid \(uid)"
        return AuditActor(who: who, via: via ?? "command:\(prog)", from: Proc.env("TCPREMOTEIP") ?? "local")
    }
}

/// The audit log: one JSON object per line, appended with one write (so lines of concurrent
/// writers never interleave), `~vpopmail/etc/audit.log` unless `audit-log` names another file
/// (`audit-log = off`: none). It never holds a password, a hash or a second-factor secret.
public struct AuditEntry: Sendable, Equatable {
    public var time: Int
    public var who: String
    public var via: String
    public var from: String
    public var action: String
    public var object: String
    public var before: String?
    public var after: String?

    public init(time: Int, who: String, via: String, from: String, action: String, object: String, before: String?, after: String?) {
        self.time = time
        self.who = who
        self.via = via
        self.from = from
        self.action = action
        self.object = object
        self.before = before
        self.after = after
    }

    public var jsonLine: String {
        var s = "{\"time\":\"\(formatTime(time_t(time), "%Y-%m-%dT%H:%M:%SZ", utc: true))\",\"who\":\(JSON.quote(who)),\"via\":\(JSON.quote(via))"
        s += ",\"from\":\(JSON.quote(from)),\"action\":\(JSON.quote(action)),\"object\":\(JSON.quote(object))"
        if let b = before { s += ",\"before\":\(JSON.quote(b))" }
        if let a = after { s += ",\"after\":\(JSON.quote(a))" }
        return s + "}\n"
    }

    /// Reads back a line `jsonLine` wrote; nil for anything else.
    public static func parse(_ line: Substring) -> AuditEntry? {
        guard let o = JSON.flatObject(line) else { return nil }
        guard let t = o["time"], let time = AuditEntry.parseTime(t), let who = o["who"], let via = o["via"], let from = o["from"],
              let action = o["action"], let object = o["object"] else { return nil }
        return AuditEntry(time: time, who: who, via: via, from: from, action: action, object: object, before: o["before"], after: o["after"])
    }

    static func parseTime(_ s: String) -> Int? {
        let b = Array(s.utf8)
        guard b.count == 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 90 else { return nil }
        func n(_ r: Range<Int>) -> Int? { Int(String(decoding: b[r], as: UTF8.self)) }
        guard let y = n(0..<4), let mo = n(5..<7), let d = n(8..<10), let h = n(11..<13), let mi = n(14..<16), let se = n(17..<19) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = Int32(y - 1900)
        tm.tm_mon = Int32(mo - 1)
        tm.tm_mday = Int32(d)
        tm.tm_hour = Int32(h)
        tm.tm_min = Int32(mi)
        tm.tm_sec = Int32(se)
        return Int(timegm(&tm))
    }
}

extension Installation {
    /// Where the audit log is, nil when it is off.
    public var auditLogPath: String? {
        let v = config.auditLog
        if v == "off" || v == "no" || v == "n" { return nil }
        return v.isEmpty ? etcDir + "/audit.log" : (v.hasPrefix("/") ? v : etcDir + "/" + v)
    }

    /// Records one change. A log that can't be written is reported on stderr; the change
    /// itself has happened and stands.
    public func audit(_ action: String, _ object: String, before: String? = nil, after: String? = nil) {
        guard let path = auditLogPath else { return }
        let a = auditActor
        let e = AuditEntry(time: Int(time(nil)), who: a.who, via: a.via, from: a.from, action: action, object: object, before: before, after: after)
        let bytes = Array(e.jsonLine.utf8)
        let f = retry { open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o640) }
        guard f >= 0 else {
            let m = "audit: can't open \(path): \(String(cString: strerror(errno)))\n"
            _ = m.withCString { write(2, $0, strlen($0)) }
            return
        }
        defer { close(f) }
        let n = bytes.withUnsafeBytes { b in retryIO { write(f, b.baseAddress, b.count) } }
        if n != bytes.count {
            let m = "audit: can't write \(path): \(String(cString: strerror(errno)))\n"
            _ = m.withCString { write(2, $0, strlen($0)) }
        } else if sync {
            _ = fsync(f)
        }
    }

    /// The log's entries, oldest first, that `keep` accepts; at most the last `limit`.
    public func auditEntries(limit: Int = Int.max, _ keep: (AuditEntry) -> Bool = { _ in true }) throws(VpopmailError) -> [AuditEntry] {
        guard let path = auditLogPath, let bytes = try sys({ () throws(SystemError) in try FS.readIfExists(path) }) else { return [] }
        var out: [AuditEntry] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if let e = AuditEntry.parse(line), keep(e) { out.append(e) }
        }
        return out.count > limit ? Array(out.suffix(limit)) : out
    }
}

/// What the audit log shows of an account (never its password or hash).
extension Account {
    public var auditText: String {
        "flags=0x\(String(flags.rawValue, radix: 16)) quota=\(quota.spelling.isEmpty ? "NOQUOTA" : quota.spelling) gecos=\(Escape.percent(gecos)) home=\(home)"
    }
}

/// The bit of JSON the library writes and reads back (the audit log, the vacation state); the
/// web server has Foundation's for the rest.
public enum JSON {
    public static func quote(_ s: String) -> String {
        var out: [UInt8] = [34]
        let hex = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case 34: out += [92, 34]
            case 92: out += [92, 92]
            case 10: out += [92, 110]
            case 13: out += [92, 114]
            case 9: out += [92, 116]
            case 0..<32, 127: out += [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(34)
        return String(decoding: out, as: UTF8.self)
    }

    /// An object whose values are all strings: `{"a":"x","b":"y"}`. Nil when it is not one.
    public static func flatObject(_ text: Substring) -> [String: String]? {
        let b = Array(text.utf8)
        var i = 0
        func ws() { while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 13 || b[i] == 10 { i += 1 } }
        func str() -> String? {
            guard i < b.count, b[i] == 34 else { return nil }
            i += 1
            var out: [UInt8] = []
            while i < b.count {
                let c = b[i]
                i += 1
                if c == 34 { return String(decoding: out, as: UTF8.self) }
                if c != 92 { out.append(c); continue }
                guard i < b.count else { return nil }
                let e = b[i]
                i += 1
                switch e {
                case 34, 92, 47: out.append(e)
                case 110: out.append(10)
                case 114: out.append(13)
                case 116: out.append(9)
                case 98: out.append(8)
                case 102: out.append(12)
                case 117:
                    guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else { return nil }
                    i += 4
                    if let u = Unicode.Scalar(v) { out += Array(String(Character(u)).utf8) }
                default: return nil
                }
            }
            return nil
        }
        ws()
        guard i < b.count, b[i] == 123 else { return nil }
        i += 1
        var o: [String: String] = [:]
        ws()
        if i < b.count, b[i] == 125 { return o }
        while true {
            ws()
            guard let k = str() else { return nil }
            ws()
            guard i < b.count, b[i] == 58 else { return nil }
            i += 1
            ws()
            guard let v = str() else { return nil }
            o[k] = v
            ws()
            guard i < b.count else { return nil }
            if b[i] == 44 { i += 1; continue }
            if b[i] == 125 { return o }
            return nil
        }
    }
}

/// Which entries a reader wants: by domain (the domain and its accounts), account, action, who.
public struct AuditFilter: Sendable {
    public var domain: String?
    public var user: String?
    public var action: String?
    public var who: String?

    public init(domain: String? = nil, user: String? = nil, action: String? = nil, who: String? = nil) {
        self.domain = domain?.lowercased()
        self.user = user?.lowercased()
        self.action = action
        self.who = who
    }

    public func accepts(_ e: AuditEntry) -> Bool {
        let o = e.object.lowercased()
        if let d = domain {
            let objectDomain = o.split(separator: " ").first.map { Validate.splitAddress(String($0)) }.map { $0.domain.isEmpty ? $0.user : $0.domain } ?? ""
            if objectDomain != d && !(e.after ?? "").lowercased().hasSuffix(d) { return false }
        }
        if let u = user, o != u { return false }
        if let a = action, e.action != a { return false }
        if let w = who, e.who != w { return false }
        return true
    }
}
