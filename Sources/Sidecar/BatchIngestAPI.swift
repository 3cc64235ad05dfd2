import Collector
import Foundation
import Hummingbird
import Protocol

/// `POST /v1/heartbeats`: wire-format records over HTTP, for networks where UDP is blocked. The
/// body is k × 64 bytes (1 ≤ k ≤ 1,024, `application/octet-stream`); each record authenticates
/// itself (HMAC for signed applications), so no admin token. Records are validated and counted
/// exactly like UDP ones and queued for the same drain; replays and records over their
/// application's rate budget are found there, after the answer, and counted in the collector's totals.
enum BatchIngestAPI {
    static let maximumRecords = 1_024

    static func register(on router: Router<BasicRequestContext>, _ shared: SidecarContext) {
        router.post("/v1/heartbeats") { request, _ -> Response in
            // Required, not just checked when present: a browser page's fetch() without a content type
            // (or with text/plain) needs no CORS preflight, so any site a user visits could post here.
            let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "application/octet-stream" else {
                throw APIError(
                    status: .unsupportedMediaType, code: "unsupported_media_type",
                    message: "send Content-Type: application/octet-stream with k × 64-byte records")
            }
            var request = request
            let limit = maximumRecords * WireFormat.recordSize
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: limit)
            } catch {
                throw APIError(status: .contentTooLarge, code: "too_large", message: "at most \(maximumRecords) records (\(limit) bytes) per request")
            }
            let length = buffer.readableBytes
            guard length > 0, length % WireFormat.recordSize == 0 else {
                throw APIError.badRequest("the body must be 1 to \(maximumRecords) records of \(WireFormat.recordSize) bytes; got \(length) bytes")
            }
            let outcome = buffer.readableBytesView.withUnsafeBytes { shared.collector.submitHTTPRecords($0) }
            let rejected = Dictionary(uniqueKeysWithValues: outcome.rejected.map { ($0.key.description, $0.value) })
            return SidecarContext.json(.accepted, APIModels.encode(["received": outcome.received, "accepted": outcome.accepted, "rejected": rejected]))
        }
    }
}
