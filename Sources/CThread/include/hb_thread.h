#ifndef HB_THREAD_H
#define HB_THREAD_H

/*
 * Thread scheduling Swift cannot reach: Linux keeps a nice value per thread, set through
 * setpriority(PRIO_PROCESS, <thread id>, …), and the thread id (gettid) is not in Swift's Glibc
 * module.
 */

/// Sets the calling thread's nice value (0 normal, up to 19 lowest): the kernel then gives the
/// other threads the CPU first when it is short. Returns 0 on success, -1 otherwise.
int hb_set_thread_niceness(int niceness);

#endif
