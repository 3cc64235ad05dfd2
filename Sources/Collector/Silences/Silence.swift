import Protocol

/// A maintenance window (`Spec/liveness.md`, "Silences"): which applications it covers and
/// when. While one covers an application, its transitions are recorded as always but marked
/// silenced, and their notifications are held; when it ends, an application still not up is
/// notified once. A plain value, asked two questions: does it cover this application, and is it
/// in force at this instant.
public struct Silence: Sendable, Equatable {
    /// Which applications it covers.
    public enum Selector: Sendable, Equatable {
        /// Every application.
        case all
        /// These applications.
        case applications(Set<ApplicationUUID>)
        /// Applications whose labels contain all of these.
        case labels([String: String])
        /// Applications whose name starts with this (compared as UTF-8 bytes, as PostgreSQL's
        /// `starts_with`).
        case namePrefix(String)
    }

    /// When it is in force.
    public enum Window: Sendable, Equatable {
        /// From `fromMicros` (inclusive) until `untilMicros` (exclusive), Unix µs.
        case between(fromMicros: Int64, untilMicros: Int64)
        /// From each fire time of `schedule` for `durationMicros` ("Sundays 02:00-04:00
        /// Europe/Berlin" is `0 2 * * 0` in Europe/Berlin for two hours).
        case recurring(CronSchedule, durationMicros: Int64)
    }

    public let id: Int
    public let selector: Selector
    public let window: Window
    public let comment: String
    /// When it was created (Unix µs; 0 when unknown).
    public let createdAtMicros: Int64

    public init(id: Int, selector: Selector, window: Window, comment: String = "", createdAtMicros: Int64 = 0) {
        self.id = id
        self.selector = selector
        self.window = window
        self.comment = comment
        self.createdAtMicros = createdAtMicros
    }

    /// The occurrence in force at `micros` (start inclusive, end exclusive), or nil.
    public func occurrence(atMicros micros: Int64) -> (startMicros: Int64, endMicros: Int64)? {
        switch window {
        case .between(let from, let until):
            return from <= micros && micros < until ? (from, until) : nil
        case .recurring(let schedule, let duration):
            // The first fire time after `micros - duration` is the only one whose occurrence can
            // hold `micros`: any earlier one ended by then.
            guard let start = schedule.nextFire(afterMicros: micros - duration), start <= micros else { return nil }
            return (start, start + duration)
        }
    }

    /// Whether it is in force at `micros`.
    public func isActive(atMicros micros: Int64) -> Bool { occurrence(atMicros: micros) != nil }

    /// The next time it comes into force after `micros` (nil: never again).
    public func nextStart(afterMicros micros: Int64) -> Int64? {
        switch window {
        case .between(let from, _): from > micros ? from : nil
        case .recurring(let schedule, _): schedule.nextFire(afterMicros: micros)
        }
    }

    /// Whether it covers an application with this uuid, name and labels, whenever it is in force.
    public func selects(uuid: ApplicationUUID, name: String, labels: [String: String]) -> Bool {
        switch selector {
        case .all: true
        case .applications(let uuids): uuids.contains(uuid)
        case .labels(let wanted): wanted.allSatisfy { labels[$0.key] == $0.value }
        case .namePrefix(let prefix): name.utf8.starts(with: prefix.utf8)
        }
    }

    /// Whether it covers `profile`'s application at `micros`.
    public func covers(_ profile: ApplicationProfile, atMicros micros: Int64) -> Bool {
        isActive(atMicros: micros) && selects(uuid: profile.uuid, name: profile.name, labels: profile.labels)
    }
}

extension Array where Element == Silence {
    /// The silences in force at `micros`.
    public func active(atMicros micros: Int64) -> [Silence] { filter { $0.isActive(atMicros: micros) } }

    /// The first silence that covers `profile`'s application at `micros`, or nil.
    public func covering(_ profile: ApplicationProfile, atMicros micros: Int64) -> Silence? {
        first { $0.covers(profile, atMicros: micros) }
    }
}
