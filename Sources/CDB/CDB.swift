// D. J. Bernstein's constant database (cdb): a reader over mmap and a writer whose output is
// byte-identical to tinycdb's `cdb -c` and djb's `cdbmake` for the same records in the same order.
//
// Format: a 2048-byte header of 256 (position, length) little-endian UInt32 pairs, then the records
// (`klen dlen key data`), then 256 hash tables of (hash, record position) slots. Hash: 5381, then
// `h = ((h << 5) &+ h) ^ byte` for each byte; table `h & 255`, first slot `(h >> 8) % length`,
// linear probing; an empty slot has position 0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a cdb file could not be read or written.
public enum CDBError: Error, CustomStringConvertible, Equatable {
    /// The file is not a valid cdb (truncated, a pointer out of range, ...).
    case corrupt(path: String, reason: String)
    /// A system call failed with this errno.
    case system(path: String, operation: String, errno: Int32)
    /// More than 4 GiB of data.
    case tooLarge

    public var description: String {
        switch self {
        case .corrupt(let path, let reason): return "\(path): corrupt cdb file (\(reason))"
        case .system(let path, let op, let e): return "\(path): \(op): \(String(cString: strerror(e)))"
        case .tooLarge: return "cdb file would exceed 4 GiB"
        }
    }
}

/// The cdb hash of a key.
@inlinable
public func cdbHash<C: Sequence>(_ key: C) -> UInt32 where C.Element == UInt8 {
    var h: UInt32 = 5381
    for b in key { h = ((h << 5) &+ h) ^ UInt32(b) }
    return h
}

/// A read-only cdb file mapped into memory.
public final class CDBReader {
    public let path: String
    private let base: UnsafeRawPointer?
    private let size: Int

    /// Maps `path`. Throws `.system` with ENOENT when the file does not exist.
    public init(path: String) throws(CDBError) {
        self.path = path
        let (fd, n) = try CDBReader.openFile(path)
        defer { close(fd) }
        guard let p = mmap(nil, n, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw .system(path: path, operation: "mmap", errno: errno)
        }
        self.base = UnsafeRawPointer(p)
        self.size = n
    }

    /// Opens `path` and returns the descriptor and size, refusing a file shorter than the header.
    fileprivate static func openFile(_ path: String) throws(CDBError) -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .system(path: path, operation: "open", errno: errno) }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let e = errno
            close(fd)
            throw .system(path: path, operation: "fstat", errno: e)
        }
        let size = Int(st.st_size)
        if size < 2048 {
            close(fd)
            throw .corrupt(path: path, reason: "shorter than its 2048-byte header")
        }
        return (fd, size)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    @inline(__always)
    private func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: base!.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The data of the first record whose key is `key`, or nil.
    public func find(_ key: [UInt8]) throws(CDBError) -> [UInt8]? {
        guard let r = try findRange(key) else { return nil }
        return Array(UnsafeRawBufferPointer(start: base! + r.lowerBound, count: r.count))
    }

    /// Byte range of the data of the first record with `key` inside the file, or nil.
    public func findRange(_ key: [UInt8]) throws(CDBError) -> Range<Int>? {
        let h = cdbHash(key)
        let slot = Int(h & 255) * 8
        let tpos = Int(u32(slot))
        let tlen = Int(u32(slot + 4))
        if tlen == 0 { return nil }
        guard tpos >= 2048, tlen <= (size - tpos) / 8 else {
            throw .corrupt(path: path, reason: "hash table \(h & 255) out of range")
        }
        var i = Int((h >> 8) % UInt32(tlen))
        for _ in 0..<tlen {
            let sp = tpos + i * 8
            let sh = u32(sp)
            let rp = Int(u32(sp + 4))
            if rp == 0 { return nil }
            if sh == h {
                guard rp >= 2048, rp <= size - 8 else { throw .corrupt(path: path, reason: "record pointer out of range") }
                let klen = Int(u32(rp)), dlen = Int(u32(rp + 4))
                guard klen <= size - rp - 8, dlen <= size - rp - 8 - klen else {
                    throw .corrupt(path: path, reason: "record length out of range")
                }
                if klen == key.count {
                    let same = key.withUnsafeBytes { kb in
                        klen == 0 || memcmp(kb.baseAddress!, base! + rp + 8, klen) == 0
                    }
                    if same { return (rp + 8 + klen)..<(rp + 8 + klen + dlen) }
                }
            }
            i += 1
            if i == tlen { i = 0 }
        }
        return nil
    }

    /// Calls `body` with every record in file order.
    public func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        var end = size
        for t in 0..<256 { end = min(end, Int(u32(t * 8))) }
        if end < 2048 { throw CDBError.corrupt(path: path, reason: "hash table before the records") }
        var p = 2048
        while p < end {
            guard p <= end - 8 else { throw CDBError.corrupt(path: path, reason: "truncated record header") }
            let klen = Int(u32(p)), dlen = Int(u32(p + 4))
            guard klen <= end - p - 8, dlen <= end - p - 8 - klen else {
                throw CDBError.corrupt(path: path, reason: "record length out of range")
            }
            try body(UnsafeRawBufferPointer(start: base! + p + 8, count: klen),
                     UnsafeRawBufferPointer(start: base! + p + 8 + klen, count: dlen))
            p += 8 + klen + dlen
        }
    }
}

