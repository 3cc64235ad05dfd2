import CHTTP
import Foundation

/// Sends an ``OutboundMessage`` (blocking, through libcurl): the shell around the kinds' pure
/// message building. Redirects are not followed.
public enum MessageTransport {
    /// A libcurl handle kept between POSTs, so one channel's messages reuse one connection. One
    /// thread at a time (a delivery lane owns it).
    final class HTTPClient {
        fileprivate let handle: OpaquePointer?

        init() { handle = hb_http_client_new() }
        deinit { hb_http_client_free(handle) }
    }

    /// nil when the message was taken (a 2xx answer; SMTP accepted it), else what went wrong.
    /// POSTs go through `client` when one is given (its connection is reused), else a new handle.
    public static func send(_ message: OutboundMessage, timeoutMillis: Int) -> String? {
        send(message, timeoutMillis: timeoutMillis, client: nil)
    }

    static func send(_ message: OutboundMessage, timeoutMillis: Int, client: HTTPClient?) -> String? {
        var text = [CChar](repeating: 0, count: 512)
        func error() -> String { String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        switch message {
        case .post(let url, let headers, let body):
            var status = 0
            let result = withCStrings(headers) { headerPointers in
                body.withUnsafeBytes { bytes in
                    text.withUnsafeMutableBufferPointer { buffer in
                        if let client {
                            hb_http_client_post(
                                client.handle, url, headerPointers, headers.count, bytes.baseAddress, bytes.count, timeoutMillis, &status,
                                buffer.baseAddress, buffer.count)
                        } else {
                            hb_http_post(url, headerPointers, headers.count, bytes.baseAddress, bytes.count, timeoutMillis, &status, buffer.baseAddress, buffer.count)
                        }
                    }
                }
            }
            if result != 0 { return "transport: " + error() }
            return (200..<300).contains(status) ? nil : "HTTP \(status)"
        case .email(let email):
            let recipients = email.recipients.map { "<\($0)>" }
            let result = withCStrings(recipients) { recipientPointers in
                email.message.withUnsafeBytes { bytes in
                    text.withUnsafeMutableBufferPointer { buffer in
                        hb_smtp_send(
                            email.serverURL, "<\(email.from)>", recipientPointers, recipients.count, bytes.baseAddress, bytes.count,
                            email.username, email.password, email.requireTLS ? 1 : 0, timeoutMillis, buffer.baseAddress, buffer.count)
                    }
                }
            }
            return result == 0 ? nil : "smtp: " + error()
        }
    }

    /// GETs `url`; nil on a 2xx answer, else what went wrong (the self-ping).
    public static func get(_ url: String, timeoutMillis: Int) -> String? {
        var text = [CChar](repeating: 0, count: 512)
        var status = 0
        let result = text.withUnsafeMutableBufferPointer { hb_http_get(url, timeoutMillis, &status, $0.baseAddress, $0.count) }
        if result != 0 { return "transport: " + String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return (200..<300).contains(status) ? nil : "HTTP \(status)"
    }

    private static func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
