/// The test notification `POST /v1/channels/{id}/test` and `heartbeat channel test` send: an
/// application named "heartbeat test notification" (the nil UUID) going from `up` to `down`
/// because of `test`, labelled with the channel's own label filter so it passes it.
public enum TestNotification {
    /// Sends it to `channel` now (blocking, at most the delivery timeout); nil when the channel
    /// took it, else what went wrong. An Alertmanager test alert resolves by itself after
    /// Alertmanager's resolve timeout; a PagerDuty test opens an incident to resolve by hand.
    public static func send(to channel: NotificationChannel, publicURL: String?) -> String? {
        var settings = NotificationDeliverer.Settings()
        settings.publicURL = publicURL ?? ""
        return send(to: channel, settings: settings)
    }

    static func send(to channel: NotificationChannel, settings: NotificationDeliverer.Settings) -> String? {
        guard let kind = channel.sender else { return "unknown kind \(channel.kind)" }
        let nowMicros = WallClock.nowMicros()
        let facts = NotificationFacts(
            changeID: 0, applicationUUID: "00000000-0000-0000-0000-000000000000", name: "heartbeat test notification", previous: "up",
            status: "down", at: CivilCalendar.rfc3339(micros: nowMicros), reason: "test", labels: channel.labelFilter)
        let notification = OutgoingNotification(
            facts: facts, channel: channel, deliveryID: "test-\(UInt64.random(in: 1...UInt64.max))",
            applicationURL: settings.applicationURL(facts.applicationUUID), nowMicros: nowMicros)
        guard let message = kind.message(for: notification) else { return "kind \(channel.kind) sends nothing for a test" }
        return MessageTransport.send(message, timeoutMillis: settings.timeoutMillis)
    }
}
