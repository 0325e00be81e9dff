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

    /// The checks that need neither the message nor the installation: the arguments, and a
    /// recipient whose names could never be a mailbox. Nil when the request can go on.
    public var refusal: DeliveryOutcome? {
        guard defaultDelivery != nil else { return .deferred(BounceText.badSyntax) }
        guard let ext, let host else { return .bounce(BounceText.noExtension) }
        let u = ext.lowercased(), h = host.lowercased()
        guard Validate.isUsernameValid(u), u.utf8.count <= LengthLimits.maxUserName else { return .bounce(BounceText.invalidUser) }
        guard Validate.isDomainValid(h), h.utf8.count <= LengthLimits.maxDomain else { return .bounce(BounceText.invalidDomain) }
        return nil
    }
}
