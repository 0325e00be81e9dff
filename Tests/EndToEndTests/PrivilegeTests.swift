import Foundation
import Testing

/// Least privilege (docs/threat-model.md): root runs no hook, helper or program that the vpopmail
/// user or a domain owner could have replaced.
@Suite struct Privileges {
    let fm = FileManager.default

    @Test func onchangeRunsOnlyWhenNobodyElseCanReplaceIt() throws {
        let s = try Site(config: "onchange-script = y\n")
        try s.ok(["vadddomain", "example.com", "pw"])
        let ran = s.root + "/ran"
        let hook = s.home + "/etc/onchange"
        try writeScript("#!/bin/sh\necho \"$1\" >> \(ran)\n", to: hook)
        func add(_ name: String) throws -> Result {
            let r = try s.run(["vadduser", name + "@example.com", "Secret-pw1"])
            #expect(r.status == 0, "\(r)")
            return r
        }
        // Writable by others, by its group, owned by the vpopmail user, in a directory others
        // can write: refused with a line saying why; the change itself is made.
        for (setup, why) in [({ _ = chmod(hook, 0o757) }, "writable by its group or by others"),
                             ({ _ = chmod(hook, 0o775) }, "writable by its group or by others"),
                             ({ _ = chmod(hook, 0o755); _ = chown(hook, 89, 89) }, "owned by uid 89"),
                             ({ _ = chown(hook, 0, 0); _ = chmod(s.home + "/etc", 0o777) }, "/etc is writable by its group or by others")]
            as [(() -> Void, String)] {
            setup()
            let r = try add("u\(Int.random(in: 1000...9999))")
            #expect(r.err.contains("onchange: refusing to run \(hook)") && r.err.contains(why), "\(r.err)")
            #expect(!fm.fileExists(atPath: ran))
        }
        chmod(s.home + "/etc", 0o755)
        _ = try add("fine")
        #expect(s.read(ran) == "add_user\n")
    }

    @Test func helpersAndTwinsMustBeRoots() throws {
        // A qmail-newu of the vpopmail user's: refused, and the domain is not added.
        let s = try Site()
        let newu = s.root + "/qmail-newu"
        try writeScript("#!/bin/sh\nexit 0\n", to: newu)
        chown(newu, 89, 89)
        try "qmail-newu = \(newu)\nthrottle = n\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        let r = try s.run(["vadddomain", "example.com", "pw"])
        #expect(r.status == 173 && (r.out + r.err).contains("refusing to run qmail-newu \(newu): \(newu) is owned by uid 89"), "\(r)")
        #expect(try s.run(["vdominfo", "example.com"]).status != 0)
        // The program a store hands over to (vpopmail-sqlite), replaced by the vpopmail user.
        let t = try Site(store: "sqlite")
        let bin = t.home + "/bin/"
        try fm.removeItem(atPath: bin + "vadddomain")
        try fm.copyItem(atPath: vpopmailBinary, toPath: bin + "vadddomain")
        try fm.removeItem(atPath: bin + "vpopmail-sqlite")
        try fm.copyItem(atPath: packageRoot + "/.build/release/vpopmail-sqlite", toPath: bin + "vpopmail-sqlite")
        chown(bin + "vpopmail-sqlite", 89, 89)
        let h = try t.run(["vadddomain", "example.com", "pw"])
        #expect(h.status == 173 && h.err.contains("refusing to run \(bin)vpopmail-sqlite as root"), "\(h)")
        chown(bin + "vpopmail-sqlite", 0, 0)
        try t.ok(["vadddomain", "example.com", "pw"])
    }
}
