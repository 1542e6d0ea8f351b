import DFSCore
import DFSNet

extension DataServer {
    public struct Options: Sendable {
        public var listen: Endpoint
        /// The cluster's meta servers: the active one and its standbys, in any order.
        public var metaServers: [Endpoint]
        /// The first meta server named; setting it names only that one.
        public var meta: Endpoint {
            get { metaServers[0] }
            set { metaServers = [newValue] }
        }
        public var folder: String
        /// The host clients should use; nil means the address the meta server sees.
        public var advertiseHost: String?
        /// How long to wait between attempts to reach a meta server that is down.
        public var retryInterval: Duration = .seconds(1)
        public var timeouts: Timeouts = .standard
        /// When set, every connection must prove it knows the secret, and block reads and
        /// writes need a token the meta server signed with it.
        public var secret: ClusterSecret?
        /// How often to send heartbeats; nil: what the meta server suggests when the node registers.
        public var heartbeatInterval: Duration?
        /// How often to send the full block list, besides after each registration.
        public var fullReportInterval: Duration = .seconds(600)
        /// Free disk space the node keeps for everyone else: below it, new blocks are
        /// refused and the node reports no room, so placement skips it.
        public var reserveBytes = 256 * 1024 * 1024
        /// Bytes per second the scrubber reads to re-verify stored blocks; 0 turns it off.
        public var scrubBytesPerSecond = 16 * 1024 * 1024
        /// Rest between scrub passes.
        public var scrubInterval: Duration = .seconds(3600)
        /// Keep the pages of blocks just written in the page cache instead of dropping them
        /// once the block is on the device (see ``BlockStore/init(folder:dropWrittenPages:)``).
        public var cacheWrittenBlocks = false
        /// Faults the node plays on purpose. Only test support (DFSTesting and the tests) sets
        /// them; a node started by `dfs serve-data` never has any.
        public var faults = FaultInjection()
        /// The HTTP port for metrics (`--http`); none when nil.
        public var http: Endpoint?

        public init(listen: Endpoint, meta: Endpoint, folder: String, advertiseHost: String? = nil) {
            self.init(listen: listen, metaServers: [meta], folder: folder, advertiseHost: advertiseHost)
        }

        public init(listen: Endpoint, metaServers: [Endpoint], folder: String, advertiseHost: String? = nil) {
            precondition(!metaServers.isEmpty, "a data node needs a meta server")
            self.listen = listen
            self.metaServers = metaServers
            self.folder = folder
            self.advertiseHost = advertiseHost
        }
    }

    /// Failures a test asks a node to show, so that the rest of the cluster can be seen coping
    /// with them. Every field is nil in production: only test support sets one.
    public struct FaultInjection: Sendable {
        /// The free space the node tells the meta server it has, whatever the disk says, so
        /// that placement picks a node that will refuse the block.
        public var reportedFreeBytes: Int?
        /// Once this many bytes of block data have arrived, the node stops at once, mid-block,
        /// as if its process had been killed.
        public var dieAfterReceivingBytes: Int?

        public init(reportedFreeBytes: Int? = nil, dieAfterReceivingBytes: Int? = nil) {
            self.reportedFreeBytes = reportedFreeBytes
            self.dieAfterReceivingBytes = dieAfterReceivingBytes
        }
    }
}
