/*
 * The bare baseline of scripts/bench-ingest (ratio a): receives UDP datagrams with recvmmsg into
 * preallocated buffers and counts them (and 64-byte records), nothing else. Exits after `idle`
 * seconds without traffic, or on SIGTERM, and prints one line:
 *   datagrams=N records=R cpu_user_us=U cpu_sys_us=S
 * CPU is this process's own (getrusage), from the first datagram on.
 *
 *   recvmmsg_count PORT [IDLE_SECONDS] [RCVBUF_BYTES]
 */
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

#define BATCH 64
#define DATAGRAM 1024

static volatile sig_atomic_t stop = 0;
static void on_signal(int signal) { (void)signal; stop = 1; }

static long long micros(struct timeval value) { return (long long)value.tv_sec * 1000000 + value.tv_usec; }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [IDLE_SECONDS] [RCVBUF_BYTES]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int idle = argc > 2 ? atoi(argv[2]) : 2;
    int buffer_size = argc > 3 ? atoi(argv[3]) : 16 << 20;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size);
    struct timeval timeout = {.tv_sec = 0, .tv_usec = 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = inet_addr("127.0.0.1");
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("bind");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);

    static char buffers[BATCH][DATAGRAM];
    struct iovec vectors[BATCH];
    struct mmsghdr messages[BATCH];
    memset(messages, 0, sizeof messages);
    for (int i = 0; i < BATCH; i++) {
        vectors[i].iov_base = buffers[i];
        vectors[i].iov_len = DATAGRAM;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned long long datagrams = 0, records = 0;
    struct rusage start_usage;
    int started = 0, quiet_polls = 0;
    while (!stop) {
        int count = recvmmsg(fd, messages, BATCH, MSG_WAITFORONE, NULL);
        if (count <= 0) {
            if (started && ++quiet_polls >= idle * 10) break;
            continue;
        }
        if (!started) {
            getrusage(RUSAGE_SELF, &start_usage);
            started = 1;
        }
        quiet_polls = 0;
        datagrams += count;
        for (int i = 0; i < count; i++) records += messages[i].msg_len / 64;
    }
    struct rusage end_usage;
    getrusage(RUSAGE_SELF, &end_usage);
    long long user = started ? micros(end_usage.ru_utime) - micros(start_usage.ru_utime) : 0;
    long long sys = started ? micros(end_usage.ru_stime) - micros(start_usage.ru_stime) : 0;
    printf("datagrams=%llu records=%llu cpu_user_us=%lld cpu_sys_us=%lld\n", datagrams, records, user, sys);
    return 0;
}
