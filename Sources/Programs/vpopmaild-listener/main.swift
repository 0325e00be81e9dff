// vpopmaild's own listener, for sites without tcpserver (`vpopmaild --listen ADDRESS:PORT`):
// accepts connections, at most --max-connections at a time (the others wait in the backlog),
// and runs one vpopmaild per connection as tcpserver would (the socket on fd 0 and 1, TCPREMOTEIP
// and TCPLOCALIP set). With --tls-cert and --tls-key each connection is TLS (1.2 or later): a
// child terminates it and relays to its vpopmaild over a socket pair. SIGTERM stops accepting,
// gives the sessions 5 seconds, then ends them. The protocol carries passwords: plain TCP
// belongs on loopback only (docs/vpopmaild.md).
import COpenSSL
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String, _ status: Int32 = 111) -> Never {
    let line = "vpopmaild: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(status)
}

struct Options {
    var address = ""
    var port: UInt16 = 0
    var cert: String? = nil
    var key: String? = nil
    var maxConnections = 40
}

func parse() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    while !args.isEmpty {
        let a = args.removeFirst()
        func value() -> String {
            guard !args.isEmpty else { fail("\(a) needs a value", 100) }
            return args.removeFirst()
        }
        switch a {
        case "--listen":
            let v = value()
            guard let colon = v.lastIndex(of: ":"), let p = UInt16(v[v.index(after: colon)...]), p > 0 else {
                fail("--listen ADDRESS:PORT expected, not \(v)", 100)
            }
            var host = String(v[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            o.address = host
            o.port = p
        case "--tls-cert": o.cert = value()
        case "--tls-key": o.key = value()
        case "--max-connections":
            guard let n = Int(value()), n > 0, n <= 10_000 else { fail("--max-connections: a number from 1 to 10000", 100) }
            o.maxConnections = n
        default: fail("unknown option \(a) (usage: vpopmaild --listen ADDRESS:PORT [--tls-cert FILE --tls-key FILE] [--max-connections N])", 100)
        }
    }
    if o.address.isEmpty { fail("--listen ADDRESS:PORT is required", 100) }
    if (o.cert == nil) != (o.key == nil) { fail("--tls-cert and --tls-key go together", 100) }
    return o
}

/// The listening socket (IPv4 or IPv6 by the address's form).
func listenSocket(_ o: Options) -> Int32 {
    let v6 = o.address.contains(":")
    let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    if fd < 0 { fail("socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var r: Int32
    if v6 {
        var a = sockaddr_in6()
        a.sin6_family = sa_family_t(AF_INET6)
        a.sin6_port = o.port.bigEndian
        guard inet_pton(AF_INET6, o.address, &a.sin6_addr) == 1 else { fail("not an address: \(o.address)", 100) }
        r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    } else {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = o.port.bigEndian
        guard inet_pton(AF_INET, o.address, &a.sin_addr) == 1 else { fail("not an address: \(o.address)", 100) }
        r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }
    if r != 0 { fail("bind \(o.address):\(o.port): \(String(cString: strerror(errno)))") }
    if listen(fd, 128) != 0 { fail("listen: \(String(cString: strerror(errno)))") }
    return fd
}

/// Address and port of one end of a socket, as tcpserver puts them in the environment.
func endpoint(_ fd: Int32, peer: Bool) -> (String, String) {
    var storage = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let r = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &len) : getsockname(fd, $0, &len) }
    }
    guard r == 0 else { return ("", "") }
    var host = [CChar](repeating: 0, count: 64)
    var port: UInt16 = 0
    let family = storage.ss_family
    withUnsafePointer(to: &storage) { p in
        if family == sa_family_t(AF_INET6) {
            p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                var addr = a.pointee.sin6_addr
                inet_ntop(AF_INET6, &addr, &host, 64)
                port = UInt16(bigEndian: a.pointee.sin6_port)
            }
        } else {
            p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                var addr = a.pointee.sin_addr
                inet_ntop(AF_INET, &addr, &host, 64)
                port = UInt16(bigEndian: a.pointee.sin_port)
            }
        }
    }
    return (String(cString: host), "\(port)")
}

/// Runs vpopmaild on `fd` (fd 0 and 1) in this process: exec.
func execSession(_ fd: Int32, _ program: String) -> Never {
    dup2(fd, 0)
    dup2(fd, 1)
    if fd > 1 { close(fd) }
    var argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), nil]
    execv(program, &argv)
    fail("cannot run \(program): \(String(cString: strerror(errno)))")
}

