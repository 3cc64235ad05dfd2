import ArgumentParser

/// Parses fixed-width integer options with a message that says what is accepted: the argument
/// parser's own says only that "the value is invalid", which does not tell a user that
/// 99999999999 is too large for a 32-bit field.
enum IntegerArgument {
    /// `text` as a `T`, or a ``ValidationError`` naming `option`, the value and the range.
    static func parse<T: FixedWidthInteger>(_ text: String, option: String) throws -> T {
        if let value = T(text) { return value }
        guard let wide = Int128(text) else {
            throw ValidationError("\(option): '\(text)' is not a whole number")
        }
        let bound = wide < Int128(T.min) ? "at least \(T.min)" : "at most \(T.max)"
        throw ValidationError("\(option): \(text) is out of range: \(bound)")
    }
}
