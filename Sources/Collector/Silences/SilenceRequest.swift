import Protocol

/// A silence as an operator asks for it, field by field (`POST /v1/silences`, `heartbeat silence
/// add`): one selector (`all`, `apps`, `labels` or `namePrefix`) and one window (`from`/`until`,
/// or `cron` with `durationMillis` and a time zone). ``silence(nowMicros:)`` checks it and builds
/// the value, with errors that name the field.
public struct SilenceRequest: Sendable {
    public var all = false
    public var apps: [String]?
    public var labels: [String: String]?
    public var namePrefix: String?
    /// Unix µs; absent: now.
    public var fromMicros: Int64?
    public var untilMicros: Int64?
    public var cron: String?
    public var durationMillis: Int64?
    /// The cron's IANA time zone; absent: UTC.
    public var timeZone: String?
    public var comment = ""

    public init() {}

    /// The silence asked for, or the first thing wrong with the request.
    public func silence(nowMicros: Int64) throws(StoreError) -> Silence {
        let selectors = [all ? "all" : nil, apps.map { _ in "apps" }, labels.map { _ in "labels" }, namePrefix.map { _ in "name_prefix" }].compactMap { $0 }
        guard selectors.count == 1 else {
            throw .invalid("selector", "exactly one of all, apps, labels or name_prefix; got \(selectors.isEmpty ? "none" : selectors.joined(separator: ", "))")
        }
        let selector: Silence.Selector
        if all {
            selector = .all
        } else if let apps {
            var uuids = Set<ApplicationUUID>()
            for text in apps {
                guard let uuid = ApplicationUUID(text) else { throw .invalid("apps", "\"\(text.prefix(64))\" is not a UUID") }
                uuids.insert(uuid)
            }
            selector = .applications(uuids)
        } else if let labels {
            selector = .labels(labels)
        } else {
            selector = .namePrefix(namePrefix ?? "")
        }
        let window: Silence.Window
        if let cron {
            if fromMicros != nil || untilMicros != nil { throw .invalid("cron", "a recurring silence has cron and duration_ms, not from or until") }
            guard let durationMillis else { throw .invalid("duration_ms", "required with cron: how long each occurrence lasts") }
            let spec = ScheduleSpec(cron: cron, timeZone: timeZone ?? "UTC")
            let schedule: CronSchedule
            switch spec.parsed() {
            case .success(let parsed): schedule = parsed
            case .failure(.invalid(let field, let message)): throw .invalid(field == "schedule.cron" ? "cron" : "time_zone", message)
            case .failure(let error): throw error
            }
            window = .recurring(schedule, durationMicros: durationMillis.multipliedReportingOverflow(by: 1_000).partialValue)
        } else {
            if durationMillis != nil || timeZone != nil { throw .invalid("duration_ms", "goes with cron; a one-off silence has from and until") }
            guard let untilMicros else { throw .invalid("until", "required: when the silence ends (or give cron and duration_ms)") }
            window = .between(fromMicros: fromMicros ?? nowMicros, untilMicros: untilMicros)
        }
        let silence = Silence(id: 0, selector: selector, window: window, comment: comment)
        if let (field, message) = SilenceStore.problem(silence, nowMicros: nowMicros) { throw .invalid(field, message) }
        return silence
    }
}
