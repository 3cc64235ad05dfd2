#ifndef HB_HTTP_H
#define HB_HTTP_H

/*
 * Blocking HTTP(S) requests and SMTP submissions through libcurl, for notification delivery.
 * Swift cannot call libcurl's variadic curl_easy_setopt, so this shim sets the options and
 * reports the outcome.
 */

#include <stddef.h>

/// Sends `body` (`body_length` bytes) to `url` with the given header lines ("Name: value"),
/// waiting at most `timeout_ms` in all. On a completed exchange returns 0 and sets `*status` to
/// the HTTP status code; on a transport failure returns a non-zero libcurl code and writes its
/// message (NUL-terminated, at most `error_capacity` bytes) to `error_message`. Thread-safe.
int hb_http_post(const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, long timeout_ms, long *status,
                 char *error_message, size_t error_capacity);

/// A reusable libcurl handle: POSTs through it keep their connections alive between calls (one
/// channel's deliveries to one host reuse one TCP/TLS connection). Not thread-safe: one thread at
/// a time per client.
typedef struct hb_http_client hb_http_client;
hb_http_client *hb_http_client_new(void);
void hb_http_client_free(hb_http_client *client);
/// `hb_http_post` through `client`.
int hb_http_client_post(hb_http_client *client, const char *url, const char *const *headers, size_t header_count,
                        const void *body, size_t body_length, long timeout_ms, long *status,
                        char *error_message, size_t error_capacity);

/// Sends a GET to `url` (no body), with the same outcome reporting as `hb_http_post`.
int hb_http_get(const char *url, long timeout_ms, long *status, char *error_message, size_t error_capacity);

/// Submits one message over SMTP: `url` is smtp://host:port or smtps://host:port; `message` is
/// the whole RFC 5322 message (headers, blank line, body, CRLF line ends). STARTTLS is used when
/// the server offers it, and required when `require_tls` is non-zero. `username` and `password`
/// may be NULL (no AUTH). Returns 0 once the server accepted the message for every recipient,
/// else a non-zero libcurl code with its message in `error_message`. Thread-safe.
int hb_smtp_send(const char *url, const char *from, const char *const *recipients, size_t recipient_count,
                 const void *message, size_t message_length, const char *username, const char *password,
                 int require_tls, long timeout_ms, char *error_message, size_t error_capacity);

#endif
