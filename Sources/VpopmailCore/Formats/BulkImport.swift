/// One line of a bulk import file (`vadduser -f`): `user@domain:password-or-hash[:quota[:gecos]]`,
/// split at the first three `:` (a gecos may hold more). A password that starts with `$` or
/// `{SCHEME}` is a hash. Blank lines and `#` comments are nil.
public struct BulkImportLine: Sendable, Equatable {
    public var address: String
    public var password: String
    public var isHash: Bool
    public var quota: String?
    public var gecos: String?

    public static func parse(_ line: String) throws(VpopmailError) -> BulkImportLine? {
        if line.isEmpty || line.hasPrefix("#") { return nil }
        let f = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 2, !f[0].isEmpty, !f[1].isEmpty else {
            throw VpopmailError(.parseError, "expected user@domain:password[:quota[:gecos]]")
        }
        return BulkImportLine(address: f[0], password: f[1], isHash: f[1].hasPrefix("$") || f[1].hasPrefix("{"),
                              quota: f.count > 2 && !f[2].isEmpty ? f[2] : nil,
                              gecos: f.count > 3 && !f[3].isEmpty ? f[3] : nil)
    }
}
