/// vpopmail's `VA_*` error codes (docs/formats.md, "Error codes") plus the codes this implementation adds for
/// failures upstream never reported (corrupt files, a full disk, a bad configuration).
/// Commands exit with `256 + code` for these negative codes, as upstream's `vexit()` does.
public enum VACode: Int32, Sendable, CaseIterable {
    case illegalUsername = -1
    case usernameExists = -2
    case badDir = -3
    case badUDir = -4
    case badDDir = -5
    case badVDir = -6
    case existUDir = -7
    case badUDir2 = -8
    case subdirCreation = -9
    case userDoesNotExist = -10
    case domainDoesNotExist = -11
    case invalidDomainName = -12
    case domainAlreadyExists = -13
    case couldNotMakeDomainDir = -14
    case couldNotOpenQmailDefault = -15
    case canNotMakeDomainsDir = -16
    case couldNotUpdateFile = -17
    case cryptFailed = -18
    case couldNotOpenDotQmail = -19
    case badChar = -20
    case badUID = -22
    case noAuthConnection = -23
    case userNameTooLong = -25
    case domainNameTooLong = -26
    case passwdTooLong = -27
    case gecosTooLong = -28
    case quotaTooLong = -29
    case dirTooLong = -30
    case clearPasswdTooLong = -31
    case aliasLineTooLong = -32
    case nullPointer = -33
    case invalidEmailChar = -34
    case parseError = -35
    case cannotReadLimits = -36
    case cannotReadAssign = -37
    case cannotDeleteCatchall = -55
    case pwstrEmpty = -69
    case pwstrLength = -70
    case pwstrAlpha = -71
    case pwstrNumeric = -72
    case pwstrOther = -73
    case pwstrDelta = -74
    // Added by this implementation (not in upstream's table).
    case corruptFile = -80
    case noSpace = -81
    case ioError = -82
    case badConfig = -83
    case limitReached = -84
    case badQuota = -85
    case aliasExists = -86
    case notSupported = -87
    case outsideTree = -88
    case rootDomain = -89
    case invalidValue = -90
    case noSuchItem = -91
    case alreadyExists = -92
    case secondFactor = -93

    /// The text upstream's `verror()` prints (`Error: <text>`).
    public var text: String {
        switch self {
        case .illegalUsername: return "Illegal username"
        case .usernameExists: return "Username exists"
        case .badDir: return "Unable to chdir to vpopmail directory"
        case .badUDir: return "Unable to chdir to vpopmail/users directory"
        case .badDDir: return "Unable to chdir to vpopmail/domains directory"
        case .badVDir: return "Unable to chdir to vpopmail/domains/domain directory"
        case .existUDir: return "User's directory already exists"
        case .badUDir2: return "Unable to chdir to user's directory"
        case .subdirCreation: return "Creation of user's subdirectories failed"
        case .userDoesNotExist: return "User does not exist"
        case .domainDoesNotExist: return "Domain does not exist"
        case .invalidDomainName: return "Invalid domain name"
        case .domainAlreadyExists: return "Domain already exists"
        case .couldNotMakeDomainDir: return "Could not make domain dir"
        case .couldNotOpenQmailDefault: return "Could not open qmail default"
        case .canNotMakeDomainsDir: return "Can not make domains directory"
        case .couldNotUpdateFile: return "Could not update file"
        case .cryptFailed: return "Crypt failed"
        case .couldNotOpenDotQmail: return "Could not open dot qmail file"
        case .badChar: return "bad character"
        case .badUID: return "running as invalid uid"
        case .noAuthConnection: return "no authentication database connection"
        case .userNameTooLong: return "user name too long (max=\(LengthLimits.maxUserName))"
        case .domainNameTooLong: return "domain name too long (max=\(LengthLimits.maxDomain))"
        case .passwdTooLong: return "password too long (max=\(LengthLimits.maxPassword))"
        case .gecosTooLong: return "gecos too long (max=\(LengthLimits.maxGecos))"
        case .quotaTooLong: return "quota too long (max=\(LengthLimits.maxQuota))"
        case .dirTooLong: return "dir too long (max=\(LengthLimits.maxDir))"
        case .clearPasswdTooLong: return "clear password too long (max=\(LengthLimits.maxClearPassword))"
        case .aliasLineTooLong: return "alias line too long (max=\(LengthLimits.maxAliasLine))"
        case .nullPointer: return "null pointer"
        case .invalidEmailChar: return "invalid email character"
        case .parseError: return "parsing database configuration file"
        case .cannotReadLimits: return "can't read domain limits"
        case .cannotReadAssign: return "can't read users/assign file"
        case .cannotDeleteCatchall: return "can't delete catchall account"
        case .pwstrEmpty: return "password is empty"
        case .pwstrLength: return "password requires more characters"
        case .pwstrAlpha: return "password should have less alphabetical characters"
        case .pwstrNumeric: return "password should have more numeric characters"
        case .pwstrOther: return "password should have more non alphanumeric characters"
        case .pwstrDelta: return "password should have a better mix of upper and lower case characters"
        case .corruptFile: return "corrupt file"
        case .noSpace: return "no space left on device"
        case .ioError: return "file system error"
        case .badConfig: return "bad configuration"
        case .limitReached: return "domain limit reached"
        case .badQuota: return "invalid quota"
        case .aliasExists: return "alias already exists"
        case .notSupported: return "not supported"
        case .outsideTree: return "path outside its tree"
        case .rootDomain: return "a domain may not be owned by root"
        case .invalidValue: return "invalid value"
        case .noSuchItem: return "no such item"
        case .alreadyExists: return "already exists"
        case .secondFactor: return "second factor missing or wrong"
        }
    }

    /// Exit status for this code (`256 + code`).
    public var exitStatus: Int32 { 256 + rawValue }
}

/// The library's one error type: a `VACode`, a one-line message fit for an administrator, and
/// the underlying cause when there is one. Never carries a password.
public struct VpopmailError: Error, CustomStringConvertible {
    public let code: VACode
    public let message: String
    public let cause: (any Error)?

    public init(_ code: VACode, _ message: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message ?? code.text
        self.cause = cause
    }

    public var description: String { message }

    /// Maps a system error: a full disk becomes `.noSpace`, anything else `code`.
    public static func system(_ e: SystemError, _ code: VACode = .ioError) -> VpopmailError {
        if e.isNoSpace { return VpopmailError(.noSpace, "no space left on device: \(e)", cause: e) }
        return VpopmailError(code, "\(code.text): \(e)", cause: e)
    }
}

/// Runs `body`, turning a `SystemError` into a `VpopmailError` with `code`.
@inline(__always)
public func sys<T>(_ code: VACode, _ body: () throws(SystemError) -> T) throws(VpopmailError) -> T {
    do { return try body() } catch { throw VpopmailError.system(error, code) }
}

/// Runs `body`, turning a `SystemError` into a `VpopmailError` (`.ioError`, or `.noSpace`).
@inline(__always)
public func sys<T>(_ body: () throws(SystemError) -> T) throws(VpopmailError) -> T {
    do { return try body() } catch { throw VpopmailError.system(error, .ioError) }
}

/// Length limits of vpopmail 5.6 (docs/formats.md, "Names and lengths").
public enum LengthLimits {
    public static let maxUserName = 64
    public static let maxDomain = 96
    public static let maxPassword = 128
    public static let maxGecos = 64
    public static let maxClearPassword = 128
    public static let maxDir = 160
    public static let maxQuota = 20
    public static let maxAliasLine = 160
}
