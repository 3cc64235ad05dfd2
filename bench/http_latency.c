/*
 * A minimal keep-alive HTTP/1.1 client for scripts/bench-sidecar: sends GET requests over one
 * connection, one at a time, and prints each request's latency in microseconds with its path
 * index, so the benchmark measures the server and loopback rather than a scripting language's
 * HTTP library.
 *
 *   http_latency PORT COUNT SEED PATH...     (paths chosen at random, seeded; stdout: "index micros status")
 *
 * Responses must carry Content-Length (the sidecar's do). Loopback only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_micros(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return time.tv_sec * 1e6 + time.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s PORT COUNT SEED PATH...\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    long count = atol(argv[2]);
    srand((unsigned)atoi(argv[3]));
    int paths = argc - 4;
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(client, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("connect");
        return 1;
    }
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static char response[1 << 20];
    char request[4096];
    for (long index = 0; index < count; index++) {
        int choice = rand() % paths;
        int length = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", argv[4 + choice]);
        double started = now_micros();
        if (write(client, request, (size_t)length) != length) {
            perror("write");
            return 1;
        }
        size_t have = 0;
        long body = -1;
        size_t header_end = 0;
        int status = 0;
        for (;;) {
            ssize_t got = read(client, response + have, sizeof response - have - 1);
            if (got <= 0) {
                fprintf(stderr, "connection closed\n");
                return 1;
            }
            have += (size_t)got;
            response[have] = 0;
            if (body < 0) {
                char *end = strstr(response, "\r\n\r\n");
                if (!end) continue;
                header_end = (size_t)(end - response) + 4;
                status = atoi(response + 9);
                char *length_field = strcasestr(response, "\r\nContent-Length:");
                body = length_field && length_field < end ? atol(length_field + 17) : 0;
            }
            if (have >= header_end + (size_t)body) break;
        }
        printf("%d %.1f %d\n", choice, now_micros() - started, status);
        /* Keep-alive: nothing may follow the response (one request in flight). */
    }
    close(client);
    return 0;
}
