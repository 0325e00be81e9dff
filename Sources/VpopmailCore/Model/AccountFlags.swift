/// The per-user flag word stored in `pw_gid` (docs/formats.md, "The flag word"). Raw values are part of the on-disk
/// and SQL formats: Dovecot recipes test `pw_gid & 2/4/8` directly.
public struct AccountFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noPasswordChange = AccountFlags(rawValue: 0x00001)
    public static let noPOP = AccountFlags(rawValue: 0x00002)
    public static let noWebmail = AccountFlags(rawValue: 0x00004)
    public static let noIMAP = AccountFlags(rawValue: 0x00008)
    public static let bounceMail = AccountFlags(rawValue: 0x00010)
    public static let noRelay = AccountFlags(rawValue: 0x00020)
    public static let noDialup = AccountFlags(rawValue: 0x00040)
    public static let user0 = AccountFlags(rawValue: 0x00080)
    public static let user1 = AccountFlags(rawValue: 0x00100)
    public static let user2 = AccountFlags(rawValue: 0x00200)
    public static let user3 = AccountFlags(rawValue: 0x00400)
    public static let noSMTP = AccountFlags(rawValue: 0x00800)
    public static let qmailAdmin = AccountFlags(rawValue: 0x01000)
    public static let overrideDomainLimits = AccountFlags(rawValue: 0x02000)
    public static let noSpamassassin = AccountFlags(rawValue: 0x04000)
    public static let deleteSpam = AccountFlags(rawValue: 0x08000)
    public static let systemAdmin = AccountFlags(rawValue: 0x10000)
    public static let systemExpert = AccountFlags(rawValue: 0x20000)
    public static let noMaildrop = AccountFlags(rawValue: 0x40000)
    /// This implementation's: the main password is refused for POP and IMAP (the account's
    /// mail clients use app passwords; docs/web.md). Not in upstream's table.
    public static let appPasswordsOnly = AccountFlags(rawValue: 0x100000)

    /// vuserinfo's limit texts, in its order.
    public static let descriptions: [(AccountFlags, String)] = [
        (.noPasswordChange, "password can not be changed by user"),
        (.noPOP, "pop access closed"),
        (.noWebmail, "webmail access closed"),
        (.noIMAP, "imap access closed"),
        (.noSMTP, "smtp access is closed"),
        (.noRelay, "user not allowed to relay mail"),
        (.noSpamassassin, "spamassassin processing disabled"),
        (.deleteSpam, "delete spam"),
        (.noMaildrop, "maildrop processing disabled"),
        (.noDialup, "no dialup flag has been set"),
        (.bounceMail, "mail will be bounced back to sender"),
        (.qmailAdmin, "has qmailadmin administrator access"),
        (.systemAdmin, "has system administrator access"),
        (.systemExpert, "has expert access"),
        (.user0, "user flag 0 is set"),
        (.user1, "user flag 1 is set"),
        (.user2, "user flag 2 is set"),
        (.user3, "user flag 3 is set"),
        (.overrideDomainLimits, "user is not subject to domain limits"),
        (.appPasswordsOnly, "main password refused for pop and imap (app passwords only)"),
    ]
}
