#if canImport(Glibc)
import Glibc
#endif

/// A key for the REST API (docs/web.md, "API keys"): made by `vapikey` (or a super admin's web
/// page, after a second-factor code), shown once as `vpk_<id>_<secret>`, kept in
/// `etc/api-keys` (root's, 0600) as the SHA-256 of the whole text:
///
///     ID SHA256-HEX SCOPE DOMAINS CREATED LABEL       (SCOPE: read or write; DOMAINS: * or a,b,c)
public struct APIKey: Sendable, Equatable {
    public enum Scope: String, Sendable { case read, write }

    public var id: String
    public var hash: String
    public var scope: Scope
    /// nil: every domain.
    public var domains: [String]?
    public var created: Int
    public var label: String

    public init(id: String, hash: String, scope: Scope, domains: [String]?, created: Int, label: String) {
        self.id = id
        self.hash = hash
        self.scope = scope
        self.domains = domains
        self.created = created
        self.label = label
    }

    public func allows(domain: String) -> Bool { domains.map { $0.contains(domain.lowercased()) } ?? true }

    var line: String {
        "\(id) \(hash) \(scope.rawValue) \(domains?.joined(separator: ",") ?? "*") \(created) \(Escape.percent(label))\n"
    }

    static func parse(_ line: Substring) -> APIKey? {
        let f = line.split(separator: " ").map(String.init)
        guard f.count >= 5, f[1].utf8.count == 64, let scope = Scope(rawValue: f[2]), let created = Int(f[4]) else { return nil }
        let domains = f[3] == "*" ? nil : f[3].split(separator: ",").map(String.init)
        return APIKey(id: f[0], hash: f[1], scope: scope, domains: domains, created: created, label: f.count > 5 ? Escape.unpercent(f[5]) : "")
    }
}

extension Installation {
    public var apiKeysPath: String { etcDir + "/api-keys" }

    public func apiKeys() throws(VpopmailError) -> [APIKey] {
        guard let t = try sys({ () throws(SystemError) in try FS.readText(apiKeysPath) }) else { return [] }
        return t.split(separator: "\n").compactMap(APIKey.parse)
    }

    /// Makes a key; returns it and its text (shown once).
    public func addAPIKey(scope: APIKey.Scope, domains: [String]?, label: String) throws(VpopmailError) -> (APIKey, String) {
        let clean = label.trimmingSpaces()
        guard clean.utf8.count <= 64, !clean.utf8.contains(where: { $0 < 32 || $0 == 127 }) else {
            throw VpopmailError(.invalidValue, "API key label: at most 64 printable characters")
        }
        var list: [String]? = nil
        if let domains {
            var names: [String] = []
            for d in domains {
                guard let n = DomainName(d) else { throw VpopmailError(.invalidDomainName, "not a domain name: \(Validate.printable(d))") }
                guard try domain(n) != nil else { throw VpopmailError(.domainDoesNotExist, "no such domain: \(n.text)") }
                names.append(n.text)
            }
            guard !names.isEmpty else { throw VpopmailError(.invalidValue, "API key: name at least one domain, or none for all") }
            list = names
        }
        let id = MD5.hex(Password.randomBytes(4))
        let secret = Base32.encode(Password.randomBytes(20)).lowercased()
        let text = "vpk_\(id)_\(secret)"
        let key = APIKey(id: id, hash: UserSecrets.hashHex(text), scope: scope, domains: list, created: Int(time(nil)), label: clean)
        try rewriteAPIKeys { $0.append(key) }
        audit("add_api_key", id, after: "scope=\(scope.rawValue) domains=\(list?.joined(separator: ",") ?? "*") label=\(Escape.percent(clean))")
        return (key, text)
    }

    public func revokeAPIKey(_ id: String) throws(VpopmailError) {
        var found = false
        try rewriteAPIKeys { keys in
            let n = keys.count
            keys.removeAll { $0.id == id }
            found = keys.count != n
        }
        guard found else { throw VpopmailError(.noSuchItem, "no API key \(Validate.printable(id))") }
        audit("revoke_api_key", id)
    }

    func rewriteAPIKeys(_ change: (inout [APIKey]) -> Void) throws(VpopmailError) {
        let lock: FileLock
        do { lock = try FileLock(apiKeysPath + ".lock") } catch { throw .system(error) }
        defer { lock.unlock() }
        var keys = try apiKeys()
        change(&keys)
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(apiKeysPath, keys.map(\.line).joined(), mode: 0o600, sync: sync)
        }
    }

    /// The key `text` is, nil for none (compared in constant time against its record).
    public static func matchAPIKey(_ text: String, in keys: [APIKey]) -> APIKey? {
        let parts = text.split(separator: "_")
        guard parts.count == 3, parts[0] == "vpk", let k = keys.first(where: { $0.id == parts[1] }) else { return nil }
        return Password.constantTimeEqual(Array(UserSecrets.hashHex(text).utf8), Array(k.hash.utf8)) ? k : nil
    }
}
