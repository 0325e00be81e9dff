// swift-tools-version:6.1
import Foundation
import PackageDescription

/// vchkpw and vdelivermail are single-threaded programs. Swift 6 guards main-actor code with
/// run-time executor checks (SE-0423), which link the concurrency runtime and libdispatch into
/// the static binary; dispatch's start-up (CPU probing) then runs on every login and every
/// message. Off: nothing in them runs on another thread or executor.
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

/// The libFuzzer targets (Fuzz/, scripts/fuzz.sh): only with VPOP_FUZZ=1, in a build of their own
/// (`-sanitize=fuzzer,address`), so that ordinary builds never see them.
let fuzzTargets: [Target] = ProcessInfo.processInfo.environment["VPOP_FUZZ"] == "1"
    ? [.executableTarget(name: "vpop-fuzz", dependencies: ["VpopmailCore", "CDB"], path: "Fuzz/Sources")]
    : []

/// The stores with a client library, one folder each under `Sources/Stores/<folder>/`: `Driver/`
/// (the `StoreDriver`), the C module of the client library, and `vpopmail/`, `vchkpw/`,
/// `vdelivermail/`: the three programs linked with it, which the others hand over to when
/// `auth-module` names the store. Adding a store is a folder and a row here (and the driver in
/// `vpopmail-sql`'s list, for vconvert); Sources/Stores/README.md says more.
let clientStores: [(name: String, folder: String, cModule: String, pkgConfig: String?)] = [
    ("mysql", "MySQL", "CMariaDB", "libmariadb"),
    ("pgsql", "Postgres", "CLibPQ", "libpq"),
    ("sqlite", "SQLite", "CSQLite", nil),
]

/// The three programs of each store with a client library.
let storePrograms: [(program: String, library: String)] =
    [("vpopmail", "VpopmailAdmin"), ("vchkpw", "VchkpwProgram"), ("vdelivermail", "VdelivermailProgram"),
     ("vpopmaild", "VpopmaildProgram")]

/// vchkpw and vdelivermail of each SQL store are fully static like the cdb ones, with the client
/// library's archive: Debian's libsqlite3.a; libmariadb.a with OpenSSL's and zlib's; libpq.a with
/// PostgreSQL's libpgcommon and libpgport (postgresql-server-dev-NN), OpenSSL's, and failing
/// GSSAPI and LDAP definitions (`CPQStatic`: Debian ships no Kerberos or LDAP archives). No
/// shared object is loaded at each login or message (libpq brought 29).
let pgStaticLibDir: String? = {
    let root = "/usr/lib/postgresql"
    let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
    return versions.reversed().map { "\(root)/\($0)/lib" }.first { FileManager.default.fileExists(atPath: "\($0)/libpgcommon_shlib.a") }
}()

func isStaticTwin(_ store: String, _ program: String) -> Bool {
    ["vchkpw", "vdelivermail"].contains(program) && (store != "pgsql" || pgStaticLibDir != nil)
}

/// What each client archive needs after it on the link line (its module map names the archive).
func archiveLibraries(_ store: String) -> [LinkerSetting] {
    switch store {
    case "mysql": return ["ssl", "crypto", "z"].map { .linkedLibrary($0) }
    case "pgsql": return [.unsafeFlags(["-L\(pgStaticLibDir!)"])] + ["pgcommon_shlib", "pgport_shlib", "ssl", "crypto", "m"].map { .linkedLibrary($0) }
    default: return [.linkedLibrary("m")]
    }
}

func staticTwin(_ store: String, _ program: String) -> [LinkerSetting] {
    guard isStaticTwin(store, program) else { return [.unsafeFlags(["-static-stdlib"])] }
    return [.unsafeFlags(["-static-executable"])] + archiveLibraries(store)
}

/// vchkpw and vdelivermail themselves carry every SQL store when all three archives link
/// statically (the PostgreSQL archives are installed; compiled in as `SQL_STORES`): an SQL site's logins and
/// deliveries then start one static program, as a cdb site's do.
let allStoresStatic: (targets: [Target.Dependency], flags: [SwiftSetting], libs: [LinkerSetting]) = {
    guard pgStaticLibDir != nil else { return ([], [], []) }
    return (clientStores.map { .target(name: "Store\($0.folder)") } + ["CPQStatic"], [.define("SQL_STORES")],
            archiveLibraries("pgsql") + archiveLibraries("mysql"))
}()

