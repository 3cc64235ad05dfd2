import Collector
import Testing

/// The kernel-drop reading behind `heartbeat_udp_kernel_drops_total`.
@Suite("Kernel UDP drops (/proc/net/udp)")
struct KernelUDPDropsTests {
    static let table = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
         7238: 0100007F:1CF3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 803377 2 0000000056da08f7 17
         7239: 0100007F:1CF3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 803378 2 0000000056da08f8 5
         7240: 0100007F:1CF4 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 803379 2 0000000056da08f9 1000
        """

    @Test("sums the drops column of every socket on the port (SO_REUSEPORT) and only those")
    func parse() {
        #expect(KernelUDPDrops.drops(in: Self.table, port: 0x1CF3) == 22)
        #expect(KernelUDPDrops.drops(in: Self.table, port: 0x1CF4) == 1_000)
        #expect(KernelUDPDrops.drops(in: Self.table, port: 7) == 0)
        #expect(KernelUDPDrops.drops(in: "garbage\nnot a table line", port: 0x1CF3) == 0)
    }
}
