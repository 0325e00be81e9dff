import CDB
import Foundation
import Testing

/// Runs a program and returns (status, stdout).
func run(_ argv: [String], stdin: Data? = nil) throws -> (Int32, Data) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    let out = Pipe()
    p.standardOutput = out
    let inPipe = Pipe()
    if stdin != nil { p.standardInput = inPipe }
    try p.run()
    if let stdin {
        inPipe.fileHandleForWriting.write(stdin)
        try inPipe.fileHandleForWriting.close()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, data)
}

func tempDir() throws -> String {
    let d = NSTemporaryDirectory() + "cdbtest-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// Records with colliding tables: 5,000 keys spread over all 256 tables, some empty values.
func sampleRecords() -> [([UInt8], [UInt8])] {
    (0..<5000).map { i in (Array("user\(i)".utf8), Array((i % 7 == 0 ? "" : "data:\(i):\(String(repeating: "x", count: i % 40))").utf8)) }
}

@Suite struct CDBFormat {
    @Test func hashMatchesDJB() {
        #expect(cdbHash([UInt8]()) == 5381)
        // h = ((5381 << 5) + 5381) ^ 'a'
        #expect(cdbHash(Array("a".utf8)) == ((5381 &* 33) ^ 97))
    }

    @Test func writerRoundTripsThroughReader() throws {
        var w = CDBWriter()
        for (k, v) in sampleRecords() { try w.add(key: k, data: v) }
        let image = try w.finish()
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.cdb"
        FileManager.default.createFile(atPath: path, contents: Data(image))
        let r = try CDBReader(path: path)
        for (k, v) in sampleRecords() { #expect(try r.find(k) == v) }
        #expect(try r.find(Array("missing".utf8)) == nil)
        // The pread look-up agrees, for every key and for keys that are not there.
        for (k, v) in sampleRecords() { #expect(try CDBReader.lookup(path: path, key: k) == v) }
        for i in 0..<500 { #expect(try CDBReader.lookup(path: path, key: Array("nouser\(i)".utf8)) == nil) }
        var n = 0
        try r.forEach { _, _ in n += 1 }
        #expect(n == 5000)
    }

    @Test func writerIsByteIdenticalToTinycdb() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = CDBWriter()
        var dump = Data()
        for (k, v) in sampleRecords() {
            try w.add(key: k, data: v)
            dump.append(contentsOf: Array("+\(k.count),\(v.count):".utf8) + k + Array("->".utf8) + v + [10])
        }
        dump.append(10)
        let ours = try w.finish()
        let (st, _) = try run(["/usr/bin/cdb", "-c", "-t", dir + "/tmp", dir + "/theirs.cdb", "/dev/stdin"], stdin: dump)
        #expect(st == 0)
        let theirs = try Data(contentsOf: URL(fileURLWithPath: dir + "/theirs.cdb"))
        #expect(theirs == Data(ours))
    }

    @Test func tinycdbReadsOurFile() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = CDBWriter()
        try w.add(key: Array("joe".utf8), data: Array("secret:1:0".utf8))
        FileManager.default.createFile(atPath: dir + "/x.cdb", contents: Data(try w.finish()))
        let (st, out) = try run(["/usr/bin/cdb", "-q", dir + "/x.cdb", "joe"])
        #expect(st == 0)
        #expect(String(decoding: out, as: UTF8.self) == "secret:1:0")
    }

    @Test func truncatedFileIsReportedNotCrashed() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = CDBWriter()
        for (k, v) in sampleRecords().prefix(100) { try w.add(key: k, data: v) }
        let image = try w.finish()
        FileManager.default.createFile(atPath: dir + "/short.cdb", contents: Data(image.prefix(1000)))
        #expect(throws: CDBError.self) { _ = try CDBReader(path: dir + "/short.cdb") }
        // Header intact, body cut: lookups must throw, not read out of bounds.
        FileManager.default.createFile(atPath: dir + "/cut.cdb", contents: Data(image.prefix(3000)))
        let r = try CDBReader(path: dir + "/cut.cdb")
        var threw = 0
        for (k, _) in sampleRecords().prefix(100) {
            do { _ = try r.find(k) } catch { threw += 1 }
        }
        #expect(threw > 0)
        #expect(throws: CDBError.self) { _ = try CDBReader.lookup(path: dir + "/short.cdb", key: Array("user1".utf8)) }
        var lookupThrew = 0
        for (k, _) in sampleRecords().prefix(100) {
            do { _ = try CDBReader.lookup(path: dir + "/cut.cdb", key: k) } catch { lookupThrew += 1 }
        }
        #expect(lookupThrew == threw)
    }

    @Test func longRecordsAndCollidingSlotsReadWhole() throws {
        // Data longer than the first read, and a table long enough to need more than one slot read.
        var w = CDBWriter()
        let big = (0..<3000).map { i in (Array("k\(i)".utf8), Array(String(repeating: "v\(i % 10)", count: i % 3 == 0 ? 400 : 3).utf8)) }
        for (k, v) in big { try w.add(key: k, data: v) }
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/big.cdb", contents: Data(try w.finish()))
        for (k, v) in big { #expect(try CDBReader.lookup(path: dir + "/big.cdb", key: k) == v) }
    }

    @Test func missingFileIsENOENT() {
        #expect(throws: CDBError.system(path: "/nonexistent/x.cdb", operation: "open", errno: ENOENT)) {
            _ = try CDBReader(path: "/nonexistent/x.cdb")
        }
        #expect(throws: CDBError.system(path: "/nonexistent/x.cdb", operation: "open", errno: ENOENT)) {
            _ = try CDBReader.lookup(path: "/nonexistent/x.cdb", key: [1])
        }
    }
}
