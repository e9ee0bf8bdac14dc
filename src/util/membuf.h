/* membuf.h - a growing, NUL-terminated byte buffer with a limit: where curl writes an
 * answer that is read whole (S3's XML, the Docker engine's JSON). */
#ifndef SR_UTIL_MEMBUF_H
#define SR_UTIL_MEMBUF_H

#include <stdbool.h>
#include <stddef.h>

struct membuf {
	char *data; /* NULL until something is written; always NUL-terminated after */
	size_t len, cap;
	size_t max;   /* more than this is refused */
	bool too_big; /* something was refused */
};

/* Append `n` bytes; false (and too_big) when the limit would be passed. */
bool membuf_add(struct membuf *b, const void *p, size_t n);

/* A CURLOPT_WRITEFUNCTION for a struct membuf (CURLOPT_WRITEDATA). */
size_t membuf_curl_write(char *p, size_t size, size_t n, void *ctx);

#endif
