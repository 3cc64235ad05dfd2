/// SQL fragments every statement that queues notifications shares, so that the outbox is written
/// one way: each notification's delivery rows, and times as the JSON notification shows them.
enum NotificationSQL {
    /// The statement (for a CTE) that inserts one `notification_delivery` row per channel that
    /// takes each notification `source` returned (`id`, `application_id`, `event`, `payload`),
    /// by `rule` (``TransitionWriter/takes(event:labels:)`` unless said otherwise), the labels
    /// being those the payload carries; `filter` narrows `source`'s rows.
    static func deliveries(
        of source: String, where filter: String? = nil, rule: (_ event: String, _ labels: String) -> String = TransitionWriter.takes
    ) -> String {
        """
        INSERT INTO notification_delivery (notification_id, channel_id, application_id)
                    SELECT \(source).id, channel.id, \(source).application_id
                    FROM \(source) JOIN notification_channel AS channel ON \(rule("\(source).event", "(\(source).payload::jsonb -> 'labels')"))
        """ + (filter.map { "\n            WHERE \($0)" } ?? "")
    }

    /// `expression` (a timestamptz) as the notification shows times: RFC 3339, UTC, microseconds.
    static func time(_ expression: String) -> String {
        "to_char(\(expression) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }
}
