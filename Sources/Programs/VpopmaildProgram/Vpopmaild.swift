import ProgramSupport
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// vpopmaild: one process per connection, as tcpserver runs it
/// (`tcpserver -HRl0 127.0.0.1 89 ~vpopmail/bin/vpopmaild`): the client on fd 0, replies on fd 1.
public enum Vpopmaild {
    public static func main(drivers: [any StoreDriver.Type]) -> Never {
        signal(SIGPIPE, SIG_IGN)
        // With options (`--listen ADDRESS:PORT` ...): the listener, beside this program.
        if CommandLine.arguments.count > 1 {
            let listener = Path.dirname(Proc.executablePath() ?? "") + "/vpopmaild-listener"
            if let why = FS.untrustedProgram(listener) {
                Handover.write(2, "vpopmaild: refusing to run \(listener) as root: \(why)")
                exit(111)
            }
            execv(listener, CommandLine.unsafeArgv)
            Handover.write(2, "vpopmaild: cannot run \(listener): errno \(errno)")
            exit(111)
        }
        // Each reply is one write: without Nagle's delay a client that sends several requests
        // before reading gets each reply at once (fails harmlessly on a pipe).
        var one: Int32 = 1
        _ = setsockopt(1, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let io = Connection(input: 0, output: 1)
        let v: Installation
        do {
            v = try Handover.open("vpopmaild", drivers: drivers)
        } catch {
            Syslog.send("vpopmaild: cannot open the store: \(error.message)", ident: "vpopmaild")
            io.send(Wire.err(1, 101))
            exit(1)
        }
        let timeout = Int32(Proc.env("VPOPMAILD_TIMEOUT").flatMap { Int32($0) } ?? 60)
        exit(Session(v, io: io, clientIP: Relay.clientIP(), timeout: max(1, timeout)).run())
    }
}
