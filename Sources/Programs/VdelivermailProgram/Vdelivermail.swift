// vdelivermail's I/O (docs/vdelivermail.md): the arguments and qmail-local's environment in,
// the message on stdin, the decision and the delivery from the library (`Deliverer`), one exit
// code out: 0 delivered, 99 delivered and stop, 100 permanent failure (stdout is the bounce
// text), 111 temporary failure. No Foundation, linked fully static.
import ProgramSupport
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

public enum Vdelivermail {
    /// qmail-command's exit code of each outcome.
    public static func exitCode(_ o: DeliveryOutcome) -> Int32 {
        switch o {
        case .delivered: return 0
        case .deliveredStop: return 99
        case .bounce: return 100
        case .deferred: return 111
        }
    }

    static func finish(_ o: DeliveryOutcome) -> Never {
        switch o {
        case .bounce(let text), .deferred(let text): Handover.write(1, text)
        case .delivered, .deliveredStop: break
        }
        exit(exitCode(o))
    }

    /// Runs vdelivermail with the stores of `drivers`; never returns.
    /// (A parameter pack rather than an array: an array of metatypes costs a run-time type
    /// instantiation at every start.)
    public static func main<each D: StoreDriver>(drivers: repeat (each D).Type) -> Never {
        // argc/argv as the C runtime has them: CommandLine.arguments would build an array of every
        // argument (and instantiate its type's metadata) for the one we read.
        let arg2 = CommandLine.argc == 3 ? CommandLine.unsafeArgv[2].map { String(cString: $0) } : nil
        let request = DeliveryRequest(ext: Proc.env("EXT"), host: Proc.env("HOST"), defaultDelivery: arg2,
                                      rpline: Proc.env("RPLINE") ?? "", dtline: Proc.env("DTLINE") ?? "",
                                      toStdout: Proc.env("DELIVER_TO_STDOUT") != nil)
        let user: UserName, host: DomainName
        switch request.addressee {
        case .to(let u, let h): (user, host) = (u, h)
        case .refused(let refusal): finish(refusal)
        }

        let message: Message
        do { message = try Message.fromStandardInput() } catch { finish(.deferred(BounceText.system(error))) }
        // Upstream drops an empty input (exit 0); qmail never hands over an empty message, so
        // one is a broken pipe or a closed stdin: it waits in the queue instead.
        if message.size == 0 { finish(.deferred(BounceText.emptyMessage)) }

        let installation: Installation
        do {
            installation = try Handover.open("vdelivermail", drivers: repeat each drivers) {
                // The twin reads the message on stdin from its start.
                if message.fd != 0 { dup2(message.fd, 0) }
                lseek(0, 0, SEEK_SET)
            }
        } catch {
            finish(.deferred(BounceText.configuration(error.message)))
        }
        finish(Deliverer(installation, request: request, user: user, host: host, message: message).deliver())
    }
}
