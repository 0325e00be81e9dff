// Thin, typed wrappers over the POSIX calls the library needs. Every call retries on EINTR and
// turns errno into a `SystemError`. Nothing here imports Foundation: vchkpw and vdelivermail link
// this module into fully static executables.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: what was attempted, on which path, and errno.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(_ operation: String, _ path: String, _ errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(errno)))"
    }

    /// True for "the disk is full" and the like: the write could not be completed.
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT || errno == EFBIG }
}

/// stat(2) and lstat(2) under names that do not collide with `struct stat`.
@inline(__always)
public func posixStat(_ path: String, _ st: inout stat) -> Int32 { stat(path, &st) }

@inline(__always)
func retry(_ body: () -> Int32) -> Int32 {
    while true {
        let r = body()
        if r == -1 && errno == EINTR { continue }
        return r
    }
}

@inline(__always)
func retryIO(_ body: () -> Int) -> Int {
    while true {
        let r = body()
        if r == -1 && errno == EINTR { continue }
        return r
    }
}

/// File-system helpers used by every store and command.
public enum FS {
    /// Whether `path` exists (does not follow a final symlink's absence: uses lstat).
    public static func exists(_ path: String) -> Bool {
        var st = Glibc.stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = Glibc.stat()
        return posixStat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The whole file. Throws ENOENT when missing.
    public static func read(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = retry { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 { throw SystemError("open", path, errno) }
        defer { close(fd) }
        return try readAll(fd: fd, path: path)
    }

    /// The whole file, or nil when it does not exist.
    public static func readIfExists(_ path: String) throws(SystemError) -> [UInt8]? {
        do { return try read(path) } catch where error.errno == ENOENT || error.errno == ENOTDIR { return nil }
    }

    /// The file as text (UTF-8, invalid bytes replaced), or nil when it does not exist.
    public static func readText(_ path: String) throws(SystemError) -> String? {
        guard let b = try readIfExists(path) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// The rest of the file. `status` is the descriptor's fstat when the caller already has it.
    public static func readAll(fd: Int32, path: String, status: Glibc.stat? = nil) throws(SystemError) -> [UInt8] {
        var st = Glibc.stat()
        var haveStat = false
        if let status { st = status; haveStat = true } else { haveStat = fstat(fd, &st) == 0 }
        // Files of /proc say size 0 and may return a page at a time: only real sizes count.
        let regular = haveStat && (st.st_mode & S_IFMT) == S_IFREG && st.st_size > 0
        var cap = 4096
        if haveStat && st.st_size > 0 { cap = Int(st.st_size) + 1 }
        var buf = [UInt8](repeating: 0, count: cap)
        var n = 0
        while true {
            if n == buf.count { buf.append(contentsOf: repeatElement(0, count: buf.count)) }
            let want = buf.count - n
            let r = buf.withUnsafeMutableBytes { b in retryIO { Glibc.read(fd, b.baseAddress! + n, want) } }
            if r < 0 { throw SystemError("read", path, errno) }
            if r == 0 { break }
            n += r
            // A regular file returns less than asked only at its end: no second read for the 0.
            if regular && r < want { break }
        }
        buf.removeLast(buf.count - n)
        return buf
    }

    /// Writes all of `bytes` to `fd`.
    public static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        let e: Int32 = bytes.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let r = retryIO { Glibc.write(fd, b.baseAddress! + off, b.count - off) }
                if r < 0 { return errno }
                off += r
            }
            return 0
        }
        if e != 0 { throw SystemError("write", path, e) }
    }

    /// Replaces `path` atomically: writes `path.tmp.<pid>` (exclusively), fsyncs it, sets mode
    /// and owner, renames it over `path` and fsyncs the directory. A crash leaves the old file or
    /// the new one. As root, the directory is reached by descriptors and written as its owner
    /// (`Directory`).
    public static func writeAtomic(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600,
                                   owner: (uid: uid_t, gid: gid_t)? = nil, sync: Bool = true,
                                   syncDirectory syncDir: Bool = true) throws(SystemError) {
        let dir = try Directory.parent(of: path)
        try dir.writeAtomic(Directory.leaf(of: path), bytes, mode: mode, owner: owner, sync: sync, syncDirectory: syncDir)
        if sync && syncDir && dir.fd == AT_FDCWD { syncDirectory(of: path) }
    }

