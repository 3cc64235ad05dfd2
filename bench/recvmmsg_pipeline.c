/*
 * The architecture floor of scripts/bench-ingest's ratio (a): the shape issue 3 prescribes for the
 * collector — a receiver thread that validates and pushes rows into its own bounded
 * single-producer/single-consumer ring, and one drain thread that keeps the per-application state
 * the receivers must not race on — written as lean as C allows:
 *   - the receiver (the main thread): bench/udp_baseline.h's recvmmsg loop and
 *     bench/registry_table.h's validation (header, registry lookup by UUID, prefetched a datagram
 *     at a time); each accepted record becomes a 48-byte row (the collector's HeartbeatRow) pushed
 *     into a ring of 262,144 rows (a full ring is counted, never waited on);
 *   - the drain thread: naps 4 ms, then takes every row in the ring and, for each, updates one
 *     64-byte line of state per application (prefetched 8 rows ahead): the anti-replay window
 *     (highest sequence + 64-bit map of the latest instance), the rate budget (1,000 records/s,
 *     burst 10,000: the collector's defaults) and the last-seen time, seq and instance for a
 *     monitor.
 * Less than the collector does (no counters per reason, no statistics, one instance per
 * application, no growth of the tables), so what it costs over the bare loop is the least this
 * architecture can cost on this machine.
 *
 * With STATE "receiver", the other place that state could live: the receiver keeps it instead,
 * before pushing, under a per-application spin lock in the same line (what several receivers
 * reaching one application's state would need), and the drain only frees the ring.
 *
 *   recvmmsg_pipeline PORT UUID_FILE [IDLE_SECONDS] [RCVBUF_BYTES] [STATE: drain (default) | receiver]
 *
 * Prints one line (CPU of both threads, from the first datagram to the drain's end):
 *   datagrams=N records=R accepted=A rejected=J overload=O cpu_user_us=U cpu_sys_us=S
 */
#include "udp_baseline.h"
#include "registry_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define RING_ROWS (1 << 18)
#define PREFETCH_ROWS 8
#define NAP_MICROS 4000
#define RATE_INTERVAL_NANOS 1000000LL      /* 1,000 records/s */
#define RATE_TOLERANCE_NANOS (9999 * RATE_INTERVAL_NANOS) /* burst 10,000 */

/* An accepted record on its way to storage (the layout of the collector's HeartbeatRow). */
struct row {
    int32_t application;
    uint8_t kind;
    uint32_t instance;
    uint64_t sequence;
    int64_t received_micros, sent_micros;
    int32_t status;
    uint32_t interval_millis;
};

/* The state of one application: one cache line. `lock` is only used with the state in the receiver. */
struct application_state {
    _Atomic uint32_t lock;
    uint32_t pad0;
    uint64_t instance, highest, accepted;
    int64_t arrival_nanos;
    _Atomic int64_t last_received_micros;
    _Atomic uint64_t last_sequence;
    _Atomic uint32_t last_instance;
    uint32_t pad1;
};

static struct row *ring;
/* Rows pushed (receiver) and taken (drain), each on its own cache line. */
static _Alignas(64) _Atomic uint64_t ring_head;
static _Alignas(64) _Atomic uint64_t ring_tail;
static _Alignas(64) uint64_t receiver_tail_seen;
static struct application_state *states;
static _Atomic int drain_stop;
static int state_in_receiver;
static unsigned long long datagrams, records, overload, drain_accepted;

/* 1 when `row` is new in its application's window and within its budget; records it as last seen. */
static inline int admit(struct application_state *state, const struct row *row) {
    if (state->instance != row->instance || state->highest == 0) {
        state->instance = row->instance;
        state->highest = row->sequence;
        state->accepted = 1;
    } else if (row->sequence > state->highest) {
        uint64_t advance = row->sequence - state->highest;
        state->accepted = (advance >= 64 ? 0 : state->accepted << advance) | 1;
        state->highest = row->sequence;
    } else {
        uint64_t age = state->highest - row->sequence;
        if (age >= 64 || (state->accepted >> age) & 1) return 0;
        state->accepted |= 1ull << age;
    }
    int64_t now = row->received_micros * 1000;
    int64_t arrival = state->arrival_nanos > now ? state->arrival_nanos : now;
    if (arrival - now > RATE_TOLERANCE_NANOS) return 0;
    state->arrival_nanos = arrival + RATE_INTERVAL_NANOS;
    atomic_store_explicit(&state->last_sequence, row->sequence, memory_order_relaxed);
    atomic_store_explicit(&state->last_instance, row->instance, memory_order_relaxed);
    atomic_store_explicit(&state->last_received_micros, row->received_micros, memory_order_release);
    return 1;
}

