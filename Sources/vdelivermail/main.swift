// vdelivermail: the delivery agent qmail-local runs from a domain's `.qmail-default`
// (reference §7): `| vdelivermail '' <default-delivery>`. Exit codes are qmail-command's:
// 0 delivered, 99 delivered and stop, 100 permanent failure (stdout is the bounce text),
// 111 temporary failure. Anything unexpected is 111. No Foundation, linked fully static.
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif
registerSQLStores()

func say(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(1, $0, strlen($0)) }
}

func execArgs(_ args: [String]) {
    var c: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
    c.append(nil)
    execv(args[0], c)
}

func finish(_ code: Int32, _ text: String? = nil) -> Never {
    if let text { say(text) }
    exit(code)
}

// argc/argv as the C runtime has them: CommandLine.arguments would build an array of every
// argument (and instantiate its type's metadata) for the one we read.
guard CommandLine.argc == 3, let arg2 = CommandLine.unsafeArgv[2] else {
    finish(111, "vdelivermail: invalid syntax in .qmail-default file")
}
let defaultDelivery = String(cString: arg2)
guard let extRaw = Proc.env("EXT"), let hostRaw = Proc.env("HOST") else {
    finish(100, "vdelivermail: no EXT environment varilable")
}
let user = extRaw.lowercased()
let host = hostRaw.lowercased()
guard Validate.isUsernameValid(user), user.utf8.count <= LengthLimits.maxUserName else { finish(100, "invalid username") }
guard Validate.isDomainValid(host), host.utf8.count <= LengthLimits.maxDomain else { finish(100, "invalid domain name") }

var message: Message
do { message = try Message.fromStandardInput() } catch { finish(111, "system error: \(error)") }
if message.size == 0 { exit(0) }  // upstream drops empty messages (make-seekable)

// Handing over to vdelivermail-sql (an SQL auth-module): the message on stdin from its start.
beforeSQLHandover = {
    if message.fd != 0 { dup2(message.fd, 0) }
    lseek(0, 0, SEEK_SET)
}
let v: Vpopmail
do { v = try Vpopmail.open() } catch { finish(111, "vdelivermail: configuration error: \(error.message)") }
if v.config.authModule == "passwd" {
    // System accounts get their mail from qmail's own local delivery, not from a virtual domain.
    finish(111, "vdelivermail: auth-module passwd has no virtual mailboxes (deferred)")
}

let rpline = Proc.env("RPLINE") ?? ""
let dtline = Proc.env("DTLINE") ?? ""
let headers = message.headerLines()

/// A `Delivered-To: <addr>` line equal to ours is a loop (case-insensitive).
@MainActor
func isLooping(_ addr: String) -> Bool {
    let want = ("delivered-to: " + addr).lowercased()
    if dtline.lowercased() == want + "\n" { return true }
    return headers.contains { $0.lowercased() == want }
}

let recipient = "\(user)@\(host)"
if isLooping(recipient) { finish(100, "mail is looping") }

// MARK: - Delivering one line

/// The over-quota / no-user text: the domain's file, then the global one, then built in.
@MainActor
func messageText(_ name: String, domainDir: String?, builtIn: String) -> String {
    for dir in [domainDir, v.home + "/" + v.config.domainsDir].compactMap({ $0 }) {
        if let t = try? FS.readText(dir + "/" + name), !t.isEmpty { return t.hasSuffix("\n") ? String(t.dropLast()) : t }
    }
    return builtIn
}

/// Runs `|command` with the message on stdin; maps its status the qmail way.
@MainActor
func runProgram(_ command: String) -> Int32? {
    message.rewind()
    var cmd = Substring(command.dropFirst())
    while cmd.first == " " { cmd = cmd.dropFirst() }
    let pid = fork()
    if pid < 0 { finish(111, "unable to fork") }
    if pid == 0 {
        if message.fd != 0 { dup2(message.fd, 0) }
        signal(SIGPIPE, SIG_DFL)
        setenv("SHELL", "/bin/sh", 1)
        execArgs(["/bin/sh", "-c", String(cmd)])
        _exit(111)
    }
    var st: Int32 = 0
    while waitpid(pid, &st, 0) < 0 { if errno != EINTR { finish(111, "wait failed") } }
    if st & 0x7f != 0 { finish(111, "program killed by signal \(st & 0x7f)") }
    let code = (st >> 8) & 0xff
    switch code {
    case 0: return nil
    case 99: return 99
    case 64, 65, 70, 76, 77, 78, 100, 112: finish(100, "program failed: \(String(cmd)) exit \(code)")
    default: finish(111, "program failed: \(String(cmd)) exit \(code)")
    }
}