extension CDBReader {
    /// One look-up without mapping the file: the data of the first record whose key is `key`, or
    /// nil, read with a few `pread`s. For programs that open a cdb for a single key (vchkpw and
    /// vdelivermail at every login and message), where mapping and unmapping the file and
    /// faulting its pages in costs more than the reads. Same checks and errors as `find`.
    public static func lookup(path: String, key: [UInt8]) throws(CDBError) -> [UInt8]? {
        let (fd, size) = try openFile(path)
        defer { close(fd) }

        /// Exactly `count` bytes at `offset` (the caller has checked they lie inside the file).
        func read(_ count: Int, at offset: Int) throws(CDBError) -> [UInt8] {
            var buf = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let r = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
                if r < 0 {
                    if errno == EINTR { continue }
                    throw .system(path: path, operation: "read", errno: errno)
                }
                if r == 0 { throw .corrupt(path: path, reason: "shorter than its size") }
                done += r
            }
            return buf
        }
        func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
            UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
        }

        let h = cdbHash(key)
        let head = try read(8, at: Int(h & 255) * 8)
        let tpos = Int(u32(head, 0)), tlen = Int(u32(head, 4))
        if tlen == 0 { return nil }
        guard tpos >= 2048, tlen <= (size - tpos) / 8 else {
            throw .corrupt(path: path, reason: "hash table \(h & 255) out of range")
        }
        var i = Int((h >> 8) % UInt32(tlen))
        var slots: [UInt8] = [], first = 0  // slots[0...] are the table's slots first, first + 1, ...
        for _ in 0..<tlen {
            if i < first || i >= first + slots.count / 8 {
                first = i
                slots = try read(min(tlen - i, 32) * 8, at: tpos + i * 8)
            }
            let sh = u32(slots, (i - first) * 8), rp = Int(u32(slots, (i - first) * 8 + 4))
            if rp == 0 { return nil }
            if sh == h {
                guard rp >= 2048, rp <= size - 8 else { throw .corrupt(path: path, reason: "record pointer out of range") }
                // The record header, the key and (usually) the data in one read.
                let guess = min(size - rp, 8 + key.count + 512)
                var rec = try read(guess, at: rp)
                let klen = Int(u32(rec, 0)), dlen = Int(u32(rec, 4))
                guard klen <= size - rp - 8, dlen <= size - rp - 8 - klen else {
                    throw .corrupt(path: path, reason: "record length out of range")
                }
                if klen == key.count && rec[8..<(8 + klen)].elementsEqual(key) {
                    if 8 + klen + dlen > rec.count { rec += try read(8 + klen + dlen - rec.count, at: rp + rec.count) }
                    return Array(rec[(8 + klen)..<(8 + klen + dlen)])
                }
            }
            i += 1
            if i == tlen { i = 0 }
        }
        return nil
    }
}

