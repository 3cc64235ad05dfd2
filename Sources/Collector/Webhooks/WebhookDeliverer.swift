import CHTTP
import Foundation

/// Delivers the `webhook_delivery` outbox: claims due rows, POSTs each as JSON with an
/// `X-Heartbeat-Signature` header, and marks it delivered, or due again after a backoff.
///
/// Claiming is a conditional UPDATE over rows picked `FOR UPDATE SKIP LOCKED` that sets a lease
/// (`leased_until`): workers in any number of collectors never take the same row at once, and a row
/// whose worker died mid-delivery becomes due again when its lease runs out. So a notification is
/// never lost; it is sent twice only when a worker dies between the receiver's 2xx and marking the
/// row — which is why each POST carries `X-Heartbeat-Delivery` (the row id) for receivers to
/// de-duplicate. Per application and URL, notifications arrive in the order they happened: a row is
/// not claimed while an earlier one for the same application and URL is still owed (so a retried
/// `new → up` never lands after the `up → late` that followed it). Runs on its own thread and
/// connection: it never blocks the monitor.
final class WebhookDeliverer: @unchecked Sendable {
    /// The configuration delivery follows.
    struct Settings: Sendable {
        var secret: [UInt8]
        /// Per-POST timeout.
        var timeoutMillis = 5_000
        /// A claimed row belongs to its worker this long.
        var leaseSeconds = 30
        /// Attempts before a row is abandoned (counted).
        var maximumAttempts = 12
        /// Backoff after attempt n: min(base × 2^(n-1), cap).
        var backoffBaseMillis = 1_000
        var backoffCapMillis = 600_000
        /// How often the outbox is polled when it was empty.
        var pollMillis = 200
    }

    private let databaseURL: String
    private let settings: Settings
    private let metrics: WebhookMetrics
    let worker = WorkerThread()

    init(databaseURL: String, settings: Settings, metrics: WebhookMetrics) {
        self.databaseURL = databaseURL
        self.settings = settings
        self.metrics = metrics
    }

    /// Delivers until stopped; stopping waits for the POST in flight (its row is marked, or its lease runs out).
    func run() {
        var connection: PostgresConnection?
        while !worker.isStopRequested {
            var claimed = 0
            do throws(PostgresError) {
                if connection == nil || connection?.isConnected == false { connection = try PostgresConnection(url: databaseURL) }
                claimed = try deliverDueRows(on: connection!)
            } catch {
                connection = nil
                metrics.databaseFailures.wrappingIncrement(ordering: .relaxed)
            }
            if claimed == 0 { usleep(UInt32(settings.pollMillis * 1_000)) }
        }
    }

    /// Claims up to 16 due rows, sends them, records each outcome; returns how many were claimed.
    private func deliverDueRows(on connection: PostgresConnection) throws(PostgresError) -> Int {
        let rows = try connection.execute("""
            UPDATE webhook_delivery SET leased_until = now() + make_interval(secs => $1::integer), attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM webhook_delivery AS due
                WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= now()
                  AND (leased_until IS NULL OR leased_until < now())
                  AND NOT EXISTS (
                      SELECT 1 FROM webhook_delivery AS earlier
                      WHERE earlier.application_id = due.application_id AND earlier.url = due.url AND earlier.id < due.id
                        AND earlier.delivered_at IS NULL AND earlier.abandoned_at IS NULL)
                ORDER BY id LIMIT 16 FOR UPDATE SKIP LOCKED)
            RETURNING id, url, payload, attempts
            """, [String(settings.leaseSeconds)]).rows
        let owed = try connection.execute("SELECT count(*) AS owed FROM webhook_delivery WHERE delivered_at IS NULL AND abandoned_at IS NULL")
        metrics.queueDepth.store(owed.first?.int64("owed") ?? 0, ordering: .relaxed)
        for row in rows.sorted(by: { ($0.int64("id") ?? 0) < ($1.int64("id") ?? 0) }) {
            guard let id = row["id"], let url = row["url"], let payload = row["payload"], let attempts = row.int("attempts") else { continue }
            let failure = post(payload, to: url, deliveryID: id)
            if let failure {
                metrics.failedAttempts.wrappingIncrement(ordering: .relaxed)
                let error = String(failure.prefix(500))
                if attempts >= settings.maximumAttempts {
                    metrics.abandoned.wrappingIncrement(ordering: .relaxed)
                    try connection.execute(
                        "UPDATE webhook_delivery SET abandoned_at = now(), leased_until = NULL, last_error = $2 WHERE id = $1::bigint", [id, error])
                } else {
                    let backoff = min(settings.backoffBaseMillis << min(attempts - 1, 30), settings.backoffCapMillis)
                    try connection.execute("""
                        UPDATE webhook_delivery SET leased_until = NULL, last_error = $2,
                            next_attempt_at = now() + make_interval(secs => $3::double precision) WHERE id = $1::bigint
                        """, [id, error, String(Double(backoff) / 1_000)])
                }
            } else {
                metrics.delivered.wrappingIncrement(ordering: .relaxed)
                try connection.execute("UPDATE webhook_delivery SET delivered_at = now(), leased_until = NULL, last_error = NULL WHERE id = $1::bigint", [id])
            }
        }
        return rows.count
    }

    /// POSTs `payload`; nil on a 2xx answer, else what went wrong.
    private func post(_ payload: String, to url: String, deliveryID: String) -> String? {
        let body = Array(payload.utf8)
        let timestamp = WallClock.nowMicros() / 1_000_000
        let signature = WebhookSignature.header(for: body, deliveryID: deliveryID, timestampSeconds: timestamp, secret: settings.secret)
        let headers = [
            "Content-Type: application/json",
            "User-Agent: heartbeat-collector",
            "\(WebhookSignature.deliveryHeaderName): \(deliveryID)",
            "\(WebhookSignature.timestampHeaderName): \(timestamp)",
            "\(WebhookSignature.headerName): \(signature)",
        ]
        var status = 0
        var message = [CChar](repeating: 0, count: 256)
        let result = withCStrings(headers) { headerPointers in
            body.withUnsafeBytes { bytes in
                message.withUnsafeMutableBufferPointer { buffer in
                    hb_http_post(url, headerPointers, headers.count, bytes.baseAddress, bytes.count, settings.timeoutMillis, &status, buffer.baseAddress, buffer.count)
                }
            }
        }
        if result != 0 { return "transport: " + String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return (200..<300).contains(status) ? nil : "HTTP \(status)"
    }

    private func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension WebhookDeliverer: ThreadedService {
    var threadName: String { "heartbeat-webhooks" }
    var serviceName: String { "webhook delivery" }
}
