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

        /// Opened by its path (never through a final symlink): this runs at every login, and the
        /// walk by descriptors costs a dozen system calls. What a redirected path could reach is
        /// bounded: only an empty file (new, or install.sh's) is ever given a layout, a file of
        /// any other size than the state's is left alone (throttling then does nothing).
        init?(_ path: String) {
            let fd = retry { open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            guard fd >= 0 else { return nil }
            self.fd = fd
            var st = stat()
            let size = off_t(Throttle.slots * Throttle.recordSize)
            var head = [UInt8](repeating: 0, count: Throttle.recordSize)
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_nlink == 1 else {
                close(fd)
                return nil
            }
            if st.st_size != size {
                // Made under the lock: the secret first, then the records, so that a reader that
                // sees the full size (without the lock) sees the secret too.
                guard File.lock(fd, F_WRLCK), fstat(fd, &st) == 0 else { close(fd); return nil }
                if st.st_size == 0 {
                    head = Password.randomBytes(Throttle.recordSize)
                    guard head.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == Throttle.recordSize,
                          ftruncate(fd, size) == 0 else { close(fd); return nil }
                } else if st.st_size != size
                            || head.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, 0) }) != Throttle.recordSize {
                    close(fd)
                    return nil
                }
                _ = File.lock(fd, F_UNLCK)
            } else if head.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, 0) }) != Throttle.recordSize {
                close(fd)
                return nil
            }
            secret = head
        }

        deinit { close(fd) }

        static func lock(_ fd: Int32, _ type: Int32) -> Bool {
            var fl = flock()
            fl.l_type = Int16(type)
            fl.l_whence = Int16(SEEK_SET)
            return retry({ fcntl(fd, F_SETLKW, &fl) }) == 0
        }

        /// `body` under the file's lock.
        func locked<T>(_ body: () -> T) -> T? {
            guard File.lock(fd, F_WRLCK) else { return nil }
            defer { _ = File.lock(fd, F_UNLCK) }
            return body()
        }

        func hash(_ key: String) -> UInt64 {
            let d = SHA.sha256(secret + Array(key.utf8))
            let h = d.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return h == 0 ? 1 : h
        }

        func write(_ r: Record, _ slot: Int) {
            let b = r.bytes
            _ = b.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(slot * Throttle.recordSize)) }
        }

        /// The slot of `h`: where it is, else a free or expired one, else the oldest probed. The
        /// probed records are side by side and read at once.
        func slot(_ h: UInt64, now: Int64, window: Int64) -> (slot: Int, record: Record?) {
            let start = Int(h % UInt64(Throttle.slots - Throttle.probes)) + 1
            var b = [UInt8](repeating: 0, count: Throttle.recordSize * Throttle.probes)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start * Throttle.recordSize)) }
            var best = start, bestLast = Int64.max
            for i in 0..<Throttle.probes {
                let r = n == b.count ? Record(b[(i * Throttle.recordSize)..<((i + 1) * Throttle.recordSize)]) : Record(key: 0, last: 0, failures: 0)
                if r.key == h { return (start + i, r) }
                let last = r.key == 0 || now - r.last > window ? Int64.min : r.last
                if last < bestLast { best = start + i; bestLast = last }
            }
            return (best, nil)
        }
    }

    /// How many keys (client addresses and logins) have failed often enough to be refused now:
    /// what `/metrics` reports as throttled.
    public func refusedKeys(now: Int) -> Int {
        let fd = retry { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var b = [UInt8](repeating: 0, count: Throttle.slots * Throttle.recordSize)
        guard b.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, 0) }) == b.count else { return 0 }
        let least = min(policy.addressRefuseAfter, policy.loginRefuseAfter)
        var n = 0
        for i in 1..<Throttle.slots {
            let r = Record(b[(i * Throttle.recordSize)..<((i + 1) * Throttle.recordSize)])
            if r.key != 0 && failures(r, now: Int64(now)) >= least { n += 1 }
        }
        return n
    }

    func failures(_ r: Record?, now: Int64) -> Int {
        guard let r, now - r.last <= Int64(policy.window) else { return 0 }
        return Int(r.failures)
    }

    /// One login's use of the state: the file opened once, the keys hashed once; each step
    /// takes the lock for itself only (never across the password check).
    public final class Session {
        let throttle: Throttle
        let file: File
        let keys: [String]
        let hashes: [UInt64]
        /// Whether `check` found a record of any key (a success then has something to clear).
        var seen = true

        init?(_ throttle: Throttle, keys: [String]) {
            guard throttle.policy.enabled, let f = File(throttle.path) else { return nil }
            self.throttle = throttle
            file = f
            self.keys = keys
            hashes = keys.map { f.hash($0) }
        }

        /// The verdict for an attempt (the address's counts first, then the login's).
        public func check(now: Int) -> Verdict {
            let p = throttle.policy
            let found = file.locked { hashes.map { file.slot($0, now: Int64(now), window: Int64(p.window)).record } } ?? []
            seen = found.contains { $0 != nil }
            let counts = found.map { throttle.failures($0, now: Int64(now)) }
            var delay = 0.0
            for (key, n) in zip(keys, counts) {
                let (after, refuse) = key.hasPrefix("ip ") ? (p.addressDelayAfter, p.addressRefuseAfter) : (p.loginDelayAfter, p.loginRefuseAfter)
                if refuse > 0 && n >= refuse { return .refuse(key: key, failures: n) }
                if after > 0 && n >= after {
                    let steps = min(n - after, 30)
                    delay = max(delay, min(p.maxDelay, p.delay * Double(1 << steps)))
                }
            }
            return .proceed(delay: delay)
        }

        /// Counts a failure for each key.
        public func failed(now: Int) {
            let w = Int64(throttle.policy.window)
            _ = file.locked {
                for h in hashes {
                    let (s, r) = file.slot(h, now: Int64(now), window: w)
                    let n = throttle.failures(r, now: Int64(now))
                    file.write(Record(key: h, last: Int64(now), failures: UInt32(min(n + 1, Int(UInt32.max)))), s)
                }
            }
        }

        /// A success: the keys' records are cleared.
        public func succeeded(now: Int) {
            guard seen else { return }
            _ = file.locked {
                for h in hashes {
                    let (s, r) = file.slot(h, now: Int64(now), window: Int64(throttle.policy.window))
                    if r != nil { file.write(Record(key: 0, last: 0, failures: 0), s) }
                }
            }
        }
    }

    /// A session for one login's keys; nil when throttling is off or its file cannot be had
    /// (throttling then does nothing: it never costs a login).
    public func session(_ keys: [String]) -> Session? { Session(self, keys: keys) }

    /// Waits `seconds`.
    public static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var rest = timespec()
        while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
    }
}

extension Installation {
    /// The installation's login throttle: one state for every door to a password (vchkpw,
    /// vpopmaild, libvpopmail's vauth_user).
    public var loginThrottle: Throttle {
        Throttle(path: config.throttleFile ?? etcDir + "/login-failures", policy: config.throttle)
    }

    /// The throttle's session for one attempt by `login` from `ip`; nil when throttling is off
    /// or its state cannot be opened.
    public func throttleSession(ip: String, login: String) -> Throttle.Session? {
        let t = loginThrottle
        return t.policy.enabled ? t.session(Throttle.keys(ip: ip, login: login)) : nil
    }
}