/// A TLS connection: the handshake, then vpopmaild over a socket pair, the bytes relayed.
func tlsSession(_ fd: Int32, _ ctx: OpaquePointer, _ program: String) -> Never {
    var tv = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    guard let ssl = SSL_new(ctx) else { exit(1) }
    SSL_set_fd(ssl, fd)
    guard SSL_accept(ssl) == 1 else { exit(1) }
    tv = timeval(tv_sec: 0, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var pair: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { exit(1) }
    let child = fork()
    if child == 0 {
        close(pair[0])
        close(fd)
        execSession(pair[1], program)
    }
    close(pair[1])
    let local = pair[0]
    var buf = [UInt8](repeating: 0, count: 16384)
    relay: while true {
        if SSL_pending(ssl) == 0 {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: local, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; break }
            if fds[1].revents != 0 {
                let n = read(local, &buf, buf.count)
                if n <= 0 { break relay }
                var off = 0
                while off < n {
                    let w = buf.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + off, Int32(n - off)) }
                    if w <= 0 { break relay }
                    off += Int(w)
                }
            }
            if fds[0].revents == 0 { continue }
        }
        let n = SSL_read(ssl, &buf, Int32(buf.count))
        if n <= 0 {
            let e = SSL_get_error(ssl, n)
            if e == SSL_ERROR_WANT_READ { continue }
            break
        }
        var off = 0
        while off < Int(n) {
            let w = buf.withUnsafeBytes { write(local, $0.baseAddress! + off, Int(n) - off) }
            if w <= 0 { break relay }
            off += w
        }
    }
    SSL_shutdown(ssl)
    close(local)
    var status: Int32 = 0
    waitpid(child, &status, 0)
    exit(0)
}

nonisolated(unsafe) var stopping: sig_atomic_t = 0

let options = parse()
// Signals as a daemon needs them, whatever the starting process blocked or ignored.
var noSignals = sigset_t()
sigemptyset(&noSignals)
sigprocmask(SIG_SETMASK, &noSignals, nil)
signal(SIGCHLD, SIG_DFL)
let program = Path.dirname(Proc.executablePath() ?? "/home/vpopmail/bin/vpopmaild-listener") + "/vpopmaild"
if access(program, X_OK) != 0 { fail("\(program) is not there") }
var ctx: OpaquePointer? = nil
if let cert = options.cert, let key = options.key {
    guard let c = SSL_CTX_new(TLS_server_method()) else { fail("TLS: cannot make a context") }
    _ = vpop_ssl_ctx_min_tls12(c)
    guard SSL_CTX_use_certificate_chain_file(c, cert) == 1 else { fail("TLS: cannot read the certificate \(cert)", 100) }
    guard SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(c) == 1 else {
        fail("TLS: cannot read the key \(key), or it does not match the certificate", 100)
    }
    ctx = c
}
let server = listenSocket(options)
signal(SIGPIPE, SIG_IGN)
signal(SIGTERM) { _ in stopping = 1 }
signal(SIGINT) { _ in stopping = 1 }
var children = Set<pid_t>()
Syslog.send("vpopmaild: listening on \(options.address):\(options.port)\(ctx == nil ? "" : " (TLS)"), at most \(options.maxConnections) sessions", ident: "vpopmaild")

@MainActor func reap(block: Bool) {
    while true {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, block ? 0 : WNOHANG)
        if pid <= 0 { return }
        children.remove(pid)
        if block { return }
    }
}

while stopping == 0 {
    reap(block: false)
    // At the bound, new connections wait in the backlog until a session ends.
    if children.count >= options.maxConnections {
        var ts = timespec(tv_sec: 0, tv_nsec: 20_000_000)
        nanosleep(&ts, nil)
        continue
    }
    var p = pollfd(fd: server, events: Int16(POLLIN), revents: 0)
    if poll(&p, 1, 200) <= 0 { continue }
    let fd = accept(server, nil, nil)
    if fd < 0 { continue }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    let (remoteIP, remotePort) = endpoint(fd, peer: true)
    let (localIP, localPort) = endpoint(fd, peer: false)
    let pid = fork()
    if pid == 0 {
        close(server)
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        setenv("PROTO", "TCP", 1)
        setenv("TCPREMOTEIP", remoteIP, 1)
        setenv("TCPREMOTEPORT", remotePort, 1)
        setenv("TCPLOCALIP", localIP, 1)
        setenv("TCPLOCALPORT", localPort, 1)
        // The socket was accepted close-on-exec: the session's copies are made by dup2.
        if let ctx { tlsSession(fd, ctx, program) }
        execSession(fd, program)
    }
    close(fd)
    if pid > 0 { children.insert(pid) }
}

// A clean stop: no new connections; the sessions get 5 seconds, then SIGTERM.
close(server)
var waited = 0
while !children.isEmpty && waited < 250 {
    reap(block: false)
    var ts = timespec(tv_sec: 0, tv_nsec: 20_000_000)
    nanosleep(&ts, nil)
    waited += 1
}
for c in children { kill(c, SIGTERM) }
while !children.isEmpty { reap(block: true) }
Syslog.send("vpopmaild: stopped", ident: "vpopmaild")
exit(0)
