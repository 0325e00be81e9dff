import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vipmap: AdminCommand {
    static let name = "vipmap"
    static let usage = [
        "vipmap: usage: [options]",
        "options: -d ip domain (delete mapping)",
        "         -a ip domain (add mapping)",
        "         -p (print mapping)",
        "         -v (print version number)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "dapv")
        var mode: Character? = nil
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "d", "a", "p": mode = c
            default: printUsage(); return 255
            }
        }
        guard let m = mode else { printUsage(); return 255 }
        let v = try context.open()
        do {
            switch m {
            case "p":
                for e in try v.ipMap() { say("\(e.ip) \(e.domain)") }
            default:
                let r = g.rest
                guard r.count >= 2 else { printUsage(); return 255 }
                if m == "a" { try v.addIPMap(ip: r[0], domain: r[1]) } else { try v.deleteIPMap(ip: r[0], domain: r[1]) }
            }
        } catch { throw fail(error) }
        return 0
    }
}
