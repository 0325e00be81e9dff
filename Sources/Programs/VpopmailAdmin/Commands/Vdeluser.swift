import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vdeluser: AdminCommand {
    static let name = "vdeluser"
    static let usage = [
        "vdeluser: usage: [options] email_address",
        "options: -v (print version number)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        guard let email = versionOnlyOperands(args)?.first else { return 255 }
        let v = try context.open()
        let (user, domain) = splitEmail(v, email)
        do { try v.deleteUser(user, domain: domain) } catch { throw fail(error) }
        return 0
    }
}
