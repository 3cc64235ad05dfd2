import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Sidecar

/// A pipeline with one unsigned application (`application`), its sidecar on a free port.
final class RunningSidecar {
    let database: TestDatabase
    let connection: PostgresConnection
    let pipeline: HeartbeatCollector
    let sidecar: SidecarServer
    let port: Int
    let application = ApplicationUUID.random()
    private let spool = NSTemporaryDirectory() + "heartbeat-sidecar-\(UUID().uuidString)"

    init(
        adminToken: String? = nil, readToken: String? = nil, provisioning: PingProvisioningSettings? = nil,
        configure: (inout CollectorConfiguration) -> Void = { _ in }
    ) throws {
        database = try TestDatabase()
        connection = try database.connect()
        try Migrator().migrate(connection)
        try connection.query("INSERT INTO application (uuid, name) VALUES ('\(application)', 'sidecar')")
        var configuration = CollectorConfiguration()
        configuration.udp = try ListenAddress(parsing: "127.0.0.1:0")
        configuration.http = try ListenAddress(parsing: "127.0.0.1:0")
        configuration.databaseURL = database.url
        configuration.receivers = 1
        configuration.ringCapacity = 4_096
        configuration.batchAgeMillis = 20
        configuration.spoolDirectory = spool
        // Rollups written each second, so loss and counts show without waiting for the minute.
        configuration.rollupFlushSeconds = 1
        configure(&configuration)
        pipeline = try HeartbeatCollector(configuration: configuration)
        try pipeline.start()
        // Status reads answer 503 until the monitor's first view.
        let deadline = Date().addingTimeInterval(20)
        while pipeline.liveness.view.sequence == 0, configuration.monitor, Date() < deadline { usleep(10_000) }
        sidecar = SidecarServer(collector: pipeline, host: "127.0.0.1", port: 0, adminToken: adminToken, readToken: readToken, provisioning: provisioning)
        try sidecar.start()
        port = sidecar.port
    }

    /// Stops the sidecar (awaiting it: a blocked pool thread could stall its shutdown), then the
    /// pipeline.
    func stop() async {
        await sidecar.shutdown()
        pipeline.shutdown()
        try? FileManager.default.removeItem(atPath: spool)
    }

    /// Runs `body` with a running sidecar, and stops it afterwards whatever happens.
    static func with(
        adminToken: String? = nil, readToken: String? = nil, provisioning: PingProvisioningSettings? = nil,
        configure: (inout CollectorConfiguration) -> Void = { _ in }, _ body: (RunningSidecar) async throws -> Void
    ) async throws {
        let running = try RunningSidecar(adminToken: adminToken, readToken: readToken, provisioning: provisioning, configure: configure)
        do {
            try await body(running)
        } catch {
            await running.stop()
            throw error
        }
        await running.stop()
    }

    func waitFor(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return false
    }
}

