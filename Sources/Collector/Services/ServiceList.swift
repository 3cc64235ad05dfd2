/// Services in start order. ``start()`` starts them one after another; if one fails, those
/// already started are stopped in reverse order and the error names the one that failed.
/// ``stop()`` stops the started ones in reverse order, so a service stops before every service it
/// relies on (receivers before the drain, the drain before the writers, …).
public final class ServiceList: @unchecked Sendable {
    /// A service failed to start.
    public struct StartError: Error, CustomStringConvertible {
        public let serviceName: String
        public let underlying: any Error
        public var description: String { "\(serviceName): \(underlying)" }
    }

    /// The services, in start order.
    public private(set) var services: [any CollectorService]
    /// How many of ``services`` are running (a prefix of the list). Touched only by the thread
    /// that starts and stops the collector.
    private var started = 0

    public init(_ services: [any CollectorService] = []) {
        self.services = services
    }

    /// Adds services to the end: they start after, and stop before, every service already listed.
    public func append(_ more: [any CollectorService]) {
        precondition(started == 0, "services are added before the list starts")
        services += more
    }

    public func start() throws(StartError) {
        while started < services.count {
            let service = services[started]
            do {
                try service.start()
            } catch {
                stop()
                throw StartError(serviceName: service.serviceName, underlying: error)
            }
            started += 1
        }
    }

    public func stop() {
        while started > 0 {
            started -= 1
            services[started].stop()
        }
    }
}
