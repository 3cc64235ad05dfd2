import Foundation
import ThreadSafety

/// An IANA time zone's UTC offsets as a table of transitions, for turning instants into wall-clock
/// times and back with Python's `fold` rules (PEP 495), which cronsim's results depend on: a wall
/// time repeated by a fall-back has fold 0 (the first, earlier instant) and fold 1 (the second);
/// a wall time skipped by a spring-forward maps, with fold 0, through the offset before the change.
/// Built once per zone from Foundation's zone data (1900-2200) and then read without locks.
public final class ZoneRules: Sendable {
    /// The zone's IANA name.
    public let identifier: String
    /// Transition instants (Unix seconds), ascending.
    private let instants: [Int64]
    /// The offset (seconds east of UTC) before each transition, and after it.
    private let before: [Int32]
    private let after: [Int32]
    /// Wall-clock seconds from which each transition's later offset applies, for fold 0 and fold 1.
    private let wallFold0: [Int64]
    private let wallFold1: [Int64]
    /// The offset before the first transition.
    private let initial: Int32

    private init(identifier: String, zone: TimeZone) {
        self.identifier = identifier
        var instants = [Int64](), before = [Int32](), after = [Int32]()
        var moment = Date(timeIntervalSince1970: -2_208_988_800)  // 1900-01-01
        let end = Date(timeIntervalSince1970: 7_258_118_400)  // 2200-01-01
        initial = Int32(zone.secondsFromGMT(for: moment))
        while let next = zone.nextDaylightSavingTimeTransition(after: moment), next < end {
            let old = Int32(zone.secondsFromGMT(for: next.addingTimeInterval(-1)))
            let new = Int32(zone.secondsFromGMT(for: next))
            if old != new {
                instants.append(Int64(next.timeIntervalSince1970.rounded()))
                before.append(old)
                after.append(new)
            }
            moment = next
        }
        self.instants = instants
        self.before = before
        self.after = after
        wallFold0 = instants.indices.map { instants[$0] + Int64(max(before[$0], after[$0])) }
        wallFold1 = instants.indices.map { instants[$0] + Int64(min(before[$0], after[$0])) }
    }

    private static let cache = Locked([String: ZoneRules]())

    /// The rules of the IANA zone `identifier`, or nil when this machine does not know it.
    public static func named(_ identifier: String) -> ZoneRules? {
        if let rules = cache.withLock({ $0[identifier] }) { return rules }
        // Foundation also accepts abbreviations and offsets ("GMT+1"); only names from the tz
        // database are zones here: ones it lists, and Area/Location names it resolves (it lists
        // ICU's canonical names, e.g. Asia/Calcutta, not always the current one, Asia/Kolkata).
        let looksLikeArea = identifier.contains("/") && !identifier.hasPrefix("/") && !identifier.contains("..")
        guard identifier == "UTC" || looksLikeArea || TimeZone.knownTimeZoneIdentifiers.contains(identifier),
            let zone = TimeZone(identifier: identifier)
        else { return nil }
        let rules = ZoneRules(identifier: identifier, zone: zone)
        cache.withLock { $0[identifier] = rules }
        return rules
    }

    /// The index of the last element of `values` at or below `key`, or -1.
    private static func lastIndex(in values: [Int64], atOrBelow key: Int64) -> Int {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] <= key { low = middle + 1 } else { high = middle }
        }
        return low - 1
    }

    /// The offset at the instant `seconds`, and whether that instant's wall time is the second of
    /// two (fold 1).
    public func offset(atInstant seconds: Int64) -> (offset: Int64, fold: Bool) {
        let index = Self.lastIndex(in: instants, atOrBelow: seconds)
        guard index >= 0 else { return (Int64(initial), false) }
        let shrink = Int64(before[index]) - Int64(after[index])
        return (Int64(after[index]), shrink > 0 && seconds - instants[index] < shrink)
    }

    /// The offset a wall time (seconds, read as if UTC) has with `fold`, as Python's zoneinfo
    /// gives it: in a repeated stretch fold 0 takes the earlier offset and fold 1 the later; in a
    /// skipped stretch fold 0 takes the offset before the change and fold 1 the one after.
    public func offset(atWall wall: Int64, fold: Bool) -> Int64 {
        let index = Self.lastIndex(in: fold ? wallFold1 : wallFold0, atOrBelow: wall)
        return index >= 0 ? Int64(after[index]) : Int64(initial)
    }
}
