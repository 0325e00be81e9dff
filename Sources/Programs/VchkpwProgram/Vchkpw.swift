// vchkpw's I/O (docs/vchkpw.md): `login\0password\0timestamp\0` from fd 3, the connection from
// the environment, the decision from the library (`Authenticator`), then the exit code, or the
// ids, the environment and the exec of the rest of argv. No Foundation: this runs once per
// login, linked fully static.
import ProgramSupport
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

public enum Vchkpw {
    /// vchkpw's exit code for each outcome (docs/vchkpw.md, "Exit codes"); 111 is ours for
    /// internal failures and a failed exec.
    public static func exitCode(_ r: AuthResult) -> Int32 {
        switch r {
        case .ok: return 0
        case .serviceDisabled: return 1
        case .passwordMismatch, .unknownUser: return 3
        case .inputTooLong: return 11
        case .emptyLogin: return 12
        case .emptyPassword: return 13
        case .noHome: return 14
        case .noPassword: return 15
        case .badCharacters: return 20
        case .systemUserUnknown: return 21
        case .systemNoShadow: return 22
        case .systemPasswordMismatch: return 23
        case .systemCryptFailed: return 24
        case .temporary: return 111
        case .throttled: return 16
        }
    }

    /// Runs vchkpw with the stores of `drivers`; never returns.
    /// (A parameter pack rather than an array: an array of metatypes costs a run-time type
    /// instantiation at every start.)
    public static func main<each D: StoreDriver>(drivers: repeat (each D).Type) -> Never {
        // argv as the C runtime has it: the program to exec gets it unchanged, with no copy.
        let argv = CommandLine.unsafeArgv
        let program = CommandLine.argc > 1 ? String(cString: argv[1]!) : ""
        let port = Proc.env("TCPLOCALPORT") ?? ""

        // fd 3: at most a login's worth, and one byte more to tell a longer input.
        var input = [UInt8](repeating: 0, count: LoginRequest.maxInput + 1)
        var got = 0
        while got < input.count {
            let r = input.withUnsafeMutableBytes { read(3, $0.baseAddress! + got, $0.count - got) }
            if r < 0 {
                if errno == EINTR { continue }
                Handover.write(2, "vchkpw-\(port): vchkpw is only for talking with qmail-popup and qmail-pop3d. It is not for runnning on the command line.")
                exit(11)
            }
            if r == 0 { break }
            got += r
        }
        close(3)
        input.removeLast(input.count - got)
        let request = LoginRequest(input: Array(input.prefix(LoginRequest.maxInput)), truncated: got > LoginRequest.maxInput,
                                   port: port, serviceName: Proc.env("SERVICE"), program: program,
                                   localIP: Proc.env("TCPLOCALIP"), remoteIP: Relay.clientIP(),
                                   lookupOnly: Proc.env("AUTHORIZED") == "1")

        let installation: Installation
        do {
            installation = try Handover.open("vchkpw", drivers: repeat each drivers) {
                // The twin reads the same input on a new fd 3; fd 4 (Dovecot's reply) passes on.
                var p: [Int32] = [0, 0]
                guard pipe(&p) == 0 else { return }
                _ = input.withUnsafeBytes { write(p[1], $0.baseAddress!, $0.count) }
                close(p[1])
                if p[0] != 3 { dup2(p[0], 3); close(p[0]) }
            }
        } catch {
            LoginLog(logName: request.logName, ip: request.remoteIP).emit(.configurationError(error.message))
            exit(111)
        }

        var auth = Authenticator(installation, request: request)
        let result = auth.authenticate(request)
        if !request.lookupOnly { auth.count(result, service: request.service) }
        guard case .ok(let login) = result else { exit(exitCode(result)) }
        let log = auth.log

        func setEnv(_ name: String, _ value: String, _ code: Int32) {
            if setenv(name, value, 1) != 0 { log.emit(.putenvFailed(name)); exit(code) }
        }
        func execProgram() -> Never {
            guard CommandLine.argc > 1 else { exit(111) }
            execvp(argv[1]!, argv + 1)
            log.emit(.execFailed(program: program, errno: errno))
            exit(111)
        }
        if request.viaDovecot {
            // Dovecot's checkpassword-reply refuses a changed uid: report the ids instead.
            setEnv("USER", login.dovecotUser, 7)
            setEnv("HOME", login.home, 8)
            setEnv("userdb_uid", "\(login.uid)", 7)
            setEnv("userdb_gid", "\(login.gid)", 7)
            setEnv("EXTRA", "userdb_uid userdb_gid", 7)
            if request.lookupOnly { setEnv("AUTHORIZED", "2", 7) }
            execProgram()
        }
        if login.switchesUser {
            // The domain owner's ids (supplementary groups cleared), in the home.
            if getuid() == 0 || geteuid() == 0 {
                var g = gid_t(login.gid)
                _ = setgroups(1, &g)
            }
            if setgid(login.gid) != 0 { log.emit(.setgidFailed(login.gid, errno: errno)); exit(4) }
            if setuid(login.uid) != 0 { log.emit(.setuidFailed(login.uid, errno: errno)); exit(5) }
            if chdir(login.home) != 0 {
                guard auth.makeHome(login), chdir(login.home) == 0 else { log.emit(.chdirFailed(errno: errno)); exit(6) }
            }
        }
        setEnv("USER", login.user, 7)
        setEnv("HOME", login.home, 8)
        setEnv("SHELL", "NOLOGIN", 9)
        setEnv("VPOPUSER", login.vpopUser, 10)
        execProgram()
    }
}
