#define _GNU_SOURCE 1
#include "hb_mmsg.h"

#include <stddef.h>
#include <sys/socket.h>

_Static_assert(sizeof(hb_mmsghdr) == sizeof(struct mmsghdr), "hb_mmsghdr must match struct mmsghdr");
_Static_assert(offsetof(hb_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len),
               "hb_mmsghdr.msg_len must sit where struct mmsghdr's does");

int hb_sendmmsg(int fd, hb_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}

int hb_recvmmsg(int fd, hb_mmsghdr *messages, unsigned int count, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)messages, count, flags, NULL);
}

int hb_msg_waitforone(void) {
    return MSG_WAITFORONE;
}
