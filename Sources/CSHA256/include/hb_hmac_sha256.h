#ifndef HB_HMAC_SHA256_H
#define HB_HMAC_SHA256_H

/*
 * Pre-keyed HMAC-SHA256 for the heartbeat tag (wire format v1, Spec/protocol.md).
 *
 * HMAC(K, m) = SHA256((K0 ^ opad) || SHA256((K0 ^ ipad) || m)). Both pad blocks depend only on
 * the key, so their SHA-256 chaining values are computed once per key and kept (64 bytes a key).
 * A 48-byte record prefix then costs exactly two SHA-256 block compressions and no allocation.
 * The block function is libcrypto's, which uses the SHA extensions of the CPU where present.
 */

#include <stddef.h>
#include <stdint.h>

/// The two SHA-256 chaining values left after the key's inner and outer pad blocks.
typedef struct {
    uint32_t inner[8];
    uint32_t outer[8];
} hb_hmac_sha256_key;

/// Derives the pre-keyed state for `secret` (any length; keys over 64 bytes are hashed first,
/// as RFC 2104 says).
void hb_hmac_sha256_key_init(hb_hmac_sha256_key *key, const uint8_t *secret, size_t length);

/// Writes the first 16 bytes of HMAC-SHA256(key, message[0..<48]) to `tag16`.
void hb_hmac_sha256_tag48(const hb_hmac_sha256_key *key, const uint8_t *message48, uint8_t *tag16);

/// Whether `tag16` equals the first 16 bytes of HMAC-SHA256(key, message[0..<48]); compared in
/// constant time. Returns 1 when it does, 0 otherwise.
int hb_hmac_sha256_verify48(const hb_hmac_sha256_key *key, const uint8_t *message48, const uint8_t *tag16);

/// Reference HMAC-SHA256 through libcrypto's one-shot `HMAC()`, for tests that cross-check the
/// pre-keyed path. Writes 32 bytes; returns 1 on success, 0 on failure.
int hb_hmac_sha256_reference(const uint8_t *secret, size_t secret_length,
                             const uint8_t *message, size_t message_length, uint8_t *digest32);

/// HMAC-SHA256 of a message of any length through libcrypto's one-shot `HMAC()` (webhook
/// signatures: not a hot path). Writes 32 bytes; returns 1 on success, 0 on failure.
int hb_hmac_sha256_oneshot(const uint8_t *secret, size_t secret_length,
                           const uint8_t *message, size_t message_length, uint8_t *digest32);

#endif
