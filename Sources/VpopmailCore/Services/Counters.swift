import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Event counters every program adds to and `/metrics` reads (docs/web.md, "Metrics"): the
/// file `etc/counters`, 4096 bytes of 64-bit little-endian slots, mapped shared and added to
/// atomically, so that vchkpw and vdelivermail (a process per login, per message) count
/// without a server to talk to. install.sh makes it (root:vchkpw 0660, as the throttling
/// state); where it is missing or not writable nothing is counted.
public enum Counter: Int, CaseIterable, Sendable {
    // Logins by service and result.
    case popOK, popFailed, popThrottled, popRefused
    case imapOK, imapFailed, imapThrottled, imapRefused
    case smtpOK, smtpFailed, smtpThrottled, smtpRefused
    case webmailOK, webmailFailed, webmailThrottled, webmailRefused
    case webOK, webFailed, webThrottled, webRefused
    case vpopmaildOK, vpopmaildFailed, vpopmaildThrottled, vpopmaildRefused
    // Deliveries by result.
    case delivered, bounced, deferred
    case vacationReplies
    case appPasswordLogins

    public static let slots = 512

    /// The counter of a login's result: `ok`, `failed` (a wrong password, an unknown user),
    /// `throttled`, `refused` (the service closed for the account, the main password kept off).
    public static func login(_ service: String, _ result: String) -> Counter? {
        let services = ["pop", "imap", "smtp", "webmail", "web", "vpopmaild"]
        let results = ["ok", "failed", "throttled", "refused"]
        guard let s = services.firstIndex(of: service), let r = results.firstIndex(of: result) else { return nil }
        return Counter(rawValue: s * 4 + r)
    }

    public var labels: (metric: String, labels: [(String, String)]) {
        let r = rawValue
        if r < 24 {
            let services = ["pop", "imap", "smtp", "webmail", "web", "vpopmaild"]
            let results = ["ok", "failed", "throttled", "refused"]
            return ("vpopmail_logins_total", [("service", services[r / 4]), ("result", results[r % 4])])
        }
        switch self {
        case .delivered: return ("vpopmail_deliveries_total", [("result", "delivered")])
        case .bounced: return ("vpopmail_deliveries_total", [("result", "bounced")])
        case .deferred: return ("vpopmail_deliveries_total", [("result", "deferred")])
        case .vacationReplies: return ("vpopmail_vacation_replies_total", [])
        default: return ("vpopmail_app_password_logins_total", [])
        }
    }
}

public enum Counters {
    public static func path(home: String) -> String { home + "/etc/counters" }

    /// Adds 1 to each of `counters` (one open, map and unmap for all).
    public static func add(_ counters: [Counter], home: String) {
        guard !counters.isEmpty else { return }
        let f = open(path(home: home), O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard f >= 0 else { return }
        defer { close(f) }
        var st = stat()
        guard fstat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size >= Counter.slots * 8 else { return }
        guard let m = mmap(nil, Counter.slots * 8, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), m != MAP_FAILED else { return }
        let p = m.bindMemory(to: UInt64.self, capacity: Counter.slots)
        for c in counters { vpop_counter_add(p + c.rawValue, 1) }
        munmap(m, Counter.slots * 8)
    }

    /// Every counter's value (zeros when the file is missing).
    public static func read(home: String) -> [Counter: UInt64] {
        var out: [Counter: UInt64] = [:]
        for c in Counter.allCases { out[c] = 0 }
        let f = open(path(home: home), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard f >= 0 else { return out }
        defer { close(f) }
        var buf = [UInt64](repeating: 0, count: Counter.slots)
        let n = buf.withUnsafeMutableBytes { pread(f, $0.baseAddress, $0.count, 0) }
        guard n == Counter.slots * 8 else { return out }
        for c in Counter.allCases { out[c] = UInt64(littleEndian: buf[c.rawValue]) }
        return out
    }
}
