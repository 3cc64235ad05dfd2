import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The single thread between the receivers' rings and storage: it takes rows from every ring,
/// refuses replays (``ReplayGuard``) and records over their application's budget
/// (``AppRateLimiter``; replays are refused first, so a replay flood spends no budget), records
/// each accepted row in the ``LastSeenTable`` (and hands it to the monitor and the hot state), and
/// counts it into the minute's rollups (``RollupTable``, handed to the ``RollupWriter`` each
/// minute), and then hands it to its ``BatchSink`` when `--raw-events` keeps it (``RawEvents``).
/// Rows of a prechecked transport (HTTP pings, checked in full by
/// ``HTTPIngestGate``) skip the replay and budget checks.
final class IngestDrain<Sink: BatchSink>: @unchecked Sendable {
    /// Rows ahead whose table entries are prefetched.
    static var prefetchDistance: Int { 8 }
    /// Rows taken from a ring at once (read in place).
    static var runRows: Int { 4_096 }
    /// The nap after a pass that moved rows, and the longest one when idle (µs).
    static var busyNapMicros: UInt32 { 4_000 }
    static var idleNapMicros: UInt32 { 8_000 }
    private let rings: [RowRing]
    /// The transport of each ring.
    private let transports: [IngestTransport]
    private let lastSeen: LastSeenTable
    /// Accepted rows for the liveness monitor, when it runs; a full feed drops the event (counted)
    /// and the monitor falls back on the last-seen table before convicting anyone.
    private let monitorFeed: RowRing?
    /// Accepted `start`/`success`/`fail`/`stop` rows for the Redis hot state, which shares them with
    /// the other collectors (a last-seen time cannot carry a kind); a full ring is counted.
    private let sharedEvents: RowRing?
    private let sink: Sink
    private let metrics: StorageMetrics
    /// Where the minute's rollup tables go (nil: no rollups, with `--sink none`).
    private let rollups: RollupWriter?
    /// Which accepted rows the sink gets.
    private let rawEvents: RawEvents
    /// How often the rollup table is handed over, seconds: each minute, at its start.
    private let rollupFlushSeconds: Int
    private let replayIdleMicros: Int64
    private let rateLimit: (recordsPerSecond: Int, burst: Int)
    /// The replay guard's caps on anti-replay windows: per application, and in all.
    private let instanceLimits: (perApplication: Int, total: Int)
    let worker = WorkerThread()

    init(
        rings: [(ring: RowRing, transport: IngestTransport)], sink: Sink, metrics: StorageMetrics, lastSeen: LastSeenTable, replayIdleSeconds: Int,
        rateLimit: (recordsPerSecond: Int, burst: Int) = (0, 0),
        instanceLimits: (perApplication: Int, total: Int) = (ReplayGuard.defaultMaximumPerApplication, ReplayGuard.defaultMaximumTotal),
        monitorFeed: RowRing? = nil, sharedEvents: RowRing? = nil,
        rollups: RollupWriter? = nil, rawEvents: RawEvents = .all, rollupFlushSeconds: Int = 60
    ) {
        self.rollups = rollups
        self.rawEvents = rawEvents
        self.rollupFlushSeconds = rollupFlushSeconds
        self.instanceLimits = instanceLimits
        self.monitorFeed = monitorFeed
        self.sharedEvents = sharedEvents
        self.lastSeen = lastSeen
        self.rings = rings.map(\.ring)
        self.transports = rings.map(\.transport)
        self.sink = sink
        self.metrics = metrics
        self.replayIdleMicros = Int64(replayIdleSeconds) * 1_000_000
        self.rateLimit = rateLimit
    }

