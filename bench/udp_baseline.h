/*
 * What the receive baselines of scripts/bench-ingest share (bench/recvmmsg_count.c and
 * bench/recvmmsg_validate.c): a UDP socket on 127.0.0.1:PORT, one recvmmsg loop into
 * preallocated buffers that hands each batch to the program's own `on_batch`, and the process's CPU
 * time from the first datagram on. The loop ends after `idle` seconds without traffic, or on
 * SIGTERM/SIGINT.
 */
#ifndef UDP_BASELINE_H
#define UDP_BASELINE_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BASELINE_BATCH 64
#define BASELINE_DATAGRAM 1024

/* One recvmmsg batch: `count` datagrams, datagram i at buffers[i], messages[i].msg_len long. */
struct baseline_batch {
    unsigned char (*buffers)[BASELINE_DATAGRAM];
    struct mmsghdr *messages;
    int count;
};

/* CPU time of the process (user, system) spent from the first datagram to the end, in µs. */
struct baseline_cpu {
    long long user_us, sys_us;
};

static volatile sig_atomic_t baseline_stop = 0;
static void baseline_on_signal(int signal) { (void)signal; baseline_stop = 1; }
static long long baseline_micros(struct timeval value) { return (long long)value.tv_sec * 1000000 + value.tv_usec; }

/* Binds the socket (receive buffer `buffer_size`, 100 ms read timeout), prints "ready" (with
 * `ready_detail` after it) and returns it; exits with 1 when the port cannot be bound. */
static int baseline_open(int port, int buffer_size, const char *ready_detail) {
    signal(SIGTERM, baseline_on_signal);
    signal(SIGINT, baseline_on_signal);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size);
    struct timeval timeout = {.tv_sec = 0, .tv_usec = 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = inet_addr("127.0.0.1");
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("bind");
        exit(1);
    }
    printf("ready%s\n", ready_detail);
    fflush(stdout);
    return fd;
}

/* Reads `fd` until `idle` quiet seconds or a signal, calling `on_batch` for every batch received,
 * and returns the CPU time spent. Static and called once, so the compiler inlines it into main and
 * the handler into it: the loop costs what it would written out. */
static inline struct baseline_cpu baseline_run(int fd, int idle, void (*on_batch)(struct baseline_batch)) {
    static unsigned char buffers[BASELINE_BATCH][BASELINE_DATAGRAM];
    struct iovec vectors[BASELINE_BATCH];
    struct mmsghdr messages[BASELINE_BATCH];
    memset(messages, 0, sizeof messages);
    for (int i = 0; i < BASELINE_BATCH; i++) {
        vectors[i].iov_base = buffers[i];
        vectors[i].iov_len = BASELINE_DATAGRAM;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    struct rusage start, end;
    int started = 0, quiet_polls = 0;
    while (!baseline_stop) {
        int count = recvmmsg(fd, messages, BASELINE_BATCH, MSG_WAITFORONE, NULL);
        if (count <= 0) {
            if (started && ++quiet_polls >= idle * 10) break;
            continue;
        }
        if (!started) {
            getrusage(RUSAGE_SELF, &start);
            started = 1;
        }
        quiet_polls = 0;
        on_batch((struct baseline_batch){.buffers = buffers, .messages = messages, .count = count});
    }
    if (!started) return (struct baseline_cpu){0, 0};
    getrusage(RUSAGE_SELF, &end);
    return (struct baseline_cpu){baseline_micros(end.ru_utime) - baseline_micros(start.ru_utime),
                                 baseline_micros(end.ru_stime) - baseline_micros(start.ru_stime)};
}

#endif
