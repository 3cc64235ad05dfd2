import Collector
import Foundation
import Protocol

/// `/metrics`: every counter, gauge and histogram of a running collector, in Prometheus text
/// format. Names follow Prometheus conventions (`heartbeat_` prefix, `_total` counters, base units:
/// seconds, bytes). The list is documented in `Spec/metrics.md`.
enum CollectorMetricsPage {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(
        _ snapshot: CollectorSnapshot, cache: ReadCache, connections: ConnectionGuard? = nil, eventLoopAnswers: UInt64 = 0, runWrites: RunWriteCounters? = nil,
        provisioning: [(String, UInt64)] = PingProvisioner.Outcome.allCases.map { ($0.rawValue, 0) }, replica: ReplicaMonitor? = nil
    ) -> String {
        var page = PrometheusText()
        ingest(&page, snapshot)
        registry(&page, snapshot.registry)
        monitor(&page, snapshot.monitor)
        hotState(&page, snapshot.hotState)
        notifications(&page, snapshot.notifications)
        runs(&page, snapshot.runs, writes: runWrites)
        rollups(&page, snapshot.rollups)
        page.counter(
            "heartbeat_ping_provisioning_total", "Pings with ?create=1 for an unknown application, by outcome (created, off, forbidden, invalid, over_budget, at_cap, failed).",
            provisioning.map { ([("outcome", $0.0)], $0.1) })
        statusAPI(&page, cache: cache, connections: connections, eventLoopAnswers: eventLoopAnswers, replica: replica)
        page.gauge("heartbeat_postgres_up", "1 when PostgreSQL answered within the last 3 s.", snapshot.postgresUp ? 1 : 0)
        page.gauge("heartbeat_process_resident_memory_bytes", "Resident set size of the collector.", Double(snapshot.residentMemoryBytes))
        return page.text
    }

