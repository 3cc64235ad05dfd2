import Collector
import Foundation

/// `heartbeat serve --snapshot-file PATH`: the collector's state as JSON in a file, for scripts
/// and supervisors that should not parse log lines. Written once the collector listens
/// (`"state": "running"`, with its ports), and after shutdown has stored everything
/// (`"state": "stopped"`, the final totals). Each write replaces the file whole (write, then
/// rename), so a reader never sees half of one.
enum SnapshotFile {
    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    /// `{"collector": <GET /v1/collector's body>, "http_port": N, "state": "running" | "stopped"}`.
    static func contents(state: String, httpPort: Int, snapshot: CollectorSnapshot) -> [UInt8] {
        Array(#"{"collector":"#.utf8) + snapshot.json + Array(#","http_port":\#(httpPort),"state":"\#(state)"}"#.utf8) + [0x0A]
    }

    static func write(_ path: String, state: String, httpPort: Int, snapshot: CollectorSnapshot) throws(WriteError) {
        let temporary = path + ".tmp"
        let bytes = contents(state: state, httpPort: httpPort, snapshot: snapshot)
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw WriteError(description: "cannot write the snapshot file \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            throw WriteError(description: "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
    }
}
