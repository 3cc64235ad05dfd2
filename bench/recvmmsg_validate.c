/*
 * The floor of scripts/bench-ingest's ratio (a): bench/recvmmsg_count.c's bare loop plus the least
 * validation any collector must do for an unsigned record, written as lean as C allows, on one
 * thread with nothing else running:
 *   - check the header and find the record's application by UUID (bench/registry_table.h, shared
 *     with bench/recvmmsg_pipeline.c);
 *   - keep the application's anti-replay window (highest sequence + 64-bit map, as
 *     Spec/protocol.md) in a flat array indexed by the application's number.
 * No ring, no second thread, no counters per reason, no instances, no rate budget, no last-seen
 * table, no batch — what it costs per record over the bare loop is what validation alone costs on
 * this machine, and so the least any implementation of the ratio can reach.
 *
 *   recvmmsg_validate PORT UUID_FILE [IDLE_SECONDS] [RCVBUF_BYTES]
 *
 * UUID_FILE holds the registered applications' UUIDs, one per line (as `heartbeat load
 * --print-apps` prints them). Prints one line:
 *   datagrams=N records=R accepted=A rejected=J cpu_user_us=U cpu_sys_us=S
 */
#include "udp_baseline.h"
#include "registry_table.h"

/* One application's anti-replay window. */
struct window {
    uint64_t highest, accepted;
};

static struct window *windows;

/* 1 when the record is accepted, 0 when refused. */
static inline int validate(const unsigned char *record) {
    uint32_t id = registry_validate(record);
    if (!id) return 0;
    uint64_t sequence = load_be64(record + 24);
    struct window *window = &windows[id];
    if (sequence > window->highest) {
        uint64_t advance = sequence - window->highest;
        window->accepted = (advance >= 64 ? 0 : window->accepted << advance) | 1;
        window->highest = sequence;
        return 1;
    }
    uint64_t age = window->highest - sequence;
    if (age >= 64 || (window->accepted >> age) & 1) return 0;
    window->accepted |= 1ull << age;
    return 1;
}

static unsigned long long datagrams = 0, records = 0, accepted = 0;

static void validate_batch(struct baseline_batch batch) {
    datagrams += batch.count;
    for (int i = 0; i < batch.count; i++) {
        unsigned int in_datagram = datagram_records(batch.messages[i].msg_len, &records);
        if (!in_datagram) continue;
        for (unsigned int r = 0; r < in_datagram; r++) registry_prefetch(batch.buffers[i] + r * RECORD);
        for (unsigned int r = 0; r < in_datagram; r++) accepted += validate(batch.buffers[i] + r * RECORD);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT UUID_FILE [IDLE_SECONDS] [RCVBUF_BYTES]\n", argv[0]);
        return 2;
    }
    uint32_t registered = registry_load(argv[2]);
    windows = aligned_alloc(64, ((registered + 1) * sizeof *windows + 63) / 64 * 64);
    memset(windows, 0, (registered + 1) * sizeof *windows);
    int idle = argc > 3 ? atoi(argv[3]) : 2;
    char detail[64];
    snprintf(detail, sizeof detail, " registered=%u", registered);
    int fd = baseline_open(atoi(argv[1]), argc > 4 ? atoi(argv[4]) : 16 << 20, detail);
    struct baseline_cpu cpu = baseline_run(fd, idle, validate_batch);
    printf("datagrams=%llu records=%llu accepted=%llu rejected=%llu cpu_user_us=%lld cpu_sys_us=%lld\n", datagrams, records,
           accepted, records - accepted, cpu.user_us, cpu.sys_us);
    return 0;
}