/// Forwards through qmail-inject with our Return-Path and Delivered-To lines.
@MainActor
func forward(_ target: String) {
    var addr = Substring(target)
    if addr.hasPrefix("&") { addr = addr.dropFirst() }
    let inject = v.config.qmailInject ?? v.qmail.qmailDir + "/bin/qmail-inject"
    // Delivered-To: the DTLINE's address without qmail's "domain-" prefix.
    var dt = recipient
    if dtline.hasPrefix("Delivered-To: ") {
        var a = dtline.dropFirst(14)
        if a.hasSuffix("\n") { a = a.dropLast() }
        if a.lowercased().hasPrefix(host + "-") { a = a.dropFirst(host.count + 1) }
        dt = String(a)
    }
    message.rewind()
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { finish(111, "unable to create a pipe") }
    let pid = fork()
    if pid < 0 { finish(111, "unable to fork") }
    if pid == 0 {
        dup2(fds[0], 0)
        close(fds[0]); close(fds[1])
        execArgs([inject, "--", String(addr)])
        _exit(111)
    }
    close(fds[0])
    signal(SIGPIPE, SIG_IGN)
    var ok = true
    do {
        try FS.writeAll(fd: fds[1], Array((rpline + "Delivered-To: \(dt)\n").utf8), path: "qmail-inject")
        try message.copy(to: fds[1], path: "qmail-inject")
    } catch { ok = false }
    close(fds[1])
    var st: Int32 = 0
    while waitpid(pid, &st, 0) < 0 { if errno != EINTR { finish(111, "wait failed") } }
    let code = st & 0x7f == 0 ? (st >> 8) & 0xff : 111
    if code != 0 || !ok { finish(code == 0 ? 111 : code, "system error calling qmail-inject") }
}

/// Sends the quota warning at most once a day (mtime of `<Maildir>/quotawarn`).
@MainActor
func quotaWarning(maildir: String, address: String, domainDir: String?) {
    let stamp = maildir + "quotawarn"
    var st = stat()
    if posixStat(stamp, &st) == 0 && time(nil) - st.st_mtim.tv_sec < 86400 { return }
    var text: String? = nil
    for p in [domainDir.map { $0 + "/.quotawarn.msg" }, v.home + "/" + v.config.domainsDir + "/.quotawarn.msg",
              v.etcDir + "/quotawarn.msg"].compactMap({ $0 }) {
        if let t = try? FS.readText(p), !t.isEmpty { text = t; break }
    }
    guard let text else { return }
    let fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    if fd >= 0 { close(fd) }
    let date = rfc2822Date(time(nil))
    let warnFD = open("/dev/null", O_RDONLY)
    defer { close(warnFD) }
    let body = Array("Delivered-To: \(address)\nDate: \(date)\n\(text)".utf8)
    // Written through the same Maildir path as a message (a zero-size message after the prefix).
    _ = try? MaildirDelivery.deliver(Message(fd: warnFD, size: 0), prefix: body, to: maildir, sync: v.deliverySync)
}

