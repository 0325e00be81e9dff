// swift-tools-version:6.0
import Foundation
import PackageDescription

/// vchkpw and vdelivermail are single-threaded top-level programs. Swift 6 guards their
/// main-actor code with run-time executor checks (SE-0423), which link the concurrency runtime
/// and libdispatch into the static binary; dispatch's start-up (CPU probing) then runs on every
/// login and every message. Off: nothing in them runs on another thread or executor.
let noActorChecks: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-dynamic-actor-isolation"])]

/// vchkpw and vdelivermail: fully static, linked by lld with the functions and variables one
/// run uses placed side by side (layout/<program>.order, made by scripts/link-order.py): a run
/// then faults in a few windows of the binary instead of some fifty.
/// The Swift toolchain ships lld (`ld.lld` beside `swift`); without it they link as before.
func fastStartLinking(_ program: String) -> [LinkerSetting] {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let haveLLD = path.split(separator: ":").contains { dir in
        let toolchain = URL(fileURLWithPath: "\(dir)/swift").resolvingSymlinksInPath().deletingLastPathComponent().path
        return FileManager.default.isExecutableFile(atPath: "\(dir)/ld.lld")
            || FileManager.default.isExecutableFile(atPath: toolchain + "/ld.lld")
    }
    guard haveLLD else { return [.unsafeFlags(["-static-executable"])] }
    return [.unsafeFlags(["-static-executable", "-use-ld=lld",
                          "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/layout/\(program).order",
                          "-Xlinker", "--no-warn-symbol-ordering"])]
}

/// vpopmail-<store>, vchkpw-<store> and vdelivermail-<store>: the program with one SQL client
/// library.
let sqlDrivers: [(module: String, driver: String, flag: String)] =
    [("mysql", "SQLMySQL", "VPOP_MYSQL"), ("pgsql", "SQLPostgres", "VPOP_PGSQL"), ("sqlite", "SQLSQLite", "VPOP_SQLITE")]
var sqlPrograms: [Target] = []
var sqlProducts: [Product] = []
for program in ["vpopmail", "vchkpw", "vdelivermail"] {
    for d in sqlDrivers {
        let name = program + "-" + d.module
        let settings: [SwiftSetting] = [.define("VPOP_SQL"), .define(d.flag)] + noActorChecks
        sqlPrograms.append(.executableTarget(
            name: name,
            dependencies: ["VpopmailCore", "SQLStores", .target(name: d.driver)],
            swiftSettings: settings,
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ))
        sqlProducts.append(.executable(name: name, targets: [name]))
    }
}

let package = Package(
    name: "vpopmail",
    products: [
        .library(name: "VpopmailCore", targets: ["VpopmailCore"]),
        .library(name: "CDB", targets: ["CDB"]),
        .executable(name: "vpopmail", targets: ["vpopmail"]),
        .executable(name: "vchkpw", targets: ["vchkpw"]),
        .executable(name: "vdelivermail", targets: ["vdelivermail"]),
        .executable(name: "vpopmail-sql", targets: ["vpopmail-sql"]),
    ] + sqlProducts,
    targets: [
        // libxcrypt's crypt.h (Debian: libcrypt-dev)
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt"),
        // Linux declarations Glibc's module map leaves out (setfsuid/setfsgid).
        .systemLibrary(name: "CShims", path: "Sources/CShims"),
        // D. J. Bernstein's constant database: reader and writer, no dependencies.
        .target(name: "CDB"),
        // Replaces two start-up constructors of the static Swift runtime in vchkpw and
        // vdelivermail (startup.c says which and why).
        .target(name: "CStartup"),
        // The vpopmail library: formats, configuration, passwords, hashing, qmail files, stores.
        // Foundation-free so that vchkpw and vdelivermail can link it statically.
        .target(name: "VpopmailCore", dependencies: ["CDB", "CCrypt", "CShims"]),
        // One multi-call executable for the administration commands (vadddomain, vadduser, ...);
        // install.sh links it under each classic name.
        .executableTarget(
            name: "vpopmail",
            dependencies: ["VpopmailCore"],
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
        // The checkpassword authenticator, run once per login: fully static, no Foundation.
        .executableTarget(
            name: "vchkpw",
            dependencies: ["VpopmailCore", "CStartup"],
            swiftSettings: noActorChecks,
            linkerSettings: fastStartLinking("vchkpw")
        ),
        // The delivery agent qmail-local runs per message: fully static, no Foundation.
        .executableTarget(
            name: "vdelivermail",
            dependencies: ["VpopmailCore", "CStartup"],
            swiftSettings: noActorChecks,
            linkerSettings: fastStartLinking("vdelivermail")
        ),
        // The SQL client libraries (Debian: libmariadb-dev, libpq-dev, libsqlite3-dev).
        .systemLibrary(name: "CMariaDB", path: "Sources/CMariaDB", pkgConfig: "libmariadb"),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // Accounts and tables in MySQL/MariaDB, PostgreSQL and SQLite (upstream's schema), and one
        // driver target per client library.
        .target(name: "SQLStores", dependencies: ["VpopmailCore"]),
        .target(name: "SQLMySQL", dependencies: ["SQLStores", "CMariaDB"]),
        .target(name: "SQLPostgres", dependencies: ["SQLStores", "CLibPQ"]),
        .target(name: "SQLSQLite", dependencies: ["SQLStores", "CSQLite"]),
        // The same three programs built with the SQL stores (their sources are links to the
        // ones above, compiled with VPOP_SQL). Loading the client libraries costs time at every
        // start (libpq alone brings 24 libraries), so the cdb programs stay without them and hand
        // over to these when `auth-module` names an SQL store: vpopmail-sql has every driver,
        // vchkpw-<module> and vdelivermail-<module> only their own.
        .executableTarget(
            name: "vpopmail-sql",
            dependencies: ["VpopmailCore", "SQLStores", "SQLMySQL", "SQLPostgres", "SQLSQLite"],
            swiftSettings: [.define("VPOP_SQL"), .define("VPOP_MYSQL"), .define("VPOP_PGSQL"), .define("VPOP_SQLITE")],
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
    ] + sqlPrograms + [
        .testTarget(name: "CDBTests", dependencies: ["CDB"]),
        .testTarget(name: "VpopmailCoreTests", dependencies: ["VpopmailCore", "CDB"]),
        .testTarget(name: "EndToEndTests", dependencies: ["CDB"]),
        .testTarget(name: "SQLStoreUnitTests", dependencies: ["VpopmailCore", "SQLStores", "SQLMySQL", "SQLPostgres"]),
    ]
)
