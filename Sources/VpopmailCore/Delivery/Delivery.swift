import CShims
#if canImport(Glibc)
import Glibc
#endif

/// O_TMPFILE (an unnamed file in a directory), which Swift's Glibc module does not export.
public let vpopTmpfileFlag: Int32 = vpop_o_tmpfile()

/// A message being delivered: a seekable file descriptor (qmail-local hands over a regular
/// file; anything else is spooled to an unlinked temporary file first).
public struct Message {
    public let fd: Int32
    public let size: Int

    public init(fd: Int32, size: Int) {
        self.fd = fd
        self.size = size
    }

    /// Wraps standard input, spooling it when it is not a regular file.
    public static func fromStandardInput() throws(SystemError) -> Message {
        var st = stat()
        if fstat(0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
            // The whole file: every read of the message (headers, copy, programs) starts at 0.
            return Message(fd: 0, size: Int(st.st_size))
        }
        let dir = Proc.env("TMPDIR") ?? "/tmp"
        let fd = open(dir, vpopTmpfileFlag | O_RDWR | O_CLOEXEC, 0o600)
        if fd < 0 { throw SystemError("open", dir, errno) }
        var buf = [UInt8](repeating: 0, count: 65536)
        var total = 0
        while true {
            let r = buf.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if r < 0 { if errno == EINTR { continue }; throw SystemError("read", "stdin", errno) }
            if r == 0 { break }
            try FS.writeAll(fd: fd, Array(buf[0..<r]), path: dir)
            total += r
        }
        return Message(fd: fd, size: total)
    }

    /// The header block (up to the first empty line), at most `limit` bytes.
    public func headerLines(limit: Int = 65536) -> [String] {
        var buf = [UInt8](repeating: 0, count: min(limit, max(size, 1)))
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return [] }
        var lines: [String] = []
        var start = 0
        while start < n {
            var end = start
            while end < n && buf[end] != 10 { end += 1 }
            if end == start { break }
            lines.append(String(decoding: buf[start..<end], as: UTF8.self))
            start = end + 1
        }
        return lines
    }

    /// Copies the whole message (from offset 0) to `out`.
    public func copy(to out: Int32, path: String) throws(SystemError) {
        var off: Int64 = 0
        while Int(off) < size {
            let r = vpop_copy_file_range(fd, &off, out, UInt(size - Int(off)))
            if r > 0 { continue }
            if r == 0 { break }
            if errno == EINTR { continue }
            if errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF {
                try copyByReading(to: out, from: off_t(off), path: path)
                return
            }
            throw SystemError("write", path, errno)
        }
    }

    private func copyByReading(to out: Int32, from start: off_t, path: String) throws(SystemError) {
        var off = start
        var buf = [UInt8](repeating: 0, count: 65536)
        while Int(off) < size {
            let r = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off) }
            if r < 0 { if errno == EINTR { continue }; throw SystemError("read", "message", errno) }
            if r == 0 { break }
            try FS.writeAll(fd: out, Array(buf[0..<r]), path: path)
            off += off_t(r)
        }
    }

    /// Rewinds the descriptor to the start (for programs and qmail-inject).
    public func rewind() { lseek(fd, 0, SEEK_SET) }
}

/// How a delivery makes the message durable before it reports success (`delivery-sync`;
/// docs/crash-safety.md has the reasoning). In every mode the message is complete before its name
/// appears in `new/`, and `new/` never holds a partial message after a crash.
public enum DeliverySync: String, Sendable {
    /// `ordered` where the file system commits metadata in order through a journal (XFS, ext4
    /// with a journal), `strict` everywhere else.
    case auto
    /// The message written out to the device (sync_file_range: no metadata, no cache flush),
    /// linked into `new/`, the tmp name removed, then one fsync of the file. The journal commit of
    /// that fsync carries the data's allocation and size, the new name and the removal together,
    /// after a cache flush that puts the data on disk first: one commit, like a bare
    /// fsync-and-link, but the link is durable too. Needs a journal that commits in order.
    case ordered
    /// fsync of the message in `tmp/`, link into `new/`, fsync of `new/`, then the tmp name
    /// removed: two flushes; right on any file system that honours fsync (ext4 without a
    /// journal, ext2, btrfs, NFS).
    case strict
    /// No fsync at all (`file-sync = n`: tests only).
    case off
}

