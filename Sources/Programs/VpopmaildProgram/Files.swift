import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

extension Session {
    /// The directory a session's file commands are confined to: the domains (system admin),
    /// the login domain's directory (domain admin), the user's home.
    var fileBase: String {
        switch level {
        case .systemAdmin: return v.domainsRoot
        case .domainAdmin: return loginDomain?.dir ?? "/nonexistent"
        default: return account?.home ?? "/nonexistent"
        }
    }

    /// Upstream's `validate_path`, tightened: `..` and `%` refused; `user@domain/...` and
    /// `domain/...` replaced by the home or domain directory; the result must be the base or
    /// below it by whole path components (not a string prefix). nil: the error reply is sent.
    func resolvePath(_ raw: String) -> String? {
        if raw.isEmpty { io.send(Wire.err(27, 1500)); return nil }
        if raw.contains("..") { io.send(Wire.err(20, 1501)); return nil }
        if raw.contains("%") { io.send(Wire.err(21, 1502)); return nil }
        if raw.utf8.contains(where: { $0 < 32 || $0 == 127 }) { io.send(Wire.err(26, 1510)); return nil }
        var path = raw
        if !raw.hasPrefix("/") {
            guard let slash = raw.firstIndex(of: "/") else { io.send(Wire.err(22, 1503)); return nil }
            let head = String(raw[..<slash])
            let tail = String(raw[raw.index(after: slash)...])
            if head.contains("@") {
                let (u, dn) = Validate.splitAddress(head)
                guard !u.isEmpty, !dn.isEmpty else { io.send(Wire.err(24, 1505)); return nil }
                guard let d = domain(dn), let a = account(u, d) else {
                    io.send(Wire.err(25, 1506)); return nil
                }
                if level == .domainAdmin && !mayActIn(d) { io.send(Wire.err(11, 1507)); return nil }
                if level == .user && !(mayActIn(d) && a.name == account?.name) { io.send(Wire.err(12, 1508)); return nil }
                path = a.home + "/" + tail
            } else {
                guard let d = domain(head) else { io.send(Wire.err(11, 1509)); return nil }
                path = d.dir + "/" + tail
            }
        }
        // Normalised: no empty or "." components, no trailing slash.
        let parts = path.split(separator: "/").filter { $0 != "." }
        path = "/" + parts.joined(separator: "/")
        let base = fileBase
        guard path == base || path.hasPrefix(base + "/") else {
            io.send(Wire.err(26, level == .systemAdmin ? 1510 : level == .domainAdmin ? 1511 : 1512))
            return nil
        }
        // The store's own files are the library's: a domain admin rewriting vpasswd could give
        // an account system admin rights, and limits or hashing state are the operator's.
        if level != .systemAdmin, let name = parts.last, Session.storeFiles.contains(String(name)) {
            io.send(Wire.err(26, 1513))
            return nil
        }
        return path
    }

    /// Files only the library (and a system admin) writes: accounts, their index and lock,
    /// limits, the hashing state, a user's secrets and vacation.
    static let storeFiles: Set<String> = ["vpasswd", "vpasswd.cdb", ".vpasswd.lock", ".qmailadmin-limits", ".dir-control",
                                          ".dir_control_free", ".dir-control.lock", "lastauth", "maildirsize",
                                          // A user's second factor and app passwords, vacation state (the library's).
                                          ".vpopmail-secrets", ".vpopmail-secrets.lock", ".vacation", ".vacation-replied",
                                          ".vacation-replied.lock"]

    /// Whom file commands act as: the login domain's owner, the vpopmail user for a system admin.
    var fileOwner: (uid: UInt32, gid: UInt32) {
        if level != .systemAdmin, let d = loginDomain { return d.owner }
        return (v.vpopUID, v.vpopGID)
    }

    func systemError(_ minor: Int, _ e: SystemError) -> String {
        Wire.err0(minor, String(cString: strerror(e.errno)))
    }

