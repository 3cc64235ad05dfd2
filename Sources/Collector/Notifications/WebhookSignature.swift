import CSHA256
import Protocol

/// The signature headers of a webhook POST (`Spec/notifications.md`, "Verifying a request"):
///
///     X-Heartbeat-Timestamp: 1767225600                (Unix seconds when this attempt was signed)
///     X-Heartbeat-Delivery:  42                        (the same on every retry of one notification)
///     X-Heartbeat-Signature: v1=<64 hex>               (HMAC-SHA256 of "<timestamp>.<delivery>.<body>")
///
/// The signed string binds the body to its delivery id and to the moment it was sent, so a captured
/// request can neither be replayed later (the receiver refuses an old timestamp) nor passed off as
/// another delivery. The `v1=` prefix names the scheme: a later scheme adds `v2=…` beside it in the
/// same header, and receivers keep accepting the version they know.
public enum WebhookSignature {
    public static let headerName = "X-Heartbeat-Signature"
    public static let timestampHeaderName = "X-Heartbeat-Timestamp"
    public static let deliveryHeaderName = "X-Heartbeat-Delivery"

    /// The `X-Heartbeat-Signature` value for `body`, sent as delivery `deliveryID` at
    /// `timestampSeconds`, under `secret`.
    public static func header(for body: [UInt8], deliveryID: String, timestampSeconds: Int64, secret: [UInt8]) -> String {
        let message = Array("\(timestampSeconds).\(deliveryID).".utf8) + body
        var digest = [UInt8](repeating: 0, count: 32)
        let ok = secret.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { message in
                digest.withUnsafeMutableBufferPointer { output in
                    hb_hmac_sha256_oneshot(key.baseAddress, key.count, message.baseAddress, message.count, output.baseAddress)
                }
            }
        }
        precondition(ok == 1, "libcrypto HMAC failed")
        return "v1=" + HexDigits.lowercase(bytes: digest)
    }
}
