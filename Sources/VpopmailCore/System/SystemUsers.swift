/// `/etc/passwd`, `/etc/shadow` and `/etc/group` read as files. vchkpw is a static executable,
/// where glibc's NSS would load shared modules into a static process; vpopmail's system accounts
/// are the files' accounts (`passwd = y`, `auth-module = passwd`) in any case.
public enum SystemUsers {
    public struct Entry: Sendable {
        public var name: String
        public var passwordHash: String
        public var uid: UInt32
        public var gid: UInt32
        public var home: String

        public init(name: String, passwordHash: String, uid: UInt32, gid: UInt32, home: String) {
            self.name = name
            self.passwordHash = passwordHash
            self.uid = uid
            self.gid = gid
            self.home = home
        }
    }

    static func fields(_ path: String, _ name: String) -> [Substring]? {
        guard let text = try? FS.readText(path) else { return nil }
        for line in Bytes.textLines(text) {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.first.map(String.init) == name { return f }
        }
        return nil
    }

    /// The `/etc/passwd` entry of `name`, or nil.
    public static func user(_ name: String, passwdFile: String = "/etc/passwd") -> Entry? {
        guard !name.isEmpty, let f = fields(passwdFile, name), f.count >= 7,
              let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
        return Entry(name: name, passwordHash: String(f[1]), uid: uid, gid: gid, home: String(f[5]))
    }

    /// The hash in `/etc/shadow` for `name`, or nil when there is no entry.
    public static func shadowHash(_ name: String, shadowFile: String = "/etc/shadow") -> String? {
        guard let f = fields(shadowFile, name), f.count >= 2 else { return nil }
        return String(f[1])
    }

    /// The gid of a group in `/etc/group`, or nil.
    public static func groupID(_ name: String, groupFile: String = "/etc/group") -> UInt32? {
        guard let f = fields(groupFile, name), f.count >= 3 else { return nil }
        return UInt32(f[2])
    }
}

extension SystemUsers {
    /// Every `/etc/passwd` entry, in file order.
    public static func all(passwdFile: String = "/etc/passwd") -> [Entry] {
        guard let text = try? FS.readText(passwdFile) else { return [] }
        return Bytes.textLines(text).compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return Entry(name: String(f[0]), passwordHash: String(f[1]), uid: uid, gid: gid, home: String(f[5]))
        }
    }
}
