/*
 * The bare baseline of scripts/bench-ingest (ratio a): receives UDP datagrams with recvmmsg into
 * preallocated buffers and counts them (and 64-byte records), nothing else. Exits after `idle`
 * seconds without traffic, or on SIGTERM, and prints one line:
 *   datagrams=N records=R cpu_user_us=U cpu_sys_us=S
 * CPU is this process's own (getrusage), from the first datagram on.
 *
 *   recvmmsg_count PORT [IDLE_SECONDS] [RCVBUF_BYTES]
 */
#include "udp_baseline.h"

static unsigned long long datagrams = 0, records = 0;

static void count_batch(struct baseline_batch batch) {
    datagrams += batch.count;
    for (int i = 0; i < batch.count; i++) records += batch.messages[i].msg_len / 64;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [IDLE_SECONDS] [RCVBUF_BYTES]\n", argv[0]);
        return 2;
    }
    int idle = argc > 2 ? atoi(argv[2]) : 2;
    int fd = baseline_open(atoi(argv[1]), argc > 3 ? atoi(argv[3]) : 16 << 20, "");
    struct baseline_cpu cpu = baseline_run(fd, idle, count_batch);
    printf("datagrams=%llu records=%llu cpu_user_us=%lld cpu_sys_us=%lld\n", datagrams, records, cpu.user_us, cpu.sys_us);
    return 0;
}
