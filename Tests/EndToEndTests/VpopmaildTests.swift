import Foundation
import Testing

/// vpopmaild with its clients: Net_Vpopmaild's own suite, and the exact bytes of each reply form.
@Suite(.serialized) struct VpopmaildClients {
    /// Net_Vpopmaild's .phpt suite against vpopmaild under tcpserver (port 89, hence serialized),
    /// on cdb and MySQL, with clear passwords kept (several tests read them back).
    @Test(arguments: ["cdb", "mysql"])
    func netVpopmaildSuite(store: String) throws {
        // valias = n: the suite writes autoresponders as .qmail files (write_file) and expects
        // list_alias to show them, which only holds where aliases are those files (as upstream).
        let s = try Site(store: store, config: "clear-passwd = y\nvalias = n\n")
        let peers = try #require(peersDir, "../shared/peers not found; set VPOP_PEERS")
        let work = s.root + "/net-vpopmaild"
        let r = try tool([packageRoot + "/scripts/net-vpopmaild-tests.sh", s.home, s.qmail, peers, work])
        #expect(r.status == 0, "\(r.err)")
        // 52 tests; 010 is the client's own setDebug() without a log file, which PEAR Log 1.14
        // refuses under PHP 8 (Log::factory(): string, null given) before any byte is sent.
        #expect(r.out.contains("51 PASSED TESTS"), "\(r.out)\n\(r.err)")
        let failed = r.out.split(separator: "\n").filter { $0.hasSuffix(".phpt") }.map { String($0.split(separator: "/").last!) }
        let diffs = failed.map { f in (try? String(contentsOfFile: work + "/tests/" + f.replacingOccurrences(of: ".phpt", with: ".diff"), encoding: .utf8)) ?? "" }
        #expect(failed == ["010-vpopmaild-setDebug.phpt"], "failed: \(failed)\n\(diffs.joined(separator: "\n"))")
    }
}
