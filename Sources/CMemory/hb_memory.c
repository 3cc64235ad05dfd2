#include "hb_memory.h"

#include <malloc.h>

int hb_release_free_memory(void) {
    return malloc_trim(0);
}
