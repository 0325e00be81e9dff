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
            // Written as the domain owner: root writes nothing into a home as root.
            let prefix = Array(("To: \(a.name)@\(d.realDomain)\n" + (hasDate ? "" : "Date: \(date)\n")).utf8)
            do {
                try FS.asOwner(d.owner) { () throws(SystemError) in
                    _ = try MaildirDelivery.deliver(message, prefix: prefix, to: maildir, sync: v.deliverySync)
                }
            } catch {
                throw VpopmailError.system(error, .couldNotUpdateFile)
            }
        case .hardLink, .symbolicLink:
            // Into `new` reached by descriptors (no symlink of the owner's followed); a hard link
            // to root's file is made as root, a symlink as the owner.
            let name = MaildirDelivery.uniqueName() + ",S=\(message.size)"
            do throws(SystemError) {
                let new = try Directory.open(maildir + "new")
                let r = method == .hardLink ? linkat(AT_FDCWD, path, new.fd, name, 0)
                                            : new.asOwner { symlinkat(path, new.fd, name) }
                if r != 0 { throw SystemError(method == .hardLink ? "link" : "symlink", maildir + "new/" + name, errno) }
            } catch {
                throw VpopmailError.system(error, .couldNotUpdateFile)
            }
        }
    }
}
