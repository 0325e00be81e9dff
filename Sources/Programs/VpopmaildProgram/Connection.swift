#if canImport(Glibc)
import Glibc
#endif

/// One client connection of vpopmaild: lines in from a descriptor (with a read timeout), each
/// reply out in one write (a client counts reads).
public final class Connection {
    let input: Int32
    let output: Int32
    var buffer: [UInt8] = []
    var start = 0
    var eof = false
    /// The longest line the protocol has (upstream's 1024-byte buffer, newline included).
    static let maxLine = 1023
    var chunk = [UInt8](repeating: 0, count: 4096)
    var timeoutSet: Int32 = -1
    var socketTimeout = false

    public init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    public enum Line {
        case line([UInt8])
        /// A line longer than the protocol allows (read to its end and dropped).
        case tooLong
        case timeout
        case closed
    }

    /// The next line without its `\n` (CRs are kept: the tokenizer takes them as separators).
    public func readLine(timeout seconds: Int32) -> Line {
        var tooLong = false
        while true {
            if let nl = buffer[start...].firstIndex(of: 10) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                if start > 65536 { buffer.removeFirst(start); start = 0 }
                return tooLong || line.count > Connection.maxLine ? .tooLong : .line(line)
            }
            if buffer.count - start > Connection.maxLine {
                // Keep reading to the end of the line, holding none of it.
                tooLong = true
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            if eof {
                if buffer.count > start && !tooLong {
                    let line = Array(buffer[start...])
                    buffer.removeAll()
                    start = 0
                    return .line(line)
                }
                return .closed
            }
            // A socket waits in read itself (SO_RCVTIMEO: one system call per request); a pipe
            // (the tests) in poll.
            if timeoutSet != seconds {
                var tv = timeval(tv_sec: Int(seconds), tv_usec: 0)
                socketTimeout = setsockopt(input, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0
                timeoutSet = seconds
            }
            if !socketTimeout {
                var p = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
                let r = poll(&p, 1, seconds * 1000)
                if r == 0 { return .timeout }
                if r < 0 { if errno == EINTR { continue }; return .closed }
            }
            let n = read(input, &chunk, chunk.count)
            if n < 0 {
                if socketTimeout && (errno == EAGAIN || errno == EWOULDBLOCK) { return .timeout }
                if errno == EINTR || errno == EAGAIN { continue }
                return .closed
            }
            if n == 0 { eof = true; continue }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// Writes one reply with one write (repeated only when the kernel takes part of it).
    public func send(_ reply: String) {
        var bytes = Array(reply.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(output, $0.baseAddress! + off, $0.count - off) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
        bytes.removeAll()
    }
}
