#ifndef HB_HTTP_H
#define HB_HTTP_H

/*
 * One blocking HTTP(S) POST through libcurl, for webhook delivery. Swift cannot call libcurl's
 * variadic curl_easy_setopt, so this shim sets the options and reports the outcome.
 */

#include <stddef.h>

/// Sends `body` (`body_length` bytes) to `url` with the given header lines ("Name: value"),
/// waiting at most `timeout_ms` in all. On a completed exchange returns 0 and sets `*status` to
/// the HTTP status code; on a transport failure returns a non-zero libcurl code and writes its
/// message (NUL-terminated, at most `error_capacity` bytes) to `error_message`. Thread-safe.
int hb_http_post(const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, long timeout_ms, long *status,
                 char *error_message, size_t error_capacity);

#endif
