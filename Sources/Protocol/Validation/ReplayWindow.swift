/// The anti-replay state of one (application, instance): the highest sequence number accepted and
/// a 64-bit map of which of the 64 numbers up to it were accepted (RFC 6479's sliding window with
/// one word). Reordered records inside the window are accepted once; duplicates, and anything 64
/// or more below the highest, are replays.
///
/// A value type of two words, so that a store shared by several receiver threads can keep it in a
/// double-word atomic and update it with compare-and-swap: compute ``admitting(_:)`` from the
/// loaded value, then publish the result only if nobody changed it meanwhile.
public struct ReplayWindow: Hashable, Sendable {
    /// Width of the window: a sequence number this far or further below the highest is refused.
    public static let width: UInt64 = 64

    /// The highest sequence number accepted so far; 0 before the first.
    public private(set) var highest: UInt64
    /// Bit `i` is set when `highest - i` was accepted.
    public private(set) var accepted: UInt64

    /// The window of an (application, instance) never heard from.
    public init() {
        self.init(highest: 0, accepted: 0)
    }

    /// A window restored from its two words (as kept in an atomic store).
    public init(highest: UInt64, accepted: UInt64) {
        self.highest = highest
        self.accepted = accepted
    }

    /// The window after accepting `sequence`, or `nil` when `sequence` is a replay.
    ///
    /// - Precondition: `sequence != 0` (the decoder refuses 0 as malformed).
    @inlinable
    public func admitting(_ sequence: UInt64) -> ReplayWindow? {
        assert(sequence != 0, "sequence 0 is malformed and must not reach the replay window")
        if sequence > highest {
            let advance = sequence &- highest
            let shifted = advance >= Self.width ? 0 : accepted << advance
            return ReplayWindow(highest: sequence, accepted: shifted | 1)
        }
        let age = highest &- sequence
        guard age < Self.width else { return nil }
        let bit: UInt64 = 1 << age
        guard accepted & bit == 0 else { return nil }
        return ReplayWindow(highest: highest, accepted: accepted | bit)
    }

    /// Accepts `sequence` into the window and returns `true`, or returns `false` for a replay and
    /// leaves the window unchanged.
    @inlinable
    public mutating func admit(_ sequence: UInt64) -> Bool {
        guard let next = admitting(sequence) else { return false }
        self = next
        return true
    }
}
