#include "hb_memory.h"

#include <malloc.h>
#include <sys/mman.h>

int hb_release_free_memory(void) {
    return malloc_trim(0);
}

int hb_map_large_allocations(size_t threshold) {
    return mallopt(M_MMAP_THRESHOLD, (int)threshold);
}

void *hb_map_table(size_t bytes, int huge_pages) {
    void *address = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (address == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    if (huge_pages) madvise(address, bytes, MADV_HUGEPAGE);
#endif
    return address;
}

void hb_unmap_table(void *address, size_t bytes) {
    munmap(address, bytes);
}
