/*
 * Pre-keyed HMAC-SHA256 over one 48-byte message; see include/hb_hmac_sha256.h.
 *
 * Why the low-level SHA256_Transform: OpenSSL 3 marks it deprecated in favour of EVP, but the EVP
 * and HMAC_CTX paths cost 3-6x more per 48-byte record (context copies, dispatch), which is the
 * whole budget of the receive path. The function still exists in every OpenSSL 3.x; if a future
 * OpenSSL drops it, this file is the only place to change.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "hb_hmac_sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

_Static_assert(sizeof(hb_hmac_sha256_key) == 64, "a pre-keyed state is two 32-byte chaining values");

static void store_be32(uint8_t *out, uint32_t value) {
    out[0] = (uint8_t)(value >> 24);
    out[1] = (uint8_t)(value >> 16);
    out[2] = (uint8_t)(value >> 8);
    out[3] = (uint8_t)value;
}

/// Chaining value after compressing one 64-byte block from SHA-256's initial state.
static void chain_after_first_block(const uint8_t block[64], uint32_t out[8]) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Transform(&context, block);
    memcpy(out, context.h, sizeof(context.h));
    OPENSSL_cleanse(&context, sizeof(context));
}

void hb_hmac_sha256_key_init(hb_hmac_sha256_key *key, const uint8_t *secret, size_t length) {
    uint8_t padded_key[64] = {0};
    if (length > 64) {
        SHA256(secret, length, padded_key);
    } else if (length > 0) {
        memcpy(padded_key, secret, length);
    }
    uint8_t inner_pad[64];
    uint8_t outer_pad[64];
    for (int i = 0; i < 64; i++) {
        inner_pad[i] = padded_key[i] ^ 0x36;
        outer_pad[i] = padded_key[i] ^ 0x5c;
    }
    chain_after_first_block(inner_pad, key->inner);
    chain_after_first_block(outer_pad, key->outer);
    OPENSSL_cleanse(padded_key, sizeof(padded_key));
    OPENSSL_cleanse(inner_pad, sizeof(inner_pad));
    OPENSSL_cleanse(outer_pad, sizeof(outer_pad));
}

void hb_hmac_sha256_tag48(const hb_hmac_sha256_key *key, const uint8_t *message48, uint8_t *tag16) {
    SHA256_CTX context;
    uint8_t block[64];

    /* Inner hash: after the 64-byte pad block, the 48-byte message fits one final block with its
     * padding: 0x80, zeros, then the total length in bits, (64 + 48) * 8 = 896 = 0x0380. */
    memcpy(block, message48, 48);
    memset(block + 48, 0, 16);
    block[48] = 0x80;
    block[62] = 0x03;
    block[63] = 0x80;
    memcpy(context.h, key->inner, sizeof(context.h));
    SHA256_Transform(&context, block);

    /* Outer hash: the 32-byte inner digest, padded; total length (64 + 32) * 8 = 768 = 0x0300. */
    for (int i = 0; i < 8; i++) {
        store_be32(block + 4 * i, context.h[i]);
    }
    memset(block + 32, 0, 32);
    block[32] = 0x80;
    block[62] = 0x03;
    memcpy(context.h, key->outer, sizeof(context.h));
    SHA256_Transform(&context, block);

    for (int i = 0; i < 4; i++) {
        store_be32(tag16 + 4 * i, context.h[i]);
    }
}

int hb_hmac_sha256_verify48(const hb_hmac_sha256_key *key, const uint8_t *message48, const uint8_t *tag16) {
    uint8_t expected[16];
    hb_hmac_sha256_tag48(key, message48, expected);
    /* Constant time: OR together every difference, decide once at the end. */
    uint8_t difference = 0;
    for (int i = 0; i < 16; i++) {
        difference |= (uint8_t)(expected[i] ^ tag16[i]);
    }
    return difference == 0;
}

int hb_hmac_sha256_reference(const uint8_t *secret, size_t secret_length,
                             const uint8_t *message, size_t message_length, uint8_t *digest32) {
    return hb_hmac_sha256_oneshot(secret, secret_length, message, message_length, digest32);
}

int hb_hmac_sha256_oneshot(const uint8_t *secret, size_t secret_length,
                           const uint8_t *message, size_t message_length, uint8_t *digest32) {
    unsigned int digest_length = 0;
    unsigned char *result = HMAC(EVP_sha256(), secret, (int)secret_length, message, message_length,
                                 digest32, &digest_length);
    return result != NULL && digest_length == 32;
}
