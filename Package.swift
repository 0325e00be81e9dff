// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "vpopmail",
    products: [
        .library(name: "VpopmailCore", targets: ["VpopmailCore"]),
        .library(name: "CDB", targets: ["CDB"]),
        .executable(name: "vpopmail", targets: ["vpopmail"]),
        .executable(name: "vchkpw", targets: ["vchkpw"]),
        .executable(name: "vdelivermail", targets: ["vdelivermail"]),
    ],
    targets: [
        // libxcrypt's crypt.h (Debian: libcrypt-dev)
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt"),
        // Linux declarations Glibc's module map leaves out (setfsuid/setfsgid).
        .systemLibrary(name: "CShims", path: "Sources/CShims"),
        // D. J. Bernstein's constant database: reader and writer, no dependencies.
        .target(name: "CDB"),
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
            dependencies: ["VpopmailCore"],
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // The delivery agent qmail-local runs per message: fully static, no Foundation.
        .executableTarget(
            name: "vdelivermail",
            dependencies: ["VpopmailCore"],
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        .testTarget(name: "CDBTests", dependencies: ["CDB"]),
        .testTarget(name: "VpopmailCoreTests", dependencies: ["VpopmailCore", "CDB"]),
        .testTarget(name: "EndToEndTests", dependencies: ["CDB"]),
    ]
)
