// libFuzzer targets for every parser that reads outside input (docs/threat-model.md,
// "Fuzzing"). One binary; the target is `$FUZZ_TARGET`. Built and run by scripts/fuzz.sh:
//   VPOP_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product vpop-fuzz \
//     -Xswiftc -sanitize=fuzzer,address
// Each target checks properties beyond "does not crash" where there is one to check (a round
// trip, a bound); a violated property is a crash (precondition), which libFuzzer saves.
import CDB
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

let target = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""

/// A file with the input's bytes (one unlinked file, reused), for the readers that map a path.
let memfd: Int32 = {
    let path = "/dev/shm/vpop-fuzz-\(getpid())"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_EXCL, 0o600)
    unlink(path)
    return fd
}()

func asFile(_ bytes: [UInt8]) -> String {
    _ = ftruncate(memfd, 0)
    _ = bytes.withUnsafeBytes { pwrite(memfd, $0.baseAddress, $0.count, 0) }
    return "/proc/self/fd/\(memfd)"
}

func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

func fuzzCheckpassword(_ b: [UInt8]) {
    let r = LoginRequest(input: Array(b.prefix(LoginRequest.maxInput)), truncated: b.count > LoginRequest.maxInput,
                         port: "110", serviceName: nil, program: "/bin/true", localIP: nil, remoteIP: "192.0.2.1", lookupOnly: false)
    precondition(r.login.count + r.password.count + r.challenge.count <= min(b.count, LoginRequest.maxInput))
    precondition(!r.login.contains(0) && !r.password.contains(0))
    let (user, domain) = Validate.splitAddress(text(r.login))
    if let u = UserName(user) { precondition(!u.text.contains("/") && !u.homeName.hasPrefix("..")) }
    _ = DomainName(domain)
    _ = Relay.sanitize(text(r.login))
}

func fuzzVpasswd(_ b: [UInt8]) {
    guard let f = try? VpasswdFile(bytes: b, path: "fuzz") else { return }
    for line in f.lines {
        guard let a = VpasswdFile.account(from: line) else { continue }
        // What the writer accepts reads back as the same account.
        if let out = try? VpasswdFile.line(for: a, withClear: a.clearPassword != nil) {
            precondition(!out.contains(10) && !out.contains(13) && !out.contains(0))
            let back = VpasswdFile.account(from: out[...])
            precondition(back?.name == a.name && back?.passwordHash == a.passwordHash && back?.home == a.home)
        }
    }
}

func fuzzCDB(_ b: [UInt8]) {
    guard let mode = b.first else { return }
    let rest = Array(b.dropFirst())
    if mode & 1 == 0 {
        // Any bytes as a cdb: lookups and iteration throw or answer, never read out of bounds.
        guard let r = try? CDBReader(path: asFile(rest)) else { return }
        for k in [[], Array(rest.prefix(4)), Array(rest.suffix(3))] { _ = try? r.find(k) }
        try? r.forEach { _, _ in }
    } else {
        // Records made of the input: what the writer wrote, the reader finds (first wins).
        var w = CDBWriter()
        var first: [[UInt8]: [UInt8]] = [:]
        for rec in rest.split(separator: 0, omittingEmptySubsequences: false).prefix(200) {
            let kv = rec.split(separator: 1, maxSplits: 1, omittingEmptySubsequences: false)
            let k = Array(kv[0]), v = kv.count > 1 ? Array(kv[1]) : []
            guard (try? w.add(key: k, data: v)) != nil else { return }
            if first[k] == nil { first[k] = v }
        }
        guard let image = try? w.finish() else { return }
        let r = try! CDBReader(path: asFile(image))
        for (k, v) in first { precondition(try! r.find(k) == v) }
    }
}

func fuzzDotQmail(_ b: [UInt8]) {
    for raw in Bytes.textLines(text(b)) {
        // Split at LF, one CR of a CR LF end removed (a line may still end in a CR of its own).
        precondition(!raw.utf8.contains(10))
        _ = DotQmailLine(raw)
        _ = DotQmailLine.text(raw)
    }
}

func fuzzMaildirsize(_ b: [UInt8]) {
    guard let q = Maildir.quotaLine(b) else { return }
    _ = Maildir.sizeSums(b, quota: q.spelling)
    _ = q.keepsMaildirsize
}

func fuzzConfig(_ b: [UInt8]) {
    if let c = try? Config.parse(bytes: b, file: "fuzz") {
        precondition(c.throttle.delay >= 0 && c.throttle.window >= 1)
    }
    _ = DomainLimits.parse(text(b))
    _ = PasswordPolicy.parse(text(b))
    _ = try? DirControl.parse(text(b), file: "fuzz")
}

func fuzzAssign(_ b: [UInt8]) {
    for d in QmailControl.domainEntries(ofAssign: Bytes.textLines(text(b))) {
        precondition(!d.dir.utf8.contains(10) && !d.name.contains(":"))
        _ = d.hasOwnDirectory
        if let u = UserName("joe") { _ = d.mailboxComponents(d.dir + "/0/joe", user: u) }
    }
    _ = QmailControl.parseAssignValue(name: "example.com", value: b[...])
}

func fuzzTCPRules(_ b: [UInt8]) {
    guard let image = try? TCPRules.compile(text(b)), let r = try? CDBReader(path: asFile(image)) else { return }
    try? r.forEach { _, _ in }
}

func fuzzBulk(_ b: [UInt8]) {
    for raw in Bytes.textLines(text(b)) {
        guard let l = try? BulkImportLine.parse(raw) else { continue }
        let (user, _) = Validate.splitAddress(l.address)
        if let u = try? UserName(newAccount: user) { precondition(u.text == user.lowercased() || u.text == user) }
        _ = try? l.quota.map { (q) throws(VpopmailError) in try Quota.parse(q) }
        if let p = try? ClearPassword(l.password) { precondition(!Validate.breaksLine(p.text)) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let b = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch target {
    case "checkpassword": fuzzCheckpassword(b)
    case "vpasswd": fuzzVpasswd(b)
    case "cdb": fuzzCDB(b)
    case "dotqmail": fuzzDotQmail(b)
    case "maildirsize": fuzzMaildirsize(b)
    case "config": fuzzConfig(b)
    case "assign": fuzzAssign(b)
    case "tcprules": fuzzTCPRules(b)
    case "bulk": fuzzBulk(b)
    default:
        let m = "FUZZ_TARGET: checkpassword, vpasswd, cdb, dotqmail, maildirsize, config, assign, tcprules or bulk\n"
        _ = m.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
    return 0
}

// SwiftPM links the executable's own `main` (this file), so libFuzzer's driver is called from
// here rather than from libFuzzer's `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

var fuzzArgc = CommandLine.argc
var fuzzArgv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&fuzzArgc, &fuzzArgv, { data, size in fuzz(data, size) }))
