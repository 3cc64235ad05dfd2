import Collector

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
    /// carry it once at the top).
    static func application(_ application: LiveApplication, view: String?, into text: inout String) {
        let profile = application.profile
        text += "{\"created_at\":"
        timestamp(profile.createdAtMicros == 0 ? nil : profile.createdAtMicros, into: &text)
        text += ",\"enabled\":\(profile.isEnabled),\"grace_ms\":\(profile.graceMillis),\"interval_ms\":\(profile.intervalMillis),\"last_heartbeat\":"
        timestamp(application.lastHeartbeatMicros, into: &text)
        text += ",\"last_run_at\":"
        timestamp(application.lastRun?.endedMicros, into: &text)
        text += ",\"last_run_ms\":"
        text += application.lastRun.map { String($0.durationMicros / 1_000) } ?? "null"
        text += ",\"max_run_ms\":"
        text += profile.maxRunMillis.map(String.init) ?? "null"
        text += ",\"name\":"
        string(profile.name, into: &text)
        text += ",\"next_deadline\":"
        timestamp(application.nextDeadlineMicros, into: &text)
        text += ",\"signed\":\(profile.isSigned),\"since\":"
        timestamp(application.sinceMicros, into: &text)
        text += ",\"status\":\"\(application.status)\",\"uuid\":\"\(profile.uuid)\""
        if let view { text += ",\"view\":\"\(view)\"" }
        text += "}"
    }

    /// `"2026-11-30T03:04:05.123456Z"`, or `null`.
    static func timestamp(_ micros: Int64?, into text: inout String) {
        guard let micros else {
            text += "null"
            return
        }
        text += "\"" + CivilCalendar.rfc3339(micros: micros) + "\""
    }

    /// `value` as a JSON string: quotes, backslashes and control characters escaped (RFC 8259
    /// section 7); everything else as it is, in UTF-8.
    static func string(_ value: String, into text: inout String) {
        text += "\""
        var plain = true
        for byte in value.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            plain = false
            break
        }
        if plain {
            text += value
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                case "\r": text += "\\r"
                case "\t": text += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}
