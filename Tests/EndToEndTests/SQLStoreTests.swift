import Foundation
import Testing

/// What only the SQL stores have: upstream's schema, the 5.4 upgrade, bound values, servers that
/// do not answer, and vconvert between every pair.
@Suite struct SQLStores {
    @Test func mysqlSchemaIsUpstreams() throws {
        let s = try Site(store: "mysql", config: "sql-logging = y\n")
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        let cols = try s.sql("SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'vpopmail' ORDER BY ORDINAL_POSITION").out
        #expect(cols == """
            pw_name\tvarchar(64)\tNO
            pw_domain\tvarchar(96)\tNO
            pw_passwd\tvarchar(128)\tYES
            pw_uid\tint(11)\tYES
            pw_gid\tint(11)\tYES
            pw_gecos\tvarchar(64)\tYES
            pw_dir\tvarchar(160)\tYES
            pw_shell\tvarchar(20)\tYES
            pw_clear_passwd\tvarchar(128)\tYES

            """)
        let row = try s.sql("SELECT pw_name, pw_domain, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell, LEFT(pw_passwd, 3) FROM vpopmail WHERE pw_name = 'joe'").out
        #expect(row == "joe\texample.com\t1\t0\tjoe\t\(s.domainDir("example.com"))/joe\t52428800S\t$6$\n")
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.1"]).status == 0)
        // vadduser dates a "never logged in" row (like the cdb store's lastauth file); the login replaces it.
        #expect(try s.sql("SELECT user, domain, remote_ip FROM lastauth ORDER BY user").out
                == "joe\texample.com\t192.0.2.1\npostmaster\texample.com\t0.0.0.0\n")
        #expect(try s.sql("SELECT domain, cur_users, level_max, the_dir FROM dir_control WHERE domain = 'example.com'").out == "example.com\t2\t3\t\n")
        #expect(try s.sql("SELECT version FROM vpopmail_schema WHERE name = 'vpopmail'").out == "56\n")
        // sql-logging: vlog rows for a success and a failure, never the password.
        #expect(try s.vchkpw("joe@example.com", "Wrong-Pass-123", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.2"]).status == 3)
        let vlog = try s.sql("SELECT user, passwd, domain, logon, remoteip, error, message FROM vlog ORDER BY id").out
        #expect(vlog.hasPrefix("joe\t\texample.com\tjoe@example.com\t192.0.2.1\t0\t"), "\(vlog)")
        #expect(vlog.contains("joe\t\texample.com\tjoe@example.com\t192.0.2.2\t1\tpassword fail joe@example.com:192.0.2.2\n"), "\(vlog)")
        #expect(!vlog.contains("secret") && !vlog.contains("Wrong-Pass"))
    }

    @Test func perDomainTables() throws {
        let s = try Site(store: "mysql-large")
        try s.ok(["vadddomain", "my-site.example.com", "pw"])
        try s.ok(["vadduser", "joe@my-site.example.com", "secret"])
        #expect(try s.sql("SELECT pw_name FROM my_site_example_com ORDER BY pw_name").out == "joe\npostmaster\n")
        #expect(try s.sql("SHOW TABLES LIKE 'vpopmail'").out == "")
        try s.ok(["vdeldomain", "my-site.example.com"])
        #expect(try s.sql("SHOW TABLES LIKE 'my_site_example_com'").out == "")
    }

    @Test(arguments: storesUnderTest(["mysql", "pgsql"]))
    func oldSchemaIsUpgradedInPlace(store: String) throws {
        let s = try Site(store: store)
        let dir = s.domainDir("example.com")
        // A 5.4 table with an account in it, made before vpopmail ever touched the database.
        let old = store == "mysql"
            ? "CREATE TABLE vpopmail (pw_name CHAR(32) NOT NULL, pw_domain CHAR(96) NOT NULL, pw_passwd CHAR(40), pw_uid INT, pw_gid INT, pw_gecos CHAR(48), pw_dir CHAR(160), pw_shell CHAR(20), pw_clear_passwd CHAR(16), PRIMARY KEY (pw_name, pw_domain))"
            : "CREATE TABLE vpopmail (pw_name varchar(32) NOT NULL, pw_domain varchar(96) NOT NULL, pw_passwd varchar(40), pw_uid int, pw_gid int, pw_gecos varchar(48), pw_dir varchar(160), pw_shell varchar(20), pw_clear_passwd varchar(16), PRIMARY KEY (pw_name, pw_domain))"
        if store == "mysql" { _ = try s.sql("CREATE DATABASE \(s.database!)", module: "mysql-server") }
        let made = try s.sql(old)
        #expect(made.status == 0, "\(made.err)")
        #expect(try s.sql("INSERT INTO vpopmail VALUES ('old', 'example.com', '$1$saltsalt$9xy1btjgzLYfb7hivXtC//', 1, 0, 'Old', '\(dir)/old', 'NOQUOTA', '')").status == 0)
        let r = try s.run(["vadddomain", "example.com", "pw"])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        #expect(r.err.contains("upgrading table vpopmail from the 5.4 layout"))
        let len = store == "mysql"
            ? "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'vpopmail' AND COLUMN_NAME = 'pw_passwd'"
            : "SELECT character_maximum_length FROM information_schema.columns WHERE table_name = 'vpopmail' AND column_name = 'pw_passwd'"
        #expect(try s.sql(len).out == "128\n")
        #expect(try s.sql("SELECT version FROM vpopmail_schema WHERE name = 'vpopmail'").out == "56\n")
        // The old account still logs in; a new SHA-512 password fits.
        #expect(try s.vchkpw("old@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        try s.ok(["vpasswd", "old@example.com", "longer-secret"])
        #expect(try s.vchkpw("old@example.com", "longer-secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        // Once recorded, the next command does not upgrade again.
        #expect(try s.ok(["vadduser", "new@example.com", "pw"]).err == "")
    }

    /// A database from a build without clear passwords has no `pw_clear_passwd`: logins and
    /// listings work as they are, and the first write adds the column.
    @Test(arguments: storesUnderTest(["sqlite", "mysql", "pgsql"]))
    func tableWithoutClearPasswordColumn(store: String) throws {
        let s = try Site(store: store)
        let conf = s.read(s.home + "/etc/vpopmail.conf")!
        // The domain exists on disk (made on the cdb store), the table comes from elsewhere.
        try "".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        try s.ok(["vadddomain", "example.com", "pw"])
        try conf.write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        let dir = s.domainDir("example.com")
        let make = "CREATE TABLE vpopmail (pw_name varchar(64) NOT NULL, pw_domain varchar(96) NOT NULL, pw_passwd varchar(128), pw_uid int, pw_gid int, pw_gecos varchar(64), pw_dir varchar(160), pw_shell varchar(20), PRIMARY KEY (pw_name, pw_domain))"
        let row = "INSERT INTO vpopmail VALUES ('old', 'example.com', '\(knownHash)', 1, 0, 'Old', '\(dir)/old', 'NOQUOTA')"
        if store == "mysql" { _ = try s.sql("CREATE DATABASE \(s.database!)", module: "mysql-server") }
        let r = try s.sql(make + ";" + row)
        #expect(r.status == 0, "\(r.err)")
        #expect(try s.vchkpw("old@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try listing(s, "-n", "example.com") == ["old"])
        let add = try s.run(["vadduser", "new@example.com", "pw"])
        #expect(add.status == 0 && add.err.contains("adding pw_clear_passwd"), "\(add.out) \(add.err)")
        #expect(try listing(s, "-n", "example.com") == ["new", "old"])
        #expect(try s.vchkpw("old@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
    }

    @Test(arguments: storesUnderTest(["sqlite", "mysql", "pgsql"]))
    func valuesAreBoundNeverSpliced(store: String) throws {
        let s = try Site(store: store)
        try s.ok(["vadddomain", "example.com", "pw"])
        let evil = "x'); DROP TABLE vpopmail; --"
        try s.ok(["vadduser", "-c", evil, "joe@example.com", "a\\'b\"c%d"])
        #expect(try s.ok(["vuserinfo", "-c", "joe@example.com"]).out == evil + "\n")
        #expect(try s.vchkpw("joe@example.com", "a\\'b\"c%d", env: ["TCPLOCALPORT": "110"]).status == 0)
        // `%` and `_` are not wildcards: a name lookup is equality.
        try s.ok(["vadduser", "-e", knownHash, "a_b@example.com"])
        #expect(try s.run(["vuserinfo", "-n", "aXb@example.com"]).status != 0)
        try s.ok(["valias", "-i", "|/usr/bin/printf '%s' \"x\\\\y\"", "prog@example.com"])
        #expect(try s.ok(["valias", "-s", "prog@example.com"]).out == "prog@example.com -> |/usr/bin/printf '%s' \"x\\\\y\"\n")
    }

    /// With `valias = y` qmail-local finds no `.qmail-<alias>` file: vdelivermail delivers the
    /// alias's rows itself, and `<prefix->default` rows catch the rest with DEFAULT set.
    @Test(arguments: storesUnderTest(["sqlite", "mysql", "pgsql"]))
    func vdelivermailDeliversValiasRows(store: String) throws {
        let s = try Site(store: store)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        let maildir = s.domainDir("example.com") + "/joe/Maildir"
        try s.ok(["valias", "-i", maildir + "/", "team@example.com"])
        let out = s.domainDir("example.com") + "/program-output"  // the program runs as the domain owner
        try s.ok(["valias", "-i", "|/bin/sh -c 'echo \"$DEFAULT\" > \(out)'", "list-default@example.com"])
        let r = try s.deliver("Subject: to the team\n\nhello\n", to: "team", at: "example.com")
        #expect(r.status == 0 && r.out.contains("valiases processed"), "\(r.out)")
        #expect(s.newMessages(maildir).count == 1)
        let r2 = try s.deliver("Subject: list\n\nhello\n", to: "list-sub-x", at: "example.com")
        #expect(r2.status == 0, "\(r2.out)")
        #expect(s.read(out) == "sub-x\n")
        // qmail-ext: team-anything reaches team.
        #expect(try s.deliver("Subject: ext\n\nhello\n", to: "team-ext", at: "example.com").status == 0)  // default: delete
        #expect(s.newMessages(maildir).count == 1)
        try (s.read(s.home + "/etc/vpopmail.conf")! + "qmail-ext = y\n").write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        #expect(try s.deliver("Subject: ext\n\nhello\n", to: "team-ext", at: "example.com").status == 0)
        #expect(s.newMessages(maildir).count == 2)
        // Not an alias: the account as usual.
        #expect(try s.deliver("Subject: joe\n\nhello\n", to: "joe", at: "example.com").status == 0)
        #expect(s.newMessages(maildir).count == 3)
    }

    @Test(arguments: storesUnderTest(["mysql", "pgsql"]))
    func serverThatDoesNotAnswerIsTemporary(store: String) throws {
        let s = try Site(store: store)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        // Point the store at a closed port.
        let file = s.home + "/etc/vpopmail." + store
        let line = s.read(file)!.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        try ([line[0], "1"] + line[2...]).joined(separator: "|").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 111)
        #expect(try s.deliver("Subject: x\n\nbody\n", to: "joe", at: "example.com").status == 111)
        #expect(s.newMessages(s.domainDir("example.com") + "/joe/Maildir").isEmpty)
        try s.expectRefused(["vadduser", "ann@example.com", "pw"], status: 174, message: "connect")
        try s.expectRefused(["vdeldomain", "example.com"], status: 174, message: "connect")
        try s.expectRefused(["vpasswd", "joe@example.com", "new-pw"], status: 174, message: "connect")
        let r = try s.run(["vuserinfo", "joe@example.com"])
        #expect(r.status == 174 && (r.out + r.err).split(separator: "\n").count == 1, "\(r.status) \(r.out) \(r.err)")
    }

    @Test func missingOrEmptyConnectionFile() throws {
        let s = try Site(store: "mysql")
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        let file = s.home + "/etc/vpopmail.mysql"
        try "# only a comment\n\n".write(toFile: file, atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "ann@example.com", "pw"], status: 173, message: "vpopmail.mysql: no connection line")
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 111)
        try FileManager.default.removeItem(atPath: file)
        try s.expectRefused(["vuserinfo", "joe@example.com"], status: 173, message: "vpopmail.mysql: missing")
        #expect(try s.deliver("Subject: x\n\nbody\n", to: "joe", at: "example.com").status == 111)
    }

    /// cdb → SQLite → PostgreSQL → MySQL → cdb: the vpasswd file, the hashing state, lastauth,
    /// aliases and limits come back byte for byte.
    @Test func vconvertRoundTripLosesNothing() throws {
        let s = try Site(store: "cdb")
        try s.connect("mysql")
        try s.connect("pgsql")
        try "valias = y\nmysql-limits = y\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "-q", "10M,50C", "-c", "Joe Q. Public", "joe@example.com", "secret"])
        try s.ok(["vadduser", "-e", knownHash, "-c", "It's 100% \"quoted\"", "ann@example.com"])
        for i in 0..<150 { try s.ok(["vadduser", "-e", knownHash, "u\(i)@example.com"]) }
        try s.ok(["vmoduser", "-p", "-s", "ann@example.com"])
        try s.ok(["vdeluser", "u7@example.com"])
        try s.ok(["valias", "-i", "joe@example.com", "team@example.com"])
        try s.ok(["valias", "-i", "|/bin/true", "team@example.com"])
        try s.ok(["vmoddomlimits", "-P", "500", "-g", "i", "example.com"])
        try s.ok(["vaddaliasdomain", "alias.test", "example.com"])
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.44"]).status == 0)
        let dir = s.domainDir("example.com")
        let files = ["vpasswd", ".dir-control", ".qmail-team", ".qmailadmin-limits", "joe/lastauth"]
        var before: [String: String] = [:]
        for f in files { before[f] = s.read(dir + "/" + f) }
        let lastauthTime = try FileManager.default.attributesOfItem(atPath: dir + "/joe/lastauth")[.modificationDate] as! Date
        #expect(before.values.allSatisfy { !$0.isEmpty })

        // Through every store. Each step runs twice: a second run changes nothing.
        for (from, to) in [("cdb", "sqlite"), ("sqlite", "pgsql"), ("pgsql", "mysql")] {
            for _ in 0..<2 {
                let r = try s.run(["vconvert", "--from", from, "--to", to])
                #expect(r.status == 0, "\(from)->\(to): \(r.out) \(r.err)")
                #expect(r.out.contains("converting example.com...    done (152 accounts)"), "\(r.out)")
                #expect(r.out.contains("alias.test is an alias of example.com."))
            }
        }
        #expect(try s.sql("SELECT COUNT(*) FROM vpopmail", module: "mysql").out == "152\n")
        #expect(try s.sql("SELECT alias, domain FROM aliasdomains", module: "mysql").out == "alias.test\texample.com\n")
        #expect(try s.sql("SELECT valias_line FROM valias WHERE alias = 'team' ORDER BY id", module: "pgsql").out == "joe@example.com\n|/bin/true\n")
        // Back to cdb, from nothing: the files come back.
        for f in files { try? FileManager.default.removeItem(atPath: dir + "/" + f) }
        try? FileManager.default.removeItem(atPath: dir + "/vpasswd.cdb")
        let back = try s.run(["vconvert", "-m", "-c"].map { $0 })  // -m is the mysql store here
        #expect(back.status == 0, "\(back.out) \(back.err)")
        for f in files { #expect(s.read(dir + "/" + f) == before[f], "\(f): \(s.read(dir + "/" + f) ?? "missing")") }
        let t = try FileManager.default.attributesOfItem(atPath: dir + "/joe/lastauth")[.modificationDate] as! Date
        #expect(Int(t.timeIntervalSince1970) == Int(lastauthTime.timeIntervalSince1970))
        #expect(try tinycdbAgrees(dir + "/vpasswd.cdb"))
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try s.vchkpw("joe@example.com", "secret", env: ["TCPLOCALPORT": "143"]).status == 1)  // the domain's limits
        #expect(try s.vchkpw("ann@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 1)  // her own flags
    }

    @Test func vconvertFromAPasswordFile() throws {
        let s = try Site(store: "sqlite")
        try s.ok(["vadddomain", "example.com", "pw"])
        let file = s.root + "/passwords"
        try "carl:\(knownHash)\nlocked:*\ndora:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n".write(toFile: file, atomically: true, encoding: .utf8)
        let r = try s.run(["vconvert", "-p", file, "-m", "example.com"])
        #expect(r.status == 0 && r.out.contains("done (2 accounts)"), "\(r.out) \(r.err)")
        #expect(try s.vchkpw("dora@example.com", "secret", env: ["TCPLOCALPORT": "110"]).status == 0)
        #expect(try s.vchkpw("locked@example.com", "*", env: ["TCPLOCALPORT": "110"]).status == 3)
        #expect(FileManager.default.fileExists(atPath: s.domainDir("example.com") + "/carl/Maildir/new"))
        #expect(try s.run(["vconvert", "-p", file, "-m", "example.com"]).out.contains("done (0 accounts)"))
    }
}
