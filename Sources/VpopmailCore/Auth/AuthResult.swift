/// Who logged in, and what the program does next: the ids to run as, the home to enter, the
/// environment to export.
public struct Login: Sendable {
    /// `USER` for qmail-pop3d and SMTP AUTH: the local part (or the system user).
    public var user: String
    /// `USER` for Dovecot: `user@realdomain` (or the system user).
    public var dovecotUser: String
    public var home: String
    public var uid: UInt32
    public var gid: UInt32
    /// `VPOPUSER`: the login as typed, lower-cased.
    public var vpopUser: String
    /// POP and IMAP logins run as the account's owner in its home; SMTP keeps the caller's ids.
    public var switchesUser: Bool
    /// Whose login it is: a virtual account (whose home can be re-created) or a system one.
    public var owner: Owner

    /// (An enum of its own rather than an optional tuple: an optional needs its type built at
    /// run time, which vchkpw would pay at every start.)
    public enum Owner: Sendable {
        case virtual(Account, DomainInfo)
        case system
    }
}

/// How a login ended. Wrong password and unknown user are normal results; only `temporary` is
/// an internal failure (and never a login). vchkpw gives each its own exit code
/// (docs/vchkpw.md, "Exit codes").
public enum AuthResult: Sendable {
    case ok(Login)
    /// More input on fd 3 than a login can be.
    case inputTooLong
    case emptyLogin
    case emptyPassword
    /// Control characters or a badly formed user or domain name.
    case badCharacters
    /// A password longer than any stored one can be, or a wrong password, or no such user.
    case passwordMismatch
    case unknownUser
    /// The account's flags (or its domain's limits) close this service.
    case serviceDisabled
    /// The account has no password (and `learn-passwords` is off).
    case noPassword
    /// The account has no home, or it cannot be re-created.
    case noHome
    /// `/etc/passwd` and `/etc/shadow` accounts (`passwd = y`, `auth-module = passwd`).
    case systemUserUnknown
    case systemNoShadow
    case systemPasswordMismatch
    case systemCryptFailed
    /// Anything unexpected: unreadable or corrupt files, a store that does not answer.
    case temporary
    /// Refused without a password check: too many recent failures from the address or for the
    /// login (`Throttle`).
    case throttled
}
