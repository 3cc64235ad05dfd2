#include "hb_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_OK;

/* curl_global_init is not thread-safe: run it exactly once, before any handle exists. */
static void global_init(void) { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* The response body is not needed: count it and let it go. */
static size_t discard(char *data, size_t size, size_t count, void *context) {
    (void)data;
    (void)context;
    return size * count;
}

/* A fresh handle in `*handle` (0), or a libcurl code with its message (libcurl could not start). */
static int new_handle(CURL **handle, char *error_message, size_t error_capacity) {
    pthread_once(&global_init_once, global_init);
    if (error_capacity > 0) error_message[0] = '\0';
    if (global_init_result != CURLE_OK) {
        snprintf(error_message, error_capacity, "curl_global_init: %s", curl_easy_strerror(global_init_result));
        return (int)global_init_result;
    }
    *handle = curl_easy_init();
    if (*handle == NULL) {
        snprintf(error_message, error_capacity, "curl_easy_init failed");
        return (int)CURLE_FAILED_INIT;
    }
    return 0;
}

struct hb_http_client {
    CURL *handle;
};

hb_http_client *hb_http_client_new(void) {
    pthread_once(&global_init_once, global_init);
    if (global_init_result != CURLE_OK) return NULL;
    hb_http_client *client = calloc(1, sizeof(hb_http_client));
    if (client == NULL) return NULL;
    client->handle = curl_easy_init();
    if (client->handle == NULL) {
        free(client);
        return NULL;
    }
    return client;
}

void hb_http_client_free(hb_http_client *client) {
    if (client == NULL) return;
    curl_easy_cleanup(client->handle);
    free(client);
}

/* Sets what every request shares (timeouts, no signals, no redirects, http/https only, the
   answer's body discarded), performs the request already described on `handle`, and reports the
   outcome as the public functions do. */
static int perform_http(CURL *handle, const char *url, long timeout_ms, long *status,
                        char *error_message, size_t error_capacity) {
    char curl_error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  /* no SIGALRM in a multi-threaded process */
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, curl_error);
    CURLcode result = curl_easy_perform(handle);
    if (result == CURLE_OK) {
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, status);
    } else {
        snprintf(error_message, error_capacity, "%s", curl_error[0] ? curl_error : curl_easy_strerror(result));
    }
    /* The buffer lives on this stack frame: unset it so a reused handle never writes to it. */
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, NULL);
    return (int)result;
}

/* One POST on `handle` (fresh or reused): its options are all set again, so nothing of an earlier
   request carries over except the live connection. */
static int post_with(CURL *handle, const char *url, const char *const *headers, size_t header_count,
                     const void *body, size_t body_length, long timeout_ms, long *status,
                     char *error_message, size_t error_capacity) {
    struct curl_slist *list = NULL;
    for (size_t index = 0; index < header_count; index++) list = curl_slist_append(list, headers[index]);
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
    int result = perform_http(handle, url, timeout_ms, status, error_message, error_capacity);
    /* The list is freed now: unset it so a later request on this handle never reads it. */
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    return result;
}

int hb_http_client_post(hb_http_client *client, const char *url, const char *const *headers, size_t header_count,
                        const void *body, size_t body_length, long timeout_ms, long *status,
                        char *error_message, size_t error_capacity) {
    if (error_capacity > 0) error_message[0] = '\0';
    if (client == NULL) {
        snprintf(error_message, error_capacity, "no HTTP client");
        return (int)CURLE_FAILED_INIT;
    }
    return post_with(client->handle, url, headers, header_count, body, body_length, timeout_ms, status, error_message, error_capacity);
}

int hb_http_post(const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, long timeout_ms, long *status,
                 char *error_message, size_t error_capacity) {
    CURL *handle = NULL;
    int failure = new_handle(&handle, error_message, error_capacity);
    if (failure != 0) return failure;
    int result = post_with(handle, url, headers, header_count, body, body_length, timeout_ms, status, error_message, error_capacity);
    curl_easy_cleanup(handle);
    return result;
}

int hb_http_get(const char *url, long timeout_ms, long *status, char *error_message, size_t error_capacity) {
    CURL *handle = NULL;
    int failure = new_handle(&handle, error_message, error_capacity);
    if (failure != 0) return failure;
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "heartbeat-collector");
    int result = perform_http(handle, url, timeout_ms, status, error_message, error_capacity);
    curl_easy_cleanup(handle);
    return result;
}

/* The message libcurl uploads, read from memory in as many pieces as it asks for. */
struct upload {
    const char *data;
    size_t remaining;
};

static size_t read_upload(char *buffer, size_t size, size_t count, void *context) {
    struct upload *upload = context;
    size_t room = size * count;
    size_t length = upload->remaining < room ? upload->remaining : room;
    memcpy(buffer, upload->data, length);
    upload->data += length;
    upload->remaining -= length;
    return length;
}

int hb_smtp_send(const char *url, const char *from, const char *const *recipients, size_t recipient_count,
                 const void *message, size_t message_length, const char *username, const char *password,
                 int require_tls, long timeout_ms, char *error_message, size_t error_capacity) {
    CURL *handle = NULL;
    int failure = new_handle(&handle, error_message, error_capacity);
    if (failure != 0) return failure;
    struct curl_slist *list = NULL;
    for (size_t index = 0; index < recipient_count; index++) list = curl_slist_append(list, recipients[index]);
    struct upload upload = {message, message_length};
    char curl_error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, list);
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, (curl_off_t)message_length);
    curl_easy_setopt(handle, CURLOPT_USE_SSL, require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    if (username != NULL) curl_easy_setopt(handle, CURLOPT_USERNAME, username);
    if (password != NULL) curl_easy_setopt(handle, CURLOPT_PASSWORD, password);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, curl_error);
    CURLcode result = curl_easy_perform(handle);
    if (result != CURLE_OK) {
        snprintf(error_message, error_capacity, "%s", curl_error[0] ? curl_error : curl_easy_strerror(result));
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(handle);
    return (int)result;
}
