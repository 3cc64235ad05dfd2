import Collector
import Foundation
import Protocol

/// The JSON shapes of the status API (`Spec/openapi.yaml`), with snake_case names and RFC 3339
/// UTC timestamps with microseconds.
enum APIModels {
    /// `2026-11-30T03:04:05.123456Z` for Unix µs (NSNull for nil); the date by ``CivilCalendar``'s
    /// arithmetic, not Calendar (an events page formats 200 of these).
    static func timestamp(_ micros: Int64?) -> Any {
        guard let micros else { return NSNull() }
        return CivilCalendar.rfc3339(micros: micros)
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

    /// An application as the API shows it; with `secret` (at creation, `signed: true`, rotation) also
    /// the secret and the ping key derived from it, both shown this once.
    static func application(_ record: ApplicationRecord, secret: ApplicationSecret? = nil) -> [String: Any] {
        var object: [String: Any] = [
            "uuid": record.uuid, "name": record.name, "status": record.status, "interval_ms": record.intervalMillis.map { $0 as Any } ?? NSNull(), "schedule": schedule(record.schedule),
            "grace_ms": record.graceMillis, "max_run_ms": record.maxRunMillis.map { $0 as Any } ?? NSNull(), "signed": record.signed,
            "enabled": record.enabled, "last_heartbeat": timestamp(record.lastHeartbeatMicros),
            "last_run_ms": record.lastRunMillis.map { $0 as Any } ?? NSNull(), "last_run_at": timestamp(record.lastRunAtMicros),
            "created_at": timestamp(record.createdAtMicros), "labels": record.labels,
            "down_after": record.noise.downAfter, "up_after": record.noise.upAfter, "min_instances": record.noise.minInstances,
            "remind_every_ms": record.noise.remindEveryMillis.map { $0 as Any } ?? NSNull(),
        ]
        if let secret {
            object["secret"] = secret.hexString
            object["ping_key"] = PingKey.hex(for: secret)
        }
        return object
    }

    /// `{"cron": …, "time_zone": …, "description": …}` for an application on a schedule, else NSNull.
    static func schedule(_ schedule: ScheduleSpec?) -> Any {
        guard let schedule else { return NSNull() }
        var object: [String: Any] = ["cron": schedule.cron, "time_zone": schedule.timeZone]
        if let parsed = schedule.cached { object["description"] = parsed.words }
        return object
    }

    /// `{"events":[…],"next_before":…}` written directly (keys sorted, as ``encode(_:)`` sorts
    /// them): every value is a number, a fixed kind name or a timestamp, so nothing needs escaping,
    /// and a page of 1,000 events costs no dictionary per event — JSONSerialization took several
    /// milliseconds for one page here.
    static func encodeEvents(_ events: [StoredEvent], nextBefore: Int64?) -> [UInt8] {
        var text = "{\"events\":["
        text.reserveCapacity(64 + events.count * 160)
        for (index, event) in events.enumerated() {
            if index > 0 { text += "," }
            text += "{\"instance\":\(event.instance),\"kind\":\"\(event.kind)\",\"received_at\":\"\(timestamp(event.receivedAtMicros))\","
            text += "\"sent_at\":\"\(timestamp(event.sentAtMicros))\",\"seq\":\(event.sequence),\"status\":\(event.status)}"
        }
        text += "],\"next_before\":" + (nextBefore.map { "\"\(timestamp($0))\"" } ?? "null") + "}"
        return Array(text.utf8)
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