var storeTargets: [Target] = []
var storeProducts: [Product] = []
for s in clientStores {
    let dir = "Sources/Stores/\(s.folder)"
    let module = "Store\(s.folder)"
    storeTargets.append(.systemLibrary(name: s.cModule, path: "\(dir)/\(s.cModule)", pkgConfig: s.pkgConfig))
    storeTargets.append(.target(name: module, dependencies: ["StoreSQL", .target(name: s.cModule)], path: "\(dir)/Driver"))
    if s.name == "pgsql" { storeTargets.append(.target(name: "CPQStatic", path: "\(dir)/CPQStatic")) }
    for p in storePrograms {
        let name = "\(p.program)-\(s.name)"
        storeTargets.append(.executableTarget(
            name: name,
            dependencies: [.target(name: p.library), .target(name: module), "StoreFiles", "StorePasswd"]
                + (s.name == "pgsql" && isStaticTwin(s.name, p.program) ? ["CPQStatic"] : []),
            path: "\(dir)/\(p.program)",
            swiftSettings: noActorChecks,
            linkerSettings: staticTwin(s.name, p.program)
        ))
        storeProducts.append(.executable(name: name, targets: [name]))
    }
}

let package = Package(
    name: "vpopmail",
    products: [
        .executable(name: "vpopmail-web", targets: ["vpopmail-web"]),
        .library(name: "VpopmailCore", targets: ["VpopmailCore"]),
        .library(name: "CDB", targets: ["CDB"]),
        .executable(name: "vpopmail", targets: ["vpopmail"]),
        .executable(name: "vchkpw", targets: ["vchkpw"]),
        .executable(name: "vdelivermail", targets: ["vdelivermail"]),
        .executable(name: "vpopmail-sql", targets: ["vpopmail-sql"]),
        .executable(name: "vpopmaild", targets: ["vpopmaild"]),
        .executable(name: "vpopmaild-listener", targets: ["vpopmaild-listener"]),
        // libvpopmail: upstream's C interface on the library, with every store. install.sh
        // turns it into $VPOPMAIL_HOME/lib/libvpopmail.a (scripts/libvpopmail.sh).
        .library(name: "vpopmail-c", type: .static, targets: ["VpopmailC"]),
    ] + storeProducts,
    // Only vpopmail-web (a server, a separate executable) uses them; every other program stays
    // off SwiftNIO and Foundation.
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Already Hummingbird's: named for the modules vpopmail-web imports itself.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // libxcrypt's crypt.h (Debian: libcrypt-dev)
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt"),
        // Linux declarations Glibc's module map leaves out (setfsuid/setfsgid, O_TMPFILE, ...).
        .systemLibrary(name: "CShims", path: "Sources/CShims"),
        // D. J. Bernstein's constant database: reader and writer, no dependencies.
        .target(name: "CDB"),
        // Replaces two start-up constructors of the static Swift runtime in vchkpw and
        // vdelivermail (startup.c says which and why).
        .target(name: "CStartup"),
        // The vpopmail library: the model, formats, configuration, passwords, the store
        // protocols, and every decision (services, logins, deliveries). Foundation-free so that
        // vchkpw and vdelivermail can link it statically.
        .target(name: "VpopmailCore", dependencies: ["CDB", "CCrypt", "CShims"], swiftSettings: noActorChecks),

        // Store drivers without a client library (Sources/Stores/<folder>).
        .target(name: "StoreFiles", dependencies: ["VpopmailCore", "CDB"], path: "Sources/Stores/Files", swiftSettings: noActorChecks),
        .target(name: "StorePasswd", dependencies: ["VpopmailCore", "StoreFiles"], path: "Sources/Stores/Passwd", swiftSettings: noActorChecks),
        .target(name: "StoreMemory", dependencies: ["VpopmailCore"], path: "Sources/Stores/Memory"),
        // What the SQL drivers share: upstream's schema, replication, reconnect.
        .target(name: "StoreSQL", dependencies: ["VpopmailCore", "StoreFiles"], path: "Sources/Stores/SQL"),

        // The programs, as libraries: each executable passes the drivers it links.
        .target(name: "ProgramSupport", dependencies: ["VpopmailCore"], path: "Sources/Programs/ProgramSupport", swiftSettings: noActorChecks),
        .target(name: "VpopmailAdmin", dependencies: ["VpopmailCore", "ProgramSupport"], path: "Sources/Programs/VpopmailAdmin"),
        .target(name: "VchkpwProgram", dependencies: ["VpopmailCore", "ProgramSupport"], path: "Sources/Programs/VchkpwProgram",
                swiftSettings: noActorChecks),
        .target(name: "VdelivermailProgram", dependencies: ["VpopmailCore", "ProgramSupport"], path: "Sources/Programs/VdelivermailProgram",
                swiftSettings: noActorChecks),

        // vpopmaild's protocol (docs/vpopmaild.md) on the library.
        .target(name: "VpopmaildProgram", dependencies: ["VpopmailCore", "ProgramSupport"], path: "Sources/Programs/VpopmaildProgram"),
        // The administration daemon, one process per connection (tcpserver).
        .executableTarget(name: "vpopmaild", dependencies: ["VpopmaildProgram", "StoreFiles", "StorePasswd"],
                          path: "Sources/Programs/vpopmaild", linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        // Its own listener (`vpopmaild --listen`), TLS by OpenSSL (Debian: libssl-dev): one
        // vpopmaild per connection, as under tcpserver.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl"),
        .executableTarget(name: "vpopmaild-listener", dependencies: ["VpopmailCore", "COpenSSL"],
                          path: "Sources/Programs/vpopmaild-listener", linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        // One multi-call executable for the administration commands (vadddomain, vadduser, ...);
        // install.sh links it under each name `vpopmail --commands` prints.
        .executableTarget(name: "vpopmail", dependencies: ["VpopmailAdmin", "StoreFiles", "StorePasswd"],
                          path: "Sources/Programs/vpopmail", linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        // The checkpassword authenticator, run once per login: fully static, no Foundation.
        // With every store's client linked in from its archive (no shared object loaded, no
        // hand-over to a twin): see allStoresStatic.
        .executableTarget(name: "vchkpw", dependencies: ["VchkpwProgram", "StoreFiles", "StorePasswd", "CStartup"] + allStoresStatic.targets,
                          path: "Sources/Programs/vchkpw", swiftSettings: noActorChecks + allStoresStatic.flags,
                          linkerSettings: fastStartLinking("vchkpw") + allStoresStatic.libs),
        // The delivery agent qmail-local runs per message: fully static, no Foundation.
        .executableTarget(name: "vdelivermail", dependencies: ["VdelivermailProgram", "StoreFiles", "StorePasswd", "CStartup"] + allStoresStatic.targets,
                          path: "Sources/Programs/vdelivermail", swiftSettings: noActorChecks + allStoresStatic.flags,
                          linkerSettings: fastStartLinking("vdelivermail") + allStoresStatic.libs),
        // The administration commands with every store (what vconvert between two SQL stores runs).
        .executableTarget(name: "vpopmail-sql",
                          dependencies: ["VpopmailAdmin", "StoreFiles", "StorePasswd"] + clientStores.map { .target(name: "Store\($0.folder)") },
                          path: "Sources/Programs/vpopmail-sql", linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        // The REST API, the web admin and /metrics (docs/web.md): Hummingbird 2, pages from
        // Mustache templates, every store.
        .executableTarget(name: "vpopmail-web",
                          dependencies: ["VpopmailCore", "StoreFiles", "StorePasswd"] + clientStores.map { .target(name: "Store\($0.folder)") }
                            + [.product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTLS", package: "hummingbird"),
                               .product(name: "Mustache", package: "swift-mustache"), .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                               .product(name: "HummingbirdCore", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types")],
                          path: "Sources/Programs/vpopmail-web",
                          // Foundation's static archives after the objects that pull them in.
                          linkerSettings: [.unsafeFlags(["-static-stdlib"])]
                            + ["Foundation", "FoundationEssentials", "FoundationInternationalization", "CoreFoundation",
                               "_FoundationCollections", "_FoundationCShims", "_FoundationICU", "stdc++"].map { .linkedLibrary($0) }),
        // The C interface (docs/c-api.md): upstream's headers and globals (CVpopmail), and the
        // entry points on the library (VpopmailC).
        .target(name: "CVpopmail", path: "Sources/CVpopmail"),
        .target(name: "VpopmailC", dependencies: ["CVpopmail", "VpopmailCore", "StoreFiles", "StorePasswd"] + clientStores.map { .target(name: "Store\($0.folder)") },
                path: "Sources/libvpopmail", swiftSettings: noActorChecks),
    ] + storeTargets + fuzzTargets + [
        .testTarget(name: "CDBTests", dependencies: ["CDB"]),
        .testTarget(name: "VpopmailCoreTests", dependencies: ["VpopmailCore", "CDB", "StoreMemory", "StoreFiles"]),
        .testTarget(name: "StoreTests", dependencies: ["VpopmailCore", "StoreMemory", "StoreFiles", "StorePasswd", "StoreSQL"]
                    + clientStores.map { .target(name: "Store\($0.folder)") }),
        .testTarget(name: "EndToEndTests", dependencies: ["CDB"]),
    ]
)
