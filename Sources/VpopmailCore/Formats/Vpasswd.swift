import CDB
#if canImport(Glibc)
import Glibc
#endif

/// The `vpasswd` text file of a domain: one line per user, sorted by name (docs/formats.md, "`vpasswd` and `vpasswd.cdb`").
/// Lines are kept as byte ranges into one buffer (new lines are appended to the buffer), so that
/// reading, one insert and the rewrite of a 100,000-line file are a few memory copies.
public struct VpasswdFile {
    /// One line: `buf[start..<end]`, the name is `buf[start..<nameEnd]`.
    struct Ref {
        var start: Int
        var nameEnd: Int
        var end: Int
    }

    private var buf: [UInt8]
    private var refs: [Ref]
    public let path: String

    /// Parses `bytes`; a line with fewer than six colons or an empty name is reported with the
    /// file and line number.
    public init(bytes: [UInt8], path: String) throws(VpopmailError) {
        self.path = path
        buf = bytes
        refs = []
        var bad: Int? = nil
        var refs: [Ref] = []
        refs.reserveCapacity(bytes.count / 100)
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            let n = b.count
            var i = 0
            var lineNo = 0
            while i < n {
                lineNo += 1
                var end: Int
                if let p = memchr(base + i, 10, n - i) { end = base.distance(to: p.assumingMemoryBound(to: UInt8.self)) } else { end = n }
                // A line ending in CR LF (an edit on another system): the CR is no field's.
                let next = end + 1
                if end > i && base[end - 1] == 13 { end -= 1 }
                var colons = 0
                var nameEnd = -1
                var j = i
                while colons < 6, j < end, let p = memchr(base + j, 58, end - j) {
                    let k = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                    if nameEnd < 0 { nameEnd = k }
                    colons += 1
                    j = k + 1
                }
                if colons < 6 || nameEnd == i {
                    bad = lineNo
                    return
                }
                refs.append(Ref(start: i, nameEnd: nameEnd, end: end))
                i = next
            }
        }
        if let bad { throw VpopmailError(.corruptFile, "\(path):\(bad): corrupt vpasswd line") }
        self.refs = refs
    }

    public init(path: String) {
        self.path = path
        buf = []
        refs = []
    }

    public var count: Int { refs.count }

    /// The lines, without their newlines.
    public var lines: [ArraySlice<UInt8>] { refs.map { buf[$0.start..<$0.end] } }

    /// Compares the name of line `r` with `name` (byte order).
    @inline(__always)
    private func compareName(_ r: Ref, _ name: UnsafeRawBufferPointer) -> Int32 {
        buf.withUnsafeBytes { b in
            let len = r.nameEnd - r.start
            let c = memcmp(b.baseAddress! + r.start, name.baseAddress!, min(len, name.count))
            if c != 0 { return c }
            return len < name.count ? -1 : (len > name.count ? 1 : 0)
        }
    }

    public func index(of name: [UInt8]) -> Int? {
        if name.isEmpty { return nil }
        return name.withUnsafeBytes { nb in
            buf.withUnsafeBytes { b in
                for (i, r) in refs.enumerated() where r.nameEnd - r.start == nb.count {
                    if memcmp(b.baseAddress! + r.start, nb.baseAddress!, nb.count) == 0 { return i }
                }
                return nil
            }
        }
    }

    private mutating func append(_ line: [UInt8]) -> Ref {
        let start = buf.count
        buf.append(contentsOf: line)
        let nameEnd = line.firstIndex(of: UInt8(ascii: ":")).map { start + $0 } ?? buf.count
        return Ref(start: start, nameEnd: nameEnd, end: buf.count)
    }

    /// Inserts before the first line whose name compares greater (upstream's order).
    public mutating func insert(_ line: [UInt8]) {
        let name = Array(line.prefix(while: { $0 != UInt8(ascii: ":") }))
        let at = name.withUnsafeBytes { nb in refs.firstIndex { compareName($0, nb) > 0 } } ?? refs.count
        let r = append(line)
        refs.insert(r, at: at)
    }

    /// Adds many lines at once, keeping the file sorted (one merge instead of n inserts).
    public mutating func insertMany(_ new: [[UInt8]]) {
        var add = new.map { append($0) }
        func less(_ a: Ref, _ b: Ref) -> Bool {
            buf.withUnsafeBytes { p in
                let la = a.nameEnd - a.start, lb = b.nameEnd - b.start
                let c = memcmp(p.baseAddress! + a.start, p.baseAddress! + b.start, min(la, lb))
                return c != 0 ? c < 0 : la < lb
            }
        }
        add.sort(by: less)
        var out: [Ref] = []
        out.reserveCapacity(refs.count + add.count)
        var i = 0, j = 0
        while i < refs.count || j < add.count {
            if j == add.count || (i < refs.count && !less(add[j], refs[i])) {
                out.append(refs[i]); i += 1
            } else {
                out.append(add[j]); j += 1
            }
        }
        refs = out
    }

    public mutating func replace(at i: Int, with line: [UInt8]) { refs[i] = append(line) }
    public mutating func remove(at i: Int) { refs.remove(at: i) }

    /// The file contents.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(refs.reduce(0) { $0 + $1.end - $1.start + 1 })
        buf.withUnsafeBytes { b in
            for r in refs {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[r.start..<r.end]))
                out.append(10)
            }
        }
        return out
    }

    /// `vpasswd.cdb`: key = name, data = the rest of the line.
    public func cdbImage() throws(VpopmailError) -> [UInt8] {
        var w = CDBWriter(reservingCapacity: refs.reduce(0) { $0 + $1.end - $1.start }, records: refs.count)
        do {
            try buf.withUnsafeBytes { b in
                for r in refs {
                    try w.add(key: UnsafeRawBufferPointer(rebasing: b[r.start..<r.nameEnd]),
                              data: UnsafeRawBufferPointer(rebasing: b[(r.nameEnd + 1)..<r.end]))
                }
            }
            return try w.finish()
        } catch let e as CDBError {
            throw VpopmailError(.couldNotUpdateFile, e.description)
        } catch {
            throw VpopmailError(.couldNotUpdateFile, "\(error)")
        }
    }

    /// The text line of an account. Refuses (`.badChar`) a field it cannot write: a NUL, CR or
    /// LF in any (it would end the line, or start another), a `:` in any but the last (it
    /// would shift the fields after it). The gecos loses its `:`s instead, as upstream's writer
    /// does.
    public static func line(for a: Account, withClear: Bool) throws(VpopmailError) -> [UInt8] {
        func bad(_ s: String, colon: Bool) -> Bool {
            s.utf8.contains { $0 == 0 || $0 == 10 || $0 == 13 || (colon && $0 == 58) }
        }
        let clear = withClear || a.clearPassword != nil ? a.clearPassword ?? "" : nil
        if bad(a.name, colon: true) || bad(a.passwordHash, colon: true) || bad(a.gecos, colon: false)
            || bad(a.home, colon: true) || bad(a.quota.spelling, colon: clear != nil) || bad(clear ?? "", colon: false) {
            throw VpopmailError(.badChar, "bad character in a vpasswd field of \(Validate.printable(a.name))")
        }
        var s = "\(a.name):\(a.passwordHash):\(a.apopMarker):\(a.flags.rawValue):"
        s += a.gecos.filter { $0 != ":" }
        s += ":\(a.home):\(a.quota.spelling)"
        if let clear { s += ":" + clear }
        return Array(s.utf8)
    }

    /// Parses one line (`name:passwd:uid:gid:gecos:dir:quota[:clear]`).
    public static func account(from line: ArraySlice<UInt8>) -> Account? {
        // The ends of the first seven fields, on the bytes (no array of slices: every vchkpw and
        // vdelivermail run parses one line).
        var ends = (0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var i = line.startIndex
        while i < line.endIndex && n < 7 {
            if line[i] == UInt8(ascii: ":") {
                switch n {
                case 0: ends.0 = i
                case 1: ends.1 = i
                case 2: ends.2 = i
                case 3: ends.3 = i
                case 4: ends.4 = i
                case 5: ends.5 = i
                default: ends.6 = i
                }
                n += 1
            }
            i += 1
        }
        // Seven colons: a clear-text password follows; six: the quota runs to the end.
        var clear: String? = nil
        if n == 7 {
            clear = String(decoding: line[(ends.6 + 1)...], as: UTF8.self)
        } else if n == 6 {
            ends.6 = line.endIndex
        } else {
            return nil
        }
        func s(_ from: Int, _ to: Int) -> String { String(decoding: line[from..<to], as: UTF8.self) }
        return Account(name: s(line.startIndex, ends.0), passwordHash: s(ends.0 + 1, ends.1),
                       apopMarker: Bytes.uint32(line[(ends.1 + 1)..<ends.2]) ?? 0,
                       flags: AccountFlags(rawValue: Bytes.uint32(line[(ends.2 + 1)..<ends.3]) ?? 0),
                       gecos: s(ends.3 + 1, ends.4), home: s(ends.4 + 1, ends.5), quota: Quota(stored: s(ends.5 + 1, ends.6)),
                       clearPassword: clear)
    }
}
