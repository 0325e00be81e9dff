#if canImport(Glibc)
import Glibc
#endif

/// vdelivermail's decision and work (docs/vdelivermail.md): a `DeliveryRequest` and its message
/// in, a `DeliveryOutcome` out. Resolves the recipient, runs the lines of its `.qmail` files
/// (Maildirs, programs, forwards), enforces the quota, and writes the message durably. Run by
/// root it becomes the domain's owner once the domain is known, as qmail-local would have run
/// vdelivermail: that changes the whole process, which is vdelivermail's own.
public final class Deliverer {
    public let installation: Installation
    let request: DeliveryRequest
    var message: Message
    let user: UserName
    let host: DomainName
    let recipient: String
    let headers: [String]
    /// Where `.qmail` lines run: the recipient's home (`./Maildir/` lines are relative to it,
    /// programs start in it), as qmail-local does. The process's own directory is left alone.
    var workingDirectory: String? = nil
    /// `$DEFAULT` for the programs of a `<prefix>-default` alias (set in the child only).
    var defaultPart: String? = nil
    /// Whether a delivery run by root becomes the domain's owner first (setgroups, setgid,
    /// setuid: the whole process). Only a caller that is not vdelivermail's own process (an
    /// in-process test) turns it off, and then writes as itself.
    public var becomesOwner = true
    /// Where vdelivermail's own lines go (stdout: qmail-local logs or bounces with them).
    public var say: (String) -> Void = { s in
        let line = s + "\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
    }

    /// The message for `user@host` (`DeliveryRequest.addressee`).
    public init(_ installation: Installation, request: DeliveryRequest, user: UserName, host: DomainName, message: Message) {
        self.installation = installation
        self.request = request
        self.message = message
        self.user = user
        self.host = host
        recipient = "\(user)@\(host)"
        headers = message.headerLines()
    }

    public func deliver() -> DeliveryOutcome {
        let outcome: DeliveryOutcome
        do {
            try run()
            outcome = .delivered
        } catch {
            outcome = error
        }
        switch outcome {
        case .delivered, .deliveredStop: Counters.add([.delivered], home: v.home)
        case .bounce: Counters.add([.bounced], home: v.home)
        case .deferred: Counters.add([.deferred], home: v.home)
        }
        return outcome
    }

    var v: Installation { installation }

    func run() throws(DeliveryOutcome) {
        if v.config.authModule == .passwd {
            // System accounts get their mail from qmail's own local delivery, not from a virtual domain.
            throw .deferred(BounceText.noVirtualMailboxes)
        }
        if isLooping(recipient) { throw .bounce(BounceText.looping) }
        let domain = try assignedDomain()
        // qmail-local runs us as the domain's owner; run by root (by hand, or a test), become it,
        // so that messages, maildirsize and programs get the owner they would have under qmail.
        if becomesOwner, geteuid() == 0, domain.uid != 0 {
            var g = gid_t(domain.gid)
            guard setgroups(1, &g) == 0, setgid(domain.gid) == 0, setuid(domain.uid) == 0 else {
                throw .deferred(BounceText.cannotSwitchUser(domain.uid))
            }
        }
        switch try RecipientResolver(v).resolve(user, in: domain) {
        case .alias(let lines, let defaultPart):
            self.defaultPart = defaultPart
            for l in lines { try deliverLine(l, address: recipient, domain: domain) }
            say(BounceText.valiasesProcessed)
        case .mailbox(let account, let ext):
            try deliverToMailbox(account, extension: ext, domain: domain)
        case .unknown:
            try deliverToDefault(domain)
        }
    }

    /// The recipient's domain from `users/assign`. qmail ran us for this domain: not finding it
    /// means a broken users/assign or store; retrying later beats losing the message to the
    /// default delivery.
    func assignedDomain() throws(DeliveryOutcome) -> DomainInfo {
        do {
            if let d = try v.domain(host) { return d }
        } catch {
            throw .deferred(BounceText.storeError(error.message))
        }
        throw .deferred(BounceText.domainNotAssigned(host.text))
    }

