#if canImport(Glibc)
import Glibc
#endif

/// Failed logins per client address and per login (docs/vchkpw.md, "Throttling"): after
/// `delayAfter` failures within `window` seconds each further attempt waits (`delay`, doubling,
/// at most `maxDelay`), after `refuseAfter` it is refused without a password check until the
/// window has passed since the last failure. A success clears both counters.
///
/// The state is one file of fixed size (`slots` records of 32 bytes), so it cannot grow: a
/// record is found by a keyed hash (the key's secret is the file's first record, made at random
/// when the file is), probing four places; when all four hold other keys the oldest is reused.
/// Every read-modify-write holds an fcntl lock on the file, so concurrent logins all count.
public struct Throttle {
    public struct Policy: Sendable, Equatable {
        public var enabled = true
        public var addressDelayAfter = 3
        public var addressRefuseAfter = 10
        public var loginDelayAfter = 5
        public var loginRefuseAfter = 20
        public var window = 900
        public var delay = 2.0
        public var maxDelay = 15.0
        public init() {}
    }

    public static let slots = 8192
    static let recordSize = 32
    static let probes = 4

    public let path: String
    public let policy: Policy

    public init(path: String, policy: Policy) {
        self.path = path
        self.policy = policy
    }

    /// The two keys of a login: its client address (when known) and the login name.
    public static func keys(ip: String, login: String) -> [String] {
        ip.isEmpty ? ["login " + login] : ["ip " + ip, "login " + login]
    }

    /// What to do before checking a password.
    public enum Verdict: Equatable {
        case proceed(delay: Double)
        /// Refused: which key, with how many failures.
        case refuse(key: String, failures: Int)
    }

    /// A record: the key's hash (0: free), the time of the last failure, the failure count.
    struct Record {
        var key: UInt64
        var last: Int64
        var failures: UInt32

        init(_ b: ArraySlice<UInt8>) {
            func u64(_ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[b.startIndex + o + $1]) << (8 * UInt64($1)) } }
            key = u64(0)
            last = Int64(bitPattern: u64(8))
            failures = UInt32(truncatingIfNeeded: u64(16))
        }

        init(key: UInt64, last: Int64, failures: UInt32) {
            self.key = key
            self.last = last
            self.failures = failures
        }

        var bytes: [UInt8] {
            var out = [UInt8](repeating: 0, count: Throttle.recordSize)
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: key >> (8 * UInt64(i)))
                out[8 + i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: last) >> (8 * UInt64(i)))
                out[16 + i] = UInt8(truncatingIfNeeded: UInt64(failures) >> (8 * UInt64(i)))
            }
            return out
        }
    }

    /// The open, locked state file (created with its secret when missing); nil when it cannot be
    /// had (throttling then does nothing: it never costs a login).
    final class File {
        let fd: Int32
        let secret: [UInt8]

        init?(_ path: String) {
            guard let fd = try? Directory.parent(of: path).openFile(Directory.leaf(of: path), O_RDWR | O_CREAT, mode: 0o600) else {
                return nil
            }
            self.fd = fd
            var fl = flock()
            fl.l_type = Int16(F_WRLCK)
            fl.l_whence = Int16(SEEK_SET)
            var st = stat()
            let size = off_t(Throttle.slots * Throttle.recordSize)
            var head = [UInt8](repeating: 0, count: Throttle.recordSize)
            guard retry({ fcntl(fd, F_SETLKW, &fl) }) == 0, fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                close(fd)
                return nil
            }
            if st.st_size != size {
                // New (or not ours): a fresh secret and empty records.
                head = Password.randomBytes(Throttle.recordSize)
                guard ftruncate(fd, 0) == 0, ftruncate(fd, size) == 0,
                      head.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == Throttle.recordSize else {
                    close(fd)
                    return nil
                }
            } else if head.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, 0) }) != Throttle.recordSize {
                close(fd)
                return nil
            }
            secret = head
        }

        deinit { close(fd) }

        func hash(_ key: String) -> UInt64 {
            let d = SHA.sha256(secret + Array(key.utf8))
            let h = d.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return h == 0 ? 1 : h
        }

        func read(_ slot: Int) -> Record {
            var b = [UInt8](repeating: 0, count: Throttle.recordSize)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(slot * Throttle.recordSize)) }
            return n == Throttle.recordSize ? Record(b[...]) : Record(key: 0, last: 0, failures: 0)
        }

        func write(_ r: Record, _ slot: Int) {
            let b = r.bytes
            _ = b.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(slot * Throttle.recordSize)) }
        }

        /// The slot of `h`: where it is, else a free or expired one, else the oldest probed.
        func slot(_ h: UInt64, now: Int64, window: Int64) -> (slot: Int, record: Record?) {
            let start = Int(h % UInt64(Throttle.slots - 1)) + 1
            var best = start, bestLast = Int64.max
            for i in 0..<Throttle.probes {
                let s = (start - 1 + i) % (Throttle.slots - 1) + 1
                let r = read(s)
                if r.key == h { return (s, r) }
                let last = r.key == 0 || now - r.last > window ? Int64.min : r.last
                if last < bestLast { best = s; bestLast = last }
            }
            return (best, nil)
        }
    }

    func failures(_ r: Record?, now: Int64) -> Int {
        guard let r, now - r.last <= Int64(policy.window) else { return 0 }
        return Int(r.failures)
    }

    /// The verdict for an attempt with these keys (address first, then login).
    public func check(_ keys: [String], now: Int) -> Verdict {
        guard policy.enabled, let f = File(path) else { return .proceed(delay: 0) }
        var delay = 0.0
        for key in keys {
            let n = failures(f.slot(f.hash(key), now: Int64(now), window: Int64(policy.window)).record, now: Int64(now))
            let address = key.hasPrefix("ip ")
            let (after, refuse) = address ? (policy.addressDelayAfter, policy.addressRefuseAfter)
                                          : (policy.loginDelayAfter, policy.loginRefuseAfter)
            if refuse > 0 && n >= refuse { return .refuse(key: key, failures: n) }
            if after > 0 && n >= after {
                let steps = min(n - after, 30)
                delay = max(delay, min(policy.maxDelay, policy.delay * Double(1 << steps)))
            }
        }
        return .proceed(delay: delay)
    }

    /// Counts a failure for each key.
    public func failed(_ keys: [String], now: Int) {
        guard policy.enabled, let f = File(path) else { return }
        for key in keys {
            let h = f.hash(key)
            let (s, r) = f.slot(h, now: Int64(now), window: Int64(policy.window))
            let n = failures(r, now: Int64(now))
            f.write(Record(key: h, last: Int64(now), failures: UInt32(min(n + 1, Int(UInt32.max)))), s)
        }
    }

    /// A success: the keys' records are cleared.
    public func succeeded(_ keys: [String], now: Int) {
        guard policy.enabled, let f = File(path) else { return }
        for key in keys {
            let (s, r) = f.slot(f.hash(key), now: Int64(now), window: Int64(policy.window))
            if r != nil { f.write(Record(key: 0, last: 0, failures: 0), s) }
        }
    }

    /// Waits `seconds`.
    public static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var rest = timespec()
        while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
    }
}
