import Atomics
import Foundation
import Protocol

#if canImport(Glibc)
import Glibc
#endif

/// Where rows that PostgreSQL refused for their content go (`dead-letter.jsonl` in the spool
/// directory): one JSON object a line with the row's values, its encoded bytes in hex, the
/// SQLSTATE and the server's message, so an operator can read, fix and load them by hand. Such rows
/// are never retried: retrying cannot change the answer, and would block every batch behind them.
///
/// The file is opened for each write with `O_APPEND | O_NOFOLLOW`, mode 0600, and capped at
/// ``capacityBytes``: past it rows are still counted as dead-lettered (by the caller) and counted
/// again as ``unwrittenRows``, never written. Thread-safe (a lock per write: this is the failure path).
public final class DeadLetterFile: @unchecked Sendable {
    /// The file's path.
    public let path: String
    /// The most the file may grow to.
    public let capacityBytes: Int
    /// Rows that could not be written (the file at its cap, or the disk refused).
    public let unwrittenRows = ManagedAtomic<UInt64>(0)
    private let lock = NSLock()

    /// The default cap: 64 MiB, about 200,000 rows.
    public static let defaultCapacityBytes = 64 << 20

    /// A dead-letter file in `directory` (which must exist).
    public init(directory: String, capacityBytes: Int = defaultCapacityBytes) {
        path = directory + "/dead-letter.jsonl"
        self.capacityBytes = capacityBytes
    }

    /// Appends the rows of `body` at `rows`, refused with `error`; `source` says whether they came
    /// from a batch or a spool file.
    public func append(_ rows: [Int], of body: CopyBody, error: PostgresError, source: String, nowMicros: Int64) {
        guard !rows.isEmpty else { return }
        var text = ""
        for index in rows {
            let row = body.row(index)
            let object: [String: Any] = [
                "dead_lettered_at": CivilCalendar.rfc3339(micros: nowMicros),
                "source": source,
                "sqlstate": error.sqlState ?? "",
                "error": error.message.split(separator: "\n").first.map(String.init) ?? "",
                "application_id": Int(row.applicationID),
                "received_at_us": Int(row.receivedAtMicros),
                "sent_at_us": Int(row.sentAtMicros),
                "instance": Int(row.instance),
                "seq": String(row.sequence),
                "kind": Int(row.kind.rawValue),
                "status": Int(row.status),
                "copy_row_hex": HexDigits.lowercase(bytes: body.encodedRow(index)),
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { continue }
            text += String(decoding: data, as: UTF8.self) + "\n"
        }
        lock.withLock {
            guard write(text) else {
                unwrittenRows.wrappingIncrement(by: UInt64(rows.count), ordering: .relaxed)
                return
            }
        }
    }

    /// Appends `text` if it fits under the cap; false when it does not or the disk refused.
    private func write(_ text: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, Int(info.st_size) + text.utf8.count <= capacityBytes else { return false }
        return text.utf8CString.withUnsafeBytes { bytes in
            var offset = 0
            let count = bytes.count - 1  // without the terminating NUL
            while offset < count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return false }
                offset += written
            }
            return true
        }
    }
}