    /// A `Delivered-To: <addr>` line equal to ours is a loop (case-insensitive).
    func isLooping(_ addr: String) -> Bool {
        let want = ("delivered-to: " + addr).lowercased()
        if request.dtline.lowercased() == want + "\n" { return true }
        return headers.contains { $0.lowercased() == want }
    }

    // MARK: - The recipient

    func deliverToMailbox(_ account: Account, extension ext: String?, domain: DomainInfo) throws(DeliveryOutcome) {
        if account.flags.contains(.bounceMail) { throw .bounce(BounceText.locked(recipient)) }
        // What vpopmail owns is repaired: a missing home, Maildir or Maildir/new, cur or tmp is
        // made again; when that fails the message waits in qmail's queue (never a bounce).
        if !Maildir.isComplete(account.maildir) {
            do { try v.makeHome(account, domain: domain) } catch { throw .deferred(BounceText.maildirRepairFailed(error.message)) }
        }
        let address = "\(account.name)@\(domain.realDomain)"
        // The user's own .qmail, in the home (./Maildir/ lines); with an extension first
        // .qmail-<ext>, then .qmail-<shorter prefix>-default, down to .qmail-default.
        workingDirectory = account.home
        if let ext {
            var candidates = [ext]
            var rest = Substring(ext)
            while let dash = rest.lastIndex(of: "-") {
                rest = rest[..<dash]
                candidates.append(rest + "-default")
            }
            candidates.append("default")
            for c in candidates where try deliverDotQmail(account.home + "/.qmail-" + c, address: address, domain: domain) { return }
        }
        if try deliverDotQmail(account.home + "/.qmail", address: address, domain: domain) {
            answerIfAway(account, domain: domain)
            return
        }
        // control/defaultdelivery
        if v.config.defaultDelivery, let text = try? FS.readText(v.qmail.control("defaultdelivery")) {
            let lines = Bytes.textLines(text).filter { !$0.hasPrefix("#") && !$0.isEmpty }
            if !lines.isEmpty && !lines.contains(where: { $0.contains("vdelivermail") }) {
                for l in lines { try deliverLine(l, address: address, domain: domain) }
                return
            }
        }
        // SpamAssassin (spamassassin = y), unless the user or the domain turned it off.
        if v.config.spamassassin, !account.flags.contains(.noSpamassassin),
           case let limits = (try? v.limits(domain)) ?? DomainLimits(), !limits.disableSpamassassin {
            if let filtered = spamFiltered(address) { message = filtered }
            if (account.flags.contains(.deleteSpam) || limits.deleteSpam)
                && message.headerLines().contains(where: { $0 == "X-Spam-Flag: YES" }) {
                return  // flagged spam, deletion asked for
            }
        }
        try deliverMaildir(account.maildir + "/", quota: account.quota, address: address, domain: domain)
        answerIfAway(account, domain: domain)
    }

    /// The vacation reply, when the user has one (one stat when not): after the message is
    /// safely in the mailbox, and never a reason to bounce or defer it.
    func answerIfAway(_ a: Account, domain d: DomainInfo) {
        guard let s = v.vacation(of: a) else { return }
        let sender = Proc.env("SENDER") ?? Deliverer.sender(ofReturnPath: request.rpline)
        var own = ["\(a.name)@\(d.realDomain)"]
        if d.name != d.realDomain { own.append("\(a.name)@\(d.name)") }
        for alias in (try? v.aliasDomains(of: d.realDomain)) ?? [] where alias != d.name { own.append("\(a.name)@\(alias)") }
        switch VacationResponder(v).respond(account: a, settings: s, own: own, sender: sender, header: headers, now: Int(time(nil))) {
        case .replied:
            Counters.add([.vacationReplies], home: v.home)
            say("vacation reply sent to \(Validate.printable(sender))")
        case .skipped: break
        case .failed(let why): say(why)
        }
    }

