import Collector
import Protocol

/// The JSON of the answers that come from memory (`/v1/apps`, `/v1/apps/{uuid}`, `/v1/summary`),
/// written directly with keys in sorted order: these are the hottest routes, and
/// JSONSerialization of one application cost more than the rest of the request.
enum LiveJSON {
    /// What a view holds, as the `view` field says it: `shared` (the Redis hot state is current:
    /// every collector's arrivals), `local` (Redis is configured but unreachable: this collector's
    /// arrivals only), `standalone` (no Redis: this collector is the whole deployment).
    static func viewLabel(_ view: LivenessView) -> String {
        switch view.role {
        case .leader, .follower: "shared"
        case .degraded: "local"
        case .alone, nil: "standalone"
        }
    }

    /// One application, with `view` when given (single-application answers carry it; lists
    /// carry it once at the top), appended to `json` as UTF-8.
    static func application(_ application: LiveApplication, view: String?, into json: inout [UInt8]) {
        let profile = application.profile
        json.append("{\"created_at\":")
        timestamp(profile.createdAtMicros == 0 ? nil : profile.createdAtMicros, into: &json)
        json.append(",\"down_after\":")
        json.append(decimal: Int64(profile.noise.downAfter))
        json.append(profile.isEnabled ? ",\"enabled\":true,\"grace_ms\":" : ",\"enabled\":false,\"grace_ms\":")
        json.append(decimal: Int64(profile.graceMillis))
        json.append(",\"instances\":")
        if let instances = application.instances {
            json.append("{\"counted\":")
            json.append(decimal: Int64(instances.counted))
            json.append(",\"needed\":")
            json.append(decimal: Int64(instances.needed))
            json.append("}")
        } else {
            json.append("null")
        }
        json.append(",\"interval_ms\":")
        if profile.schedule == nil { json.append(decimal: Int64(profile.intervalMillis)) } else { json.append("null") }
        json.append(",\"labels\":{")
        for (index, key) in profile.labels.keys.sorted().enumerated() {
            if index > 0 { json.append(",") }
            string(key, into: &json)
            json.append(":")
            string(profile.labels[key] ?? "", into: &json)
        }
        json.append("},\"last_heartbeat\":")
        timestamp(application.lastHeartbeatMicros, into: &json)
        json.append(",\"last_run_at\":")
        timestamp(application.lastRun?.endedMicros, into: &json)
        json.append(",\"last_run_ms\":")
        if let run = application.lastRun { json.append(decimal: Int64(run.durationMicros / 1_000)) } else { json.append("null") }
        json.append(",\"max_run_ms\":")
        if let maximum = profile.maxRunMillis { json.append(decimal: Int64(maximum)) } else { json.append("null") }
        json.append(",\"min_instances\":")
        json.append(decimal: Int64(profile.noise.minInstances))
        json.append(",\"name\":")
        string(profile.name, into: &json)
        json.append(",\"next_deadline\":")
        timestamp(application.nextDeadlineMicros, into: &json)
        json.append(",\"next_expected_at\":")
        timestamp(nextExpected(application), into: &json)
        json.append(",\"remind_every_ms\":")
        if let remind = profile.noise.remindEveryMillis { json.append(decimal: Int64(remind)) } else { json.append("null") }
        json.append(",\"schedule\":")
        if let schedule = profile.schedule {
            json.append("{\"cron\":")
            string(schedule.expression.text, into: &json)
            json.append(",\"description\":")
            string(schedule.words, into: &json)
            json.append(",\"time_zone\":")
            string(schedule.zone.identifier, into: &json)
            json.append("}")
        } else {
            json.append("null")
        }
        json.append(profile.isSigned ? ",\"signed\":true,\"silence_id\":" : ",\"signed\":false,\"silence_id\":")
        if let silence = application.silenceID { json.append(decimal: Int64(silence)) } else { json.append("null") }
        json.append(",\"since\":")
        timestamp(application.sinceMicros, into: &json)
        json.append(",\"status\":\"")
        json.append(contentsOf: application.status.description.utf8)
        json.append("\",\"up_after\":")
        json.append(decimal: Int64(profile.noise.upAfter))
        json.append(",\"uuid\":\"")
        json.append(contentsOf: profile.uuid.description.utf8)
        json.append("\"")
        if let view {
            json.append(",\"view\":\"")
            json.append(contentsOf: view.utf8)
            json.append("\"")
        }
        json.append("}")
    }

    /// When the next record is expected: the last heartbeat + the interval, or the schedule's first
    /// fire time after the last heartbeat; nil before the first heartbeat and while paused.
    static func nextExpected(_ application: LiveApplication) -> Int64? {
        guard application.status != .paused, let last = application.lastHeartbeatMicros else { return nil }
        return application.profile.expectation.nextExpected(afterArrivalMicros: last)
    }

    /// `"2026-11-30T03:04:05.123456Z"`, or `null`.
    static func timestamp(_ micros: Int64?, into json: inout [UInt8]) {
        guard let micros else {
            json.append("null")
            return
        }
        json.append("\"")
        json.append(contentsOf: CivilCalendar.rfc3339(micros: micros).utf8)
        json.append("\"")
    }

    /// `value` as a JSON string: quotes, backslashes and control characters escaped (RFC 8259
    /// section 7); everything else as it is, in UTF-8.
    static func string(_ value: String, into json: inout [UInt8]) {
        json.append("\"")
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json.append("\\\"")
            case UInt8(ascii: "\\"): json.append("\\\\")
            case UInt8(ascii: "\n"): json.append("\\n")
            case UInt8(ascii: "\r"): json.append("\\r")
            case UInt8(ascii: "\t"): json.append("\\t")
            case 0..<0x20:
                json.append("\\u00")
                json.append(contentsOf: HexDigits.lowercase(bytes: [byte]).utf8)
            default: json.append(byte)
            }
        }
        json.append("\"")
    }
}

extension [UInt8] {
    /// Appends a literal's UTF-8 bytes.
    mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Appends `value` in decimal.
    mutating func append(decimal value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }
}