static void *drain(void *unused) {
    (void)unused;
    unsigned long long accepted = 0;
    for (;;) {
        int stopping = atomic_load(&drain_stop);
        uint64_t tail = atomic_load_explicit(&ring_tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&ring_head, memory_order_acquire);
        if (state_in_receiver) accepted += head - tail;
        else for (uint64_t index = tail; index < head; index++) {
            if (index + PREFETCH_ROWS < head) __builtin_prefetch(&states[ring[(index + PREFETCH_ROWS) & (RING_ROWS - 1)].application], 1);
            const struct row *row = &ring[index & (RING_ROWS - 1)];
            accepted += admit(&states[row->application], row);
        }
        atomic_store_explicit(&ring_tail, head, memory_order_release);
        if (head == tail && stopping) break;
        usleep(NAP_MICROS);
    }
    drain_accepted = accepted;
    return NULL;
}

static void receive_batch(struct baseline_batch batch) {
    struct timespec clock;
    clock_gettime(CLOCK_REALTIME, &clock);
    int64_t now = (int64_t)clock.tv_sec * 1000000 + clock.tv_nsec / 1000;
    datagrams += batch.count;
    for (int i = 0; i < batch.count; i++) {
        unsigned int in_datagram = datagram_records(batch.messages[i].msg_len, &records);
        if (!in_datagram) continue;
        for (unsigned int r = 0; r < in_datagram; r++) registry_prefetch(batch.buffers[i] + r * RECORD);
        /* Every record's application first, so that with the state here its lines load together. */
        uint32_t applications[BASELINE_DATAGRAM / RECORD];
        for (unsigned int r = 0; r < in_datagram; r++) {
            applications[r] = registry_validate(batch.buffers[i] + r * RECORD);
            if (state_in_receiver) __builtin_prefetch(&states[applications[r]], 1);
        }
        for (unsigned int r = 0; r < in_datagram; r++) {
            const unsigned char *record = batch.buffers[i] + r * RECORD;
            uint32_t application = applications[r];
            if (!application) continue;
            struct row row = {
                .application = (int32_t)application, .kind = record[3], .instance = load_be32(record + 20),
                .sequence = load_be64(record + 24), .received_micros = now, .sent_micros = (int64_t)load_be64(record + 32),
                .interval_millis = load_be32(record + 40), .status = (int32_t)load_be32(record + 44)};
            if (state_in_receiver) {
                struct application_state *state = &states[application];
                while (atomic_exchange_explicit(&state->lock, 1, memory_order_acquire)) continue;
                int admitted = admit(state, &row);
                atomic_store_explicit(&state->lock, 0, memory_order_release);
                if (!admitted) continue;
            }
            uint64_t head = atomic_load_explicit(&ring_head, memory_order_relaxed);
            if (head - receiver_tail_seen >= RING_ROWS) {
                receiver_tail_seen = atomic_load_explicit(&ring_tail, memory_order_acquire);
                if (head - receiver_tail_seen >= RING_ROWS) {
                    overload += 1;
                    continue;
                }
            }
            ring[head & (RING_ROWS - 1)] = row;
            atomic_store_explicit(&ring_head, head + 1, memory_order_release);
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT UUID_FILE [IDLE_SECONDS] [RCVBUF_BYTES] [drain|receiver]\n", argv[0]);
        return 2;
    }
    state_in_receiver = argc > 5 && strcmp(argv[5], "receiver") == 0;
    uint32_t registered = registry_load(argv[2]);
    states = aligned_alloc(64, (registered + 1) * sizeof *states);
    memset(states, 0, (registered + 1) * sizeof *states);
    ring = aligned_alloc(64, RING_ROWS * sizeof *ring);
    memset(ring, 0, RING_ROWS * sizeof *ring);
    pthread_t drain_thread;
    pthread_create(&drain_thread, NULL, drain, NULL);
    int idle = argc > 3 ? atoi(argv[3]) : 2;
    char detail[64];
    snprintf(detail, sizeof detail, " registered=%u", registered);
    int fd = baseline_open(atoi(argv[1]), argc > 4 ? atoi(argv[4]) : 16 << 20, detail);
    struct baseline_cpu cpu = baseline_run(fd, idle, receive_batch);
    /* The drain's last pass comes after the receive loop's end: its CPU counts too. */
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    atomic_store(&drain_stop, 1);
    pthread_join(drain_thread, NULL);
    getrusage(RUSAGE_SELF, &after);
    cpu.user_us += baseline_micros(after.ru_utime) - baseline_micros(before.ru_utime);
    cpu.sys_us += baseline_micros(after.ru_stime) - baseline_micros(before.ru_stime);
    printf("datagrams=%llu records=%llu accepted=%llu rejected=%llu overload=%llu cpu_user_us=%lld cpu_sys_us=%lld\n", datagrams,
           records, drain_accepted, records - drain_accepted, overload, cpu.user_us, cpu.sys_us);
    return 0;
}