    /// Records received, accepted and rejected, and where every accepted row went.
    private static func ingest(_ page: inout PrometheusText, _ snapshot: CollectorSnapshot) {
        let statistics = snapshot.ingest
        let storage = snapshot.storage
        page.counter(
            "heartbeat_records_received_total", "Records received over every transport (UDP datagrams and HTTP bodies are split into 64-byte records; an HTTP ping is one).",
            statistics.recordsReceived)
        page.counter("heartbeat_records_accepted_total", "Records that passed every check.", statistics.recordsAccepted)
        page.counter(
            "heartbeat_records_rejected_total", "Records rejected, by reason (Spec/protocol.md).",
            RejectionReason.allCases.map { ([("reason", $0.description)], statistics.rejected[$0] ?? 0) })
        transports(&page, statistics)
        page.counter(
            "heartbeat_liveness_overflow_arrivals_total",
            "Validated records not queued (overload, or rate_limited at a receiver) whose arrival still reached liveness (last-seen).",
            statistics.recordsSeenOnOverflow)
        page.counter(
            "heartbeat_liveness_not_seen_total",
            "Validated records that reached neither storage nor liveness (a fail/stop, or a signed record not continuing its instance, lost at a full ring); should stay 0.",
            statistics.recordsNotSeen)
        page.counter("heartbeat_rows_stored_total", "Accepted records committed to heartbeat_event.", statistics.rowsStored)
        page.counter("heartbeat_rows_spooled_total", "Rows written to the spool while PostgreSQL could not take them.", statistics.rowsSpooled)
        page.counter(
            "heartbeat_batches_spilled_total", "Batches spooled because the writers' queue stayed full (PostgreSQL stalled), replayed later.",
            storage.batchesSpilled)
        page.counter("heartbeat_rows_replayed_total", "Spooled rows later stored in PostgreSQL.", statistics.rowsReplayedFromSpool)
        page.counter(
            "heartbeat_rows_dropped_total",
            "Accepted rows not stored, by cause: spool over its cap, a disk error, a corrupt spool file, storage busy (writers and spill thread all busy). Their arrivals still reached liveness.",
            [
                ([("cause", "spool_full")], statistics.rowsDroppedSpoolFull), ([("cause", "spool_error")], statistics.rowsDroppedSpoolError),
                ([("cause", "spool_corrupt")], statistics.rowsDroppedSpoolCorrupt), ([("cause", "storage_busy")], statistics.rowsDroppedStorageBusy),
            ])
        page.counter(
            "heartbeat_rows_dead_lettered_total",
            "Rows PostgreSQL refused for their content (SQLSTATE class 22/23), isolated by bisection and written to the dead-letter file; source batch is part of the accepted balance, source spool of the spooled one.",
            [([("source", "batch")], statistics.rowsDeadLettered), ([("source", "spool")], statistics.rowsDeadLetteredFromSpool)])
        page.counter(
            "heartbeat_dead_letter_rows_unwritten_total", "Dead-lettered rows the dead-letter file could not take (at its cap, or a disk error).",
            storage.deadLetterRowsUnwritten)
        page.counter(
            "heartbeat_spool_files_quarantined_total", "Spool files found at start whose name or header did not add up, renamed *.corrupt.",
            UInt64(storage.spoolFilesQuarantined))
        page.gauge(
            "heartbeat_replay_windows", "Anti-replay windows held, one per live (application, instance).",
            Double(storage.replayWindows))
        page.gauge("heartbeat_storage_stalled", "1 while rows have waited 30 s with no commit (/readyz then reports storage).", storage.stalled ? 1 : 0)
        page.counter(
            "heartbeat_udp_kernel_drops_total", "Datagrams the kernel dropped on the UDP port before a receiver read them (socket buffer full; every socket on the port).",
            storage.udpKernelDrops)
        page.counter("heartbeat_rows_discarded_total", "Accepted rows not stored on purpose (--sink none).", statistics.rowsDiscarded)
        page.counter(
            "heartbeat_raw_events_not_kept_total", "Accepted records not stored as raw events (--raw-events runs|none); they reached liveness and rollups.",
            statistics.rowsNotKeptRaw)
        page.gauge("heartbeat_ring_occupancy_rows", "Rows waiting in the receivers' rings.", Double(statistics.ringOccupancy))
        page.gauge("heartbeat_ring_capacity_rows", "Rows the receivers' rings hold in all.", Double(storage.ringCapacityRows))
        page.gauge("heartbeat_spool_rows", "Rows waiting in the spool.", Double(statistics.spoolRows))
        page.gauge("heartbeat_spool_bytes", "Bytes the spool holds.", Double(storage.spoolBytes))
        page.gauge("heartbeat_spool_capacity_bytes", "The spool's cap.", Double(storage.spoolCapacityBytes))
        page.gauge("heartbeat_postgres_writer_queue_batches", "COPY batches waiting for a writer connection.", Double(storage.writerQueueBatches))
        page.gauge("heartbeat_postgres_writer_connections", "PostgreSQL connections writing batches.", Double(storage.writerConnections))
        histogram(&page, "heartbeat_flush_seconds", "Time to COPY one batch into PostgreSQL.", storage.flushSeconds)
        histogram(&page, "heartbeat_receive_to_commit_seconds", "From a record's arrival to its commit in PostgreSQL.", storage.receiveToCommitSeconds)
        page.counter("heartbeat_monitor_events_dropped_total", "Accepted rows the monitor's feed had no room for (it then reads the last-seen table).", storage.monitorEventsDropped)
    }

