/// Every text vdelivermail prints: qmail-local puts a permanent failure's text into the bounce
/// and a temporary one into its log. The over-quota and no-user texts can be replaced per
/// domain and per installation (`.over-quota.msg`, `.no-user.msg`).
public enum BounceText {
    // Permanent (exit 100).
    public static let looping = "mail is looping"
    public static let overQuota = "user is over quota"
    public static let noMailbox = "Sorry, no mailbox here by that name. (#5.1.1)"
    public static let invalidUser = "invalid username"
    public static let invalidDomain = "invalid domain name"
    public static let noExtension = "vdelivermail: no EXT environment varilable"
    /// Temporary: the message stays in qmail's queue until the Maildir can be made.
    public static func maildirRepairFailed(_ why: String) -> String { "vdelivermail: deferred, the Maildir is incomplete and could not be re-created: \(why) (#4.3.0)" }
    public static func unreadableDotQmail(_ path: String, _ why: String) -> String { "vdelivermail: deferred, unable to read \(path): \(why) (#4.3.0)" }
    public static let emptyDefault = "vdelivermail: deferred, the default delivery argument in .qmail-default is empty (#4.3.5)"
    public static let emptyMessage = "vdelivermail: deferred, no message on standard input (#4.3.0)"
    public static func locked(_ address: String) -> String { "vdelivermail: account is locked email bounced \(address)" }
    public static func programFailedPermanently(_ command: String, _ code: Int32) -> String { "program failed: \(command) exit \(code)" }

    // Temporary (exit 111).
    public static let badSyntax = "vdelivermail: invalid syntax in .qmail-default file"
    public static let noVirtualMailboxes = "vdelivermail: auth-module passwd has no virtual mailboxes (deferred)"
    public static let cannotFork = "unable to fork"
    public static let cannotPipe = "unable to create a pipe"
    public static let waitFailed = "wait failed"
    public static let injectFailed = "system error calling qmail-inject"
    public static func system(_ error: any Error) -> String { "system error: \(error)" }
    public static func configuration(_ message: String) -> String { "vdelivermail: configuration error: \(message)" }
    public static func domainNotAssigned(_ host: String) -> String { "vdelivermail: domain \(host) not found in users/assign" }
    public static func storeError(_ message: String) -> String { "vdelivermail: deferred, account store error: \(message)" }
    public static func cannotSwitchUser(_ uid: UInt32) -> String { "vdelivermail: unable to switch to uid \(uid)" }
    public static func mbox(_ path: String) -> String { "can't handle mbox delivery for \(path)" }
    public static func programKilled(_ signal: Int32) -> String { "program killed by signal \(signal)" }
    public static func programFailed(_ command: String, _ code: Int32) -> String { "program failed: \(command) exit \(code)" }

    // Notes on success.
    public static let valiasesProcessed = "vdelivermail: valiases processed"
    public static func deliveringToDefault(_ dir: String) -> String { "user does not exist, but will deliver to \(dir)" }
}
