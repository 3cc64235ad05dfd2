#ifndef HB_MEMORY_H
#define HB_MEMORY_H

#include <stddef.h>

/*
 * Memory helpers Swift cannot reach: glibc's malloc_trim, which Swift's Glibc module does not show
 * (it returns memory that malloc holds but no longer uses to the system; the collector calls it
 * after a transient peak such as loading a registry of a million applications), and the compiler's
 * prefetch hint.
 */

/// Returns 1 when memory was released to the system, 0 otherwise.
int hb_release_free_memory(void);

/// Serves every allocation of `threshold` bytes or more with its own mapping, returned to the
/// system when freed. glibc otherwise raises its threshold after the first such block is freed, so
/// later transient buffers of megabytes (a spooled batch read back, a large SQL statement) stay in
/// a thread's heap and the process's RSS steps up after each peak. Returns 1 on success.
int hb_map_large_allocations(size_t threshold);

/// Maps `bytes` of zeroed memory for a large table read at random (the rollup table); with
/// `huge_pages`, asks the kernel for transparent huge pages (MADV_HUGEPAGE; the hint is ignored
/// where THP is off): one TLB entry then covers 2 MiB instead of 4 KiB, so random lookups in a
/// table of megabytes stop missing the TLB. Returns NULL when the mapping fails. Free with
/// hb_unmap_table.
void *hb_map_table(size_t bytes, int huge_pages);

/// Unmaps what hb_map_table returned (`bytes` as passed to it).
void hb_unmap_table(void *address, size_t bytes);

/// Asks the CPU to start loading the cache line at `address` for writing (a hint; never faults).
/// The ingest drain issues it a few rows ahead, so table lookups overlap instead of queueing.
static inline void hb_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Asks the CPU to start loading the cache line at `address` for reading (a hint; never faults).
/// For tables several threads read and none writes (the registry): a prefetch for writing would
/// take the line away from the other readers' caches.
static inline void hb_prefetch_for_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
