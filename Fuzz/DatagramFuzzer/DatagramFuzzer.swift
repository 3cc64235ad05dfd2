import Foundation
import Protocol

/// A libFuzzer target for the collector's datagram path: length check, record decoding, validation
/// against the registry of `Spec/test-vectors.json` (an unsigned, a signed-with-rotation and a
/// disabled application, at the vectors' clock) and the anti-replay window. Besides "no crash", it
/// checks properties that hold for every input, and traps when one does not:
///
/// - a length is accepted exactly when it is a multiple of 64 from 64 to 1,024;
/// - a decoded record encodes back to the same 64 bytes;
/// - validation refuses what decoding refuses, for the same reason, and what it accepts is the
///   decoded record of a registered, enabled application;
/// - the replay window accepts a sequence number exactly when a naive model (the set of numbers
///   accepted, and the highest) says it is new and less than 64 below the highest.
///
/// Built with `scripts/fuzz` (`swift build --sanitize=fuzzer -Xswiftc -DFUZZING`); without
/// `FUZZING` it is a plain program that runs the same checks over the files it is given, so a
/// crash the fuzzer found can be replayed under a debugger.
enum DatagramChecks {
    static let validator: RecordValidator = {
        let root = ProcessInfo.processInfo.environment["HEARTBEAT_VECTORS"] ?? "Spec/test-vectors.json"
        guard let data = FileManager.default.contents(atPath: root),
            let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let registry = document["registry"] as? [[String: Any]],
            let collector = document["collector"] as? [String: Any],
            let skew = (collector["allowed_skew_us"] as? String).flatMap({ Int64($0) })
        else { fatalError("cannot read the registry of \(root) (run from the repository root, or set HEARTBEAT_VECTORS)") }
        let applications = registry.map { entry -> ApplicationDescriptor in
            func secret(_ key: String) -> ApplicationSecret? { (entry[key] as? String).flatMap { try? ApplicationSecret(hex: $0) } }
            return ApplicationDescriptor(
                uuid: ApplicationUUID(entry["app"] as! String)!, applicationID: Int64(entry["id"] as! Int),
                isEnabled: entry["enabled"] as! Bool, secret: secret("secret"), previousSecret: secret("previous_secret"))
        }
        return RecordValidator(applications: ApplicationTable(applications), allowedSkewMicros: skew)
    }()

    static let nowMicros: Int64 = {
        let root = ProcessInfo.processInfo.environment["HEARTBEAT_VECTORS"] ?? "Spec/test-vectors.json"
        let document = try! JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: root)!) as! [String: Any]
        return Int64((document["collector"] as! [String: Any])["now_us"] as! String)!
    }()

    /// Stops the process with `message` when `condition` is false. Unlike `precondition`, the
    /// message survives a release build, and the abort is what libFuzzer catches as a crash.
    static func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { violated(message()) }
    }

    static func violated(_ message: String) -> Never {
        FileHandle.standardError.write(Data("violated property: \(message)\n".utf8))
        abort()
    }

    /// Runs every check over one input; aborts on a violated property.
    static func check(_ input: UnsafeRawBufferPointer) {
        let length = input.count
        let count = WireFormat.recordCount(datagramLength: length)
        let lengthIsValid = length >= 64 && length <= 1_024 && length.isMultiple(of: 64)
        require((count != nil) == lengthIsValid, "recordCount(\(length)) = \(String(describing: count))")
        guard let count, let base = input.baseAddress else { return }
        var window = ReplayWindow()
        var model = Set<UInt64>()
        var highest: UInt64 = 0
        for index in 0..<count {
            let bytes = base + index * WireFormat.recordSize
            let decoded: HeartbeatRecord
            do throws(RejectionReason) {
                decoded = try HeartbeatRecord.decode(from: bytes)
            } catch {
                do throws(RejectionReason) {
                    _ = try validator.validate(bytes, nowMicros: nowMicros)
                    violated("validation accepted a record the decoder refuses as \(error)")
                } catch let refusal {
                    require(refusal == error, "decoder says \(error), validation says \(refusal)")
                }
                continue
            }
            require(decoded.encoded().elementsEqual(UnsafeRawBufferPointer(start: bytes, count: WireFormat.recordSize)), "round trip changed the bytes")
            if let validated = try? validator.validate(bytes, nowMicros: nowMicros) {
                require(validated.record == decoded, "validation returned another record")
                guard let entry = validator.applications.entry(for: decoded.application) else {
                    violated("validation accepted an unregistered application")
                }
                require(entry.isEnabled && entry.applicationID == validated.applicationID, "validation accepted a disabled or misnumbered application")
            }
            // The window, against the model.
            let sequence = decoded.sequence
            let isNew = !model.contains(sequence) && (sequence > highest || highest - sequence < ReplayWindow.width)
            let next = window.admitting(sequence)
            require((next != nil) == isNew, "window says \(next != nil) for seq \(sequence) (highest \(highest))")
            if let next {
                window = next
                model.insert(sequence)
                highest = max(highest, sequence)
            }
        }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    DatagramChecks.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
/// Without libFuzzer: runs the checks over each file named on the command line.
@main
struct ReplayInputs {
    static func main() {
        var checked = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(2)
            }
            data.withUnsafeBytes { DatagramChecks.check($0) }
            checked += 1
        }
        print("checked \(checked) inputs; every property held")
    }
}
#endif
