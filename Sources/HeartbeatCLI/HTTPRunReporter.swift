import Collector
import Foundation
import Protocol

/// `heartbeat run --http-endpoint`: the job's start and end as HTTP pings (`Spec/http-ping.md`)
/// instead of UDP records, paired by a run id of their own, the end carrying the captured output.
struct HTTPRunReporter {
    let base: String
    let application: ApplicationUUID
    /// `Authorization: Bearer <ping key>` for a signed application.
    let headers: [String]
    /// Pairs this run's start with its end when runs of the job overlap.
    let runKey = String(UInt64.random(in: .min ... .max), radix: 16)

    /// A reporter for `base` (`http://host:port`, as the sidecar listens), signing with `secret`'s
    /// ping key when there is one.
    init(base: String, application: ApplicationUUID, secret: ApplicationSecret?) throws {
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw UsageError("--http-endpoint / HEARTBEAT_HTTP_ENDPOINT: \(base) is not an http:// or https:// address")
        }
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.application = application
        headers = ["Content-Type: text/plain; charset=utf-8"] + (secret.map { ["Authorization: Bearer \(PingKey.hex(for: $0))"] } ?? [])
    }

    /// Sends the start; nil when it was taken, else what went wrong.
    func start() -> String? {
        send("start", body: [])
    }

    /// Sends the end with `exitStatus` (0-255) and the output, when captured.
    func end(exitStatus: Int32, output: CapturedOutput?) -> String? {
        send(String(min(max(exitStatus, 0), 255)), body: output.map { Array($0.storedText.utf8) } ?? [])
    }

    /// POSTs `/ping/{uuid}/{action}?rid=…`, up to 3 times a second apart while the answer is a
    /// transport failure, a 429 or a 5xx (as `curl --retry 3`).
    private func send(_ action: String, body: [UInt8]) -> String? {
        let url = "\(base)/ping/\(application)/\(action)?rid=\(runKey)"
        var failure: String?
        for attempt in 0..<3 {
            if attempt > 0 { sleep(1) }
            failure = MessageTransport.send(.post(url: url, headers: headers, body: body), timeoutMillis: 10_000)
            guard let failure, failure.hasPrefix("transport") || failure.hasPrefix("HTTP 5") || failure == "HTTP 429" else { return failure }
        }
        return failure
    }
}
