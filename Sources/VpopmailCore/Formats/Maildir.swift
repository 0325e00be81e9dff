#if canImport(Glibc)
import Glibc
#endif

/// Maildir creation and the Maildir++ `maildirsize` file (docs/formats.md, "`maildirsize`"), which Courier
/// and Dovecot read too.
public enum Maildir {
    /// Creates `Maildir/{cur,new,tmp}` under `home` (which must exist), owned by `owner`, by
    /// descriptors (`Directory`).
    public static func create(home: String, owner: (uid: UInt32, gid: UInt32)?) throws(SystemError) {
        try create(in: try Directory.open(home), owner: owner)
    }

    /// Whether `new`, `cur` and `tmp` of the Maildir are there (what `create` makes).
    public static func isComplete(_ maildir: String) -> Bool {
        FS.isDirectory(maildir + "/new") && FS.isDirectory(maildir + "/cur") && FS.isDirectory(maildir + "/tmp")
    }

    /// Creates `Maildir/{cur,new,tmp}` in the open home directory (what is there is kept).
    public static func create(in home: borrowing Directory, owner: (uid: UInt32, gid: UInt32)?) throws(SystemError) {
        let md = try home.makeSub("Maildir", mode: 0o700, owner: owner, existing: true)
        for d in ["new", "cur", "tmp"] { _ = try md.makeSub(d, mode: 0o700, owner: owner, existing: true) }
    }

    public static func sizePath(_ maildir: String) -> String { maildir + "/maildirsize" }

    /// The address a Maildir path belongs to (upstream's `maildir_to_email`): the user is the
    /// component before `/Maildir`, the domain the nearest ancestor containing a `.`;
    /// `/…/domains/example.com/0/ann/Maildir/` is `ann@example.com`. Nil for relative paths and
    /// paths without such components.
    public static func address(ofPath path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var parts = path.split(separator: "/").map(String.init)
        guard let m = parts.lastIndex(of: "Maildir"), m >= 2 else { return nil }
        let user = String(DirControl.user(ofHomeName: Substring(parts[m - 1])))
        parts = Array(parts[..<(m - 1)])
        guard let domain = parts.last(where: { $0.contains(".") }), UserName(user) != nil else { return nil }
        return "\(user)@\(domain)"
    }

    /// Writes a fresh `maildirsize`: the quota line and the given totals.
    public static func writeSize(maildir: String, quota: Quota, bytes: UInt64, count: UInt64,
                                 owner: (uid: UInt32, gid: UInt32)?, sync: Bool) throws(SystemError) {
        try FS.writeAtomic(sizePath(maildir), "\(quota.spelling)\n\(bytes) \(count)\n", mode: 0o600, owner: owner, sync: sync)
    }

    /// Size and count of the mail in a Maildir the way Maildir++ counts it: `new` and `cur` of
    /// the Maildir and of every `.folder` except `.Trash`, skipping dot files and messages
    /// flagged T; the size comes from `,S=` in the name, else from stat.
    public static func scan(_ maildir: String) -> (bytes: UInt64, count: UInt64) {
        var bytes: UInt64 = 0, count: UInt64 = 0
        var dirs = [maildir]
        if let entries = try? FS.list(maildir) {
            for e in entries where e.hasPrefix(".") && e != "." && e != ".." && e != ".Trash" {
                if FS.isDirectory(maildir + "/" + e) { dirs.append(maildir + "/" + e) }
            }
        }
        for d in dirs {
            for sub in ["new", "cur"] {
                let path = d + "/" + sub
                guard let dir = opendir(path) else { continue }
                defer { closedir(dir) }
                // On the bytes of each name: a Maildir can hold many thousands of messages.
                while let e = readdir(dir) {
                    let info = withUnsafePointer(to: e.pointee.d_name) { p in
                        p.withMemoryRebound(to: CChar.self, capacity: 256) { c in
                            let n = strlen(c)
                            return c.withMemoryRebound(to: UInt8.self, capacity: n) { nameInfo($0, n) }
                        }
                    }
                    if info.hidden || info.trashed { continue }
                    if let s = info.size {
                        bytes += s
                    } else {
                        let name = withUnsafePointer(to: e.pointee.d_name) { p in
                            p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                        }
                        var st = Glibc.stat()
                        guard posixStat(path + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                        bytes += UInt64(st.st_size)
                    }
                    count += 1
                }
            }
        }
        return (bytes, count)
    }

    /// The `,S=<n>` size in a Maildir file name.
    public static func sizeFromName(_ n: String) -> UInt64? {
        if n.isEmpty { return nil }
        return Array(n.utf8).withUnsafeBufferPointer { nameInfo($0.baseAddress!, $0.count) }.size
    }

    /// What the Maildir++ count needs from a file name: hidden (a dot file, `.` and `..`),
    /// trashed (flag T after `:2,`), and the size after the first `,S=` (nil when it has no
    /// digits or overflows).
    static func nameInfo(_ p: UnsafePointer<UInt8>, _ n: Int) -> (hidden: Bool, trashed: Bool, size: UInt64?) {
        if n == 0 || p[0] == UInt8(ascii: ".") { return (true, false, nil) }
        var trashed = false, size: UInt64? = nil, sawSize = false, sawInfo = false
        var i = 0
        while i < n {
            if !sawSize && p[i] == UInt8(ascii: ",") && i + 2 < n && p[i + 1] == UInt8(ascii: "S") && p[i + 2] == UInt8(ascii: "=") {
                sawSize = true
                var j = i + 3, v: UInt64 = 0, ok = false
                while j < n, case let d = p[j] &- 48, d <= 9 {
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(UInt64(d))
                    if o1 || o2 { ok = false; break }
                    v = a; ok = true; j += 1
                }
                size = ok ? v : nil
            }
            if !sawInfo && p[i] == UInt8(ascii: ":") && i + 2 < n && p[i + 1] == UInt8(ascii: "2") && p[i + 2] == UInt8(ascii: ",") {
                sawInfo = true
                for k in (i + 3)..<n where p[k] == UInt8(ascii: "T") { trashed = true }
            }
            i += 1
        }
        return (false, trashed, size)
    }

    /// Current usage from `maildirsize`, recalculated (and the file rewritten) when it is missing,
    /// 5120 bytes or larger, older than 15 minutes, or its quota line differs from `quota`.
    public static func usage(maildir: String, quota: Quota, owner: (uid: UInt32, gid: UInt32)?,
                             sync: Bool) -> (bytes: UInt64, count: UInt64) {
        // As the owner of the Maildir: a process running as root reads and writes nothing in a
        // home with its own rights.
        guard let owner else { return usage(maildir: maildir, quota: quota, sync: sync) }
        return FS.asOwner(owner) { usage(maildir: maildir, quota: quota, sync: sync) }
    }

    private static func usage(maildir: String, quota: Quota, sync: Bool) -> (bytes: UInt64, count: UInt64) {
        let path = sizePath(maildir)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            var st = Glibc.stat()
            if fstat(fd, &st) == 0, st.st_size < 5120, time(nil) - st.st_mtim.tv_sec <= 15 * 60,
               let data = try? FS.readAll(fd: fd, path: path, status: st), let sums = sizeSums(data, quota: quota.spelling),
               sums.bytes >= 0, sums.count >= 0 {
                return (UInt64(sums.bytes), UInt64(sums.count))
            }
            // Negative totals are a corrupt file (a quota anyone could escape): counted again.
        }
        let u = scan(maildir)
        if quota.keepsMaildirsize {
            try? writeSize(maildir: maildir, quota: quota, bytes: u.bytes, count: u.count, owner: nil, sync: sync)
        }
        return u
    }

