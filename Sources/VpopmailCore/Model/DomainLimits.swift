/// Domain limits: `<domaindir>/.qmailadmin-limits`, else `~vpopmail/etc/vlimits.default`
/// (docs/formats.md, "Domain limits"). qmailadmin reads the same files.
public struct DomainLimits: Sendable, Equatable {
    public var maxPopAccounts = -1
    public var maxAliases = -1
    public var maxForwards = -1
    public var maxAutoresponders = -1
    public var maxMailingLists = -1
    /// Whole-domain size quota in megabytes (0 = none).
    public var diskQuota: UInt64 = 0
    public var maxMsgCount: UInt64 = 0
    /// Size quota given to new users, bytes (0 = none).
    public var defaultQuota: UInt64 = 0
    public var defaultMaxMsgCount: UInt64 = 0
    public var disablePOP = false
    public var disableIMAP = false
    public var disableDialup = false
    public var disablePasswordChanging = false
    public var disableWebmail = false
    public var disableRelay = false
    public var disableSMTP = false
    public var disableSpamassassin = false
    public var deleteSpam = false
    public var disableMaildrop = false
    public var permAccount = 0
    public var permAlias = 0
    public var permForward = 0
    public var permAutoresponder = 0
    public var permMaillist = 0
    public var permMaillistUsers = 0
    public var permMaillistModerators = 0
    public var permQuota = 0
    public var permDefaultQuota = 0

    public init() {}

    /// The flag bits these limits add to every user's effective flags.
    public var flagMask: AccountFlags {
        var f: AccountFlags = []
        if disablePOP { f.insert(.noPOP) }
        if disableSMTP { f.insert(.noSMTP) }
        if disableIMAP { f.insert(.noIMAP) }
        if disableRelay { f.insert(.noRelay) }
        if disableWebmail { f.insert(.noWebmail) }
        if disablePasswordChanging { f.insert(.noPasswordChange) }
        if disableDialup { f.insert(.noDialup) }
        if disableSpamassassin { f.insert(.noSpamassassin) }
        if deleteSpam { f.insert(.deleteSpam) }
        if disableMaildrop { f.insert(.noMaildrop) }
        return f
    }

    /// The quota new users get from these limits, or nil when the limits give none.
    public var defaultUserQuota: Quota? {
        if defaultQuota == 0 && defaultMaxMsgCount == 0 { return nil }
        return Quota(bytes: defaultQuota, count: defaultMaxMsgCount)
    }

    /// Parses the file format: `name value` (separated by spaces, tabs or colons), `#` comments,
    /// unknown names ignored.
    public static func parse(_ text: String) -> DomainLimits {
        var l = DomainLimits()
        for raw in Bytes.textLines(text) where !raw.isEmpty {
            if raw.first == "#" { continue }
            let end = raw.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == ":" }) ?? raw.endIndex
            let name = raw[..<end]
            var rest = raw[end...]
            while let f = rest.first, f == " " || f == "\t" || f == ":" { rest = rest.dropFirst() }
            let v = String(rest.prefix(while: { $0 != " " && $0 != "\t" }))
            let i = Int(v) ?? 0
            let u = UInt64(v) ?? 0
            switch name {
            case "maxpopaccounts": l.maxPopAccounts = i
            case "maxaliases": l.maxAliases = i
            case "maxforwards": l.maxForwards = i
            case "maxautoresponders": l.maxAutoresponders = i
            case "maxmailinglists": l.maxMailingLists = i
            case "quota": l.diskQuota = u
            case "maxmsgcount": l.maxMsgCount = u
            case "default_quota": l.defaultQuota = u
            case "default_maxmsgcount": l.defaultMaxMsgCount = u
            case "disable_pop": l.disablePOP = true
            case "disable_imap": l.disableIMAP = true
            case "disable_dialup": l.disableDialup = true
            case "disable_password_changing": l.disablePasswordChanging = true
            case "disable_external_relay": l.disableRelay = true
            case "disable_smtp": l.disableSMTP = true
            case "disable_webmail": l.disableWebmail = true
            case "disable_spamassassin": l.disableSpamassassin = true
            case "delete_spam": l.deleteSpam = true
            case "disable_maildrop": l.disableMaildrop = true
            case "perm_account": l.permAccount = i & 7
            case "perm_alias": l.permAlias = i & 7
            case "perm_forward": l.permForward = i & 7
            case "perm_autoresponder": l.permAutoresponder = i & 7
            case "perm_maillist":
                l.permMaillist = i & 7
                l.permMaillistUsers = (i >> 3) & 7
                l.permMaillistModerators = (i >> 6) & 7
            case "perm_quota": l.permQuota = i & 7
            case "perm_defaultquota": l.permDefaultQuota = i & 7
            default: continue
            }
        }
        return l
    }

    /// The file text in upstream's order. Unlike upstream, the maillist user and moderator bits
    /// are written into `perm_maillist`, where the reader looks for them.
    public var fileText: String {
        var s = ""
        s += "maxpopaccounts: \(maxPopAccounts)\n"
        s += "maxaliases: \(maxAliases)\n"
        s += "maxforwards: \(maxForwards)\n"
        s += "maxautoresponders: \(maxAutoresponders)\n"
        s += "maxmailinglists: \(maxMailingLists)\n"
        s += "quota: \(diskQuota)\n"
        s += "maxmsgcount: \(maxMsgCount)\n"
        s += "default_quota: \(defaultQuota)\n"
        s += "default_maxmsgcount: \(defaultMaxMsgCount)\n"
        if disablePOP { s += "disable_pop\n" }
        if disableIMAP { s += "disable_imap\n" }
        if disableDialup { s += "disable_dialup\n" }
        if disablePasswordChanging { s += "disable_password_changing\n" }
        if disableWebmail { s += "disable_webmail\n" }
        if disableRelay { s += "disable_external_relay\n" }
        if disableSMTP { s += "disable_smtp\n" }
        if disableSpamassassin { s += "disable_spamassassin\n" }
        if deleteSpam { s += "delete_spam\n" }
        if disableMaildrop { s += "disable_maildrop\n" }
        s += "perm_account: \(permAccount)\n"
        s += "perm_alias: \(permAlias)\n"
        s += "perm_forward: \(permForward)\n"
        s += "perm_autoresponder: \(permAutoresponder)\n"
        s += "perm_maillist: \(permMaillist | (permMaillistUsers << 3) | (permMaillistModerators << 6))\n"
        s += "perm_quota: \(permQuota)\n"
        s += "perm_defaultquota: \(permDefaultQuota)\n"
        return s
    }
}
