// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "dfs",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dfs", targets: ["dfs"]),
        .library(name: "DFSClient", targets: ["DFSClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // SHA-256 of whole files (BoringSSL's, with the CPU's SHA instructions), and later HMAC.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // FileDescriptor, Errno and FilePath under the system-call layer.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // Counters, gauges and histograms in the Prometheus text format, without SwiftNIO.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The logging API: the servers' lines go through its Loggers, so a program that embeds
        // the client library routes them through the handler it bootstraps.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The system SQLite library (Debian: libsqlite3-dev).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // CRC32C with the SSE4.2 instruction where the CPU has it, tables elsewhere.
        .target(name: "CCRC32C"),
        // The Linux calls the Glibc module does not export: epoll and accept4 for DFSNet's
        // sockets, fallocate and sync_file_range for DFSSystem's files.
        .target(name: "CNetShims"),
        // The system OpenSSL (Debian: libssl-dev), for TLS 1.3 on every connection of a cluster
        // with a secret; CTLS is the little C that OpenSSL's callbacks need (the pre-shared key).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "CTLS", dependencies: ["COpenSSL"]),
        // The PostgreSQL client library (Debian: libpq-dev), for a namespace kept in PostgreSQL.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // libfuse3 (Debian: libfuse3-dev, and fuse3 for fusermount3), for `dfs mount`.
        .systemLibrary(name: "CFuse", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev", "fuse3"])]),
        // Pure code: limits, errors, messages, framing, paths, sizes, checksums; the lock (Mutex) and
        // group-pass queue (Batcher, one Dispatch queue) both servers share; the log (Log, on
        // swift-log, and its handler). No sockets, no files: its one system call is StandardStream's
        // write(2) to standard output and error, which the log handler needs (the system-call
        // layer, DFSSystem, depends on this target).
        .target(name: "DFSCore", dependencies: ["CCRC32C", .product(name: "Logging", package: "swift-log")]),
        // The system-call layer: every file and socket call, EINTR retried once, errors that
        // carry the errno and the path.
        .target(name: "DFSSystem", dependencies: ["DFSCore", "CNetShims", .product(name: "SystemPackage", package: "swift-system")]),
        // Non-blocking TCP on Dispatch sources, bridged to async/await; TLS with the cluster
        // secret as its key, and block tokens (HMAC-SHA256 from swift-crypto).
        .target(name: "DFSNet", dependencies: ["DFSCore", "DFSSystem", "CNetShims", "CTLS", .product(name: "Crypto", package: "swift-crypto")]),
        // HTTP/1.1 on DFSNet's transport: the server under /metrics, the status page and the S3 gateway.
        .target(name: "DFSHTTP", dependencies: ["DFSCore", "DFSNet"]),
        // Each server's metrics (a Prometheus registry of its own), requests by type, the
        // process's memory, CPU and files.
        .target(name: "DFSMetrics", dependencies: ["DFSCore", "DFSHTTP", .product(name: "Prometheus", package: "swift-prometheus")]),
        // serve-meta: namespace, nodes, placement, in SQLite or PostgreSQL.
        .target(
            name: "DFSMeta",
            dependencies: [
                "DFSCore", "DFSSystem", "DFSNet", "DFSHTTP", "DFSMetrics", "DFSPostgres", "CSQLite",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        // serve-data: block store on local disk, registration, heartbeats.
        .target(
            name: "DFSData",
            dependencies: ["DFSCore", "DFSSystem", "DFSNet", "DFSHTTP", "DFSMetrics", "CNetShims", .product(name: "Prometheus", package: "swift-prometheus")]),
        // A PostgreSQL client on libpq: connections, a bounded pool whose jobs run on BlockingIO,
        // serializable transactions retried on conflicts, session advisory locks.
        .target(name: "DFSPostgres", dependencies: ["DFSCore", "DFSSystem", "CLibPQ"]),
        // Upload, download, list: used by the command line and by tests.
        .target(name: "DFSClient", dependencies: ["DFSCore", "DFSSystem", "DFSNet", "CNetShims", .product(name: "Crypto", package: "swift-crypto")]),
        // `dfs mount`: the cluster as a local folder, through FUSE's low-level API over DFSClient.
        .target(name: "DFSMount", dependencies: ["DFSCore", "DFSSystem", "DFSClient", "CFuse"]),
        // `dfs serve-s3`: an S3-compatible gateway (Signature V4, XML) over DFSClient, served on DFSHTTP.
        .target(name: "DFSS3", dependencies: ["DFSCore", "DFSHTTP", "DFSClient", .product(name: "Crypto", package: "swift-crypto")]),
        // Child processes by posix_spawn (the benchmark's and the tests'), and the line a
        // server prints when it listens. Not a server's concern, nor the client's.
        .target(name: "DFSProcess", dependencies: ["DFSCore", "DFSSystem"]),
        // An in-process cluster for tests.
        .target(
            name: "DFSTesting", dependencies: ["DFSCore", "DFSSystem", "DFSNet", "DFSHTTP", "DFSMeta", "DFSPostgres", "DFSData", "DFSClient", "DFSProcess"]),
        .executableTarget(
            name: "dfs",
            dependencies: [
                "DFSCore", "DFSSystem", "DFSNet", "DFSHTTP", "DFSMeta", "DFSData", "DFSClient", "DFSMount", "DFSS3", "DFSProcess", "DFSPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "DFSCoreTests", dependencies: ["DFSCore", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DFSSystemTests", dependencies: ["DFSCore", "DFSSystem"]),
        .testTarget(name: "DFSNetTests", dependencies: ["DFSCore", "DFSNet"]),
        .testTarget(name: "DFSHTTPTests", dependencies: ["DFSCore", "DFSNet", "DFSHTTP", "DFSTesting"]),
        .testTarget(name: "DFSMetaTests", dependencies: ["DFSCore", "DFSMeta", "DFSTesting"]),
        .testTarget(name: "DFSDataTests", dependencies: ["DFSCore", "DFSData"]),
        .testTarget(name: "DFSClientTests", dependencies: ["DFSCore", "DFSClient"]),
        .testTarget(name: "DFSPostgresTests", dependencies: ["DFSCore", "DFSSystem", "DFSPostgres", "DFSTesting"]),
        .testTarget(name: "DFSMountTests", dependencies: ["DFSCore", "DFSSystem", "DFSClient", "DFSTesting", "DFSMount"]),
        .testTarget(name: "DFSS3Tests", dependencies: ["DFSCore", "DFSHTTP", "DFSS3", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "DFSProcessTests", dependencies: ["DFSCore", "DFSProcess"]),
        .testTarget(name: "DFSMetricsTests", dependencies: ["DFSCore", "DFSMetrics", "DFSTesting"]),
        .testTarget(
            name: "ClusterTests", dependencies: ["DFSCore", "DFSNet", "DFSHTTP", "DFSClient", "DFSMount", "DFSS3", "DFSProcess", "DFSPostgres", "DFSTesting"]),
    ]
)
