// Writes and removals by descriptors (docs/threat-model.md, "Paths stay inside their tree").
//
// A process running as root never resolves a path that someone else controls as a string: it
// walks to the directory by descriptors, following a symlink only where root alone could have
// put it, and then acts on one name in that directory with the *at calls, as the directory's
// owner (fsuid/fsgid) when the directory is not root's. A symlink the domain owner planted in
// any component (a hash bucket, a home, `Maildir`, a file name) is never followed by root, and
// whatever root writes into a tree somebody else owns, it writes with that owner's rights.
// A process that is not root has no rights to lend: it uses plain paths.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CShims

/// An open directory. `fd` is `AT_FDCWD` for a process that is not root, whose names are then
/// whole paths.
public struct Directory: ~Copyable {
    public let fd: Int32
    /// The path it was opened by (for messages).
    public let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether this process acts for others (root): only then are paths walked by descriptors.
    @inline(__always)
    static var privileged: Bool { geteuid() == 0 }

    /// The directory that holds `path` (see `leaf(of:)` for the name to use in it). For a process
    /// that is not root: the current directory.
    public static func parent(of path: String) throws(SystemError) -> Directory {
        guard privileged else { return Directory(fd: AT_FDCWD, path: "") }
        let name = Path.basename(path)
        if name.isEmpty || name == "/" || name == "." || name == ".." { throw SystemError("open", path, EINVAL) }
        return try open(Path.dirname(path))
    }

    /// The name of `path` in `parent(of: path)`.
    public static func leaf(of path: String) -> String { privileged ? Path.basename(path) : path }

