import Foundation

/// Datagrams the kernel dropped before the collector could read them (socket buffer full), from
/// the `drops` column of `/proc/net/udp` and `/proc/net/udp6` for the sockets bound to a port.
/// These never reach a receiver, so no collector counter can see them; this is how an operator
/// does. With SO_REUSEPORT, every socket on the port counts (other collectors sharing it too).
public enum KernelUDPDrops {
    /// Total drops of the sockets bound to `port` (0 where /proc is not available).
    public static func total(port: UInt16) -> UInt64 {
        ["/proc/net/udp", "/proc/net/udp6"].reduce(0) { sum, path in
            sum + ((try? String(contentsOfFile: path, encoding: .utf8)).map { drops(in: $0, port: port) } ?? 0)
        }
    }

    /// Sums the `drops` column of the lines of a `/proc/net/udp`-format `table` whose local port is
    /// `port` (the hex after the colon of `local_address`; the drops column is the last).
    public static func drops(in table: String, port: UInt16) -> UInt64 {
        var total: UInt64 = 0
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 13, let colon = fields[1].lastIndex(of: ":"),
                UInt16(fields[1][fields[1].index(after: colon)...], radix: 16) == port, let drops = UInt64(fields[fields.count - 1])
            else { continue }
            total += drops
        }
        return total
    }
}
