import Foundation

/// The rules for an application's labels (`labels` in the registry): string keys to string values,
/// used to route notifications and in templates and Alertmanager alerts. Keys follow Prometheus
/// label names, so every key can become an alert label unchanged.
public enum ApplicationLabels {
    /// At most this many labels per application.
    public static let maximumCount = 32
    /// A value is at most this many bytes.
    public static let maximumValueBytes = 200

    /// `[A-Za-z_][A-Za-z0-9_]{0,62}`.
    public static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        return bytes.enumerated().allSatisfy { index, byte in
            byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                || (index > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
    }

    /// nil when `labels` may be stored, else what is wrong with it (naming the key).
    public static func problem(_ labels: [String: String]) -> String? {
        if labels.count > maximumCount { return "at most \(maximumCount) labels" }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            if !isValidKey(key) { return "label key \"\(key)\" must match [A-Za-z_][A-Za-z0-9_]{0,62}" }
            if value.utf8.count > maximumValueBytes { return "label \(key): at most \(maximumValueBytes) bytes" }
        }
        return nil
    }

    /// The labels of a `labels` column (JSON text; nil or not an object: none).
    public static func decode(_ json: String?) -> [String: String] {
        guard let json, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [:] }
        return object.compactMapValues { $0 as? String }
    }

    /// `labels` as the JSON text the column takes (keys sorted).
    public static func encode(_ labels: [String: String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: labels, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }
}
