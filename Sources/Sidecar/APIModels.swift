import Collector
import Foundation

/// The JSON shapes of the status API (`Spec/openapi.yaml`), with snake_case names and RFC 3339
/// UTC timestamps with microseconds.
enum APIModels {
    static func timestamp(_ micros: Int64?) -> Any {
        guard let micros else { return NSNull() }
        let seconds = Double(micros / 1_000_000)
        let date = Date(timeIntervalSince1970: seconds)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!,
            Int(fraction))
    }

    /// Parses `2026-11-30T03:04:05[.ffffff]Z` or a plain number of Unix µs.
    static func parseTimestamp(_ text: String) -> Int64? {
        if let micros = Int64(text) { return micros }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970 * 1_000_000) }
    }

    static func application(_ record: ApplicationRecord, recordsLost: Int64? = nil, secret: String? = nil) -> [String: Any] {
        var object: [String: Any] = [
            "uuid": record.uuid, "name": record.name, "status": record.status, "interval_ms": record.intervalMillis,
            "grace_ms": record.graceMillis, "max_run_ms": record.maxRunMillis.map { $0 as Any } ?? NSNull(), "signed": record.signed,
            "enabled": record.enabled, "last_heartbeat": timestamp(record.lastHeartbeatMicros),
            "last_run_ms": record.lastRunMillis.map { $0 as Any } ?? NSNull(), "last_run_at": timestamp(record.lastRunAtMicros),
            "created_at": timestamp(record.createdAtMicros),
        ]
        if let recordsLost { object["records_lost_last_hour"] = recordsLost }
        if let secret { object["secret"] = secret }
        return object
    }

    static func event(_ event: StoredEvent) -> [String: Any] {
        [
            "received_at": timestamp(event.receivedAtMicros), "sent_at": timestamp(event.sentAtMicros), "instance": event.instance,
            "seq": event.sequence, "kind": event.kind, "status": event.status,
        ]
    }

    static func transition(_ transition: StoredTransition) -> [String: Any] {
        [
            "id": transition.id, "at": timestamp(transition.atMicros), "from": transition.from, "to": transition.to, "reason": transition.reason,
            "run_duration_ms": transition.runDurationMillis.map { $0 as Any } ?? NSNull(),
        ]
    }

    /// Serialises with sorted keys, so equal content gives equal bytes (and ETags).
    static func encode(_ object: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }
}