    /// The address of a `Return-Path: <...>` line.
    static func sender(ofReturnPath line: String) -> String {
        guard let a = line.firstIndex(of: "<"), let b = line.lastIndex(of: ">"), a < b else { return "" }
        return String(line[line.index(after: a)..<b])
    }

    /// An unknown user: the default-delivery argument.
    func deliverToDefault(_ domain: DomainInfo) throws(DeliveryOutcome) {
        let arg = request.defaultDelivery
        if arg.trimmingSpaces().isEmpty { throw .deferred(BounceText.emptyDefault) }
        switch arg {
        case "delete":
            return
        case "bounce-no-mailbox":
            throw .bounce(messageText(".no-user.msg", domainDir: domain.dir, builtIn: BounceText.noMailbox))
        default:
            if arg.hasPrefix("/") {
                var dir = arg
                if !dir.hasSuffix("/") { dir += "/" }
                say(BounceText.deliveringToDefault(dir))
                workingDirectory = dir
                if try deliverDotQmail(dir + ".qmail", address: recipient, domain: domain) { return }
                try deliverMaildir(dir.hasSuffix("Maildir/") ? dir : dir + "Maildir/", quota: nil, address: recipient, domain: domain)
                return
            }
            try deliverLine(arg, address: recipient, domain: domain)
        }
    }

    // MARK: - Lines

    /// Delivers every line of a `.qmail` file; true when the file had at least one line.
    func deliverDotQmail(_ path: String, address: String, domain: DomainInfo) throws(DeliveryOutcome) -> Bool {
        // Missing: not there. Unreadable: the user's instructions are unknown, so the message
        // waits rather than going where the user may not want it.
        let text: String
        do {
            guard let t = try FS.readText(path) else { return false }
            text = t
        } catch {
            if error.errno == ENOTDIR { return false }
            throw .deferred(BounceText.unreadableDotQmail(path, String(cString: strerror(error.errno))))
        }
        let lines = Bytes.textLines(text)
        if lines.isEmpty { return false }
        for l in lines { try deliverLine(l, address: address, domain: domain) }
        return true
    }

    /// One `.qmail`-style line. A program's exit 99 ends the delivery (`deliveredStop`).
    func deliverLine(_ raw: String, address: String, domain: DomainInfo?) throws(DeliveryOutcome) {
        let line = DotQmailLine(raw)
        if line == .comment { return }
        if isLooping(DotQmailLine.text(raw)) { throw .bounce(BounceText.looping) }
        switch line {
        case .comment: return
        case .program(let command): try runProgram(command)
        case .maildir(let path):
            let resolved = path.hasPrefix("/") ? path : (workingDirectory.map { $0 + "/" } ?? "") + path
            try deliverMaildir(resolved, quota: nil, address: Maildir.address(ofPath: path) ?? address, domain: domain)
        case .mbox(let path): throw .deferred(BounceText.mbox(path))
        case .forward(let to): try forward(to)
        }
    }

    /// Runs `command` with the message on stdin; maps its status the qmail way.
    func runProgram(_ command: String) throws(DeliveryOutcome) {
        message.rewind()
        let pid = fork()
        if pid < 0 { throw .deferred(BounceText.cannotFork) }
        if pid == 0 {
            enterWorkingDirectory()
            if message.fd != 0 { dup2(message.fd, 0) }
            signal(SIGPIPE, SIG_DFL)
            setenv("SHELL", "/bin/sh", 1)
            Deliverer.exec(["/bin/sh", "-c", command])
            _exit(111)
        }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 { if errno != EINTR { throw .deferred(BounceText.waitFailed) } }
        if st & 0x7f != 0 { throw .deferred(BounceText.programKilled(st & 0x7f)) }
        let code = (st >> 8) & 0xff
        switch code {
        case 0: return
        case 99: throw .deliveredStop
        case 64, 65, 70, 76, 77, 78, 100, 112: throw .bounce(BounceText.programFailedPermanently(command, code))
        default: throw .deferred(BounceText.programFailed(command, code))
        }
    }