/// Delivers into a Maildir (`path` ends in `/`), enforcing `quota` (or the maildirsize quota).
@MainActor
func deliverMaildir(_ path: String, quota given: String?, address: String, domain: DomainInfo?) {
    guard path.hasSuffix("/") else { finish(111, "can't handle mbox delivery for \(path)") }
    let sizeFile = path + "maildirsize"
    var quota = given
    if quota == nil || quota == "" {
        quota = (try? FS.read(sizeFile)).flatMap { Maildir.quotaLine($0) }
    }
    let q = Quota.stored(quota ?? "")
    let owner = domain.map { (uid: $0.uid, gid: $0.gid) }
    let prefix = Array((rpline + "Delivered-To: \(address)\n").utf8)
    let size = prefix.count + message.size
    if !q.isNone, let qs = quota {
        let u = Maildir.usage(maildir: String(decoding: path.utf8.dropLast(), as: UTF8.self), quota: qs, owner: owner, sync: v.sync)
        let over = (q.bytes > 0 && u.bytes + UInt64(size) > q.bytes) || (q.count > 0 && u.count + 1 > q.count)
        let small = v.config.smallMessageBytes > 0 && message.size <= v.config.smallMessageBytes
        if over && !small {
            quotaWarning(maildir: path, address: address, domainDir: domain?.dir)
            finish(100, messageText(".over-quota.msg", domainDir: domain?.dir, builtIn: "user is over quota") + "\n")
        }
        if Maildir.percent(bytes: u.bytes + UInt64(size), count: u.count + 1, quota: q) >= v.config.quotaWarnPercent {
            quotaWarning(maildir: path, address: address, domainDir: domain?.dir)
        }
    }
    if Proc.env("DELIVER_TO_STDOUT") != nil {
        // Upstream's debugging aid: the message as it would be written, on stdout.
        do { try FS.writeAll(fd: 1, prefix, path: "stdout"); try message.copy(to: 1, path: "stdout") } catch {
            finish(111, "system error: \(error)")
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
        if error.errno == EDQUOT { finish(100, "user is over quota") }
        finish(111, "system error: \(error)")
    }
}

/// One `.qmail`-style line. Returns 99 when a program asked to stop.
@MainActor @discardableResult
func deliverLine(_ raw: String, quota: String? = nil, address: String, domain: DomainInfo?) -> Int32? {
    let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
    if line.isEmpty || line.hasPrefix("#") { return nil }
    if isLooping(line) { finish(100, "mail is looping") }
    if line.hasPrefix("|") { return runProgram(line) }
    if line.hasPrefix("/") || line.hasPrefix(".") {
        deliverMaildir(line, quota: quota, address: Maildir.address(ofPath: line) ?? address, domain: domain)
        return nil
    }
    forward(line)
    return nil
}

/// The message as `spamc -f -u <address>` returns it, in an unnamed temporary file; nil (deliver
/// the original) when spamc cannot run or fails: a filter problem never costs a message.
@MainActor
func spamFiltered(_ address: String) -> Message? {
    let dir = Proc.env("TMPDIR") ?? "/tmp"
    let out = open(dir, vpopTmpfileFlag | O_RDWR | O_CLOEXEC, 0o600)
    guard out >= 0 else { return nil }
    message.rewind()
    let pid = fork()
    if pid < 0 { close(out); return nil }
    if pid == 0 {
        if message.fd != 0 { dup2(message.fd, 0) }
        dup2(out, 1)
        execArgs([v.config.spamcProg, "-f", "-u", address])
        _exit(111)
    }
    var st: Int32 = 0
    while waitpid(pid, &st, 0) < 0 { if errno != EINTR { close(out); return nil } }
    var sb = stat()
    guard st == 0, fstat(out, &sb) == 0, sb.st_size > 0 else { close(out); return nil }
    return Message(fd: out, size: Int(sb.st_size))
}

/// Delivers every line of a `.qmail` file; true when the file had at least one line.
@MainActor
func deliverDotQmail(_ path: String, address: String, domain: DomainInfo?) -> Bool {
    guard let text = try? FS.readText(path) else { return false }
    let lines = Bytes.textLines(text)
    if lines.isEmpty { return false }
    for l in lines {
        if deliverLine(l, address: address, domain: domain) == 99 { finish(99) }
    }
    return true
}

// MARK: - The recipient

var found: (account: Account, domain: DomainInfo)? = nil
var domainInfo: DomainInfo? = nil
var userExtension: String? = nil
do {
    domainInfo = try v.qmail.lookup(host)  // host is lower-cased and validated above
    // qmail-local runs us as the domain's owner; run by root (by hand, or a test), become it,
    // so that messages, maildirsize and programs get the owner they would have under qmail.
    if let d = domainInfo, geteuid() == 0, d.uid != 0 {
        var g = gid_t(d.gid)
        guard setgroups(1, &g) == 0, setgid(d.gid) == 0, setuid(d.uid) == 0 else {
            finish(111, "vdelivermail: unable to switch to uid \(d.uid)")
        }
    }
    // qmail ran us for this domain: not finding it means a broken users/assign or store;
    // retrying later beats losing the message to the default delivery.
    guard domainInfo != nil else { finish(111, "vdelivermail: domain \(host) not found in users/assign") }
    // valias (aliases in the SQL store, `valias = y`): the alias's lines, else the nearest
    // `<prefix->default` alias with DEFAULT set to the rest; any row found is the delivery.
    if let t = v.tables, t.keepsAliases, let d = domainInfo {
        var lines = try t.aliasLines(user, domain: d.realDomain)
        var end = user.endIndex
        while lines.isEmpty, let dash = user[..<end].lastIndex(of: "-") {
            lines = try t.aliasLines(String(user[...dash]) + "default", domain: d.realDomain)
            if !lines.isEmpty { setenv("DEFAULT", String(user[user.index(after: dash)...]), 1) }
            end = dash
        }
        // qmail-ext: joe-foo reaches the alias joe.
        if lines.isEmpty, v.config.qmailExt, let dash = user.firstIndex(of: "-") {
            lines = try t.aliasLines(String(user[..<dash]), domain: d.realDomain)
        }
        if !lines.isEmpty {
            for l in lines where deliverLine(l, address: recipient, domain: d) == 99 { finish(99) }
            finish(0, "vdelivermail: valiases processed")
        }
    }
    if let d = domainInfo, let a = try v.store.account(user, in: d) { found = (a, d) }
    // qmail-ext: joe-foo.bar is joe with the extension foo:bar when there is no joe-foo.bar.
    if found == nil, v.config.qmailExt, let d = domainInfo, let dash = user.firstIndex(of: "-") {
        let base = String(user[..<dash])
        guard Validate.isUsernameValid(base) else { finish(100, "invalid username") }
        if let a = try v.store.account(base, in: d) {
            found = (a, d)
            userExtension = String(user[user.index(after: dash)...].map { $0 == "." ? ":" : $0 })
        }
    }
} catch {
    finish(111, "vdelivermail: deferred, account store error: \(error.message)")
}

if let (account, domain) = found {
    if account.flags.contains(.bounceMail) {
        finish(100, "vdelivermail: account is locked email bounced \(user)@\(host)")
    }
    if !FS.isDirectory(account.maildir) {
        do { try v.makeHome(account, domain: domain) } catch {
            finish(100, "Auto re-creation of maildir failed. (#5.9.9)")
        }
    }
    let address = "\(account.name)@\(domain.realDomain)"
    // The user's own .qmail, with the home as the current directory (./Maildir/ lines); with an
    // extension first .qmail-<ext>, then .qmail-<shorter prefix>-default, down to .qmail-default.
    _ = chdir(account.home)
    if let ext = userExtension {
        var candidates = [ext]
        var rest = Substring(ext)
        while let dash = rest.lastIndex(of: "-") {
            rest = rest[..<dash]
            candidates.append(rest + "-default")
        }
        candidates.append("default")
        for c in candidates where deliverDotQmail(account.home + "/.qmail-" + c, address: address, domain: domain) { exit(0) }
    }
    if deliverDotQmail(account.home + "/.qmail", address: address, domain: domain) { exit(0) }
    // control/defaultdelivery
    if v.config.defaultDelivery, let text = try? FS.readText(v.qmail.control("defaultdelivery")) {
        let lines = Bytes.textLines(text).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        if !lines.isEmpty && !lines.contains(where: { $0.contains("vdelivermail") }) {
            for l in lines where deliverLine(l, address: address, domain: domain) == 99 { finish(99) }
            exit(0)
        }
    }
    // SpamAssassin (spamassassin = y), unless the user or the domain turned it off.
    if v.config.spamassassin, !account.flags.contains(.noSpamassassin),
       case let limits = (try? v.limits(domain)) ?? DomainLimits(), !limits.disableSpamassassin {
        if let filtered = spamFiltered(address) { message = filtered }
        if (account.flags.contains(.deleteSpam) || limits.deleteSpam)
            && message.headerLines().contains(where: { $0 == "X-Spam-Flag: YES" }) {
            exit(0)  // flagged spam, deletion asked for
        }
    }
    deliverMaildir(account.maildir + "/", quota: account.quota, address: address, domain: domain)
    exit(0)
}

// MARK: - Unknown user: the default delivery argument

switch defaultDelivery {
case "delete":
    exit(0)
case "bounce-no-mailbox":
    finish(100, messageText(".no-user.msg", domainDir: domainInfo?.dir, builtIn: "Sorry, no mailbox here by that name. (#5.1.1)"))
default:
    if defaultDelivery.hasPrefix("/") {
        var dir = defaultDelivery
        if !dir.hasSuffix("/") { dir += "/" }
        say("user does not exist, but will deliver to \(dir)")
        _ = chdir(dir)
        if deliverDotQmail(dir + ".qmail", address: recipient, domain: domainInfo) { exit(0) }
        let md = dir.hasSuffix("Maildir/") ? dir : dir + "Maildir/"
        deliverMaildir(md, quota: nil, address: recipient, domain: domainInfo)
        exit(0)
    }
    if deliverLine(defaultDelivery, address: recipient, domain: domainInfo) == 99 { finish(99) }
    exit(0)
}
