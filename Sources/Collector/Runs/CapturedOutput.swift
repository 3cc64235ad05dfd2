/// A job's output as a ping carried it (a POST body), bounded: the last ``limit`` bytes are kept,
/// since the end of a failing job's output says why it failed. Built incrementally, so a body of
/// any size is read in constant memory.
public struct CapturedOutput: Sendable, Equatable {
    /// The most bytes the collector keeps of a run's output.
    public static let storedLimit = 100 * 1_024

    /// The most bytes this capture keeps.
    public let limit: Int
    /// The kept bytes: the last ``limit`` of what arrived (up to twice as many between trims).
    public private(set) var kept: [UInt8] = []
    /// How many bytes arrived in all.
    public private(set) var receivedBytes = 0

    /// An empty capture keeping the last `limit` bytes.
    public init(limit: Int = storedLimit) {
        self.limit = max(1, limit)
    }

    /// The output of `bytes`, whole when it fits.
    public init(_ bytes: some Sequence<UInt8>, limit: Int = storedLimit) {
        self.init(limit: limit)
        append(bytes)
    }

    /// Adds the next bytes of the body, dropping the oldest beyond ``limit``.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        let before = kept.count
        kept.append(contentsOf: bytes)
        receivedBytes += kept.count - before
        // Trimmed in large steps only, so appending many small chunks stays linear.
        if kept.count > 2 * limit { kept.removeFirst(kept.count - limit) }
    }

    /// Whether bytes were dropped.
    public var isTruncated: Bool { receivedBytes > limit }

    /// The last ``limit`` bytes.
    public var tail: ArraySlice<UInt8> { kept.suffix(limit) }

    /// What is stored: the kept bytes as text (invalid UTF-8 replaced, NUL removed: PostgreSQL text
    /// holds neither), after a marker line saying how much was dropped when anything was.
    public var storedText: String {
        let tail = self.tail
        let text = String(decoding: tail, as: UTF8.self).replacingNUL()
        guard isTruncated else { return text }
        return "[… \(receivedBytes - tail.count) earlier bytes of \(receivedBytes) not kept …]\n" + text
    }
}

extension String {
    /// The string without NUL characters.
    fileprivate func replacingNUL() -> String {
        guard utf8.contains(0) else { return self }
        return String(String.UnicodeScalarView(unicodeScalars.filter { $0.value != 0 }))
    }
}
