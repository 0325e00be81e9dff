/// The service a login is for: decides which account flag can refuse it.
public enum LoginService: Sendable, Equatable {
    case pop, imap, smtp, webmail

    /// The flag that closes this service to an account.
    public var closedBy: AccountFlags {
        switch self {
        case .pop: return .noPOP
        case .imap: return .noIMAP
        case .smtp: return .noSMTP
        case .webmail: return .noWebmail
        }
    }

    /// The name in log lines (`pop access denied`).
    public var name: String {
        switch self {
        case .pop: return "pop"
        case .imap: return "imap"
        case .smtp: return "smtp"
        case .webmail: return "webmail"
        }
    }
}

/// One checkpassword login: what vchkpw read on fd 3 and from its environment.
public struct LoginRequest: Sendable {
    public var login: [UInt8]
    /// The password, or the APOP/CRAM-MD5 response.
    public var password: [UInt8]
    /// The APOP timestamp or CRAM-MD5 challenge (empty for a plain login).
    public var challenge: [UInt8]
    public var service: LoginService
    /// The syslog name of the connection (`vchkpw-pop3`, `vchkpw-smtp`, ...).
    public var logName: String
    /// The server address the client connected to (`$TCPLOCALIP`), for `ip-alias-domains`.
    public var localIP: String?
    /// The client address, already sanitised (`Relay.clientIP()`).
    public var remoteIP: String
    /// Dovecot's userdb lookup (`AUTHORIZED=1`): no password, the account's ids only.
    public var lookupOnly: Bool
    /// Run by Dovecot (the program to exec is `checkpassword-reply`): no uid change.
    public var viaDovecot: Bool
    /// More than fits a login was written on fd 3 (refused rather than cut short).
    public var inputTooLong: Bool

    public init(login: [UInt8], password: [UInt8], challenge: [UInt8] = [], service: LoginService, logName: String,
                localIP: String? = nil, remoteIP: String, lookupOnly: Bool = false, viaDovecot: Bool = false,
                inputTooLong: Bool = false) {
        self.login = login
        self.password = password
        self.challenge = challenge
        self.service = service
        self.logName = logName
        self.localIP = localIP
        self.remoteIP = remoteIP
        self.lookupOnly = lookupOnly
        self.viaDovecot = viaDovecot
        self.inputTooLong = inputTooLong
    }

    /// At most this many bytes of `login\0password\0challenge\0` are taken from fd 3.
    public static let maxInput = 1024

    /// A request from checkpassword input (`login\0password\0challenge\0`, at most `maxInput`
    /// bytes; `truncated` when more was there) and the connection: the local port
    /// (`$TCPLOCALPORT`) names the service, else Dovecot's `$SERVICE`, else the program's name
    /// as upstream guessed it.
    public init(input: [UInt8], truncated: Bool, port: String, serviceName: String?, program: String,
                localIP: String?, remoteIP: String, lookupOnly: Bool) {
        let fields = input.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        func field(_ i: Int) -> [UInt8] { i < fields.count ? Array(fields[i]) : [] }
        let viaDovecot = program == "checkpassword-reply" || program.hasSuffix("/checkpassword-reply")
        var service: LoginService
        var logName: String
        switch port {
        case "25": (service, logName) = (.smtp, "vchkpw-smtp")
        case "110": (service, logName) = (.pop, "vchkpw-pop3")
        case "143": (service, logName) = (.imap, "vchkpw-imap")
        case "465": (service, logName) = (.smtp, "vchkpw-smtps")
        case "587": (service, logName) = (.smtp, "vchkpw-submission")
        case "993": (service, logName) = (.imap, "vchkpw-imaps")
        case "995": (service, logName) = (.pop, "vchkpw-pop3s")
        default:
            logName = "vchkpw-\(port)"
            switch serviceName ?? "" {
            case "pop3": service = .pop
            case "imap": service = .imap
            case "smtp", "submission": service = .smtp
            default: service = program.contains("true") ? .smtp : (program.contains("imap") ? .imap : .pop)
            }
        }
        self.init(login: field(0), password: field(1), challenge: field(2), service: service, logName: logName,
                  localIP: localIP, remoteIP: remoteIP,
                  // A lookup without a password is Dovecot's master-user mode and nothing else:
                  // `AUTHORIZED=1` in any other environment is an ordinary login.
                  lookupOnly: lookupOnly && viaDovecot, viaDovecot: viaDovecot, inputTooLong: truncated)
    }
}
