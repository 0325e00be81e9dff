/// How one delivery ended, in qmail-command's terms (docs/vdelivermail.md).
public enum DeliveryOutcome: Sendable, Equatable, Error {
    /// Delivered (or dropped as asked: `delete`, flagged spam, an empty message).
    case delivered
    /// Delivered, and a program asked qmail-local to stop here (its exit 99).
    case deliveredStop
    /// A permanent failure: the text goes into the bounce.
    case bounce(String)
    /// A temporary failure: qmail-local tries again later.
    case deferred(String)
}

/// One message for a virtual domain, as qmail-local hands it over: `| vdelivermail ''
/// <default-delivery>` in the domain's `.qmail-default`, with `EXT`, `HOST`, `RPLINE` and
/// `DTLINE` in the environment.
public struct DeliveryRequest: Sendable {
    /// Who the message is for, or why the request cannot go on: the checks that need neither
    /// the message nor the installation (the arguments, and names that could never be a
    /// mailbox).
    public let addressee: Addressee
    /// The second argument: `delete`, `bounce-no-mailbox`, a mailbox directory or an address.
    public let defaultDelivery: String
    public var rpline: String
    public var dtline: String
    /// `$DELIVER_TO_STDOUT`: the message as it would be written, on stdout.
    public var toStdout: Bool

    /// (An enum of its own rather than a `Result`, and no optional kept: those types are built
    /// at run time, which vdelivermail would pay for every message.)
    public enum Addressee: Sendable {
        case to(UserName, DomainName)
        case refused(DeliveryOutcome)
    }

    /// `ext` and `host` are `$EXT` and `$HOST` (nil when unset); `defaultDelivery` is nil when
    /// vdelivermail was not given exactly two arguments.
    public init(ext: String?, host: String?, defaultDelivery: String?, rpline: String = "", dtline: String = "",
                toStdout: Bool = false) {
        if defaultDelivery == nil {
            addressee = .refused(.deferred(BounceText.badSyntax))
        } else if let e = ext, let h = host {
            if !UserName.accepts(e) { addressee = .refused(.bounce(BounceText.invalidUser)) }
            else if !DomainName.accepts(h) { addressee = .refused(.bounce(BounceText.invalidDomain)) }
            else { addressee = .to(UserName(checked: e), DomainName(checked: h)) }
        } else {
            addressee = .refused(.bounce(BounceText.noExtension))
        }
        self.defaultDelivery = defaultDelivery ?? ""
        self.rpline = rpline
        self.dtline = dtline
        self.toStdout = toStdout
    }

    /// Why the request cannot go on, nil when it can.
    public var refusal: DeliveryOutcome? {
        if case .refused(let o) = addressee { return o }
        return nil
    }
}
