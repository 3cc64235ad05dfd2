#include "hb_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
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

int hb_http_post(const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, long timeout_ms, long *status,
                 char *error_message, size_t error_capacity) {
    pthread_once(&global_init_once, global_init);
    if (error_capacity > 0) error_message[0] = '\0';
    if (global_init_result != CURLE_OK) {
        snprintf(error_message, error_capacity, "curl_global_init: %s", curl_easy_strerror(global_init_result));
        return (int)global_init_result;
    }
    CURL *handle = curl_easy_init();
    if (handle == NULL) {
        snprintf(error_message, error_capacity, "curl_easy_init failed");
        return (int)CURLE_FAILED_INIT;
    }
    struct curl_slist *list = NULL;
    for (size_t index = 0; index < header_count; index++) list = curl_slist_append(list, headers[index]);
    char curl_error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
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
    curl_slist_free_all(list);
    curl_easy_cleanup(handle);
    return (int)result;
}
