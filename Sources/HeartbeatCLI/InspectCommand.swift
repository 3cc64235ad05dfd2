import ArgumentParser
import Protocol

/// `heartbeat inspect HEX`: decodes a datagram given as hex and prints each record's fields, or
/// why it would be rejected; with `--secret`, also whether its tag verifies.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode a heartbeat datagram given as hex and print its records."
    )

    @Argument(help: "The datagram's bytes as hex (128 to 2048 hex digits, white space ignored).")
    var hex: String

    @Option(help: "The application's secret (64 hex characters), to check each record's tag. Visible to other local users in /proc: prefer --secret-file.")
    var secret: String?

    @Option(help: "File holding the application's secret (64 hex characters; a trailing newline is ignored).")
    var secretFile: String?

    func run() throws {
        if secret != nil, secretFile != nil { throw ValidationError("--secret and --secret-file: give one of them, not both") }
        let secret: String?
        do {
            secret = try secretFile.map { try SecretFile.read($0, setting: "--secret-file") } ?? self.secret
        } catch let error as UsageError {
            throw ValidationError(error.description)
        }
        let digits = hex.filter { !$0.isWhitespace }
        guard let bytes = hexBytes(digits) else {
            throw ValidationError("the datagram must be hex digits, two per byte; got '\(hex.prefix(40))…'")
        }
        var key: TagKey?
        if let secret {
            do throws(ApplicationSecret.ParseError) {
                key = TagKey(secret: try ApplicationSecret(hex: secret))
            } catch {
                throw ValidationError("--secret: \(error)")
            }
        }
        guard let count = WireFormat.recordCount(datagramLength: bytes.count) else {
            print("datagram of \(bytes.count) bytes: malformed (a datagram is 1 to 16 records of 64 bytes)")
            throw ExitCode(1)
        }
        var rejected = 0
        bytes.withUnsafeBytes { buffer in
            for index in 0..<count {
                let start = buffer.baseAddress! + index * WireFormat.recordSize
                print("record \(index + 1) of \(count):")
                do throws(RejectionReason) {
                    let record = try HeartbeatRecord.decode(from: start)
                    print(describe(record).map { "  " + $0 }.joined(separator: "\n"))
                    if let key {
                        let verdict =
                            record.tag.isZero
                            ? "unsigned (tag is zero)"
                            : key.verify(record.tag, signing: start) ? "valid" : "INVALID"
                        print("  tag check: \(verdict)")
                    }
                } catch {
                    rejected += 1
                    print("  rejected: \(error)")
                }
            }
        }
        if rejected > 0 { throw ExitCode(1) }
    }

    private func describe(_ record: HeartbeatRecord) -> [String] {
        [
            "kind:      \(record.kind)",
            "app:       \(record.application)",
            "instance:  \(record.instance)",
            "seq:       \(record.sequence)",
            "sent_at:   \(record.sentAtMicros) µs since the Unix epoch",
            "interval:  \(record.intervalMillis) ms",
            "status:    \(record.status)",
            "tag:       \(record.tag.isZero ? "zero (unsigned)" : record.tag.description)",
        ]
    }

    private func hexBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count.isMultiple(of: 2) else { return nil }
        var bytes = [UInt8]()
        var index = 0
        while index < utf8.count {
            guard let byte = UInt8(String(decoding: utf8[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
            index += 2
        }
        return bytes
    }
}