    func file(_ c: String, _ line: CommandLine_) {
        let owner = fileOwner
        switch c {
        case "mk_dir":
            guard let p = resolvePath(line.token(1)) else { return }
            do throws(SystemError) {
                try FS.asOwner(owner) { () throws(SystemError) in try FS.mkdir(p, mode: 0o700) }
                io.send(Wire.ok)
            } catch { io.send(systemError(1603, error)) }
        case "rm_dir":
            guard let p = resolvePath(line.token(1)) else { return }
            if p == fileBase { io.send(Wire.err(26, 1703)); return }
            do throws(SystemError) {
                try FS.asOwner(owner) { () throws(SystemError) in try FS.removeTree(p) }
                io.send(Wire.ok)
            } catch { io.send(systemError(1704, error)) }
        case "list_dir":
            guard let p = resolvePath(line.token(1)) else { return }
            do throws(SystemError) {
                let names = try FS.asOwner(owner) { () throws(SystemError) in try FS.list(p) }
                var s = Wire.okData
                for n in names.sorted() where n != "." && n != ".." {
                    var st = stat()
                    let type: String
                    if lstat(p + "/" + n, &st) != 0 {
                        type = "unknown"
                    } else {
                        switch st.st_mode & S_IFMT {
                        case S_IFREG: type = "file"
                        case S_IFDIR: type = "dir"
                        case S_IFCHR: type = "chardev"
                        case S_IFBLK: type = "blkdev"
                        case S_IFIFO: type = "fifo"
                        case S_IFLNK: type = "link"
                        case S_IFSOCK: type = "sock"
                        default: type = "unknown"
                        }
                    }
                    s += "\(Wire.oneLine(n)) \(type)\r\n"
                }
                io.send(s + Wire.end)
            } catch { io.send(systemError(1803, error)) }
        case "rm_file":
            guard let p = resolvePath(line.token(1)) else { return }
            do throws(SystemError) {
                try FS.asOwner(owner) { () throws(SystemError) in try FS.unlink(p) }
                io.send(Wire.ok)
            } catch { io.send(systemError(1903, error)) }
        case "rename_file":
            if line.token(1).isEmpty { io.send(Wire.err(28, 3801)); return }
            if line.token(2).isEmpty { io.send(Wire.err(29, 3802)); return }
            guard let src = resolvePath(line.token(1)), let dst = resolvePath(line.token(2)) else { return }
            do throws(SystemError) {
                try FS.asOwner(owner) { () throws(SystemError) in try FS.rename(src, dst) }
                io.send(Wire.ok)
            } catch { io.send(systemError(3803, error)) }
        case "write_file":
            let p = resolvePath(line.token(1))
            var data: [UInt8] = []
            // The data lines up to `.`, read whatever the path said (they are the client's).
            reading: while true {
                switch io.readLine(timeout: timeout) {
                case .closed: return
                case .timeout: io.send(Wire.err(3, 106)); return
                case .tooLong: continue
                case .line(let b):
                    if b == [UInt8(ascii: ".")] || b == [UInt8(ascii: "."), 13] { break reading }
                    data += b
                    data.append(10)
                }
            }
            guard let p else { return }
            do throws(SystemError) {
                try FS.asOwner(owner) { () throws(SystemError) in try FS.writeAtomic(p, data, mode: 0o600, sync: v.sync) }
                io.send(Wire.ok)
            } catch { io.send(systemError(2003, error)) }
        case "read_file":
            guard let p = resolvePath(line.token(1)) else { return }
            do throws(SystemError) {
                let bytes = try FS.asOwner(owner) { () throws(SystemError) in try FS.read(p) }
                var out = Array(Wire.okData.utf8)
                var lineStart = true
                for (i, b) in bytes.enumerated() {
                    // A line that is only "." is sent as ".." (the reply ends at a lone ".").
                    if lineStart && b == UInt8(ascii: ".") {
                        let next = i + 1 < bytes.count ? bytes[i + 1] : 10
                        if next == 10 || next == 13 { out.append(UInt8(ascii: ".")) }
                    }
                    out.append(b)
                    lineStart = b == 10
                }
                if !bytes.isEmpty && bytes.last != 10 { out += Array("\r\n".utf8) }
                out += Array(Wire.end.utf8)
                io.send(String(decoding: out, as: UTF8.self))
            } catch { io.send(systemError(2103, error)) }
        case "stat_file":
            guard let p = resolvePath(line.token(1)) else { return }
            var st = stat()
            let r = FS.asOwner(owner) { lstat(p, &st) }
            if r != 0 { io.send(Wire.err0(2203, String(cString: strerror(errno)))); return }
            io.send(Wire.okData + "uid: \(st.st_uid)\n" + Wire.end)
        default:
            io.send(Wire.err(4, 107))
        }
    }
}
