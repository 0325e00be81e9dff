/// One line of a `.qmail` file or a `valias` row, as qmail-local reads it.
public enum DotQmailLine: Equatable, Sendable {
    /// Empty, or a `#` comment.
    case comment
    /// `|command`: run by `/bin/sh -c` with the message on stdin.
    case program(String)
    /// `/path/` or `./path/`: a Maildir.
    case maildir(String)
    /// `/path` or `./path` without the trailing `/`: an mbox (not delivered here).
    case mbox(String)
    /// Anything else (`&` optional): an address to forward to.
    case forward(String)

    /// Reads `raw` (a trailing CR is ignored).
    public init(_ raw: String) {
        let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
        if line.isEmpty || line.hasPrefix("#") {
            self = .comment
        } else if line.hasPrefix("|") {
            self = .program(String(line.dropFirst().drop(while: { $0 == " " })))
        } else if line.hasPrefix("/") || line.hasPrefix(".") {
            self = line.hasSuffix("/") ? .maildir(line) : .mbox(line)
        } else {
            self = .forward(line.hasPrefix("&") ? String(line.dropFirst()) : line)
        }
    }

    /// The line as a `Delivered-To` value would show it, for the loop check.
    public static func text(_ raw: String) -> String { raw.hasSuffix("\r") ? String(raw.dropLast()) : raw }
}

/// Who a message is for, once the domain is known.
public enum Recipient: Sendable {
    /// `valias` rows (`valias = y`): every line is delivered; `defaultPart` is what the nearest
    /// `<prefix>-default` alias leaves for `$DEFAULT`.
    case alias(lines: [String], defaultPart: String?)
    /// An account; `extension` is the qmail-ext part (`joe-foo.bar` → `foo:bar`).
    case mailbox(Account, extension: String?)
    /// No such mailbox: the default-delivery argument decides.
    case unknown
}

/// Finds the recipient of a local part in a domain (docs/vdelivermail.md, "Order"): valias rows
/// first where the store keeps them (the alias, the nearest `<prefix>-default`, with qmail-ext
/// the part before the first `-`), then the account, with qmail-ext the account before the
/// first `-` and the rest as its extension.
public struct RecipientResolver {
    public let installation: Installation

    public init(_ installation: Installation) { self.installation = installation }

    public func resolve(_ user: UserName, in d: DomainInfo) throws(DeliveryOutcome) -> Recipient {
        let found: Recipient?
        do { found = try find(user, in: d) } catch { throw .deferred(BounceText.storeError(error.message)) }
        guard let found else { throw .bounce(BounceText.invalidUser) }
        return found
    }

    /// Nil when the qmail-ext base name is not a user name.
    func find(_ name: UserName, in d: DomainInfo) throws(VpopmailError) -> Recipient? {
        let v = installation
        let user = name.text
        if v.stores.aliases.needsLookupAtDelivery {
            var lines = try v.stores.aliases.lines(of: user, in: d)
            var defaultPart: String? = nil
            var end = user.endIndex
            while lines.isEmpty, let dash = user[..<end].lastIndex(of: "-") {
                lines = try v.stores.aliases.lines(of: String(user[...dash]) + "default", in: d)
                if !lines.isEmpty { defaultPart = String(user[user.index(after: dash)...]) }
                end = dash
            }
            // qmail-ext: joe-foo reaches the alias joe.
            if lines.isEmpty, v.config.qmailExt, let dash = user.firstIndex(of: "-") {
                lines = try v.stores.aliases.lines(of: String(user[..<dash]), in: d)
            }
            if !lines.isEmpty { return .alias(lines: lines, defaultPart: defaultPart) }
        }
        if let a = try v.stores.accounts.account(name, in: d) { return .mailbox(a, extension: nil) }
        // qmail-ext: joe-foo.bar is joe with the extension foo:bar when there is no joe-foo.bar.
        if v.config.qmailExt, let dash = user.firstIndex(of: "-") {
            guard let base = UserName(String(user[..<dash])) else { return nil }
            if let a = try v.stores.accounts.account(base, in: d) {
                return .mailbox(a, extension: String(user[user.index(after: dash)...].map { $0 == "." ? ":" : $0 }))
            }
        }
        return .unknown
    }
}
