/// Prometheus text exposition (format 0.0.4), written by hand: our counters are lock-free atomics
/// and our histograms are pre-bucketed (``Collector/LatencyHistogram``), which a client library
/// could only export by replaying every observation. Each family gets its `# HELP` and `# TYPE`
/// once, then its samples.
struct PrometheusText {
    private(set) var text = ""

    /// A counter family: one sample per label set (`_total` is part of `name`).
    mutating func counter(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: UInt64)]) {
        family(name, help, "counter")
        for sample in samples { line(name, sample.labels, String(sample.value)) }
    }

    mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
        counter(name, help, [([], value)])
    }

    /// A gauge family.
    mutating func gauge(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
        family(name, help, "gauge")
        for sample in samples { line(name, sample.labels, Self.number(sample.value)) }
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        gauge(name, help, [([], value)])
    }

    /// A histogram family: cumulative `_bucket{le=…}` samples, `+Inf`, `_sum` and `_count`.
    mutating func histogram(_ name: String, _ help: String, bounds: [Double], bucketCounts: [UInt64], sum: Double) {
        family(name, help, "histogram")
        var cumulative: UInt64 = 0
        for (index, bound) in bounds.enumerated() {
            cumulative += bucketCounts[index]
            line(name + "_bucket", [("le", Self.number(bound))], String(cumulative))
        }
        cumulative += bucketCounts[bounds.count]
        line(name + "_bucket", [("le", "+Inf")], String(cumulative))
        line(name + "_sum", [], Self.number(sum))
        line(name + "_count", [], String(cumulative))
    }

    private mutating func family(_ name: String, _ help: String, _ type: String) {
        text += "# HELP \(name) \(help.prometheusEscaped(escapingQuotes: false))\n# TYPE \(name) \(type)\n"
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\($0.1.prometheusEscaped(escapingQuotes: true))\"" }.joined(separator: ",") + "}"
        }
        text += " " + value + "\n"
    }

    /// A sample value: integers without a fraction, others in Swift's shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

extension String {
    /// The text exposition format's escaping: a backslash and a newline always (HELP text and
    /// label values), a double quote only in label values (`escapingQuotes`).
    fileprivate func prometheusEscaped(escapingQuotes: Bool) -> String {
        var result = ""
        for character in self {
            switch character {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\"" where escapingQuotes: result += "\\\""
            default: result.append(character)
            }
        }
        return result
    }
}
