/// The versions of what collectors write to Redis (`Spec/hot-state.md`): the `<prefix>:updates`
/// entries' fields and encodings, the last-seen set, the lease. Each stream entry carries its
/// version in its `v` field. A change that readers of the previous version would misread gets the
/// next number, and ships readable a release before it is written (`Spec/upgrading.md`); fields
/// added that older readers ignore do not.
///
/// - Version 1: `events` of 17 bytes (no instance).
/// - Version 2: `events` of 21 bytes (with the record's instance), and `instances`: the instances
///   of applications under an instance quorum heard since the last round.
enum HotStateFormat {
    /// The versions this build reads.
    static let readable = 1...2
    /// The version this build writes unless told otherwise (`--hot-state-version`).
    static let version = 2

    enum Verdict: Equatable {
        case read(version: Int)
        /// Written in another version: skipped and counted.
        case refuse(version: String)
    }

    /// Whether an entry with these fields can be read, and in which version. Entries without `v`
    /// come from collectors built before the field existed, which wrote version 1.
    static func verdict(on fields: [String: [UInt8]]) -> Verdict {
        guard let raw = fields["v"] else { return .read(version: 1) }
        let text = String(decoding: raw, as: UTF8.self)
        guard let version = Int(text), readable.contains(version) else { return .refuse(version: text) }
        return .read(version: version)
    }
}
