#if canImport(Glibc)
import Glibc
#endif

/// A syslog client (RFC 3164 over a Unix datagram socket, as glibc's syslog(3) writes it), with
/// the socket path configurable (`log-socket`, default /dev/log) so that logging can be checked.
/// Failures are ignored, as syslog(3) does.
public enum Syslog {
    public static let mail: Int32 = 2 << 3   // LOG_MAIL
    public static let user: Int32 = 1 << 3   // LOG_USER
    public static let notice: Int32 = 5       // LOG_NOTICE

    public static func send(_ message: String, ident: String, facility: Int32 = mail, priority: Int32 = notice,
                            socketPath: String = "/dev/log") {
        let stamp = formatTime(time(nil), "%h %e %T", utc: false)
        let line = Array("<\(facility | priority)>\(stamp) \(ident)[\(getpid())]: \(message)".utf8)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: addr.sun_path) else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.enumerated() { p[i] = b }
            p[path.count] = 0
        }
        _ = withUnsafePointer(to: &addr) { ap in
            ap.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                line.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }
}
