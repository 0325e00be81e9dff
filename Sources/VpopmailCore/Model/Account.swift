/// One mailbox record (`struct vqpasswd`): the fields of a `vpasswd` line.
public struct Account: Sendable, Equatable {
    /// `pw_name`, lower case.
    public var name: String
    /// `pw_passwd`: a crypt(3) string, possibly empty.
    public var passwordHash: String
    /// `pw_uid`: the POP/APOP marker (cdb writes 1 for POP, 2 for APOP), not a Unix uid.
    public var apopMarker: UInt32
    /// `pw_gid`: the user's own flag word.
    public var flags: AccountFlags
    /// `pw_gecos`.
    public var gecos: String
    /// `pw_dir`: absolute home directory.
    public var home: String
    /// `pw_shell`: the quota (`NOQUOTA`, `<bytes>S`, `<bytes>S,<count>C`, ...), spelled as stored.
    public var quota: Quota
    /// `pw_clear_passwd`, nil when the store does not keep clear passwords.
    public var clearPassword: String?

    public init(name: String, passwordHash: String, apopMarker: UInt32 = 1, flags: AccountFlags = [],
                gecos: String, home: String, quota: Quota = .none, clearPassword: String? = nil) {
        self.name = name
        self.passwordHash = passwordHash
        self.apopMarker = apopMarker
        self.flags = flags
        self.gecos = gecos
        self.home = home
        self.quota = quota
        self.clearPassword = clearPassword
    }

    /// Maildir of this account.
    public var maildir: String { Path.join(home, "Maildir") }
}

/// A domain as qmail's `users/assign` records it.
public struct DomainInfo: Sendable, Equatable {
    /// The name asked for (a real domain or an alias domain).
    public var name: String
    /// The real domain (equal to `name` unless `name` is an alias).
    public var realDomain: String
    public var uid: UInt32
    public var gid: UInt32
    /// The real domain's directory.
    public var dir: String

    public init(name: String, realDomain: String, uid: UInt32, gid: UInt32, dir: String) {
        self.name = name
        self.realDomain = realDomain
        self.uid = uid
        self.gid = gid
        self.dir = dir
    }

    public var isAlias: Bool { name != realDomain }
    public var owner: (uid: UInt32, gid: UInt32) { (uid, gid) }
}

extension DomainInfo {
    /// The components of `home` below the domain directory — up to three hash-bucket letters,
    /// then the account's own directory name — when it is a mailbox directory `user` can have in
    /// this domain (`<dir>/[X[/Y[/Z]]]/<home name>`, docs/formats.md); nil for anything else: a
    /// path elsewhere, `..`, `.`, `//`, a bucket, or another account's directory.
    public func mailboxComponents(_ home: String, user: UserName) -> [String]? {
        var base = Substring(dir)
        while base.count > 1 && base.hasSuffix("/") { base = base.dropLast() }
        guard home.hasPrefix(base + "/") else { return nil }
        let rest = home.dropFirst(base.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...4).contains(rest.count), rest.last! == Substring(user.homeName) else { return nil }
        for b in rest.dropLast() {
            guard b.utf8.count == 1, DirControl.alphabet.contains(b.utf8.first!) else { return nil }
        }
        return rest.map(String.init)
    }

    /// Whether `dir` is this domain's own directory: an absolute path without `.`, `..` or empty
    /// components whose last component is the real domain's name (`<root>/[bucket/]<domain>`).
    public var hasOwnDirectory: Bool {
        let parts = dir.split(separator: "/", omittingEmptySubsequences: false)
        guard dir.hasPrefix("/"), parts.count >= 2, parts.last! == Substring(realDomain) else { return false }
        return !parts.dropFirst().contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }
}
