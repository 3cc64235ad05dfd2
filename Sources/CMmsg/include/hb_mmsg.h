#ifndef HB_MMSG_H
#define HB_MMSG_H

/*
 * sendmmsg/recvmmsg for Swift. Glibc declares them (and struct mmsghdr) only under _GNU_SOURCE,
 * which Swift's Glibc module does not see; this header declares a layout-identical struct and
 * wrappers, and hb_mmsg.c (compiled with _GNU_SOURCE) checks the layout and calls the real ones.
 */

#include <sys/socket.h>
#include <sys/types.h>

/// The same layout as glibc's `struct mmsghdr` (checked at compile time in hb_mmsg.c).
typedef struct {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} hb_mmsghdr;

/// sendmmsg(2): sends up to `count` datagrams in one system call; returns how many were sent,
/// or -1 with errno set.
int hb_sendmmsg(int fd, hb_mmsghdr *messages, unsigned int count, int flags);

/// recvmmsg(2) without a timeout: receives up to `count` datagrams; returns how many, or -1 with
/// errno set.
int hb_recvmmsg(int fd, hb_mmsghdr *messages, unsigned int count, int flags);

/// MSG_WAITFORONE, which Swift imports as an untyped macro.
int hb_msg_waitforone(void);

#endif
