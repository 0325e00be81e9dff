#if canImport(Glibc)
import Glibc
#endif

/// A user's vacation message (docs/vacation.md): `.vacation` in the home, the library's file
/// (set by `vvacation`, the web pages and the API; vpopmaild's file commands refuse it).
///
///     subject Out of the office
///     from 1796083200          (optional: first second it answers, UTC epoch)
///     until 1796688000         (optional: first second it no longer answers)
///     period 604800            (once per sender per this many seconds; default 7 days)
///
///     The body, as many lines as it takes.
public struct VacationSettings: Sendable, Equatable {
    public static let fileName = ".vacation"
    /// Who was answered when: `SENDER EPOCH` lines.
    public static let repliedName = ".vacation-replied"
    public static let maxBody = 16384
    public static let maxSubject = 200
    public static let defaultPeriod = 7 * 86400
    /// Senders remembered at most (the oldest are forgotten first).
    public static let maxRemembered = 5000

    public var subject: String
    public var body: String
    public var start: Int?
    public var end: Int?
    public var period: Int

    public init(subject: String, body: String, start: Int? = nil, end: Int? = nil, period: Int = VacationSettings.defaultPeriod) {
        self.subject = subject
        self.body = body
        self.start = start
        self.end = end
        self.period = period
    }

    /// Checks what a user typed: one-line subject, bounded body, a sane range and period.
    public func validated() throws(VpopmailError) -> VacationSettings {
        var s = self
        s.subject = subject.trimmingSpaces()
        if s.subject.isEmpty { s.subject = "Out of the office" }
        guard s.subject.utf8.count <= VacationSettings.maxSubject, !s.subject.utf8.contains(where: { $0 < 32 || $0 == 127 }) else {
            throw VpopmailError(.invalidValue, "vacation subject: one line of at most \(VacationSettings.maxSubject) characters")
        }
        // Lines end in LF; a NUL or a bare CR is no part of a text message.
        s.body = body.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
        guard s.body.utf8.count <= VacationSettings.maxBody, !s.body.utf8.contains(where: { $0 == 0 || $0 == 13 }) else {
            throw VpopmailError(.invalidValue, "vacation message: at most \(VacationSettings.maxBody) bytes of text")
        }
        guard (3600...(365 * 86400)).contains(s.period) else {
            throw VpopmailError(.invalidValue, "vacation period: from 3600 seconds (an hour) to 31536000 (a year)")
        }
        if let a = s.start, let b = s.end, b <= a { throw VpopmailError(.invalidValue, "vacation: the end is not after the start") }
        return s
    }

    public func active(at now: Int) -> Bool {
        if let a = start, now < a { return false }
        if let b = end, now >= b { return false }
        return true
    }

    public var text: String {
        var out = "subject \(subject)\n"
        if let a = start { out += "from \(a)\n" }
        if let b = end { out += "until \(b)\n" }
        out += "period \(period)\n\n" + body
        if !body.isEmpty && !body.hasSuffix("\n") { out += "\n" }
        return out
    }

    public static func parse(_ text: String) -> VacationSettings? {
        var s = VacationSettings(subject: "", body: "")
        var rest = Substring(text)
        while let nl = rest.firstIndex(of: "\n") {
            let line = rest[..<nl]
            rest = rest[rest.index(after: nl)...]
            if line.isEmpty { s.body = String(rest); return s }
            let (k, v) = line.firstIndex(of: " ").map { (line[..<$0], String(line[line.index(after: $0)...])) } ?? (line, "")
            switch k {
            case "subject": s.subject = v
            case "from": s.start = Int(v)
            case "until": s.end = Int(v)
            case "period": s.period = Int(v) ?? defaultPeriod
            default: continue
            }
        }
        return s.subject.isEmpty ? nil : s
    }

    /// What the audit log shows.
    var auditText: String {
        "subject=\(Escape.percent(subject)) from=\(start.map(String.init) ?? "-") until=\(end.map(String.init) ?? "-") period=\(period) body-bytes=\(body.utf8.count)"
    }
}

extension Installation {
    public func vacation(of a: Account) -> VacationSettings? {
        guard !a.home.isEmpty else { return nil }
        let path = Path.join(a.home, VacationSettings.fileName)
        let f = retry { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard f >= 0 else { return nil }
        defer { close(f) }
        var st = stat()
        guard fstat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size <= 1 << 16,
              let b = try? FS.readAll(fd: f, path: path, status: st) else { return nil }
        return VacationSettings.parse(String(decoding: b, as: UTF8.self))
    }

    /// Sets (or with nil removes) the vacation message of `user@domain`.
    public func setVacation(_ user: String, domain: String, _ settings: VacationSettings?) throws(VpopmailError) {
        let d = try requireDomain(domain)
        guard let name = UserName(user), let a = try stores.accounts.account(name, in: d) else { throw VpopmailError(.userDoesNotExist) }
        guard !a.home.isEmpty else { throw VpopmailError(.badUDir2, "\(a.name)@\(d.realDomain) has no home directory") }
        let new = try settings?.validated()
        if !FS.isDirectory(a.home) { try makeHome(a, domain: d) }
        let before = vacation(of: a)
        try sys { () throws(SystemError) in
            let dir = try Directory.open(a.home)
            let leaf = Directory.privileged ? VacationSettings.fileName : Path.join(a.home, VacationSettings.fileName)
            if let new {
                try dir.writeAtomic(leaf, Array(new.text.utf8), mode: 0o600, owner: d.owner, sync: sync, syncDirectory: sync)
            } else {
                let replied = Directory.privileged ? VacationSettings.repliedName : Path.join(a.home, VacationSettings.repliedName)
                for name in [leaf, replied] {
                    do throws(SystemError) { try dir.unlink(name) } catch { if error.errno != ENOENT { throw error } }
                }
            }
        }
        audit(new == nil ? "vacation_off" : "vacation_set", "\(a.name)@\(d.realDomain)", before: before?.auditText, after: new?.auditText)
    }
}

/// Answers one delivered message when the user is away (RFC 3834): never to what
/// `Vacation.skip` rules out, once per sender per period (remembered in `.vacation-replied`
/// under a lock, before the reply goes, so that two deliveries at once answer once), from the
/// null sender with `Auto-Submitted: auto-replied`, through qmail-queue.
public struct VacationResponder {
    public enum Result: Equatable, Sendable {
        case replied
        case skipped(String)
        case failed(String)
    }

