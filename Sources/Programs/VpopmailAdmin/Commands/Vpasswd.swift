import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vpasswd: AdminCommand {
    static let name = "vpasswd"
    static let usage = [
        "vpasswd: usage: [options] email_address [passwd]",
        "options: -v (print version number)",
        "         -r[len] (generate a len (default 12) char random password)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "vr::")
        var randomLen: Int? = nil
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "r": randomLen = Int(g.optarg ?? "") ?? 12
            default: printUsage(); return 255
            }
        }
        let rest = g.rest
        guard let email = rest.first else { printUsage(); return 255 }
        let v = try context.open()
        let (user, domain) = splitEmail(v, email)
        var password: String
        if rest.count > 1 {
            password = rest[1]
        } else if let l = randomLen {
            if l > LengthLimits.maxClearPassword || l < 1 { throw fail(VpopmailError(.passwdTooLong)) }
            password = Password.random(length: l)
        } else {
            do throws(VpopmailError) {
                if try v.user(user, domain: domain) == nil { throw VpopmailError(.userDoesNotExist) }
            } catch { throw fail(error) }
            guard let p = readPasswordTwice(for: "\(user)@\(domain)"), !p.isEmpty else {
                say("Error: No password entered")
                return 255
            }
            password = p
        }
        do throws(VpopmailError) {
            try v.setPassword(user, domain: domain, password: try v.clearPassword(password))
        } catch { throw failWithPolicy(v, error) }
        if randomLen != nil && rest.count < 2 { say("Random password: \(password)") }
        return 0
    }
}
