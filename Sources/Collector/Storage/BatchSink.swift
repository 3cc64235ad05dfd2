/// Where the drain puts the rows it accepted: the seam between ingest and storage. The drain is
/// generic over its sink, so handing a row over is a direct call; the composition root
/// (``HeartbeatCollector``) is the one place that picks a sink (`--sink`), and nothing else
/// branches on which. ``take(_:nowNanos:)``, ``pass(nowNanos:)`` and ``flush()`` are called by the
/// drain's thread only.
protocol BatchSink: CollectorService {
    /// Takes one accepted row (its arrival has already reached liveness).
    func take(_ row: HeartbeatRow, nowNanos: UInt64)
    /// Once per drain pass: closes a batch that reached its age, offers held work again.
    func pass(nowNanos: UInt64)
    /// The drain is stopping: hands over whatever is still open. The sink's ``stop()`` (after the
    /// drain's) then stores or spools it.
    func flush()
    /// Whether rows have waited past the stall limit with no commit (`/readyz` says storage).
    func isStalled(nowMicros: Int64) -> Bool
    /// Fills in the sink's part of the collector's snapshot.
    func describe(into storage: inout CollectorSnapshot.Storage)
}