    private static func registry(_ page: inout PrometheusText, _ registry: CollectorSnapshot.Registry) {
        page.gauge("heartbeat_registry_version", "Version of the registry snapshot receivers use.", Double(registry.version))
        page.gauge("heartbeat_registry_applications", "Applications in that snapshot.", Double(registry.applications))
        page.counter("heartbeat_registry_reload_failures_total", "Failed registry reloads (retried).", registry.reloadFailures)
        page.counter("heartbeat_applications_auto_registered_total", "Applications registered by --auto-register.", registry.applicationsAutoRegistered)
        page.counter(
            "heartbeat_auto_registrations_skipped_total", "Unknown applications not registered because --auto-register-max unnamed ones exist.",
            registry.autoRegistrationsSkipped)
        page.counter("heartbeat_partition_maintenance_failures_total", "Failed partition maintenance runs (retried).", registry.partitionMaintenanceFailures)
        page.counter("heartbeat_last_heartbeat_rows_written_total", "application.last_heartbeat values written (in batches).", registry.lastHeartbeatRowsWritten)
        page.counter("heartbeat_last_heartbeat_write_failures_total", "Failed last_heartbeat flushes (retried).", registry.lastHeartbeatWriteFailures)
    }

    private static func monitor(_ page: inout PrometheusText, _ monitor: CollectorSnapshot.Monitor) {
        page.gauge(
            "heartbeat_applications", "Enabled applications by stored status (counted every 5 s).",
            monitor.applicationsByStatus.sorted { $0.key < $1.key }.map { ([("status", $0.key)], Double($0.value)) })
        histogram(&page, "heartbeat_monitor_check_seconds", "Time one sweep over every application's deadline took.", monitor.checkSeconds)
        histogram(&page, "heartbeat_monitor_check_cpu_seconds", "The monitor thread's CPU time in one sweep (without waiting for a core).", monitor.checkCPUSeconds)
        histogram(&page, "heartbeat_detection_delay_seconds", "From a missed deadline (an instance's, under a quorum) to its transition being recorded.", monitor.detectionDelaySeconds)
        page.counter("heartbeat_transitions_recorded_total", "Transitions this collector recorded (won the conditional UPDATE).", monitor.transitionsRecorded)
        page.counter(
            "heartbeat_monitor_loss_holds_total", "Monitor ticks that held convictions because arrivals had been lost for liveness since the tick before.",
            monitor.lossHolds)
        page.counter("heartbeat_monitor_stalls_total", "Monitor ticks so late that convictions were skipped (stall guard).", monitor.stalls)
        page.counter("heartbeat_monitor_failures_total", "Failed monitor round trips to PostgreSQL (retried).", monitor.failures)
        page.gauge("heartbeat_incident_open", "1 while an incident holds notifications (as this collector's monitor sees it).", monitor.openIncident == nil ? 0 : 1)
        page.counter(
            "heartbeat_incidents_opened_total", "Incidents this collector's monitor opened, by cause.",
            IncidentDetector.Cause.allCases.map { ([("cause", $0.rawValue)], monitor.incidentsOpened[$0.rawValue] ?? 0) })
        page.counter("heartbeat_incidents_closed_total", "Incidents this collector's monitor closed.", monitor.incidentsClosed)
        page.counter(
            "heartbeat_incident_applications_released_total", "Applications named by the grouped notifications of the incidents this collector closed.",
            monitor.incidentApplicationsReleased)
    }

