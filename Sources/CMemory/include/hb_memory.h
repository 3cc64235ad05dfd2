#ifndef HB_MEMORY_H
#define HB_MEMORY_H

/*
 * glibc's malloc_trim, which Swift's Glibc module does not show: returns memory that malloc holds
 * but no longer uses to the system. The collector calls it after a transient peak (loading a
 * registry of a million applications) so that its resident size reflects what it keeps.
 */

/// Returns 1 when memory was released to the system, 0 otherwise.
int hb_release_free_memory(void);

#endif