    /// The first line of a `maildirsize` (its quota), nil for an empty file.
    public static func quotaLine(_ data: [UInt8]) -> Quota? {
        if data.isEmpty { return nil }
        return Quota(stored: String(decoding: data[..<(data.firstIndex(of: 10) ?? data.count)], as: UTF8.self))
    }

    /// The totals of a `maildirsize` whose first line is `quota` (nil when it is another): every
    /// later line of two numbers separated by spaces adds to them, other lines are skipped. The
    /// file grows by one line per delivery, so this works on the bytes.
    public static func sizeSums(_ data: [UInt8], quota: String) -> (bytes: Int64, count: Int64)? {
        let end = data.firstIndex(of: 10) ?? data.count
        guard data[..<end].elementsEqual(quota.utf8) else { return nil }
        guard data.count > end + 1 else { return (0, 0) }
        // One pass over the bytes, which runs on every delivery over a file of up to ~700 lines:
        // a copy ending in a 0 sentinel, so that the loops need no bounds checks.
        var text = data
        text.append(0)
        return text.withUnsafeBufferPointer { buf -> (bytes: Int64, count: Int64) in
            let p = buf.baseAddress!
            var b: Int64 = 0, c: Int64 = 0
            let n = buf.count - 1
            var i = end + 1
            while i < n {
                // The first two space-separated fields, each a whole optionally signed integer.
                var got = 0
                var first: Int64 = 0, second: Int64 = 0
                while got < 2 {
                    while p[i] == 32 { i += 1 }
                    let start = i
                    if p[i] == 43 || p[i] == 45 { i += 1 }
                    let digits = i
                    var v: Int64 = 0
                    while case let d = p[i] &- 48, d <= 9 {
                        v = v &* 10 &+ Int64(d)
                        i += 1
                    }
                    let t = p[i]
                    guard i > digits, t == 32 || t == 10 || (t == 0 && i == n) else { break }
                    if i - digits > 18 {
                        // Could overflow: the checked reading.
                        guard let checked = Bytes.int64(buf[start..<i]) else { break }
                        v = checked
                    } else if p[start] == 45 {
                        v = -v
                    }
                    if got == 0 { first = v } else { second = v }
                    got += 1
                }
                if got == 2 {
                    b = b &+ first
                    c = c &+ second
                }
                while i < n && p[i] != 10 { i += 1 }
                i += 1
            }
            return (b, c)
        }
    }

    /// Percentage used: the larger of the size and count percentages (integer arithmetic).
    public static func percent(bytes: UInt64, count: UInt64, quota: Quota) -> Int {
        var p: UInt64 = 0
        if quota.bytes > 0 { p = max(p, bytes * 100 / quota.bytes) }
        if quota.count > 0 { p = max(p, count * 100 / quota.count) }
        return Int(p)
    }
}