    private static func hotState(_ page: inout PrometheusText, _ hot: CollectorSnapshot.HotState) {
        page.gauge("heartbeat_redis_up", "1 when the last sync round reached Redis (0 also when Redis is not configured).", hot.redisUp ? 1 : 0)
        page.gauge("heartbeat_monitor_leader", "1 while this collector's monitor holds the leader lease.", hot.leader ? 1 : 0)
        page.gauge("heartbeat_monitor_degraded", "1 while Redis is unreachable and the monitor decides from local state.", hot.degraded ? 1 : 0)
        page.counter(
            "heartbeat_redis_values_ignored_total", "Values read from Redis naming an application id outside this collector's registry (ignored).",
            hot.valuesIgnored)
        page.counter(
            "heartbeat_redis_entries_refused_total", "Hot-state stream entries in a format this build does not read (a newer collector's), skipped.",
            hot.entriesRefused)
        page.counter(
            "heartbeat_redis_instances_shared_total", "Instances of applications under an instance quorum shared with the other collectors.",
            hot.instancesShared)
        page.counter(
            "heartbeat_redis_instances_dropped_total", "Instance sightings dropped because the queue to the sync thread was full.",
            hot.instancesDropped)
        page.gauge("heartbeat_redis_sync_lag_seconds", "Time since the last completed sync round.", hot.syncLagSeconds)
        page.counter("heartbeat_redis_sync_failures_total", "Failed sync rounds.", hot.syncFailures)
        page.counter("heartbeat_redis_members_pushed_total", "Last-seen times merged into Redis.", hot.membersPushed)
        page.counter("heartbeat_redis_members_pulled_total", "Last-seen times read from other collectors.", hot.membersPulled)
        page.counter("heartbeat_redis_remote_arrivals_total", "Arrivals at other collectors handed to this monitor.", hot.remoteArrivals)
        page.counter("heartbeat_redis_leaderships_total", "Times this collector became the monitor leader.", hot.leaderships)
        page.counter("heartbeat_transitions_published_total", "Transitions published on the Redis channel.", hot.transitionsPublished)
        page.counter("heartbeat_publications_dropped_total", "Publications dropped because their queue was full.", hot.publicationsDropped)
    }

    private static func notifications(_ page: inout PrometheusText, _ sent: CollectorSnapshot.Notifications) {
        page.counter(
            "heartbeat_notification_attempts_total", "Notification messages sent by this collector, by outcome.",
            [([("outcome", "delivered")], sent.delivered), ([("outcome", "failed")], sent.failedAttempts), ([("outcome", "skipped")], sent.skipped)])
        page.counter("heartbeat_notification_abandoned_total", "Notification deliveries given up after the last attempt.", sent.abandoned)
        page.counter("heartbeat_notifications_expired_total", "Closed notifications deleted after the 30-day retention.", sent.expired)
        page.counter("heartbeat_notification_reminders_total", "Reminders this collector queued for applications still down.", sent.reminders)
        page.counter(
            "heartbeat_notifications_held_total", "Notifications a silence held, decided by this collector when it ended, by outcome.",
            [([("outcome", "released")], sent.heldReleased), ([("outcome", "dropped")], sent.heldDropped)])
        page.gauge("heartbeat_silences_active", "Silences (maintenance windows) in force now.", Double(sent.silencesActive))
        page.counter(
            "heartbeat_notification_database_failures_total",
            "Failed PostgreSQL round trips of notification delivery (retried; a lane's outcomes within a third of the lease).",
            sent.databaseFailures)
        page.gauge("heartbeat_notification_queue_depth", "Notification deliveries still owed (outbox rows, all collectors).", Double(sent.queueDepth))
        let channels = sent.channels
        func perChannel(_ value: (CollectorSnapshot.Notifications.Channel) -> UInt64) -> [(labels: [(String, String)], value: UInt64)] {
            channels.map { ([("channel", $0.name), ("kind", $0.kind)], value($0)) }
        }
        page.counter("heartbeat_channel_delivered_total", "Messages a channel took, per channel (this collector).", perChannel(\.delivered))
        page.counter("heartbeat_channel_failed_total", "Failed attempts per channel (this collector).", perChannel(\.failed))
        page.counter("heartbeat_channel_abandoned_total", "Deliveries abandoned per channel (this collector).", perChannel(\.abandoned))
        // Version 1's names for the same totals, kept until metrics version 2 (Spec/upgrading.md).
        page.counter(
            "heartbeat_webhook_attempts_total", "Deprecated: heartbeat_notification_attempts_total.",
            [([("outcome", "delivered")], sent.delivered), ([("outcome", "failed")], sent.failedAttempts)])
        page.counter("heartbeat_webhook_abandoned_total", "Deprecated: heartbeat_notification_abandoned_total.", sent.abandoned)
        page.gauge("heartbeat_webhook_queue_depth", "Deprecated: heartbeat_notification_queue_depth.", Double(sent.queueDepth))
        page.counter(
            "heartbeat_self_pings_total", "GETs of --self-ping-url by outcome.",
            [([("outcome", "ok")], sent.selfPingsSent), ([("outcome", "failed")], sent.selfPingsFailed)])
    }

