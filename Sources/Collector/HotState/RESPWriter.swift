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
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            // Right to left: "\r\n", the digits, "\r\n", the digit count, "$".
            var index = 32
            func put(_ byte: UInt8) {
                index -= 1
                buffer[index] = byte
            }
            put(10)
            put(13)
            let end = index
            var magnitude = value.magnitude
            repeat {
                put(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10))
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { put(UInt8(ascii: "-")) }
            var length = end - index
            put(10)
            put(13)
            repeat {
                put(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: length % 10))
                length /= 10
            } while length > 0
            put(UInt8(ascii: "$"))
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<32]))
        }
    }

    /// Appends `value` in decimal: digits written right to left into 20 bytes on the stack (any
    /// Int64 fits), then copied once — no String, no per-digit array growth.
    private mutating func appendDecimal(_ value: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var index = 20
            var magnitude = value.magnitude
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<20]))
        }
    }

    private mutating func appendLineEnd() {
        bytes.append(13)
        bytes.append(10)
    }
}
