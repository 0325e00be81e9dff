import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// The REST API's keys (docs/web.md, "API keys"): made here, shown once, kept hashed.
enum Vapikey: AdminCommand {
    static let name = "vapikey"
    static let usage = [
        "vapikey: usage: [options]",
        "options: -a (add a key; prints it once)",
        "         -w (with -a: read-write; the default is read-only)",
        "         -d domain[,domain...] (with -a: only these domains; the default is all)",
        "         -l label (with -a: what the key is for)",
        "         -p (print the keys: id, scope, domains, created, label)",
        "         -r id (revoke the key)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "awd:l:pr:v")
        var mode: Character? = nil, write = false, domains: [String]? = nil, label = "", revoke = ""
        while let c = g.next() {
            switch c {
            case "a", "p": mode = c
            case "r": mode = c; revoke = g.optarg ?? ""
            case "w": write = true
            case "d": domains = (g.optarg ?? "").split(separator: ",").map(String.init)
            case "l": label = g.optarg ?? ""
            case "v": say(versionString)
            default: printUsage(); return 255
            }
        }
        guard let m = mode, g.rest.isEmpty else { printUsage(); return 255 }
        let v = try context.open()
        do {
            switch m {
            case "a":
                let (key, text) = try v.addAPIKey(scope: write ? .write : .read, domains: domains, label: label)
                say(text)
                warn("vapikey: key \(key.id) (\(key.scope.rawValue), \(key.domains?.joined(separator: ",") ?? "all domains")): keep it now, it is not shown again")
            case "p":
                for k in try v.apiKeys() {
                    say("\(k.id) \(k.scope.rawValue) \(k.domains?.joined(separator: ",") ?? "*") \(formatTime(time_t(k.created), "%Y-%m-%d", utc: true)) \(Validate.printable(k.label))")
                }
            default:
                try v.revokeAPIKey(revoke)
            }
        } catch { throw fail(error) }
        return 0
    }
}