    let v: Installation

    public init(_ installation: Installation) { v = installation }

    /// `own`: the user's addresses (the account's in every domain name it has).
    public func respond(account a: Account, settings s: VacationSettings, own: [String], sender: String,
                        header: [String], now: Int) -> Result {
        guard s.active(at: now) else { return .skipped("not in the vacation's dates") }
        if let why = Vacation.skip(sender: sender, own: own, header: header) { return .skipped(why.rawValue) }
        let to = sender.lowercased()
        // An address that goes on a header line and the envelope: no spaces, quotes, brackets
        // or controls (a sender can be anything the SMTP client said).
        guard to.utf8.count <= 254, to.utf8.allSatisfy({ $0 > 32 && $0 < 127 && !"\"<>()[],;\\".utf8.contains($0) }) else {
            return .skipped("sender address not answerable")
        }
        let remembered: Bool
        do { remembered = try remember(to, home: a.home, period: s.period, now: now) } catch {
            return .failed("vacation: \(error)")
        }
        guard !remembered else { return .skipped("already answered within the period") }
        let fields = Vacation.fields(header)
        func field(_ n: String) -> String? { fields.first { $0.name == n }?.value }
        let me = own.first ?? a.name
        var m = "From: \(me)\nTo: \(to)\n"
        // RFC 3834 3.1.5: the subject of the reply may carry the original's.
        m += "Subject: \(s.subject)\n"
        m += "Date: \(rfc2822Date(time_t(now)))\n"
        m += "Message-ID: <vacation.\(now).\(getpid()).\(MD5.hex(Password.randomBytes(6)))@\(me.split(separator: "@").last ?? "localhost")>\n"
        if let id = field("message-id"), id.utf8.count < 998, !id.contains("\n") {
            m += "In-Reply-To: \(id)\nReferences: \(id)\n"
        }
        m += "Auto-Submitted: auto-replied\nPrecedence: bulk\nX-Auto-Response-Suppress: All\n"
        m += "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        m += s.body
        if !s.body.hasSuffix("\n") { m += "\n" }
        return queue(Array(m.utf8), recipient: to)
    }

    /// True when `sender` was answered within `period`; else records it (now).
    func remember(_ sender: String, home: String, period: Int, now: Int) throws(SystemError) -> Bool {
        let path = Path.join(home, VacationSettings.repliedName)
        let lock = try FileLock(path + ".lock")
        defer { lock.unlock() }
        var entries: [(String, Int)] = []
        if let f = Optional(retry { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }), f >= 0 {
            defer { close(f) }
            let b = try FS.readAll(fd: f, path: path)
            for line in String(decoding: b, as: UTF8.self).split(separator: "\n") {
                let p = line.split(separator: " ")
                if p.count == 2, let t = Int(p[1]), now - t < period, t <= now { entries.append((String(p[0]), t)) }
            }
        }
        if entries.contains(where: { $0.0 == sender }) { return true }
        entries.append((sender, now))
        if entries.count > VacationSettings.maxRemembered { entries.removeFirst(entries.count - VacationSettings.maxRemembered) }
        let text = entries.map { "\($0.0) \($0.1)\n" }.joined()
        try FS.writeAtomic(path, text, mode: 0o600, sync: v.sync)
        return false
    }

    /// qmail-queue: the message on fd 0, the envelope (`F` null sender, `T` recipient) on fd 1.
    func queue(_ message: [UInt8], recipient: String) -> Result {
        let program = v.config.vacationQueue.isEmpty ? v.qmail.qmailDir + "/bin/qmail-queue" : v.config.vacationQueue
        var envelope: [UInt8] = [70, 0, 84] + Array(recipient.utf8) + [0, 0]
        var mp: [Int32] = [0, 0], ep: [Int32] = [0, 0]
        guard pipe(&mp) == 0 else { return .failed("vacation: pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&ep) == 0 else { close(mp[0]); close(mp[1]); return .failed("vacation: pipe: \(String(cString: strerror(errno)))") }
        let pid = fork()
        if pid < 0 { for f in mp + ep { close(f) }; return .failed("vacation: fork failed") }
        if pid == 0 {
            dup2(mp[0], 0)
            dup2(ep[0], 1)
            for f in mp + ep { close(f) }
            Deliverer.exec([program])
            _exit(120)
        }
        close(mp[0])
        close(ep[0])
        signal(SIGPIPE, SIG_IGN)
        var ok = (try? FS.writeAll(fd: mp[1], message, path: program)) != nil
        close(mp[1])
        ok = ok && (try? FS.writeAll(fd: ep[1], envelope, path: program)) != nil
        close(ep[1])
        envelope.removeAll()
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 { if errno != EINTR { return .failed("vacation: wait failed") } }
        let code = (st >> 8) & 0xff
        guard st & 0x7f == 0, code == 0, ok else { return .failed("vacation: \(program) failed (exit \(code))") }
        return .replied
    }
}
