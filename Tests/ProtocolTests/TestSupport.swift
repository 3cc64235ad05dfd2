import Foundation
import HeartbeatTestSupport
import Protocol


extension HeartbeatRecord {
    /// A random record, every field drawn from its whole range (sequence from 1).
    static func random(using generator: inout some RandomNumberGenerator) -> HeartbeatRecord {
        HeartbeatRecord(
            kind: RecordKind.allCases.randomElement(using: &generator)!,
            application: ApplicationUUID(high: generator.next(), low: generator.next()),
            instance: generator.next(),
            sequence: UInt64.random(in: 1 ... .max, using: &generator),
            sentAtMicros: Int64.random(in: WireFormat.earliestSentAtMicros...WireFormat.latestSentAtMicros, using: &generator),
            intervalMillis: generator.next(),
            status: Int32(truncatingIfNeeded: generator.next() as UInt64),
            tag: RecordTag(high: generator.next(), low: generator.next()))
    }
}
