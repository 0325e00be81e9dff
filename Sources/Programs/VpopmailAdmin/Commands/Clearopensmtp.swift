import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Clearopensmtp: AdminCommand {
    static let name = "clearopensmtp"
    static let usage: [String] = []

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        let v = try context.open()
        guard v.config.roamingUsers else {
            say("vpopmail not configure with --enable-roaming-users")
            return 0
        }
        do { try Relay(v).clear(now: Int(time(nil))) } catch { throw fail(error) }
        return 0
    }
}
