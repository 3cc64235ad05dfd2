import Foundation

/// What one notification says, read back from the JSON the outbox holds (`Spec/notifications.md`):
/// the values templates and senders draw on. Built from the payload, never from the registry at
/// delivery time, so every channel and every retry says the same thing.
public struct NotificationFacts: Sendable, Equatable {
    /// The JSON notification exactly as recorded (a webhook's body, byte for byte).
    public let payload: String
    /// `status_change.id`.
    public let changeID: Int64
    public let applicationUUID: String
    public let name: String
    /// The status left and the status entered (`new`, `up`, `late`, `down`, `paused`).
    public let previous: String
    public let status: String
    /// When it happened, RFC 3339 UTC with microseconds.
    public let at: String
    public let reason: String
    public let runDurationMillis: Int64?
    /// The application's last heartbeat when the transition was recorded (RFC 3339), or nil.
    public let lastHeartbeat: String?
    public let labels: [String: String]
    /// The last 2,000 characters of the newest job output stored since the previous transition
    /// (`/ping` with a POST body), or nil.
    public let logTail: String?

    /// The event channels filter on: the status entered.
    public var event: String { status }

    /// The facts of `payload`; nil when it is not a notification object.
    public init?(payload: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
              let app = object["app"] as? String, let name = object["name"] as? String,
              let from = object["from"] as? String, let to = object["to"] as? String,
              let at = object["at"] as? String, let reason = object["reason"] as? String
        else { return nil }
        self.payload = payload
        changeID = (object["id"] as? NSNumber)?.int64Value ?? 0
        applicationUUID = app
        self.name = name
        previous = from
        status = to
        self.at = at
        self.reason = reason
        runDurationMillis = (object["run_duration_ms"] as? NSNumber)?.int64Value
        lastHeartbeat = object["last_heartbeat"] as? String
        labels = (object["labels"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
        logTail = object["log_tail"] as? String
    }

    /// Facts given field by field (the test notification of `POST /v1/channels/{id}/test`).
    public init(
        changeID: Int64, applicationUUID: String, name: String, previous: String, status: String, at: String, reason: String,
        runDurationMillis: Int64? = nil, lastHeartbeat: String? = nil, labels: [String: String] = [:], logTail: String? = nil
    ) {
        var object: [String: Any] = [
            "id": changeID, "app": applicationUUID, "name": name, "from": previous, "to": status, "at": at, "reason": reason,
            "run_duration_ms": runDurationMillis.map { $0 as Any } ?? NSNull(), "last_heartbeat": lastHeartbeat.map { $0 as Any } ?? NSNull(),
            "labels": labels, "log_tail": logTail.map { $0 as Any } ?? NSNull(),
        ]
        object["id"] = changeID
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        payload = String(decoding: data, as: UTF8.self)
        self.changeID = changeID
        self.applicationUUID = applicationUUID
        self.name = name
        self.previous = previous
        self.status = status
        self.at = at
        self.reason = reason
        self.runDurationMillis = runDurationMillis
        self.lastHeartbeat = lastHeartbeat
        self.labels = labels
        self.logTail = logTail
    }
}