/// Writing one message into a Maildir the qmail way: a uniquely named file in `tmp/` (O_EXCL),
/// written out, linked into `new/` with `,S=<size>`, the tmp name removed, durable before return
/// as `DeliverySync` says. A crash at any point leaves no partial message in `new/`.
public enum MaildirDelivery {
    nonisolated(unsafe) private static var counter = 0

    /// The host part of file names: the host name with `/` and `:` replaced.
    public static let hostName: String = {
        var b = [CChar](repeating: 0, count: 256)
        gethostname(&b, 255)
        var out: [UInt8] = []
        for c in b.prefix(while: { $0 != 0 }) {
            switch UInt8(bitPattern: c) {
            case UInt8(ascii: "/"): out += Array("\\057".utf8)
            case UInt8(ascii: ":"): out += Array("\\072".utf8)
            case let u: out.append(u)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }()

    /// A file name no other delivery uses: `<sec>.M<usec>P<pid>Q<n>.<host>`.
    public static func uniqueName() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        counter += 1
        return "\(tv.tv_sec).M\(tv.tv_usec)P\(getpid())Q\(counter).\(hostName)"
    }

    /// The mode `auto` resolves to for the file system of `fd`.
    public static func resolve(_ mode: DeliverySync, fd: Int32) -> DeliverySync {
        mode == .auto ? (vpop_ordered_journal(fd) != 0 ? .ordered : .strict) : mode
    }

    /// Delivers `prefix` followed by the message into `maildir` (ending in `/`). Returns the size
    /// written (the `,S=` value). `beforeCommit` runs once the message is in `new/` and before the
    /// last sync, so that what it writes (the maildirsize line) goes to disk in the same commit.
    @discardableResult
    /// `owner`: the file's owner when the caller is not the mailbox's owner (vpopbull as root).
    public static func deliver(_ message: Message, prefix: [UInt8], to maildir: String, sync: DeliverySync,
                               owner: (uid: UInt32, gid: UInt32)? = nil,
                               beforeCommit: (Int) -> Void = { _ in }) throws(SystemError) -> Int {
        let base = uniqueName()
        let tmp = maildir + "tmp/" + base
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 { throw SystemError("open", tmp, errno) }
        defer { close(fd) }
        var mode = resolve(sync, fd: fd)
        let size = prefix.count + message.size
        do throws(SystemError) {
            if let owner, fchown(fd, owner.uid, owner.gid) != 0 { throw SystemError("chown", tmp, errno) }
            try FS.writeAll(fd: fd, prefix, path: tmp)
            try message.copy(to: fd, path: tmp)
            if mode == .ordered && vpop_write_out(fd) != 0 {
                // sync_file_range refused (a file system without it): the strict way.
                mode = .strict
            }
            if mode == .strict && fsync(fd) != 0 { throw SystemError("fsync", tmp, errno) }
        } catch {
            unlink(tmp)
            throw error
        }
        let new = maildir + "new/" + base + ",S=\(size)"
        var linked = true
        if link(tmp, new) != 0 {
            let e = errno
            if rename(tmp, new) != 0 { unlink(tmp); throw SystemError("link", new, e) }
            linked = false
        }
        // strict: the tmp name stays until the new one is on disk (without a journal the removal
        // could reach the disk first); otherwise it goes in the same commit as the link.
        if linked && mode != .strict { unlink(tmp) }
        beforeCommit(size)
        var failed: SystemError? = nil
        switch mode {
        case .strict:
            let dir = maildir + "new"
            let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd < 0 || fsync(dfd) != 0 { failed = SystemError("fsync", dir, errno) }
            if dfd >= 0 { close(dfd) }
            if linked { unlink(tmp) }
        case .ordered:
            if fsync(fd) != 0 { failed = SystemError("fsync", new, errno) }
        case .auto, .off:
            break
        }
        if let failed {
            // Not known to be on disk: take it back (qmail retries; at worst a duplicate).
            unlink(new)
            throw failed
        }
        return size
    }
}
