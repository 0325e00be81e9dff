#if canImport(Glibc)
import Glibc
#endif

/// vpopbull's message: one file delivered to many mailboxes. A copy goes through `tmp/` into
/// `new/` like every delivery (`MaildirDelivery`), with `To:` and, when the message has none,
/// `Date:` in front; the link methods put the file itself into `new/` under a unique name.
public struct Bulletin {
    public enum Method: Sendable { case copy, hardLink, symbolicLink }

    public let path: String
    let message: Message
    let hasDate: Bool
    let date: String

    /// Opens the message file; `.ioError` when it cannot be read or is empty.
    public init(path: String) throws(VpopmailError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0, st.st_size > 0 else {
            if fd >= 0 { close(fd) }
            throw VpopmailError(.ioError, "could not read message file \(path) or it is empty")
        }
        message = Message(fd: fd, size: Int(st.st_size))
        let headers = message.headerLines().map { $0.lowercased() }
        hasDate = headers.contains { $0.hasPrefix("date:") }
        date = rfc2822Date(time(nil))
    }

    /// Delivers to `account`'s Maildir (re-created when missing), owned by the domain.
    public func deliver(to a: Account, in d: DomainInfo, method: Method, installation v: Installation) throws(VpopmailError) {
        let maildir = a.maildir + "/"
        if !FS.isDirectory(maildir + "new") { try? v.makeHome(a, domain: d) }
        switch method {
        case .copy:
            let prefix = Array(("To: \(a.name)@\(d.realDomain)\n" + (hasDate ? "" : "Date: \(date)\n")).utf8)
            do { try MaildirDelivery.deliver(message, prefix: prefix, to: maildir, sync: v.deliverySync, owner: d.owner) } catch {
                throw VpopmailError.system(error, .couldNotUpdateFile)
            }
        case .hardLink, .symbolicLink:
            let dest = maildir + "new/" + MaildirDelivery.uniqueName() + ",S=\(message.size)"
            let r = method == .hardLink ? link(path, dest) : symlink(path, dest)
            if r != 0 { throw VpopmailError.system(SystemError(method == .hardLink ? "link" : "symlink", dest, errno), .couldNotUpdateFile) }
        }
    }
}