    /// Moves rows until stopped; stopped once the receivers have, it takes what is left in the
    /// rings and hands the last rows to the sink before it returns.
    func run() {
        // Local to this thread's function: no other thread can reach it, and the compiler needs
        // no run-time exclusivity checks on it.
        var replayGuard = ReplayGuard(
            idleLimitMicros: replayIdleMicros, maximumPerApplication: instanceLimits.perApplication, maximumTotal: instanceLimits.total)
        var rateLimiter = AppRateLimiter(recordsPerSecond: rateLimit.recordsPerSecond, burst: rateLimit.burst)
        var rateLimited: UInt64 = 0
        var instanceLimited: UInt64 = 0
        var accepted: UInt64 = 0
        var replays: UInt64 = 0
        var feedDrops: UInt64 = 0
        var sharedEventDrops: UInt64 = 0
        var tallies = [DrainTransportCounts.Tally](repeating: .init(), count: IngestTransport.allCases.count)
        var drainRollups = rollups.map { DrainRollups(writer: $0, periodSeconds: rollupFlushSeconds, nowMicros: WallClock.nowMicros()) }
        var rollupCounted: UInt64 = 0
        var rollupUncounted: UInt64 = 0
        var rawSkipped: UInt64 = 0
        var lastEviction = DispatchTime.now().uptimeNanoseconds
        // The drain naps between passes, briefly after a pass that moved rows and longer when idle:
        // every wake-up is a context switch, and at a shorter nap they cost as much as the drain's
        // work; a ring absorbs a nap's input with room to spare, and the nap stays small next to
        // a batch's age limit (figures in Spec/tuning.md, "Receive path").
        var nap: UInt32 = Self.busyNapMicros
        while true {
            // Read the flag before the rings: once it is seen set, the receivers have stopped, so
            // rings found empty after it stay empty.
            let stopping = worker.isStopRequested
            var moved = 0
            for (ring, transport) in zip(rings, transports) {
                let prechecked = transport.isPrechecked
                // Empty the ring (but take at most its capacity, so that a ring refilled as fast
                // as it is read cannot hold the drain), reading its rows in place, a run of at
                // most 4,096 at a time.
                var movedFromRing = 0
                while movedFromRing < ring.capacity {
                    let run = ring.peek(maximum: Self.runRows)
                    guard let rows = run.baseAddress, !run.isEmpty else { break }
                    let count = run.count
                    moved += count
                    movedFromRing += count
                    let now = DispatchTime.now().uptimeNanoseconds
                    let before = (accepted, replays, rateLimited, instanceLimited)
                    // One reference for the run, borrowed (never copied) by each row below.
                    let table = drainRollups?.table
                    for index in 0..<count {
                        // Start loading the tables' lines for a row a little ahead, so the cache
                        // misses of consecutive rows overlap.
                        if index + Self.prefetchDistance < count {
                            let ahead = rows[index + Self.prefetchDistance]
                            replayGuard.prefetch(ahead)
                            lastSeen.prefetch(ahead.applicationID)
                            rateLimiter?.prefetch(ahead.applicationID)
                            table?.prefetch(ahead)
                        }
                        let row = rows[index]
                        // A loop-invariant test: the compiler can take it out of the loop.
                        if !prechecked {
                            switch replayGuard.check(row) {
                            case .admitted:
                                if rateLimiter?.admit(row) == false {
                                    rateLimited &+= 1
                                    continue
                                }
                            case .replay:
                                replays &+= 1
                                continue
                            case .newInstance:
                                // The budget is spent before a window is made, so a flood of made-up
                                // instances is held to the budget before it can cost memory.
                                if rateLimiter?.admit(row) == false {
                                    rateLimited &+= 1
                                    continue
                                }
                                guard replayGuard.open(row) else {
                                    instanceLimited &+= 1
                                    continue
                                }
                            }
                        }
                        if accepted == 0 { metrics.firstAcceptedReceivedMicros.store(row.receivedAtMicros, ordering: .relaxed) }
                        accepted &+= 1
                        // Shared before its last-seen time is recorded: the hot state reads last-seen
                        // first, so any time it pushes has its record's kind already in the ring.
                        if row.kind != .beat, let sharedEvents, !sharedEvents.push(row) { sharedEventDrops &+= 1 }
                        let previousMicros = lastSeen.record(row)
                        if let monitorFeed, !monitorFeed.push(row) { feedDrops &+= 1 }
                        switch table?.count(row) {
                        case true?: rollupCounted &+= 1
                        case false?: rollupUncounted &+= 1
                        case nil: break
                        }
                        if rawEvents.keeps(row, previousMicros: previousMicros) {
                            sink.take(row, nowNanos: now)
                        } else {
                            rawSkipped &+= 1
                        }
                    }
                    ring.release(count)
                    tallies[transport.rawValue].accepted &+= accepted &- before.0
                    tallies[transport.rawValue].replays &+= replays &- before.1
                    tallies[transport.rawValue].rateLimited &+= rateLimited &- before.2
                    tallies[transport.rawValue].instanceLimited &+= instanceLimited &- before.3
                }
            }
            metrics.recordsAccepted.store(accepted, ordering: .relaxed)
            metrics.transports.publish(tallies)
            metrics.recordsReplayRejected.store(replays, ordering: .relaxed)
            metrics.recordsRateLimited.store(rateLimited, ordering: .relaxed)
            metrics.recordsInstanceLimited.store(instanceLimited, ordering: .relaxed)
            metrics.replayWindows.store(replayGuard.count, ordering: .relaxed)
            metrics.monitorEventsDropped.store(feedDrops, ordering: .relaxed)
            metrics.sharedEventsDropped.store(sharedEventDrops, ordering: .relaxed)
            drainRollups?.pass(counted: rollupCounted, uncounted: rollupUncounted, nowMicros: WallClock.nowMicros())
            metrics.rawEventsSkipped.store(rawSkipped, ordering: .relaxed)
            let now = DispatchTime.now().uptimeNanoseconds
            sink.pass(nowNanos: now)
            if now &- lastEviction >= 60_000_000_000 {
                replayGuard.evictIdle(nowMicros: WallClock.nowMicros())
                lastEviction = now
            }
            if moved == 0 {
                if stopping { break }
                nap = min(nap * 2, Self.idleNapMicros)
            } else {
                nap = Self.busyNapMicros
            }
            usleep(nap)
        }
        sink.flush()
        drainRollups?.finish(counted: rollupCounted, uncounted: rollupUncounted)
    }
}

extension IngestDrain: ThreadedService {
    var threadName: String { "heartbeat-drain" }
    var serviceName: String { "drain" }
}
