/*
 * The floor of scripts/bench-ingest's ratio (a): bench/recvmmsg_count.c's bare loop plus the least
 * validation any collector must do for an unsigned record, written as lean as C allows, on one
 * thread with nothing else running:
 *   - check the magic, version and kind bytes and that the sequence number is not 0;
 *   - find the record's application by UUID in a table of the registered ones (open addressing,
 *     linear probing, 32-byte slots at most half full, multiply-shift hash; every record's slot of
 *     a datagram prefetched before the first is looked at, so the cache misses overlap);
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

#include <stdint.h>

#define RECORD 64
#define MAGIC 0x4842 /* "HB" */
#define VERSION 1

/* One registered application; id == 0 marks an empty slot. */
struct slot {
    uint64_t high, low;
    uint32_t id, pad;
    uint64_t pad2;
};

/* One application's anti-replay window. */
struct window {
    uint64_t highest, accepted;
};

static struct slot *slots;
static uint64_t slot_mask, multiplier = 0x9E3779B97F4A7C15ull;
static int shift;
static struct window *windows;

static inline uint64_t load_be64(const unsigned char *bytes) {
    uint64_t value;
    memcpy(&value, bytes, 8);
    return __builtin_bswap64(value);
}

static inline uint64_t slot_of(uint64_t high, uint64_t low) { return ((high ^ low) * multiplier) >> shift; }

static int parse_uuid(const char *text, uint64_t *high, uint64_t *low) {
    unsigned char bytes[16];
    int count = 0;
    for (const char *p = text; *p && count < 16; p++) {
        if (*p == '-') continue;
        unsigned int value;
        if (sscanf(p, "%2x", &value) != 1) return 0;
        bytes[count++] = (unsigned char)value;
        p++;
    }
    if (count != 16) return 0;
    *high = load_be64(bytes);
    *low = load_be64(bytes + 8);
    return 1;
}

static uint32_t load_registry(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) {
        perror(path);
        exit(1);
    }
    size_t lines = 0;
    char line[128];
    while (fgets(line, sizeof line, file)) lines++;
    uint64_t capacity = 16;
    shift = 60;
    while (capacity < 2 * lines) capacity <<= 1, shift--;
    slot_mask = capacity - 1;
    slots = aligned_alloc(64, capacity * sizeof *slots);
    memset(slots, 0, capacity * sizeof *slots);
    windows = aligned_alloc(64, (lines + 1) * sizeof *windows);
    memset(windows, 0, (lines + 1) * sizeof *windows);
    rewind(file);
    uint32_t id = 0;
    while (fgets(line, sizeof line, file)) {
        uint64_t high, low;
        if (!parse_uuid(line, &high, &low)) continue;
        uint64_t index = slot_of(high, low);
        while (slots[index].id) index = (index + 1) & slot_mask;
        slots[index] = (struct slot){.high = high, .low = low, .id = ++id};
    }
    fclose(file);
    return id;
}

/* 1 when the record is accepted, 0 when refused. */
static inline int validate(const unsigned char *record) {
    if (record[0] != (MAGIC >> 8) || record[1] != (MAGIC & 0xff) || record[2] != VERSION || record[3] > 4) return 0;
    uint64_t sequence = load_be64(record + 24);
    if (sequence == 0) return 0;
    uint64_t high = load_be64(record + 4), low = load_be64(record + 12);
    uint64_t index = slot_of(high, low);
    while (slots[index].id && (slots[index].high != high || slots[index].low != low)) index = (index + 1) & slot_mask;
    uint32_t id = slots[index].id;
    if (!id) return 0;
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
        unsigned int length = batch.messages[i].msg_len;
        if (length == 0 || length % RECORD != 0) {
            records += 1;
            continue;
        }
        unsigned int in_datagram = length / RECORD;
        records += in_datagram;
        for (unsigned int r = 0; r < in_datagram; r++) {
            const unsigned char *record = batch.buffers[i] + r * RECORD;
            __builtin_prefetch(&slots[slot_of(load_be64(record + 4), load_be64(record + 12))]);
        }
        for (unsigned int r = 0; r < in_datagram; r++) accepted += validate(batch.buffers[i] + r * RECORD);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT UUID_FILE [IDLE_SECONDS] [RCVBUF_BYTES]\n", argv[0]);
        return 2;
    }
    uint32_t registered = load_registry(argv[2]);
    int idle = argc > 3 ? atoi(argv[3]) : 2;
    char detail[64];
    snprintf(detail, sizeof detail, " registered=%u", registered);
    int fd = baseline_open(atoi(argv[1]), argc > 4 ? atoi(argv[4]) : 16 << 20, detail);
    struct baseline_cpu cpu = baseline_run(fd, idle, validate_batch);
    printf("datagrams=%llu records=%llu accepted=%llu rejected=%llu cpu_user_us=%lld cpu_sys_us=%lld\n", datagrams, records,
           accepted, records - accepted, cpu.user_us, cpu.sys_us);
    return 0;
}