    /// The sidecar's own figures: the read cache and the HTTP connections.
    /// Received, accepted and rejected records by transport (each balances on its own).
    private static func transports(_ page: inout PrometheusText, _ statistics: IngestStatistics) {
        let transports = IngestTransport.allCases.map { ($0, statistics.byTransport[$0] ?? .init()) }
        page.counter(
            "heartbeat_transport_records_received_total", "Records received, by transport (udp, http_records, http_ping).",
            transports.map { ([("transport", $0.0.description)], $0.1.received) })
        page.counter(
            "heartbeat_transport_records_accepted_total", "Records accepted, by transport.", transports.map { ([("transport", $0.0.description)], $0.1.accepted) })
        page.counter(
            "heartbeat_transport_records_rejected_total", "Records rejected, by transport and reason; each transport balances on its own.",
            transports.flatMap { transport, counts in
                RejectionReason.allCases.map { ([("transport", transport.description), ("reason", $0.description)], counts.rejected[$0] ?? 0) }
            })
    }

    /// Job runs from HTTP pings: `/log` pings, run writes, deletions.
    private static func runs(_ page: inout PrometheusText, _ runs: CollectorSnapshot.Runs, writes: RunWriteCounters?) {
        page.counter(
            "heartbeat_ping_logs_total", "/log pings by outcome (accepted, or the rejection reason); not records, so not in heartbeat_records_*.",
            (["accepted"] + RejectionReason.allCases.map(\.description)).map { ([("outcome", $0)], runs.pingLogs[$0] ?? 0) })
        page.counter("heartbeat_runs_recorded_total", "Job run events (start, end, log) stored in job_run.", writes?.recorded.load(ordering: .relaxed) ?? 0)
        page.counter(
            "heartbeat_run_write_failures_total", "Job run events PostgreSQL did not take (their pings' records were still queued; a /log was answered 503).",
            writes?.failed.load(ordering: .relaxed) ?? 0)
        page.counter(
            "heartbeat_runs_deleted_total", "Job runs deleted: beyond --run-history of their application (cap), or older than --run-retention-days (retention).",
            [([("cause", "cap")], writes?.pruned.load(ordering: .relaxed) ?? 0), ([("cause", "retention")], runs.expired)])
    }

    /// Rollups: counted, written, and what could not be.
    private static func rollups(_ page: inout PrometheusText, _ rollups: CollectorSnapshot.Rollups) {
        page.counter(
            "heartbeat_rollup_records_counted_total", "Accepted records counted into the minute's rollups (with the uncounted ones: every accepted record, rollups on).",
            rollups.recordsCounted)
        page.counter(
            "heartbeat_rollup_records_uncounted_total", "Accepted records of a new (application, instance, minute) that a rollup table at its largest could not take.",
            rollups.recordsUncounted)
        page.counter("heartbeat_rollup_records_written_total", "Counted records whose rollup rows were committed.", rollups.recordsWritten)
        page.counter(
            "heartbeat_rollup_records_lost_total", "Counted records whose rollups could not be written before the collector stopped (PostgreSQL failing).",
            rollups.recordsLost)
        page.counter("heartbeat_rollup_rows_written_total", "heartbeat_rollup_minute rows committed.", rollups.rowsWritten)
        page.counter("heartbeat_rollup_write_failures_total", "Rollup COPYs that failed (the table is kept and retried).", rollups.writeFailures)
        page.gauge(
            "heartbeat_rollup_last_write_timestamp_seconds", "When the latest rollup COPY committed (Unix seconds; 0 before any).",
            Double(rollups.lastWriteMicros) / 1e6)
        page.counter("heartbeat_rollup_days_derived_total", "Days of daily rollups this collector derived from the minute rows.", rollups.daysDerived)
        page.counter(
            "heartbeat_delivery_events_total", "Loss-aware delivery changes this collector recorded (as monitor leader), by event.",
            [([("event", DeliveryEvent.degraded.rawValue)], rollups.deliveryDegradedRecorded),
             ([("event", DeliveryEvent.recovered.rawValue)], rollups.deliveryRecoveredRecorded)])
        page.counter("heartbeat_delivery_check_failures_total", "Loss-aware delivery checks that failed (retried the next minute).", rollups.deliveryCheckFailures)
    }

