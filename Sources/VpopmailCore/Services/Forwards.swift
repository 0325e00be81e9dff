/// A user's own forwards (docs/web.md): the `.qmail` in the home that vdelivermail runs, as
/// qmailadmin writes it: `&address` lines, and `./Maildir/` when a copy is kept.
public struct UserForwards: Sendable, Equatable {
    public static let maxAddresses = 20
    public var addresses: [String]
    public var keepCopy: Bool

    public init(addresses: [String], keepCopy: Bool) {
        self.addresses = addresses
        self.keepCopy = keepCopy
    }

    /// A forwarding address: `local@domain`, printable, no spaces, not a program or a file.
    public static func checkAddress(_ raw: String) throws(VpopmailError) -> String {
        let a = raw.trimmingSpaces()
        let (user, domain) = Validate.splitAddress(a)
        guard !user.isEmpty, a.utf8.count <= 254, DomainName.accepts(domain),
              user.utf8.allSatisfy({ $0 > 32 && $0 < 127 && !"\"<>()[],;:\\|&/#".utf8.contains($0) }) else {
            throw VpopmailError(.invalidEmailChar, "not a forwarding address: \(Validate.printable(a))")
        }
        return a
    }
}

extension Installation {
    /// nil when the user's `.qmail` is missing or holds lines other than forwards and the copy
    /// to the mailbox (a program, a filter: then the web pages leave it alone).
    public func forwards(of a: Account) -> UserForwards? {
        guard !a.home.isEmpty, let t = try? FS.readText(Path.join(a.home, ".qmail")) else { return nil }
        var f = UserForwards(addresses: [], keepCopy: false)
        for line in Bytes.textLines(t) where !line.isEmpty && !line.hasPrefix("#") {
            if line == "./Maildir/" || line == a.maildir + "/" { f.keepCopy = true } else if line.hasPrefix("&") {
                f.addresses.append(String(line.dropFirst()))
            } else {
                return nil
            }
        }
        return f
    }

    /// Whether the user's `.qmail` is one `setForwards` may replace (missing, or forwards only).
    public func forwardsEditable(_ a: Account) -> Bool {
        !FS.exists(Path.join(a.home, ".qmail")) || forwards(of: a) != nil
    }

    /// Replaces the user's forwards; no addresses removes `.qmail` (mail goes to the mailbox).
    public func setForwards(_ user: String, domain: String, _ f: UserForwards) throws(VpopmailError) {
        let d = try requireDomain(domain)
        guard let name = UserName(user), let a = try stores.accounts.account(name, in: d) else { throw VpopmailError(.userDoesNotExist) }
        guard !a.home.isEmpty else { throw VpopmailError(.badUDir2, "\(a.name)@\(d.realDomain) has no home directory") }
        guard f.addresses.count <= UserForwards.maxAddresses else {
            throw VpopmailError(.invalidValue, "at most \(UserForwards.maxAddresses) forwarding addresses")
        }
        var clean: [String] = []
        for x in f.addresses { clean.append(try UserForwards.checkAddress(x)) }
        let me = "\(a.name)@\(d.realDomain)".lowercased()
        if clean.contains(where: { $0.lowercased() == me }) { throw VpopmailError(.invalidValue, "an account can't forward to itself") }
        guard forwardsEditable(a) else {
            throw VpopmailError(.couldNotOpenDotQmail, "\(a.name)@\(d.realDomain)'s .qmail holds more than forwards: edit it by hand")
        }
        let before = forwards(of: a)
        if !FS.isDirectory(a.home) { try makeHome(a, domain: d) }
        try sys { () throws(SystemError) in
            let dir = try Directory.open(a.home)
            let leaf = Directory.privileged ? ".qmail" : Path.join(a.home, ".qmail")
            if clean.isEmpty {
                do throws(SystemError) { try dir.unlink(leaf) } catch { if error.errno != 2 { throw error } }
            } else {
                let text = clean.map { "&\($0)\n" }.joined() + (f.keepCopy ? "./Maildir/\n" : "")
                try dir.writeAtomic(leaf, Array(text.utf8), mode: 0o600, owner: d.owner, sync: sync, syncDirectory: sync)
            }
        }
        func show(_ x: UserForwards?) -> String? {
            x.map { "\($0.addresses.joined(separator: ",")) keep-copy=\($0.keepCopy ? "yes" : "no")" }
        }
        audit("set_forwards", "\(a.name)@\(d.realDomain)", before: show(before), after: clean.isEmpty ? nil : show(UserForwards(addresses: clean, keepCopy: f.keepCopy)))
    }
}
