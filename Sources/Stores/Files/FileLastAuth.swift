import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// The last login in `<home>/lastauth`: the client address as its content, the time as its
/// mtime. Rewritten in place at each login (one open, write, close; the file is a hint, not a
/// record worth a rename).
public final class FileLastAuth: LastAuthStore {
    public init() {}

    public var storage: String { "files" }

    public func lastAuth(of a: Account, in d: DomainInfo) throws(VpopmailError) -> LastAuth? {
        // As the domain owner and never through a symlink: the home is the owner's.
        let fd = FS.asOwner(d.owner) { open(a.home + "/lastauth", O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let ip = (try? FS.readAll(fd: fd, path: a.home + "/lastauth", status: st)).map { String(decoding: $0.prefix(64), as: UTF8.self).trimmingSpaces() } ?? ""
        return LastAuth(time: Int(st.st_mtim.tv_sec), ip: ip)
    }

    public func setLastAuth(of a: Account, in d: DomainInfo, ip: String, time when: Int?) throws(VpopmailError) {
        // As the domain owner (a root login writes nothing into a home as root), never through
        // a symlink, and only into a regular file.
        let path = a.home + "/lastauth"
        let fd = FS.asOwner(d.owner) { () -> Int32 in
            let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT { return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            return fd
        }
        guard fd >= 0 else { return }
        var cur = stat()
        guard fstat(fd, &cur) == 0, (cur.st_mode & S_IFMT) == S_IFREG, cur.st_nlink == 1 else { close(fd); return }
        defer { close(fd) }
        // Overwrite without truncating first (truncation costs a journal transaction); cut
        // the tail only when the new address is shorter.
        let bytes = Array(ip.utf8)
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        var st = stat()
        if n == bytes.count && fstat(fd, &st) == 0 && Int(st.st_size) != bytes.count { _ = ftruncate(fd, off_t(bytes.count)) }
        if let when {
            var ts = [timespec(tv_sec: when, tv_nsec: 0), timespec(tv_sec: when, tv_nsec: 0)]
            _ = futimens(fd, &ts)
        } else if bytes.isEmpty {
            _ = futimens(fd, nil)
        }
    }

    public func lastAuths(in d: DomainInfo) throws(VpopmailError) -> [String: LastAuth]? { nil }

    public func setLastAuths(_ entries: [(account: Account, auth: LastAuth)], in d: DomainInfo) throws(VpopmailError) {
        for e in entries { try setLastAuth(of: e.account, in: d, ip: e.auth.ip, time: e.auth.time) }
    }

    /// The file goes with the home.
    public func forget(_ a: Account, in d: DomainInfo) throws(VpopmailError) {}

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {}
}
