import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif
registerSQLStores()

/// The administration commands, dispatched on the name the program was run as (install.sh
/// links this executable under each classic name) or on the first argument.
let commands: [String: ([String]) throws(Exit) -> Int32] = [
    "vadddomain": vadddomain,
    "vdeldomain": vdeldomain,
    "vaddaliasdomain": vaddaliasdomain,
    "vdominfo": vdominfo,
    "vadduser": vadduser,
    "vdeluser": vdeluser,
    "vpasswd": vpasswdCommand,
    "vsetuserquota": vsetuserquota,
    "vmoduser": vmoduser,
    "vuserinfo": vuserinfo,
    "valias": valias,
    "vmoddomlimits": vmoddomlimits,
    "vipmap": vipmap,
    "vpopbull": vpopbull,
    "vdeloldusers": vdeloldusers,
    "vmkpasswd": vmkpasswd,
    "clearopensmtp": clearopensmtp,
    "vconvert": vconvert,
]

var argv = CommandLine.arguments
var name = Path.basename(argv[0])
if commands[name] == nil && argv.count > 1 && commands[argv[1]] != nil {
    argv.removeFirst()
    name = argv[0]
}
guard let command = commands[name] else {
    warn("usage: vpopmail <command> [arguments]; commands: \(commands.keys.sorted().joined(separator: " "))")
    exit(100)
}
umask(0o077)
let status: Int32
do {
    status = try command(argv)
} catch {
    status = error.status
}
exit(status)