    public static func writeAtomic(_ path: String, _ text: String, mode: mode_t = 0o600,
                                   owner: (uid: uid_t, gid: gid_t)? = nil, sync: Bool = true) throws(SystemError) {
        try writeAtomic(path, Array(text.utf8), mode: mode, owner: owner, sync: sync)
    }

    /// fsync of the directory that holds `path`, so that a rename survives a crash.
    public static func syncDirectory(of path: String) {
        let dir = Path.dirname(path)
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// Appends `bytes` to `path` (created with `mode` and given to `owner` when missing), with fsync.
    public static func append(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600,
                              owner: (uid: uid_t, gid: gid_t)? = nil, sync: Bool = true) throws(SystemError) {
        let dir = try Directory.parent(of: path)
        let fd = try dir.openFile(Directory.leaf(of: path), O_WRONLY | O_CREAT | O_APPEND, mode: mode, owner: owner)
        defer { close(fd) }
        try writeAll(fd: fd, bytes, path: path)
        if sync && retry({ fsync(fd) }) != 0 { throw SystemError("fsync", path, errno) }
    }

    /// Creates a new file (fails when it exists) with `bytes`, without fsync: for files inside a
    /// directory that is itself new.
    public static func create(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600,
                              owner: (uid: uid_t, gid: gid_t)? = nil) throws(SystemError) {
        let dir = try Directory.parent(of: path)
        let fd = try dir.openFile(Directory.leaf(of: path), O_WRONLY | O_CREAT | O_EXCL, mode: mode, owner: owner)
        defer { close(fd) }
        try writeAll(fd: fd, bytes, path: path)
    }

    /// Creates one directory (as the owner of the one it is made in). Throws EEXIST when it is there.
    public static func mkdir(_ path: String, mode: mode_t = 0o700, owner: (uid: uid_t, gid: gid_t)? = nil) throws(SystemError) {
        _ = try Directory.parent(of: path).makeSub(Directory.leaf(of: path), mode: mode, owner: owner)
    }

    /// `mkdir -p`: creates every missing directory of `path`, each given to `owner`, by a walk
    /// that follows no symlink somebody else could have planted (`Directory.open`).
    public static func mkdirs(_ path: String, mode: mode_t = 0o700, owner: (uid: uid_t, gid: gid_t)? = nil) throws(SystemError) {
        if !Directory.privileged && isDirectory(path) { return }
        _ = try Directory.open(path, create: (mode, owner))
    }

    /// Removes a file; a missing one is not an error. As root, by descriptors, as the owner of
    /// the directory.
    public static func unlink(_ path: String) throws(SystemError) {
        do {
            try Directory.parent(of: path).unlink(Directory.leaf(of: path))
        } catch where error.errno == ENOENT {
        }
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        if Glibc.rename(from, to) != 0 { throw SystemError("rename", to, errno) }
    }

    /// Names in a directory, without `.` and `..`, in readdir order.
    public static func list(_ path: String) throws(SystemError) -> [String] {
        guard let d = opendir(path) else { throw SystemError("opendir", path, errno) }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    /// `rm -r`: removes `path` and everything under it, by descriptors (`Directory.removeTree`):
    /// a symlink is removed, never followed, and no other file system is entered.
    public static func removeTree(_ path: String) throws(SystemError) {
        let parent: Directory
        do { parent = try Directory.open(Path.dirname(path)) } catch where error.errno == ENOENT { return }
        try parent.removeTree(Path.basename(path))
    }

    public static func isSymlink(_ path: String) -> Bool {
        var st = Glibc.stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }
}

/// An exclusive fcntl lock on a lock file, held until `unlock()` or deinit.
public final class FileLock {
    private var fd: Int32
    public let path: String

    /// Blocks until the lock is granted. The lock file is created (mode 0600, given to `owner`)
    /// when missing, as the owner of its directory and never through a symlink.
    public init(_ path: String, owner: (uid: uid_t, gid: gid_t)? = nil) throws(SystemError) {
        self.path = path
        fd = try Directory.parent(of: path).openFile(Directory.leaf(of: path), O_RDWR | O_CREAT, mode: 0o600, owner: owner)
        var fl = flock()
        fl.l_type = Int16(F_WRLCK)
        fl.l_whence = Int16(SEEK_SET)
        fl.l_start = 0
        fl.l_len = 0
        if retry({ fcntl(fd, F_SETLKW, &fl) }) != 0 {
            let e = errno
            close(fd)
            fd = -1
            throw SystemError("lock", path, e)
        }
    }

    public func unlock() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { unlock() }
}

/// Path string helpers (no Foundation).
public enum Path {
    public static func dirname(_ p: String) -> String {
        var s = Substring(p)
        while s.count > 1 && s.hasSuffix("/") { s = s.dropLast() }
        guard let i = s.lastIndex(of: "/") else { return "." }
        if i == s.startIndex { return "/" }
        return String(s[..<i])
    }

    public static func basename(_ p: String) -> String {
        var s = Substring(p)
        while s.count > 1 && s.hasSuffix("/") { s = s.dropLast() }
        guard let i = s.lastIndex(of: "/") else { return String(s) }
        return String(s[s.index(after: i)...])
    }

    public static func join(_ a: String, _ b: String) -> String {
        if b.isEmpty { return a }
        if a.hasSuffix("/") { return a + b }
        return a + "/" + b
    }
}

/// Process helpers.
public enum Proc {
    /// The environment variable, or nil.
    public static func env(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }

    /// Absolute path of the running executable (/proc/self/exe), or nil.
    public static func executablePath() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n <= 0 { return nil }
        buf[n] = 0
        return String(cString: buf)
    }

    /// Runs `argv[0]` with `argv`, optionally feeding `input` on stdin; returns the exit status
    /// (or 128 + signal), or nil when the program could not be started.
    public static func run(_ argv: [String], input: [UInt8]? = nil, umask newMask: mode_t? = nil) -> Int32? {
        var pipeFDs: [Int32] = [-1, -1]
        if input != nil && pipe(&pipeFDs) != 0 { return nil }
        let pid = fork()
        if pid < 0 { return nil }
        if pid == 0 {
            if input != nil {
                dup2(pipeFDs[0], 0)
                close(pipeFDs[0]); close(pipeFDs[1])
            }
            if let m = newMask { umask(m) }
            var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
            cargs.append(nil)
            execv(argv[0], cargs)
            _exit(127)
        }
        if let input {
            close(pipeFDs[0])
            let old = signal(SIGPIPE, SIG_IGN)
            input.withUnsafeBytes { b in
                var off = 0
                while off < b.count {
                    let r = retryIO { Glibc.write(pipeFDs[1], b.baseAddress! + off, b.count - off) }
                    if r <= 0 { break }
                    off += r
                }
            }
            close(pipeFDs[1])
            signal(SIGPIPE, old)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 { if errno != EINTR { return nil } }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    /// Sends `sig` to every process whose command name is `name` (from /proc), except ourselves.
    /// Returns how many were signalled.
    @discardableResult
    public static func signalProcesses(named name: String, signal sig: Int32) -> Int {
        guard let entries = try? FS.list("/proc") else { return 0 }
        let me = getpid()
        var n = 0
        for e in entries {
            guard let pid = Int32(e), pid != me else { continue }
            guard let comm = try? FS.readText("/proc/\(e)/comm") else { continue }
            if comm.hasSuffix("\n") ? comm.dropLast() == name : comm == name {
                if kill(pid, sig) == 0 { n += 1 }
            }
        }
        return n
    }
}

/// Byte-level helpers for line-oriented files.
public enum Bytes {
    /// `UInt64(String)` on bytes: an optional `+` and decimal digits, nil on anything else or
    /// overflow.
    public static func uint64(_ s: ArraySlice<UInt8>) -> UInt64? {
        s.withUnsafeBufferPointer { p in
            let plus = p.first == UInt8(ascii: "+")
            return magnitude(p[(plus ? 1 : 0)...])
        }
    }

    /// `UInt32(String)` on bytes.
    public static func uint32(_ s: ArraySlice<UInt8>) -> UInt32? {
        uint64(s).flatMap { $0 <= UInt64(UInt32.max) ? UInt32($0) : nil }
    }

    /// `Int64(String)` on bytes: an optional sign and decimal digits, nil on anything else or
    /// overflow.
    public static func int64(_ s: ArraySlice<UInt8>) -> Int64? {
        s.withUnsafeBufferPointer { int64($0[...]) }
    }

    public static func int64(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> Int64? {
        let sign = s.first
        let negative = sign == UInt8(ascii: "-")
        let signed = negative || sign == UInt8(ascii: "+")
        guard let m = magnitude(s[(s.startIndex + (signed ? 1 : 0))...]) else { return nil }
        if negative { return m <= UInt64(Int64.max) + 1 ? Int64(bitPattern: 0 &- m) : nil }
        return m <= UInt64(Int64.max) ? Int64(m) : nil
    }

    /// One or more decimal digits as a UInt64; nil on anything else or overflow.
    private static func magnitude(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64? {
        if s.isEmpty { return nil }
        var n: UInt64 = 0
        for c in s {
            let d = c &- 48
            if d > 9 { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            n = a
        }
        return n
    }

    /// The lines of a text file: split at LF, a trailing CR removed from each (files an admin
    /// edited on another system), no empty last line for the final LF. On the bytes: Swift's
    /// `Character` takes CR LF as one, so splitting the `String` at "\n" would not split there.
    public static func textLines(_ text: String) -> [String] {
        var out: [String] = []
        var u = text.utf8[...]
        while !u.isEmpty {
            let nl = u.firstIndex(of: 10)
            var line = u[..<(nl ?? u.endIndex)]
            if line.last == 13 { line = line.dropLast() }
            out.append(String(decoding: line, as: UTF8.self))
            guard let nl else { break }
            u = u[u.index(after: nl)...]
        }
        return out
    }
}

/// Splits `0..<count` into `threads` contiguous chunks and runs `body(chunk)` for each on its own
/// POSIX thread (no Foundation). `body` must only touch state owned by its indexes.
public func parallelChunks(_ count: Int, threads: Int, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    let n = max(1, min(threads, count))
    if n == 1 {
        body(0..<count)
        return
    }
    final class Job: @unchecked Sendable {
        let body: @Sendable (Range<Int>) -> Void
        let range: Range<Int>
        init(_ body: @escaping @Sendable (Range<Int>) -> Void, _ range: Range<Int>) { self.body = body; self.range = range }
    }
    var tids: [pthread_t] = []
    let per = (count + n - 1) / n
    for t in 0..<n {
        let job = Job(body, (t * per)..<min(count, (t + 1) * per))
        let ctx = Unmanaged.passRetained(job).toOpaque()
        var tid = pthread_t()
        let r = pthread_create(&tid, nil, { p in
            let job = Unmanaged<Job>.fromOpaque(p!).takeRetainedValue()
            job.body(job.range)
            return nil
        }, ctx)
        if r == 0 {
            tids.append(tid)
        } else {
            let job = Unmanaged<Job>.fromOpaque(ctx).takeRetainedValue()
            job.body(job.range)
        }
    }
    for tid in tids { pthread_join(tid, nil) }
}

/// strftime(3) of `t` in UTC or local time (the C locale: English names).
public func formatTime(_ t: time_t, _ format: String, utc: Bool) -> String {
    var tt = t
    var tmv = tm()
    if utc { gmtime_r(&tt, &tmv) } else { localtime_r(&tt, &tmv) }
    var buf = [CChar](repeating: 0, count: 128)
    let n = strftime(&buf, buf.count, format, &tmv)
    return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// An RFC 2822 date in UTC (`Date:` headers of bulletins and quota warnings).
public func rfc2822Date(_ t: time_t) -> String { formatTime(t, "%a, %d %b %Y %H:%M:%S +0000", utc: true) }
