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
    /// The local part (`$EXT`), nil when unset.
    public var ext: String?
    /// The domain as addressed (`$HOST`), nil when unset.
    public var host: String?
    /// The second argument: `delete`, `bounce-no-mailbox`, a mailbox directory or an address;
    /// nil when vdelivermail was not given exactly two arguments.
    public var defaultDelivery: String?
    public var rpline: String
    public var dtline: String
    /// `$DELIVER_TO_STDOUT`: the message as it would be written, on stdout.
    public var toStdout: Bool

    public init(ext: String?, host: String?, defaultDelivery: String?, rpline: String = "", dtline: String = "",
                toStdout: Bool = false) {
        self.ext = ext
        self.host = host
        self.defaultDelivery = defaultDelivery
        self.rpline = rpline
        self.dtline = dtline
        self.toStdout = toStdout
    }

    /// The recipient, or why there is none: the checks that need neither the message nor the
    /// installation (the arguments, and names that could never be a mailbox).
    public var recipient: Result<(user: UserName, domain: DomainName), DeliveryOutcome> {
        guard defaultDelivery != nil else { return .failure(.deferred(BounceText.badSyntax)) }
        guard let ext, let host else { return .failure(.bounce(BounceText.noExtension)) }
        guard let u = UserName(ext) else { return .failure(.bounce(BounceText.invalidUser)) }
        guard let h = DomainName(host) else { return .failure(.bounce(BounceText.invalidDomain)) }
        return .success((u, h))
    }

    /// Why the request cannot go on, nil when it can.
    public var refusal: DeliveryOutcome? {
        if case .failure(let o) = recipient { return o }
        return nil
    }
}
