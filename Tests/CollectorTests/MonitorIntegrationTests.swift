import Collector
import Foundation
import HeartbeatTestSupport
import Protocol
import Testing

/// The liveness monitor running inside the pipeline, against real PostgreSQL: statuses and
/// `status_change` rows as applications beat, go silent, fail, stop and come back.
@Suite("Liveness monitor (integration)", .serialized)
struct MonitorIntegrationTests {
    typealias Harness = HeartbeatCollectorTests.Harness

    func status(_ harness: Harness, _ index: Int) throws -> String? {
        try harness.connection.query("SELECT status FROM application WHERE id = \(harness.applications[index].id)").first?.first ?? nil
    }

    /// Polls until application `index` has `expected` status; returns the seconds it took.
    func waitForStatus(_ harness: Harness, _ index: Int, _ expected: String, timeout: Double = 6) throws -> Double? {
        let started = Date()
        while Date().timeIntervalSince(started) < timeout {
            if try status(harness, index) == expected { return Date().timeIntervalSince(started) }
            usleep(20_000)
        }
        return nil
    }

    func changes(_ harness: Harness, _ index: Int) throws -> [String] {
        try harness.connection.query(
            "SELECT from_status || '->' || to_status || ':' || reason FROM status_change WHERE application_id = \(harness.applications[index].id) ORDER BY id"
        ).compactMap { $0[0] }
    }

