import ThreadSafety

/// The sidecar's routes by path pattern, so that a request for a known path with a method it does
/// not take is answered 405 with `Allow` (RFC 9110 section 15.5.6), not 404.
final class RouteTable: Sendable {
    private struct Route {
        /// Path segments; nil matches any one segment (a `{parameter}`).
        let segments: [String?]
        let method: String
    }

    private let routes = Locked([Route]())

    /// Sets the routes, as `METHOD /path/{param}` (``SidecarServer/registeredRoutes(collector:)``'s form).
    func set(_ listing: [String]) {
        routes.withLock { routes in
            routes = listing.compactMap { line in
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { return nil }
                let segments = parts[1].split(separator: "/").map { $0.hasPrefix("{") ? nil : String($0) }
                return Route(segments: segments, method: String(parts[0]))
            }
        }
    }

    /// The methods `path` takes (empty for an unknown path), sorted.
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        return routes.withLock { routes in
            Set(routes.filter { route in
                route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { $0 == nil || $0! == $1 }
            }.map(\.method)).sorted()
        }
    }
}
