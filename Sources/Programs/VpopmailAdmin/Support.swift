import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// upstream's version string, printed by `-v`.
let versionString = "version: 5.6.13"

/// Writes a line to standard error.
func warn(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

/// Writes a line to standard output.
func say(_ s: String) {
    print(s)
}

/// Upstream's `vexit()`: a negative VA code becomes 256 + code.
struct Exit: Error {
    let status: Int32
    init(_ s: Int32) { status = s }
    init(_ code: VACode) { status = code.exitStatus }
}

/// POSIX getopt over a Swift array: option letters with `:` take an argument, `::` an optional
/// argument attached to the letter (`-r12`). Parsing stops at the first non-option or `--`.
struct GetOpt {
    var args: [String]
    let spec: String
    var index = 1
    private var pos = 1
    var optarg: String? = nil

    init(_ args: [String], _ spec: String) {
        self.args = args
        self.spec = spec
    }

    /// The remaining operands after parsing.
    var rest: [String] { Array(args[index...]) }

    enum Arity { case none, required, optional }

    func arity(_ c: Character) -> Arity? {
        guard let i = spec.firstIndex(of: c), c != ":" else { return nil }
        let after = spec[spec.index(after: i)...]
        if after.hasPrefix("::") { return .optional }
        if after.hasPrefix(":") { return .required }
        return Arity.none
    }

    /// The next option letter; `?` for an unknown option or a missing argument; nil at the end.
    mutating func next() -> Character? {
        optarg = nil
        guard index < args.count else { return nil }
        let a = Array(args[index])
        if pos == 1 {
            if a.count < 2 || a[0] != "-" { return nil }
            if a == ["-", "-"] { index += 1; return nil }
        }
        let c = a[pos]
        pos += 1
        guard let ar = arity(c) else {
            if pos >= a.count { index += 1; pos = 1 }
            warn("\(Path.basename(args[0])): invalid option -- '\(c)'")
            return "?"
        }
        switch ar {
        case .none:
            if pos >= a.count { index += 1; pos = 1 }
        case .optional:
            if pos < a.count { optarg = String(a[pos...]) }
            index += 1; pos = 1
        case .required:
            if pos < a.count {
                optarg = String(a[pos...])
                index += 1; pos = 1
            } else if index + 1 < args.count {
                optarg = args[index + 1]
                index += 2; pos = 1
            } else {
                index += 1; pos = 1
                warn("\(Path.basename(args[0])): option requires an argument -- '\(c)'")
                return "?"
            }
        }
        return c
    }
}

/// Prints `Error: <message>` on stdout (upstream prints errors there) and returns the exit.
func fail(_ e: VpopmailError) -> Exit {
    say("Error: \(e.message)")
    return Exit(e.code)
}

/// Reads a password from the terminal without echo (upstream's `vgetpasswd`).
func readPasswordTwice(for who: String) -> String? {
    while true {
        guard let a = readSecret("Please enter password for \(who): ") else { return nil }
        guard let b = readSecret("enter password again: ") else { return nil }
        if a == b { return a }
        say("Passwords do not match, try again")
    }
}

func readSecret(_ prompt: String) -> String? {
    _ = prompt.withCString { write(1, $0, strlen($0)) }
    var t = termios()
    let tty = isatty(0) != 0 && tcgetattr(0, &t) == 0
    var saved = t
    if tty {
        t.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSANOW, &t)
    }
    let line = readLine(strippingNewline: true)
    if tty {
        tcsetattr(0, TCSANOW, &saved)
        say("")
    }
    return line
}

/// Splits `user@domain`; a missing domain is filled from the default domain
/// (`$VPOPMAIL_DOMAIN`, `default-domain`, `etc/defaultdomain`).
func splitEmail(_ v: Installation, _ email: String) -> (user: String, domain: String) {
    let (u, d) = Validate.splitAddress(email)
    return (u, d.isEmpty ? v.defaultDomain(localIP: nil) : d)
}

/// Prints a library error the way vadduser/vpasswd do, with the policy text for policy codes.
func failWithPolicy(_ v: Installation, _ e: VpopmailError) -> Exit {
    say("Error: \(e.message)")
    if (-74 ... -69).contains(e.code.rawValue),
       let t = try? FS.readText(v.etcDir + "/password_strength.conf") {
        let policy = PasswordPolicy.parse(t).policy
        say("A password policy is in place:\t\(policy)")
    }
    return Exit(e.code)
}
