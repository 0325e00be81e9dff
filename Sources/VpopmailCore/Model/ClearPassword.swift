/// A password given in clear: hashed for the account, and kept clear where `clear-passwd = y`.
/// Its one initializer holds every rule a stored password follows, so that no path (vadduser,
/// vpasswd, vmoduser -C, a bulk import, vchkpw's learn-passwords) can store one that breaks a
/// file: at most 128 bytes; no NUL, CR or LF (a newline would start a second `vpasswd` line);
/// no `:` where it is kept clear in a colon-separated file; `min-pwd-length`; and the policy of
/// `etc/password_strength.conf`.
public struct ClearPassword: Sendable {
    public let text: String

    /// The rules of one installation (`Installation.passwordRules`).
    public struct Rules: Sendable {
        public var minLength = 0
        /// Stored clear in `vpasswd`, whose fields are separated by `:`.
        public var forbidsColon = false
        public var policy: PasswordPolicy? = nil

        public init(minLength: Int = 0, forbidsColon: Bool = false, policy: PasswordPolicy? = nil) {
            self.minLength = minLength
            self.forbidsColon = forbidsColon
            self.policy = policy
        }
    }

    /// An empty password is refused (`.pwstrEmpty`): an account without a password is asked for
    /// explicitly, with an empty hash (`vadduser -e ''`, `vmoduser -e ''`).
    public init(_ text: String, rules: Rules = Rules()) throws(VpopmailError) {
        if text.isEmpty { throw VpopmailError(.pwstrEmpty, "password is empty (an account without a password: -e '')") }
        if text.utf8.count > LengthLimits.maxClearPassword { throw VpopmailError(.passwdTooLong) }
        if Validate.breaksLine(text) || (rules.forbidsColon && text.contains(":")) {
            throw VpopmailError(.badChar, "bad character in password")
        }
        if rules.minLength > 0 && text.utf8.count < rules.minLength { throw VpopmailError(.pwstrLength) }
        try rules.policy?.check(text)
        self.text = text
    }
}