    @Test("silent: late within interval + a check period, down after the grace; a record brings it back; each change once")
    func lateDownRecover() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        try harness.connection.query("UPDATE application SET interval_ms = 1000, grace_ms = 1000 WHERE id = \(harness.applications[1].id)")
        usleep(600_000)  // the registry and the monitor pick the policy up
        var sequence: UInt64 = 0
        for _ in 0..<6 {
            sequence += 1
            harness.sender.send(harness.record(1, sequence: sequence))
            usleep(100_000)
        }
        #expect(try waitForStatus(harness, 1, "up") != nil)
        let silentSince = Date()
        _ = try #require(try waitForStatus(harness, 1, "late"))
        let lateAfter = Date().timeIntervalSince(silentSince)
        _ = try #require(try waitForStatus(harness, 1, "down"))
        let downAfter = Date().timeIntervalSince(silentSince)
        // Interval 1 s (+ 1 check period of 0.2 s, + polling slack); down at interval + grace.
        #expect(lateAfter >= 0.8 && lateAfter <= 1.6, "late after \(lateAfter) s")
        #expect(downAfter >= 1.8 && downAfter <= 2.6, "down after \(downAfter) s")
        sequence += 1
        harness.sender.send(harness.record(1, sequence: sequence))
        #expect(try waitForStatus(harness, 1, "up", timeout: 1) != nil, "recovery within a check period")
        harness.pipeline.shutdown()
        #expect(try changes(harness, 1) == ["new->up:heartbeat", "up->late:missed_interval", "late->down:missed_grace", "down->up:heartbeat"])
        // Every sweep is timed twice: by the wall clock and by the monitor thread's CPU, never more.
        let monitor = harness.pipeline.snapshot().monitor
        #expect(monitor.checkSeconds.count > 10 && monitor.checkCPUSeconds.count == monitor.checkSeconds.count)
        #expect(monitor.checkCPUSeconds.sum <= monitor.checkSeconds.sum * 1.01 + 0.001, "CPU time within wall-clock time")
    }

    @Test("a cron application (* * * * *, grace 5 s) goes late 5 s after a missed minute, down 5 s later, and recovers on its next record")
    func cronMissedMinute() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        try harness.connection.query("""
            UPDATE application SET interval_ms = NULL, schedule_cron = '* * * * *', schedule_time_zone = 'UTC', grace_ms = 5000
            WHERE id = \(harness.applications[1].id)
            """)
        // Beat at second 50 of a minute, so the missed fire time (the next minute) comes soon; at
        // least a second from now, so the registry and the monitor have the schedule.
        var wait = 50 - Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
        if wait < 1 { wait += 60 }
        usleep(useconds_t(wait * 1_000_000))
        harness.sender.send(harness.record(1, sequence: 1))
        #expect(try waitForStatus(harness, 1, "up", timeout: 3) != nil)
        let beat = Date().timeIntervalSince1970
        let missedMinute = (beat / 60).rounded(.up) * 60
        _ = try #require(try waitForStatus(harness, 1, "late", timeout: 25))
        let lateAfter = Date().timeIntervalSince1970 - missedMinute
        _ = try #require(try waitForStatus(harness, 1, "down", timeout: 10))
        let downAfter = Date().timeIntervalSince1970 - missedMinute
        // Late at the fire time + 5 s (+ a check period and polling slack), down 5 s after that.
        #expect(lateAfter >= 4.8 && lateAfter <= 6.5, "late \(lateAfter) s after the missed minute")
        #expect(downAfter >= 9.8 && downAfter <= 11.5, "down \(downAfter) s after the missed minute")
        harness.sender.send(harness.record(1, sequence: 2))
        #expect(try waitForStatus(harness, 1, "up", timeout: 2) != nil, "recovery on the next record")
        harness.pipeline.shutdown()
        #expect(try changes(harness, 1) == ["new->up:heartbeat", "up->late:missed_interval", "late->down:missed_grace", "down->up:heartbeat"])
    }

    @Test("application.last_heartbeat is refreshed in batches, not per record")
    func lastHeartbeat() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        let sentAt = Date()
        harness.sender.send(harness.record(1, sequence: 1))
        let deadline = Date().addingTimeInterval(15)
        var stored: String?
        while stored == nil, Date() < deadline {
            usleep(200_000)
            stored = try harness.connection.query(
                "SELECT (extract(epoch FROM last_heartbeat) * 1000)::bigint FROM application WHERE id = \(harness.applications[1].id)")[0][0]
        }
        harness.pipeline.shutdown()
        let millis = try #require(stored.flatMap { Int64($0) })
        #expect(abs(Double(millis) / 1000 - sentAt.timeIntervalSince1970) < 2, "last_heartbeat is the record's arrival")
        #expect(try harness.connection.query("SELECT count(*) FROM application WHERE last_heartbeat IS NOT NULL") == [["1"]])
    }

    @Test("fail goes down at once; stop pauses without any alert; the next record resumes")
    func failAndStop() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        try harness.connection.query("UPDATE application SET interval_ms = 500, grace_ms = 500")
        usleep(600_000)
        harness.sender.send(harness.record(1, sequence: 1))
        harness.sender.send(harness.record(1, sequence: 2, kind: .fail, status: 3))
        #expect(try waitForStatus(harness, 1, "down") != nil)
        harness.sender.send(harness.record(1, sequence: 3, kind: .stop))
        #expect(try waitForStatus(harness, 1, "paused") != nil)
        usleep(1_500_000)  // well past interval + grace: a paused application stays paused
        #expect(try status(harness, 1) == "paused")
        harness.sender.send(harness.record(1, sequence: 4))
        #expect(try waitForStatus(harness, 1, "up") != nil)
        harness.pipeline.shutdown()
        #expect(try changes(harness, 1) == ["new->up:heartbeat", "up->down:failed", "down->paused:stopped", "paused->up:heartbeat"])
    }

    @Test("a run longer than its application's max_run_ms goes down (run_timeout)")
    func runTimeout() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        try harness.connection.query("UPDATE application SET interval_ms = 10000, grace_ms = 10000, max_run_ms = 600")
        usleep(600_000)
        harness.sender.send(harness.record(1, sequence: 1, kind: .start))
        #expect(try waitForStatus(harness, 1, "up") != nil)
        let startedAt = Date()
        _ = try #require(try waitForStatus(harness, 1, "down", timeout: 4))
        let after = Date().timeIntervalSince(startedAt)
        #expect(after >= 0.4 && after <= 1.4, "down \(after) s after the start (max 0.6 s + a check period)")
        harness.pipeline.shutdown()
        #expect(try changes(harness, 1) == ["new->up:heartbeat", "up->down:run_timeout"])
    }

    @Test("a closed run's duration is stored on the application, even when the status does not change")
    func runDuration() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        harness.sender.send(harness.record(1, sequence: 1, kind: .start))
        usleep(400_000)
        harness.sender.send(harness.record(1, sequence: 2, kind: .success))
        let deadline = Date().addingTimeInterval(5)
        var stored: [[String?]] = []
        while Date() < deadline {
            stored = try harness.connection.query("SELECT last_run_ms FROM application WHERE id = \(harness.applications[1].id) AND last_run_ms IS NOT NULL")
            if !stored.isEmpty { break }
            usleep(50_000)
        }
        harness.pipeline.shutdown()
        let text: String?? = stored.first?.first
        let milliseconds = try #require(text.flatMap { $0 }.flatMap { Int($0) })
        #expect(milliseconds >= 350 && milliseconds <= 600, "run of ~400 ms stored as \(milliseconds) ms")
        #expect(try changes(harness, 1) == ["new->up:heartbeat"], "up -> up is not a transition")
    }

    @Test("an operator's pause, stored in the database, is adopted: no alert while paused; the next record resumes")
    func operatorPause() throws {
        let harness = try Harness { $0.monitorPeriodMillis = 200 }
        try harness.connection.query("UPDATE application SET interval_ms = 500, grace_ms = 500")
        usleep(600_000)
        harness.sender.send(harness.record(1, sequence: 1))
        #expect(try waitForStatus(harness, 1, "up") != nil)
        let id = harness.applications[1].id
        try harness.connection.query("""
            BEGIN;
            UPDATE application SET status = 'paused' WHERE id = \(id);
            INSERT INTO status_change (application_id, at, from_status, to_status, reason) VALUES (\(id), now(), 'up', 'paused', 'operator');
            COMMIT;
            """)
        usleep(2_000_000)  // well past interval + grace
        #expect(try status(harness, 1) == "paused")
        harness.sender.send(harness.record(1, sequence: 2))
        #expect(try waitForStatus(harness, 1, "up") != nil)
        harness.pipeline.shutdown()
        #expect(try changes(harness, 1) == ["new->up:heartbeat", "up->paused:operator", "paused->up:heartbeat"])
    }
}

