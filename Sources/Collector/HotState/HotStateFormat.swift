/// The version of what collectors write to Redis (`Spec/hot-state.md`): the `<prefix>:updates`
/// entries' fields and encodings, the last-seen set, the lease. Each stream entry carries it in its
/// `v` field. A change that readers of the previous version would misread gets the next number;
/// fields added that older readers ignore do not (`Spec/upgrading.md`).
enum HotStateFormat {
    /// The version this build writes and reads.
    static let version = 1

    enum Verdict: Equatable {
        case read
        /// Written in another version: skipped and counted.
        case refuse(version: String)
    }

    /// Whether an entry with these fields can be read. Entries without `v` come from collectors
    /// built before the field existed, which wrote version 1.
    static func verdict(on fields: [String: [UInt8]]) -> Verdict {
        guard let raw = fields["v"] else { return .read }
        let text = String(decoding: raw, as: UTF8.self)
        return Int(text) == version ? .read : .refuse(version: text)
    }
}
