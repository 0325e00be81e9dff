import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vmkpasswd: AdminCommand {
    static let name = "vmkpasswd"
    static let usage: [String] = []

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        let rest = Array(args.dropFirst())
        guard rest.count == 1 else {
            say("vmkpasswd: usage: vmkpasswd domain")
            return 255
        }
        let v = try context.open()
        if !v.stores.accounts.keepsIndex {
            warn("vmkpasswd: auth-module \(v.config.authModule) keeps no vpasswd.cdb; nothing to rebuild")
            return 0
        }
        do {
            let d = try v.requireDomain(rest[0])
            let lock = try v.stores.accounts.lock(domain: d)
            defer { lock.unlock() }
            try v.stores.accounts.rebuildIndex(in: d)
        } catch { throw fail(error) }
        return 0
    }
}
