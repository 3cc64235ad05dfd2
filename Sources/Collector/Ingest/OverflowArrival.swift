import Protocol

/// Whether a validated record that could not be queued (its receiver's ring was full, or its
/// application was over budget there) may still count as an arrival for liveness — recorded
/// straight into the last-seen table by the receiver — or must count as *not seen*.
///
/// Storage is best-effort under saturation; liveness is not. But only what the table can express
/// safely is recorded: an arrival time says "alive", so only the kinds that mean alive (`beat`,
/// `start`, `success`) qualify — a `fail` or `stop` changes state and needs the monitor to see its
/// kind. And a signed application's record qualifies only when it continues the instance the
/// table already holds with a higher sequence number: the anti-replay window is not consulted on
/// this path, and without that rule a captured record replayed during a flood could keep a dead
/// application "up". Pure: tested as a table.
public enum OverflowArrival {
    /// The decision for a record of `kind` from (`instance`, `sequence`), of a signed application
    /// or not, given what the last-seen table holds for its application.
    public static func counts(
        kind: RecordKind, signed: Bool, instance: UInt32, sequence: UInt64, lastSeen: LastSeenTable.Entry
    ) -> Bool {
        switch kind {
        case .beat, .start, .success:
            guard signed else { return true }
            return lastSeen.receivedMicros > 0 && instance == lastSeen.instance && sequence > lastSeen.sequence
        case .fail, .stop:
            return false
        }
    }
}
