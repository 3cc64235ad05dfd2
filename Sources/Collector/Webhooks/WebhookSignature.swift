import CSHA256

/// The `X-Heartbeat-Signature` header of a webhook POST: `sha256=` and the lowercase hex
/// HMAC-SHA256 of the exact body under the configured webhook secret. A receiver recomputes it
/// over the bytes it got and compares in constant time.
public enum WebhookSignature {
    public static let headerName = "X-Heartbeat-Signature"

    /// The header value for `body` under `secret`.
    public static func header(for body: [UInt8], secret: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let ok = secret.withUnsafeBufferPointer { key in
            body.withUnsafeBufferPointer { message in
                digest.withUnsafeMutableBufferPointer { output in
                    hb_hmac_sha256_oneshot(key.baseAddress, key.count, message.baseAddress, message.count, output.baseAddress)
                }
            }
        }
        precondition(ok == 1, "libcrypto HMAC failed")
        return "sha256=" + digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
