/// Builds one Redis command in the wire protocol (RESP arrays of bulk strings) straight into a
/// byte buffer, for commands with thousands of arguments: a `ZADD` of 100,000 members costs no
/// String per argument. Send the bytes with ``RedisConnection/appendFormatted(_:)``.
struct RESPWriter {
    private(set) var bytes = [UInt8]()

    /// Starts a command of `count` arguments (the command name included).
    init(argumentCount count: Int, reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(Int64(count))
        appendLineEnd()
    }

    mutating func argument(_ text: String) {
        argument(bytes: Array(text.utf8))
    }

    mutating func argument(bytes value: [UInt8]) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(Int64(value.count))
        appendLineEnd()
        bytes += value
        appendLineEnd()
    }

    /// An integer argument, in decimal: the whole `$<length>\r\n<digits>\r\n` is formatted on the
    /// stack and appended at once (a `ZADD` of 100,000 members has 200,000 of them per round).
    mutating func argument(_ value: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            // Right to left: "\r\n", the digits, "\r\n", the digit count, "$".
            var start = Self.put(lineEndBefore: 48, in: buffer)
            let digitsEnd = start
            start = Self.put(decimal: value, before: start, in: buffer)
            start = Self.put(lineEndBefore: start, in: buffer)
            start = Self.put(decimal: Int64(digitsEnd - start - 2), before: start, in: buffer)
            start -= 1
            buffer[start] = UInt8(ascii: "$")
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<48]))
        }
    }

    /// Appends `value` in decimal, formatted on the stack and copied once — no String, no
    /// per-digit array growth.
    private mutating func appendDecimal(_ value: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            let start = Self.put(decimal: value, before: 20, in: buffer)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<20]))
        }
    }

    /// Writes `value`'s decimal digits (and sign) into `buffer` so that they end just before
    /// `end`; returns where they start. Needs 20 bytes before `end` (any Int64 fits).
    private static func put(decimal value: Int64, before end: Int, in buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var index = end
        var magnitude = value.magnitude
        repeat {
            index -= 1
            buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            index -= 1
            buffer[index] = UInt8(ascii: "-")
        }
        return index
    }

    /// Writes "\r\n" just before `end`; returns where it starts.
    private static func put(lineEndBefore end: Int, in buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        buffer[end - 2] = 13
        buffer[end - 1] = 10
        return end - 2
    }

    private mutating func appendLineEnd() {
        bytes.append(13)
        bytes.append(10)
    }
}