    /// Opens the directory `path` by a walk from `/` (or the current directory): each component
    /// is opened with `O_NOFOLLOW`; a symlink is followed only when it is root's and sits in a
    /// directory of root's that nobody else can write (or that is sticky), so never one that
    /// another user could have planted. `create`: missing components are made (mode, and owned
    /// by `owner` when given), each as the owner of the directory it is made in.
    public static func open(_ path: String, create: (mode: mode_t, owner: (uid: uid_t, gid: gid_t)?)? = nil) throws(SystemError) -> Directory {
        var pending: [Substring] = path.split(separator: "/").reversed()
        let start = path.hasPrefix("/") ? "/" : "."
        var cur = retry { Glibc.open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        if cur < 0 { throw SystemError("open", start, errno) }
        var walked = path.hasPrefix("/") ? "" : "."
        var hops = 0
        let trustAll = !privileged
        while let c = pending.popLast() {
            if c.isEmpty || c == "." { continue }
            let name = String(c)
            let next = retry { openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if next >= 0 {
                close(cur)
                cur = next
                walked += "/" + name
                continue
            }
            let e = errno
            var lst = Glibc.stat()
            let here = walked + "/" + name
            if e == ENOENT, let create {
                let made = Directory(fd: cur, path: walked)
                try made.asOwner { () throws(SystemError) in
                    if mkdirat(made.fd, name, create.mode) != 0 && errno != EEXIST { throw SystemError("mkdir", here, errno) }
                }
                let sub = try made.sub(name)
                try sub.own(create.owner)
                cur = dup(sub.fd)
                if cur < 0 { throw SystemError("dup", here, errno) }
                walked = here
                continue
            }
            guard (e == ELOOP || e == ENOTDIR || e == EMLINK), fstatat(cur, name, &lst, AT_SYMLINK_NOFOLLOW) == 0,
                  (lst.st_mode & S_IFMT) == S_IFLNK else {
                close(cur)
                throw SystemError("open", here, e)
            }
            var dst = Glibc.stat()
            let trusted = trustAll || (fstat(cur, &dst) == 0 && lst.st_uid == 0 && dst.st_uid == 0
                                       && ((dst.st_mode & 0o022) == 0 || (dst.st_mode & S_ISVTX) != 0))
            hops += 1
            guard trusted, hops <= 32 else {
                close(cur)
                throw SystemError("refusing to follow the symlink", here, ELOOP)
            }
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlinkat(cur, name, &buf, 4096)
            if n <= 0 { close(cur); throw SystemError("readlink", here, errno) }
            buf[n] = 0
            let target = String(cString: buf)
            pending.append(contentsOf: target.split(separator: "/").reversed())
            if target.hasPrefix("/") {
                close(cur)
                cur = retry { Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                if cur < 0 { throw SystemError("open", "/", errno) }
                walked = ""
            }
        }
        return Directory(fd: cur, path: walked.isEmpty ? "/" : walked)
    }

    /// The path of `name` in this directory, for messages.
    public func pathOf(_ name: String) -> String {
        fd == AT_FDCWD ? name : (path == "/" ? "/" + name : path + "/" + name)
    }

    /// Runs `body` with the file-system rights of this directory's owner when this process is
    /// root and the directory is somebody else's: what it creates, it creates as that owner,
    /// and a symlink planted below reaches only what that owner could reach anyway.
    public func asOwner<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        var st = Glibc.stat()
        guard fd != AT_FDCWD, fstat(fd, &st) == 0, st.st_uid != 0 else { return try body() }
        return try FS.asOwner((st.st_uid, st.st_gid), body)
    }

    /// A directory in this one, opened without following a symlink.
    public func sub(_ name: String) throws(SystemError) -> Directory {
        let f = retry { openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if f < 0 { throw SystemError("open", pathOf(name), errno) }
        return Directory(fd: f, path: pathOf(name))
    }

    /// The directory `names` below this one, each opened without following a symlink.
    public func walk(_ names: some Collection<String>) throws(SystemError) -> Directory {
        var dir = try sub(".")
        for n in names { dir = try dir.sub(n) }
        return dir
    }

    /// Makes `name` (as this directory's owner; `EEXIST` when it is there, unless `existing`),
    /// owned by `owner` when given, and opens it.
    public func makeSub(_ name: String, mode: mode_t = 0o700, owner: (uid: uid_t, gid: gid_t)? = nil,
                        existing: Bool = false) throws(SystemError) -> Directory {
        try asOwner { () throws(SystemError) in
            if mkdirat(fd, name, mode) != 0 && !(existing && errno == EEXIST) { throw SystemError("mkdir", pathOf(name), errno) }
        }
        let d = try sub(name)
        try d.own(owner)
        return d
    }

    /// Gives this directory to `owner` (by its descriptor).
    func own(_ owner: (uid: uid_t, gid: gid_t)?) throws(SystemError) {
        guard let o = owner else { return }
        var st = Glibc.stat()
        let f = fd == AT_FDCWD ? -1 : fd
        if f >= 0 && fstat(f, &st) == 0 && st.st_uid == o.uid && st.st_gid == o.gid { return }
        if f >= 0 ? fchown(f, o.uid, o.gid) != 0 : Glibc.chown(path, o.uid, o.gid) != 0 {
            throw SystemError("chown", path, errno)
        }
    }

    /// Opens (creating when `flags` say so) the file `name` as this directory's owner, never
    /// through a symlink; a new file is given to `owner`.
    public func openFile(_ name: String, _ flags: Int32, mode: mode_t = 0o600,
                         owner: (uid: uid_t, gid: gid_t)? = nil) throws(SystemError) -> Int32 {
        let f = asOwner { retry { openat(fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode) } }
        if f < 0 { throw SystemError("open", pathOf(name), errno) }
        if let o = owner {
            var st = Glibc.stat()
            if fstat(f, &st) == 0 && (st.st_uid != o.uid || st.st_gid != o.gid) && fchown(f, o.uid, o.gid) != 0 {
                let e = errno
                close(f)
                throw SystemError("chown", pathOf(name), e)
            }
        }
        return f
    }

    /// Replaces `name` atomically (temporary file, fsync, rename, directory fsync).
    public func writeAtomic(_ name: String, _ bytes: [UInt8], mode: mode_t, owner: (uid: uid_t, gid: gid_t)?,
                            sync: Bool, syncDirectory syncDir: Bool) throws(SystemError) {
        let tmp = "\(name).tmp.\(getpid())"
        // A stale temporary file (a crash with the same pid, or a name someone planted) goes
        // first: the new one is created exclusively, never opened through what was there.
        asOwner { _ = unlinkat(fd, tmp, 0) }
        let f = try openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: mode, owner: owner)
        func fill() throws(SystemError) {
            try FS.writeAll(fd: f, bytes, path: pathOf(tmp))
            if fchmod(f, mode) != 0 { throw SystemError("chmod", pathOf(tmp), errno) }
            if sync && retry({ fsync(f) }) != 0 { throw SystemError("fsync", pathOf(tmp), errno) }
        }
        do {
            try fill()
        } catch {
            close(f)
            asOwner { _ = unlinkat(fd, tmp, 0) }
            throw error
        }
        if close(f) != 0 { let e = errno; asOwner { _ = unlinkat(fd, tmp, 0) }; throw SystemError("close", pathOf(tmp), e) }
        let r = asOwner { renameat(fd, tmp, fd, name) }
        if r != 0 {
            let e = errno
            asOwner { _ = unlinkat(fd, tmp, 0) }
            throw SystemError("rename", pathOf(name), e)
        }
        if sync && syncDir { self.sync() }
    }

    /// fsync of the directory itself.
    public func sync() {
        if fd != AT_FDCWD { _ = fsync(fd) }
    }

    /// Removes the file (or symlink) `name`; a missing one is not an error.
    public func unlink(_ name: String) throws(SystemError) {
        if asOwner({ unlinkat(fd, name, 0) }) != 0 && errno != ENOENT { throw SystemError("unlink", pathOf(name), errno) }
    }

    /// Status of `name` itself (a symlink is not followed), or nil when missing.
    public func status(_ name: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    /// Names in this directory (without `.` and `..`).
    public func names() throws(SystemError) -> [String] {
        let f = fd == AT_FDCWD ? Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup(fd)
        guard f >= 0, let d = fdopendir(f) else { throw SystemError("opendir", path, errno) }
        defer { closedir(d) }
        rewinddir(d)
        var out: [String] = []
        while let e = readdir(d) {
            let n = withUnsafePointer(to: e.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if n != "." && n != ".." { out.append(n) }
        }
        return out
    }

    /// `rm -r` of `name` by descriptors: a symlink is removed, never followed, at any depth,
    /// and nothing on another file system (a mount below) is entered. Missing is not an error.
    public func removeTree(_ name: String) throws(SystemError) {
        guard let st = status(name) else {
            if errno == ENOENT { return }
            throw SystemError("lstat", pathOf(name), errno)
        }
        try removeTree(name, st, device: nil)
    }

    private func removeTree(_ name: String, _ st: Glibc.stat, device: dev_t?) throws(SystemError) {
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            if unlinkat(fd, name, 0) != 0 && errno != ENOENT { throw SystemError("unlink", pathOf(name), errno) }
            return
        }
        if let device, st.st_dev != device { throw SystemError("refusing to enter another file system at", pathOf(name), EXDEV) }
        do {
            let sub = try self.sub(name)
            for n in try sub.names() {
                guard let s = sub.status(n) else { continue }
                try sub.removeTree(n, s, device: st.st_dev)
            }
        }
        if unlinkat(fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw SystemError("rmdir", pathOf(name), errno) }
    }
}

extension FS {
    /// Runs `body` with the file-system ids of `owner` (setfsuid/setfsgid, this thread only)
    /// when this process is root and `owner` is not; the ids are restored afterwards.
    public static func asOwner<T, E: Error>(_ owner: (uid: uid_t, gid: gid_t), _ body: () throws(E) -> T) throws(E) -> T {
        guard geteuid() == 0, owner.uid != 0 else { return try body() }
        let oldGID = setfsgid(owner.gid)
        let oldUID = setfsuid(owner.uid)
        defer {
            _ = setfsuid(uid_t(bitPattern: oldUID))
            _ = setfsgid(gid_t(bitPattern: oldGID))
        }
        return try body()
    }
}

extension FS {
    /// Why a process running as root should not run `path` (nil: it may, or this process is not
    /// root and lends no rights): the program and every directory above it, as given and as its
    /// symlinks resolve, must be root's and writable by nobody else (a sticky directory such as
    /// /tmp excepted). Otherwise the vpopmail user or a domain owner could replace what root runs.
    public static func untrustedProgram(_ path: String) -> String? {
        guard geteuid() == 0 else { return nil }
        guard path.hasPrefix("/") else { return "\(path) is not an absolute path" }
        var paths = [path]
        if let r = realpath(path, nil) {
            let resolved = String(cString: r)
            free(r)
            if resolved != path { paths.append(resolved) }
        } else {
            return "\(path): \(String(cString: strerror(errno)))"
        }
        for p in paths {
            let parts = p.split(separator: "/")
            var prefix = ""
            for (i, c) in ([""] + parts.map(String.init)).enumerated() {
                prefix = i == 0 ? "/" : (prefix == "/" ? "/" : prefix + "/") + c
                var st = Glibc.stat()
                guard lstat(prefix, &st) == 0 else { return "\(prefix): \(String(cString: strerror(errno)))" }
                let type = st.st_mode & S_IFMT
                if type == S_IFLNK { continue }  // its directory protects it; where it leads is checked too
                if st.st_uid != 0 { return "\(prefix) is owned by uid \(st.st_uid), not by root" }
                let writable = st.st_mode & 0o022 != 0
                if type == S_IFDIR ? writable && st.st_mode & S_ISVTX == 0 : writable {
                    return "\(prefix) is writable by its group or by others"
                }
            }
        }
        return nil
    }
}