    private static func statusAPI(_ page: inout PrometheusText, cache: ReadCache, connections: ConnectionGuard?, eventLoopAnswers: UInt64, replica: ReplicaMonitor?) {
        page.counter("heartbeat_api_cache_hits_total", "History reads answered from the exact 1-second cache.", cache.hits.load(ordering: .relaxed))
        page.counter("heartbeat_api_cache_misses_total", "History reads that went to PostgreSQL.", cache.misses.load(ordering: .relaxed))
        page.counter(
            "heartbeat_http_event_loop_answers_total", "Status reads (one application, the summary) and GET/HEAD pings answered on the event loop, without the router.", eventLoopAnswers)
        if let connections {
            page.gauge("heartbeat_http_connections", "HTTP connections open to the sidecar.", Double(connections.openCount))
            page.counter(
                "heartbeat_http_connections_closed_total", "HTTP connections the sidecar closed: to make room (idle), every slot busy (refused), a request not whole in time (timeout), nothing asked within the idle timeout (idle_timeout).",
                [
                    ([("cause", "idle")], connections.idleClosed.load(ordering: .relaxed)),
                    ([("cause", "refused")], connections.refused.load(ordering: .relaxed)),
                    ([("cause", "timeout")], connections.timedOut.load(ordering: .relaxed)),
                    ([("cause", "idle_timeout")], connections.idleTimedOut.load(ordering: .relaxed)),
                ])
        }
        if let replica {
            page.counter(
                "heartbeat_history_reads_total", "History reads by the server that answered (--database-read-url): the replica (fresh: within a second; primary_unreachable: lag unknown), or the primary and why.",
                [([("source", "replica"), ("reason", "fresh")], replica.replicaReads.load(ordering: .relaxed)),
                 ([("source", "replica"), ("reason", "primary_unreachable")], replica.replicaReadsPrimaryDown.load(ordering: .relaxed))]
                    + ReplicaRouting.Fallback.allCases.map { ([("source", "primary"), ("reason", $0.rawValue.replacingOccurrences(of: "-", with: "_"))], replica.fallbacks[$0]?.load(ordering: .relaxed) ?? 0) })
            let seen = replica.lastObservation
            page.gauge("heartbeat_replica_up", "Whether the read replica answered its last probe (every 200 ms) and is in recovery.", seen.map { $0.replicaReachable && $0.replicaInRecovery ? 1 : 0 } ?? 0)
            page.gauge("heartbeat_replica_lag_seconds", "How far the read replica's replayed data was behind the primary at the last probe (NaN: unknown, or behind the two minutes measured).", seen?.lagMicros.map { Double($0) / 1e6 } ?? .nan)
        }
        page.gauge("heartbeat_api_cache_entries", "Answers the read cache holds.", Double(cache.count))
        page.gauge("heartbeat_api_cache_bytes", "Bytes of answers and keys the read cache holds (at most 32 MiB).", Double(cache.bytesHeld))
    }

    private static func histogram(_ page: inout PrometheusText, _ name: String, _ help: String, _ histogram: HistogramSnapshot) {
        page.histogram(name, help, bounds: histogram.bounds, bucketCounts: histogram.bucketCounts, sum: histogram.sum)
    }
}