@Suite("Liveness monitor: two collectors", .serialized)
struct TwoCollectorMonitorTests {
    @Test("two collectors watching the same applications record each transition exactly once")
    func exactlyOnce() throws {
        let first = try HeartbeatCollectorTests.Harness(applications: 6) { $0.monitorPeriodMillis = 200 }
        try first.connection.query("UPDATE application SET interval_ms = 600, grace_ms = 600")
        let second = try SecondCollector(beside: first)
        usleep(600_000)
        // Both collectors hear every record of the unsigned applications (1, 3 disabled, 5).
        for sequence in 1...4 {
            for index in [1, 5] {
                let record = first.record(index, sequence: UInt64(sequence))
                first.sender.send(record)
                second.sender.send(record)
            }
            usleep(100_000)
        }
        let deadline = Date().addingTimeInterval(8)
        while Date() < deadline {
            let down = try first.connection.query("SELECT count(*) FROM application WHERE status = 'down'")[0][0]
            if down == "2" { break }
            usleep(50_000)
        }
        usleep(500_000)  // time for a losing collector's attempt, if it were to write anyway
        second.stop()
        first.pipeline.shutdown()
        let rows = try first.connection.query("""
            SELECT application_id, from_status || '->' || to_status, count(*) FROM status_change
            GROUP BY 1, 2 ORDER BY 1, 2
            """)
        let ids = [first.applications[1].id, first.applications[5].id].map(String.init)
        let expected = ids.flatMap { id in [[id, "late->down", "1"], [id, "new->up", "1"], [id, "up->late", "1"]] }
        #expect(rows == expected)
        let recorded = first.pipeline.monitorMetrics.transitionsRecorded.load(ordering: .relaxed)
            + second.pipeline.monitorMetrics.transitionsRecorded.load(ordering: .relaxed)
        #expect(recorded == 6, "the two collectors together won each of the 6 transitions once")
    }
}
