import Collector
import Foundation
import HeartbeatTestSupport
import Testing

/// `heartbeat channel add|list|test|rm` and `heartbeat app add --label` as processes, against real
/// PostgreSQL and a real receiver for the test notification.
@Suite("heartbeat channel (process)")
struct ChannelCommandTests {
    @Test("add (secret from a file, never printed), list, test (delivered; a refused one exits 1), rm; labels on app add; errors name the field")
    func lifecycle() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try Migrator().migrate(connection)
        let receiver = WebhookReceiver()
        defer { receiver.stop() }
        let environment = ["HEARTBEAT_DATABASE_URL": database.url]
        func heartbeat(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(heartbeatExecutable(), arguments, environment: environment)
        }
        let secretFile = NSTemporaryDirectory() + "heartbeat-channel-secret-\(UUID().uuidString)"
        try "cli-channel-secret-0123456789\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secretFile) }

        let added = try heartbeat([
            "channel", "add", "ops hook", "--kind", "webhook", "--setting", "url=\(receiver.url)", "--secret-file", secretFile,
            "--label", "team=payments", "--event", "down", "--event", "up",
        ])
        #expect(added.status == 0, "\(added.standardError)")
        #expect(added.standardOutput.contains("id: 1  kind: webhook  name: ops hook  enabled: yes"))
        #expect(added.standardOutput.contains("secret: set") && !added.standardOutput.contains("cli-channel-secret"))
        #expect(try connection.query("SELECT secret, filter_events::text, filter_labels::text FROM notification_channel") == [
            ["cli-channel-secret-0123456789", "{down,up}", #"{"team": "payments"}"#],
        ])
        let listed = try heartbeat(["channel", "list"])
        #expect(listed.status == 0 && listed.standardOutput.contains("events: down,up  labels: team=payments"))

        let tested = try heartbeat(["channel", "test", "1"])
        #expect(tested.status == 0, "\(tested.standardError)")
        #expect(receiver.requests.count == 1 && receiver.requests.first?.headers["x-heartbeat-signature"]?.hasPrefix("v1=") == true)

        let bad = try heartbeat(["channel", "add", "bad", "--kind", "slack", "--setting", "url=https://h/x", "--title", "{{nam}}"])
        #expect(bad.status == 1 && bad.standardError.contains("title_template: unknown placeholder {{nam}}"), "\(bad.standardError)")
        let noEquals = try heartbeat(["channel", "add", "bad", "--kind", "slack", "--setting", "url"])
        #expect(noEquals.status != 0 && noEquals.standardError.contains("KEY=VALUE"))

        try connection.query(#"UPDATE notification_channel SET settings = '{"url": "http://127.0.0.1:1/closed"}'"#)
        let refused = try heartbeat(["channel", "test", "1"])
        #expect(refused.status == 1 && refused.standardError.contains("did not take the test notification: transport"), "\(refused.standardError)")

        #expect(try heartbeat(["channel", "rm", "1"]).status == 0)
        #expect(try heartbeat(["channel", "rm", "1"]).status == 1)
        #expect(try connection.query("SELECT count(*) FROM notification_channel") == [["0"]])

        let app = try heartbeat(["app", "add", "billing", "--label", "team=payments", "--label", "tier=1"])
        #expect(app.status == 0 && app.standardOutput.contains("labels: team=payments tier=1"), "\(app.standardOutput)")
        let badLabel = try heartbeat(["app", "add", "x", "--label", "bad key=1"])
        #expect(badLabel.status == 1 && badLabel.standardError.contains("labels:"))
    }
}
