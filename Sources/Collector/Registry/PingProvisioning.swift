import Protocol

/// Auto-provisioning by HTTP ping (`Spec/http-ping.md`, "Provisioning"): `/ping/{uuid}?create=1&name=…`
/// with `interval=` or `cron=` (and `tz=`, `grace=`) creates an unsigned application on its first
/// ping, when the collector has a provisioning key and the ping carries it. Pure: the request's
/// parameters become a ``Request`` or an error naming the parameter; the budget decides whether
/// another may be created now.
public enum PingProvisioning {
    /// What to create.
    public struct Request: Sendable, Equatable {
        public var name: String
        public var intervalMillis: Int?
        public var schedule: ScheduleSpec?
        public var graceMillis: Int
    }

    /// Why a provisioning request was refused (a 400 naming the parameter).
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The grace an application gets without `grace=`, ms.
    public static let defaultGraceMillis = 30_000

    /// The request `parameters` describe (`name` required; `interval` or `cron`, not both; `tz`
    /// only with `cron`; durations as `90`, `90s`, `15m`, `2h`, `1d`).
    public static func request(_ parameters: [String: Substring]) throws(Invalid) -> Request {
        guard let name = parameters["name"], !name.isEmpty else { throw Invalid(description: "name: required to create an application") }
        let interval = try parameters["interval"].map { text throws(Invalid) in try milliseconds(text, parameter: "interval") }
        let grace = try parameters["grace"].map { text throws(Invalid) in try milliseconds(text, parameter: "grace") } ?? defaultGraceMillis
        if parameters["tz"] != nil, parameters["cron"] == nil { throw Invalid(description: "tz: goes with cron") }
        if interval != nil, parameters["cron"] != nil { throw Invalid(description: "interval and cron: an application has one or the other") }
        let schedule = parameters["cron"].map { ScheduleSpec(cron: String($0), timeZone: parameters["tz"].map(String.init) ?? "UTC") }
        do throws(StoreError) {
            try ApplicationStore.validate(name: String(name), intervalMillis: interval, graceMillis: grace, maxRunMillis: .none, schedule: schedule)
        } catch {
            if case .invalid(let field, let message) = error {
                let names = ["interval_ms": "interval", "grace_ms": "grace", "schedule": "cron", "schedule.cron": "cron", "schedule.time_zone": "tz"]
                throw Invalid(description: "\(names[field] ?? field): \(message)")
            }
            throw Invalid(description: "\(error)")
        }
        return Request(name: String(name), intervalMillis: interval, schedule: schedule, graceMillis: grace)
    }

    /// `text` as milliseconds: a whole number of seconds, or one followed by `s`, `m`, `h` or `d`.
    static func milliseconds(_ text: Substring, parameter: String) throws(Invalid) -> Int {
        let units: [Character: Int] = ["s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        let (digits, unit) = text.last.flatMap { units[$0] }.map { (text.dropLast(), $0) } ?? (text, 1_000)
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let number = Int(digits), number >= 0 else {
            throw Invalid(description: "\(parameter): \(text.prefix(40)) is not a duration such as 90, 90s, 15m, 2h or 1d")
        }
        return number * unit
    }

    /// How many applications pings may create a minute, as UDP auto-registration does: a window
    /// of `perMinute` creations refilled each minute. A value type: its owner locks it.
    public struct Budget: Sendable {
        public let perMinute: Int
        private var left: Int
        private var windowStartMicros: Int64 = 0

        public init(perMinute: Int) {
            self.perMinute = perMinute
            left = perMinute
        }

        /// Takes one creation at `nowMicros`; nil when taken, else the seconds until the window refills.
        public mutating func take(nowMicros: Int64) -> Int? {
            if nowMicros - windowStartMicros >= 60_000_000 {
                windowStartMicros = nowMicros
                left = perMinute
            }
            guard left > 0 else { return Int((windowStartMicros + 60_000_000 - nowMicros + 999_999) / 1_000_000) }
            left -= 1
            return nil
        }
    }
}
