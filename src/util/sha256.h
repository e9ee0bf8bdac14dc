/* sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), our own small implementation.
 *
 * Used by the rsh agent's challenge-response (runtime/agent.h) and, later, S3 SigV4 signing.
 * Streaming: sha256_init, sha256_update any number of times, sha256_final.  Not constant-time
 * in the length of the input (nothing here needs that); compare MACs with sr_memeq_ct().
 */
#ifndef SR_UTIL_SHA256_H
#define SR_UTIL_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN  64

struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	unsigned char buf[SHA256_BLOCK_LEN];
	size_t used; /* bytes waiting in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_DIGEST_LEN]);
/* One call: out = SHA-256(data). */
void sha256(const void *data, size_t len, unsigned char out[SHA256_DIGEST_LEN]);

struct hmac_sha256 {
	struct sha256 inner;
	struct sha256 outer;
};

void hmac_sha256_init(struct hmac_sha256 *m, const void *key, size_t key_len);
void hmac_sha256_update(struct hmac_sha256 *m, const void *data, size_t len);
/* Writes the MAC and wipes the key material in `m`. */
void hmac_sha256_final(struct hmac_sha256 *m, unsigned char out[SHA256_DIGEST_LEN]);
/* One call: out = HMAC-SHA256(key, data). */
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		 unsigned char out[SHA256_DIGEST_LEN]);

/* Lowercase hex of `len` bytes into `hex` (2*len+1 bytes, NUL-terminated). */
void sr_hex_encode(const unsigned char *bytes, size_t len, char *hex);
/* Parse exactly 2*len hex digits; false on any other input. */
bool sr_hex_decode(const char *hex, unsigned char *bytes, size_t len);
/* Equality of two byte strings in time that depends only on `len`. */
bool sr_memeq_ct(const void *a, const void *b, size_t len);

#endif
