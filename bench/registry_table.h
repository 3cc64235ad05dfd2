/*
 * What the validating receive baselines of scripts/bench-ingest share (bench/recvmmsg_validate.c and
 * bench/recvmmsg_pipeline.c): the least validation of an unsigned record, written as lean as C
 * allows:
 *   - the magic, version and kind bytes, and a sequence number that is not 0;
 *   - the record's application found by UUID in a table of the registered ones (open addressing,
 *     linear probing, 32-byte slots at most half full, multiply-shift hash), whose slots a caller
 *     prefetches for a whole datagram before the first is looked at, so the cache misses overlap.
 * The registered UUIDs come from a file, one per line (as `heartbeat load --print-apps` prints
 * them); application numbers are 1, 2, ... in the file's order.
 */
#ifndef REGISTRY_TABLE_H
#define REGISTRY_TABLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD 64
#define MAGIC 0x4842 /* "HB" */
#define VERSION 1

/* One registered application; id == 0 marks an empty slot. */
struct registry_slot {
    uint64_t high, low;
    uint32_t id, pad;
    uint64_t pad2;
};

static struct registry_slot *registry_slots;
static uint64_t registry_mask, registry_multiplier = 0x9E3779B97F4A7C15ull;
static int registry_shift;

static inline uint64_t load_be64(const unsigned char *bytes) {
    uint64_t value;
    memcpy(&value, bytes, 8);
    return __builtin_bswap64(value);
}

static inline uint32_t load_be32(const unsigned char *bytes) {
    uint32_t value;
    memcpy(&value, bytes, 4);
    return __builtin_bswap32(value);
}

static inline uint64_t registry_slot_of(uint64_t high, uint64_t low) { return ((high ^ low) * registry_multiplier) >> registry_shift; }

static int registry_parse_uuid(const char *text, uint64_t *high, uint64_t *low) {
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

/* Loads the UUIDs in `path` and returns how many (exits with 1 when the file cannot be read). */
static uint32_t registry_load(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) {
        perror(path);
        exit(1);
    }
    size_t lines = 0;
    char line[128];
    while (fgets(line, sizeof line, file)) lines++;
    uint64_t capacity = 16;
    registry_shift = 60;
    while (capacity < 2 * lines) capacity <<= 1, registry_shift--;
    registry_mask = capacity - 1;
    registry_slots = aligned_alloc(64, capacity * sizeof *registry_slots);
    memset(registry_slots, 0, capacity * sizeof *registry_slots);
    rewind(file);
    uint32_t id = 0;
    while (fgets(line, sizeof line, file)) {
        uint64_t high, low;
        if (!registry_parse_uuid(line, &high, &low)) continue;
        uint64_t index = registry_slot_of(high, low);
        while (registry_slots[index].id) index = (index + 1) & registry_mask;
        registry_slots[index] = (struct registry_slot){.high = high, .low = low, .id = ++id};
    }
    fclose(file);
    return id;
}

/* The records in a datagram of `length` bytes, counted into `*records`: a whole number of 64-byte
 * records, or 0 for a malformed datagram (which counts as one rejected record). */
static inline unsigned int datagram_records(unsigned int length, unsigned long long *records) {
    unsigned int count = length % RECORD == 0 ? length / RECORD : 0;
    *records += count ? count : 1;
    return count;
}

/* Starts loading the registry slot of `record`'s UUID. */
static inline void registry_prefetch(const unsigned char *record) {
    __builtin_prefetch(&registry_slots[registry_slot_of(load_be64(record + 4), load_be64(record + 12))]);
}

/* The record's application number when its header is valid and its UUID registered, else 0. */
static inline uint32_t registry_validate(const unsigned char *record) {
    if (record[0] != (MAGIC >> 8) || record[1] != (MAGIC & 0xff) || record[2] != VERSION || record[3] > 4) return 0;
    if (load_be64(record + 24) == 0) return 0;
    uint64_t high = load_be64(record + 4), low = load_be64(record + 12);
    uint64_t index = registry_slot_of(high, low);
    while (registry_slots[index].id && (registry_slots[index].high != high || registry_slots[index].low != low))
        index = (index + 1) & registry_mask;
    return registry_slots[index].id;
}

#endif