    /// In a child about to run a program: the working directory, and `$DEFAULT`.
    func enterWorkingDirectory() {
        if let wd = workingDirectory { _ = chdir(wd) }
        if let defaultPart { setenv("DEFAULT", defaultPart, 1) }
    }

    static func exec(_ args: [String]) {
        var c: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        c.append(nil)
        execv(args[0], c)
    }

    /// Forwards through qmail-inject with our Return-Path and Delivered-To lines.
    func forward(_ addr: String) throws(DeliveryOutcome) {
        let inject = v.config.qmailInject ?? v.qmail.qmailDir + "/bin/qmail-inject"
        // Delivered-To: the DTLINE's address without qmail's "domain-" prefix.
        var dt = recipient
        if request.dtline.hasPrefix("Delivered-To: ") {
            var a = request.dtline.dropFirst(14)
            if a.hasSuffix("\n") { a = a.dropLast() }
            if a.lowercased().hasPrefix(host.text + "-") { a = a.dropFirst(host.text.count + 1) }
            dt = String(a)
        }
        message.rewind()
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .deferred(BounceText.cannotPipe) }
        let pid = fork()
        if pid < 0 { throw .deferred(BounceText.cannotFork) }
        if pid == 0 {
            enterWorkingDirectory()
            dup2(fds[0], 0)
            close(fds[0]); close(fds[1])
            Deliverer.exec([inject, "--", addr])
            _exit(111)
        }
        close(fds[0])
        signal(SIGPIPE, SIG_IGN)
        var ok = true
        do {
            try FS.writeAll(fd: fds[1], Array((request.rpline + "Delivered-To: \(dt)\n").utf8), path: "qmail-inject")
            try message.copy(to: fds[1], path: "qmail-inject")
        } catch { ok = false }
        close(fds[1])
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 { if errno != EINTR { throw .deferred(BounceText.waitFailed) } }
        let code = st & 0x7f == 0 ? (st >> 8) & 0xff : 111
        if code != 0 || !ok {
            let text = BounceText.injectFailed
            throw code == 100 ? .bounce(text) : .deferred(text)
        }
    }

    /// The message as `spamc -f -u <address>` returns it, in an unnamed temporary file; nil
    /// (deliver the original) when spamc cannot run or fails: a filter problem never costs a
    /// message.
    func spamFiltered(_ address: String) -> Message? {
        let dir = Proc.env("TMPDIR") ?? "/tmp"
        let out = open(dir, vpopTmpfileFlag | O_RDWR | O_CLOEXEC, 0o600)
        guard out >= 0 else { return nil }
        message.rewind()
        let pid = fork()
        if pid < 0 { close(out); return nil }
        if pid == 0 {
            enterWorkingDirectory()
            if message.fd != 0 { dup2(message.fd, 0) }
            dup2(out, 1)
            Deliverer.exec([v.config.spamcProg, "-f", "-u", address])
            _exit(111)
        }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 { if errno != EINTR { close(out); return nil } }
        var sb = stat()
        guard st == 0, fstat(out, &sb) == 0, sb.st_size > 0 else { close(out); return nil }
        return Message(fd: out, size: Int(sb.st_size))
    }

    // MARK: - Maildir and quota

    /// The over-quota / no-user text: the domain's file, then the global one, then built in.
    func messageText(_ name: String, domainDir: String?, builtIn: String) -> String {
        func text(_ dir: String) -> String? {
            guard let t = try? FS.readText(dir + "/" + name), !t.isEmpty else { return nil }
            return t.hasSuffix("\n") ? String(t.dropLast()) : t
        }
        return domainDir.flatMap(text) ?? text(v.domainsRoot) ?? builtIn
    }

    /// Sends the quota warning at most once a day (mtime of `<Maildir>/quotawarn`).
    func quotaWarning(maildir: String, address: String, domainDir: String?) {
        let stamp = maildir + "quotawarn"
        var st = stat()
        if posixStat(stamp, &st) == 0 && time(nil) - st.st_mtim.tv_sec < 86400 { return }
        var text: String? = nil
        for p in [domainDir.map { $0 + "/.quotawarn.msg" }, v.domainsRoot + "/.quotawarn.msg",
                  v.etcDir + "/quotawarn.msg"].compactMap({ $0 }) {
            if let t = try? FS.readText(p), !t.isEmpty { text = t; break }
        }
        guard let text else { return }
        let fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        let date = rfc2822Date(time(nil))
        let empty = open("/dev/null", O_RDONLY)
        defer { close(empty) }
        let body = Array("Delivered-To: \(address)\nDate: \(date)\n\(text)".utf8)
        // Written through the same Maildir path as a message (a zero-size message after the prefix).
        _ = try? MaildirDelivery.deliver(Message(fd: empty, size: 0), prefix: body, to: maildir, sync: v.deliverySync)
    }

    /// Delivers into a Maildir (`path` ends in `/`), enforcing `quota` (or the maildirsize quota).
    func deliverMaildir(_ path: String, quota given: Quota?, address: String, domain: DomainInfo?) throws(DeliveryOutcome) {
        let sizeFile = path + "maildirsize"
        var quota = given
        if quota == nil || quota?.spelling == "" {
            quota = (try? FS.read(sizeFile)).flatMap { Maildir.quotaLine($0) }
        }
        let q = quota ?? Quota(stored: "")
        let owner = domain.map { (uid: $0.uid, gid: $0.gid) }
        let prefix = Array((request.rpline + "Delivered-To: \(address)\n").utf8)
        let size = prefix.count + message.size
        if !q.isNone, let qs = quota {
            let u = Maildir.usage(maildir: String(decoding: path.utf8.dropLast(), as: UTF8.self), quota: qs, owner: owner, sync: v.sync)
            let over = (q.bytes > 0 && u.bytes + UInt64(size) > q.bytes) || (q.count > 0 && u.count + 1 > q.count)
            let small = v.config.smallMessageBytes > 0 && message.size <= v.config.smallMessageBytes
            if over && !small {
                quotaWarning(maildir: path, address: address, domainDir: domain?.dir)
                throw .bounce(messageText(".over-quota.msg", domainDir: domain?.dir, builtIn: BounceText.overQuota) + "\n")
            }
            if Maildir.percent(bytes: u.bytes + UInt64(size), count: u.count + 1, quota: q) >= v.config.quotaWarnPercent {
                quotaWarning(maildir: path, address: address, domainDir: domain?.dir)
            }
        }
        if request.toStdout {
            // Upstream's debugging aid: the message as it would be written, on stdout.
            do { try FS.writeAll(fd: 1, prefix, path: "stdout"); try message.copy(to: 1, path: "stdout") } catch {
                throw .deferred(BounceText.system(error))
            }
            return
        }
        do {
            try MaildirDelivery.deliver(message, prefix: prefix, to: path, sync: v.deliverySync) { written in
                guard !q.isNone else { return }
                // Append to an existing maildirsize only (a missing one is recalculated later);
                // before the last sync, so that the line is on disk with the message.
                let fd = open(sizeFile, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0 {
                    try? FS.writeAll(fd: fd, Array("\(written) 1\n".utf8), path: sizeFile)
                    close(fd)
                }
            }
        } catch {
            if error.errno == EDQUOT { throw .bounce(BounceText.overQuota) }
            throw .deferred(BounceText.system(error))
        }
    }
}
