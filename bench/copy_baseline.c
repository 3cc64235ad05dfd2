/*
 * The storage baseline of scripts/bench-ingest (ratio b): binary-COPYs ROWS rows shaped like the
 * collector's (APPS applications, one instance each, increasing seq, received_at now) into
 * heartbeat_event in batches of BATCH rows over one libpq connection, and prints:
 *   rows=N seconds=S rows_per_second=R
 *
 *   copy_baseline DATABASE_URL ROWS APPS [BATCH]
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const int64_t postgres_epoch_offset_us = 946684800000000LL;

static double now_seconds(void) {
    struct timespec value;
    clock_gettime(CLOCK_MONOTONIC, &value);
    return value.tv_sec + value.tv_nsec / 1e9;
}

static int64_t unix_micros(void) {
    struct timeval value;
    gettimeofday(&value, NULL);
    return (int64_t)value.tv_sec * 1000000 + value.tv_usec;
}

static char *put16(char *p, int16_t v) { uint16_t n = __builtin_bswap16((uint16_t)v); memcpy(p, &n, 2); return p + 2; }
static char *put32(char *p, int32_t v) { uint32_t n = __builtin_bswap32((uint32_t)v); memcpy(p, &n, 4); return p + 4; }
static char *put64(char *p, int64_t v) { uint64_t n = __builtin_bswap64((uint64_t)v); memcpy(p, &n, 8); return p + 8; }

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DATABASE_URL ROWS APPS [BATCH]\n", argv[0]);
        return 2;
    }
    long long rows = atoll(argv[2]);
    int apps = atoi(argv[3]);
    long long batch = argc > 4 ? atoll(argv[4]) : 50000;
    PGconn *connection = PQconnectdb(argv[1]);
    if (PQstatus(connection) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(connection));
        return 1;
    }
    char *body = malloc(19 + batch * 72 + 2);
    long long *sequences = calloc(apps, sizeof *sequences);
    double start = now_seconds();
    long long written = 0, application = 0;
    while (written < rows) {
        long long in_batch = rows - written < batch ? rows - written : batch;
        char *p = body;
        memcpy(p, "PGCOPY\n\377\r\n\0", 11);
        p += 11;
        p = put32(p, 0);
        p = put32(p, 0);
        int64_t received = unix_micros() - postgres_epoch_offset_us;
        for (long long i = 0; i < in_batch; i++) {
            p = put16(p, 7);
            p = put32(p, 4); p = put32(p, (int32_t)(application + 1));
            p = put32(p, 8); p = put64(p, received);
            p = put32(p, 8); p = put64(p, received);
            p = put32(p, 8); p = put64(p, 7);
            p = put32(p, 8); p = put64(p, ++sequences[application]);
            p = put32(p, 2); p = put16(p, 0);
            p = put32(p, 4); p = put32(p, 0);
            application = application + 1 == apps ? 0 : application + 1;
        }
        p = put16(p, -1);
        PGresult *result = PQexec(connection, "COPY heartbeat_event (application_id, received_at, sent_at, instance, seq, kind, status) FROM STDIN (FORMAT binary)");
        if (PQresultStatus(result) != PGRES_COPY_IN) {
            fprintf(stderr, "copy: %s", PQerrorMessage(connection));
            return 1;
        }
        PQclear(result);
        if (PQputCopyData(connection, body, (int)(p - body)) != 1 || PQputCopyEnd(connection, NULL) != 1) {
            fprintf(stderr, "copy data: %s", PQerrorMessage(connection));
            return 1;
        }
        while ((result = PQgetResult(connection)) != NULL) {
            if (PQresultStatus(result) != PGRES_COMMAND_OK) {
                fprintf(stderr, "copy end: %s", PQerrorMessage(connection));
                return 1;
            }
            PQclear(result);
        }
        written += in_batch;
    }
    double seconds = now_seconds() - start;
    printf("rows=%lld seconds=%.3f rows_per_second=%.0f\n", written, seconds, written / seconds);
    PQfinish(connection);
    return 0;
}
