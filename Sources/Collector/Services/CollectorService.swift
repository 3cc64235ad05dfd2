/// One part of a running collector with threads or connections of its own (a receiver, the drain,
/// the writers, the monitor, the sidecar, …). The collector holds its services in a
/// ``ServiceList``: they start in list order and stop in reverse, so the order is data, and each
/// service may rely on every service before it running for as long as it runs itself.
public protocol CollectorService: AnyObject, Sendable {
    /// A short name for logs and errors (`"drain"`, `"receiver 2"`).
    var serviceName: String { get }
    /// Starts the service's threads. A failure here stops the services started before it.
    func start() throws
    /// Stops the service and returns when it has finished; what it owes (queued batches, a final
    /// flush) is done before it returns. Called once, only after a successful ``start()``.
    func stop()
}
