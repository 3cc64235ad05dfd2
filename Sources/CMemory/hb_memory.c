#include "hb_memory.h"

#include <malloc.h>

int hb_release_free_memory(void) {
    return malloc_trim(0);
}

int hb_map_large_allocations(size_t threshold) {
    return mallopt(M_MMAP_THRESHOLD, (int)threshold);
}
