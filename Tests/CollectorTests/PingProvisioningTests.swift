@testable import Collector
import Testing

/// ``PingProvisioning`` as tables: the parameters a `?create=1` ping may carry, and the budget.
@Suite("Provisioning by ping")
struct PingProvisioningTests {
    /// (parameters, the request, or the parameter the error names).
    static let cases: [([String: Substring], PingProvisioning.Request?, String?)] = [
        (["name": "a"], .init(name: "a", intervalMillis: nil, schedule: nil, graceMillis: 30_000), nil),
        (["name": "a", "interval": "90"], .init(name: "a", intervalMillis: 90_000, schedule: nil, graceMillis: 30_000), nil),
        (["name": "a", "interval": "15m", "grace": "1h"], .init(name: "a", intervalMillis: 900_000, schedule: nil, graceMillis: 3_600_000), nil),
        (["name": "a", "interval": "1d", "grace": "0s"], .init(name: "a", intervalMillis: 86_400_000, schedule: nil, graceMillis: 0), nil),
        (["name": "a", "cron": "@daily"], .init(name: "a", intervalMillis: nil, schedule: ScheduleSpec(cron: "@daily", timeZone: "UTC"), graceMillis: 30_000), nil),
        (["name": "a", "cron": "0 3 * * *", "tz": "Europe/Berlin"],
         .init(name: "a", intervalMillis: nil, schedule: ScheduleSpec(cron: "0 3 * * *", timeZone: "Europe/Berlin"), graceMillis: 30_000), nil),
        ([:], nil, "name"),
        (["name": ""], nil, "name"),
        (["name": "a", "interval": "soon"], nil, "interval"),
        (["name": "a", "interval": "5w"], nil, "interval"),
        (["name": "a", "interval": "-5"], nil, "interval"),
        (["name": "a", "interval": "0"], nil, "interval"),
        (["name": "a", "grace": "1y"], nil, "grace"),
        (["name": "a", "interval": "60", "cron": "@daily"], nil, "interval and cron"),
        (["name": "a", "tz": "UTC"], nil, "tz"),
        (["name": "a", "cron": "61 * * * *"], nil, "cron"),
        (["name": "a", "cron": "@daily", "tz": "Mars/Olympus"], nil, "tz"),
        (["name": "a\u{202E}b"], nil, "name"),
    ]

    @Test("parameters make a request, or an error naming the parameter", arguments: 0..<cases.count)
    func request(_ index: Int) {
        let (parameters, expected, field) = Self.cases[index]
        do {
            let request = try PingProvisioning.request(parameters)
            #expect(request == expected && field == nil, "\(parameters)")
        } catch {
            #expect(expected == nil && field.map { error.description.hasPrefix($0) } == true, "\(parameters): \(error)")
        }
    }

    @Test("the budget allows perMinute creations a minute, then says how long until the window refills")
    func budget() {
        var budget = PingProvisioning.Budget(perMinute: 2)
        let start: Int64 = 1_000_000_000_000
        #expect(budget.take(nowMicros: start) == nil && budget.take(nowMicros: start + 1_000_000) == nil)
        #expect(budget.take(nowMicros: start + 20_000_000) == 40)
        #expect(budget.take(nowMicros: start + 59_999_999) == 1)
        #expect(budget.take(nowMicros: start + 60_000_000) == nil, "a new window")
    }
}
