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
        var st = stat()
        let p = a.home + "/lastauth"
        guard posixStat(p, &st) == 0 else { return nil }
        let ip = (try? FS.readText(p)).map { $0.trimmingSpaces() } ?? ""
        return LastAuth(time: Int(st.st_mtim.tv_sec), ip: ip)
    }

    public func setLastAuth(of a: Account, in d: DomainInfo, ip: String, time when: Int?) throws(VpopmailError) {
        let path = a.home + "/lastauth"
        var fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { _ = fchown(fd, d.uid, d.gid) }
        }
        guard fd >= 0 else { return }
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
