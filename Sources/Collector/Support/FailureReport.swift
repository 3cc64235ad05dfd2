/// When to say on standard error that a retried failure happened: the first one at once, then at
/// most one line per ``intervalMicros``, carrying how many more happened since. A database that
/// fails every tick then writes a line every half minute, not ten a second, and the operator who
/// sees a failure counter move (`heartbeat_monitor_failures_total`,
/// `heartbeat_notification_database_failures_total`) can read why. One per component.
struct FailureReport {
    /// The shortest time between two lines.
    static let intervalMicros: Int64 = 30_000_000

    private var lastReportMicros: Int64?
    private var unreported = 0

    /// A failure at `nowMicros`: returns how many failures before it went unreported when it is to
    /// be reported now, or nil when it waits for the next line.
    mutating func failed(atMicros nowMicros: Int64) -> Int? {
        if let last = lastReportMicros, nowMicros - last < Self.intervalMicros {
            unreported += 1
            return nil
        }
        defer { unreported = 0 }
        lastReportMicros = nowMicros
        return unreported
    }

    /// The line for a failure of `operation` in `component`, saying when it is tried again and
    /// naming the failures that went unreported before it.
    static func line(
        _ component: String, _ operation: String, _ error: some Error, unreported: Int, retried: String = "retried next tick"
    ) -> String {
        let since = unreported > 0 ? " (\(unreported) more since the last line)" : ""
        return "heartbeat: \(component): \(operation) failed, \(retried)\(since): \(error)\n"
    }
}