/// Builds a cdb image in memory. Records keep the order they are added in; the output is the
/// same bytes that tinycdb (`cdb -c`) and djb's cdbmake produce for that order.
public struct CDBWriter {
    private var out: [UInt8]
    private var hashes: [UInt32] = []
    private var positions: [UInt32] = []

    public init(reservingCapacity bytes: Int = 0, records: Int = 0) {
        out = [UInt8](repeating: 0, count: 2048)
        out.reserveCapacity(2048 + bytes + records * 24)
        hashes.reserveCapacity(records)
        positions.reserveCapacity(records)
    }

    public var recordCount: Int { hashes.count }

    @inline(__always)
    private mutating func put32(_ v: UInt32) {
        out.append(UInt8(truncatingIfNeeded: v))
        out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v >> 16))
        out.append(UInt8(truncatingIfNeeded: v >> 24))
    }

    /// Adds one record.
    public mutating func add<K: Collection, D: Collection>(key: K, data: D) throws(CDBError)
    where K.Element == UInt8, D.Element == UInt8 {
        let pos = out.count
        guard pos + 8 + key.count + data.count < Int(UInt32.max) - 1_000_000 else { throw .tooLarge }
        hashes.append(cdbHash(key))
        positions.append(UInt32(pos))
        put32(UInt32(key.count))
        put32(UInt32(data.count))
        out.append(contentsOf: key)
        out.append(contentsOf: data)
    }

    /// Adds one record from raw buffers (the fast path for large files).
    public mutating func add(key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) throws(CDBError) {
        let pos = out.count
        guard pos + 8 + key.count + data.count < Int(UInt32.max) - 1_000_000 else { throw .tooLarge }
        var h: UInt32 = 5381
        for b in key { h = ((h << 5) &+ h) ^ UInt32(b) }
        hashes.append(h)
        positions.append(UInt32(pos))
        put32(UInt32(key.count))
        put32(UInt32(data.count))
        out.append(contentsOf: key)
        out.append(contentsOf: data)
    }

    /// The finished file image.
    public consuming func finish() throws(CDBError) -> [UInt8] {
        let n = hashes.count
        guard out.count + n * 16 < Int(UInt32.max) else { throw .tooLarge }
        var count = [Int](repeating: 0, count: 256)
        for h in hashes { count[Int(h & 255)] += 1 }
        var start = [Int](repeating: 0, count: 257)
        for t in 0..<256 { start[t + 1] = start[t] + count[t] }
        // Records of each table, in insertion order.
        var order = [Int](repeating: 0, count: n)
        var fill = start
        for i in 0..<n {
            let t = Int(hashes[i] & 255)
            order[fill[t]] = i
            fill[t] += 1
        }
        out.reserveCapacity(out.count + n * 16)
        var slotH = [UInt32](), slotP = [UInt32]()
        var header = [(UInt32, UInt32)](repeating: (0, 0), count: 256)
        for t in 0..<256 {
            let len = count[t] * 2
            header[t] = (UInt32(out.count), UInt32(len))
            if len == 0 { continue }
            slotH = [UInt32](repeating: 0, count: len)
            slotP = [UInt32](repeating: 0, count: len)
            for k in start[t]..<start[t + 1] {
                let i = order[k]
                var w = Int((hashes[i] >> 8) % UInt32(len))
                while slotP[w] != 0 { w += 1; if w == len { w = 0 } }
                slotH[w] = hashes[i]
                slotP[w] = positions[i]
            }
            for w in 0..<len { put32(slotH[w]); put32(slotP[w]) }
        }
        out.withUnsafeMutableBytes { b in
            for t in 0..<256 {
                b.storeBytes(of: header[t].0.littleEndian, toByteOffset: t * 8, as: UInt32.self)
                b.storeBytes(of: header[t].1.littleEndian, toByteOffset: t * 8 + 4, as: UInt32.self)
            }
        }
        return out
    }
}
