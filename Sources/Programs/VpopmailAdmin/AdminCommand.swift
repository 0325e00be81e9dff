import VpopmailCore
import ProgramSupport
#if canImport(Glibc)
import Glibc
#endif

/// One administration command (`vadduser`, `vdeldomain`, ...): its classic name, flags, output
/// and exit codes, over the library. Each is a type in `Commands/`; `AdminCommands.all` lists
/// them.
protocol AdminCommand {
    /// The classic name, which install.sh links the multi-call executable under.
    static var name: String { get }
    /// The usage lines (upstream's text), printed for a bad option or missing operands.
    static var usage: [String] { get }
    /// Runs with `args` (`args[0]` is the command's name); returns the exit status.
    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32
}

extension AdminCommand {
    static func printUsage() {
        for l in usage { say(l) }
    }

    /// The operands of a command whose one option is `-v` (the version); after a bad option,
    /// or without operands, the usage is printed and nil returned (exit 255).
    static func versionOnlyOperands(_ args: [String]) -> [String]? {
        var g = GetOpt(args, "v")
        while let c = g.next() {
            if c == "v" { say(versionString) } else { printUsage(); return nil }
        }
        if g.rest.isEmpty { printUsage(); return nil }
        return g.rest
    }
}

/// What a command needs besides its arguments: the store drivers this executable links.
struct AdminContext {
    let drivers: [any StoreDriver.Type]
    /// The command's name, for the audit log (`command:vadduser`).
    var command = "vpopmail"

    /// The installation (upstream: "Initial open"), handing over to the executable with the
    /// store when this one lacks it; a failure is reported and becomes the exit status.
    func open() throws(Exit) -> Installation {
        do {
            let v = try Handover.open("vpopmail", drivers: drivers)
            v.auditActor = AuditActor.process(via: "command:\(command)")
            return v
        } catch {
            warn("Error - \(error.message). Initial open.")
            throw Exit(error.code)
        }
    }

    /// The driver named `name`, nil when this executable lacks it.
    func driver(_ name: StoreName) -> (any StoreDriver.Type)? {
        drivers.first { $0.name == name }
    }
}

/// The multi-call executable: dispatches on the name it was run as (install.sh links it under
/// each classic name) or on its first argument; `--commands` lists the names.
public enum AdminProgram {
    public static func main(drivers: [any StoreDriver.Type]) -> Never {
        var argv = CommandLine.arguments
        if argv.count == 2 && argv[1] == "--commands" {
            for c in AdminCommands.all { say(c.name) }
            exit(0)
        }
        func find(_ name: String) -> (any AdminCommand.Type)? { AdminCommands.all.first { $0.name == name } }
        var command = find(Path.basename(argv[0]))
        if command == nil && argv.count > 1, let c = find(argv[1]) {
            argv.removeFirst()
            command = c
        }
        guard let command else {
            warn("usage: vpopmail <command> [arguments]; commands: \(AdminCommands.all.map { $0.name }.sorted().joined(separator: " "))")
            exit(100)
        }
        umask(0o077)
        exit(run(command, argv, AdminContext(drivers: drivers, command: command.name)))
    }

    /// The command's exit status (a generic function: calling `run` on the existential
    /// metatype directly crashes the 6.3 compiler with typed throws).
    static func run<C: AdminCommand>(_ command: C.Type, _ argv: [String], _ context: AdminContext) -> Int32 {
        do { return try command.run(argv, context) } catch { return error.status }
    }
}
