/* membuf.c - see membuf.h. */
#include "util/membuf.h"

#include <string.h>

#include "util/xalloc.h"

bool membuf_add(struct membuf *b, const void *p, size_t n)
{
	if (b->len + n > b->max) {
		b->too_big = true;
		return false;
	}
	xgrow(&b->data, &b->cap, b->len + n + 1, 1);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

size_t membuf_curl_write(char *p, size_t size, size_t n, void *ctx)
{
	/* Anything but the length written makes curl fail the transfer. */
	return membuf_add(ctx, p, size * n) ? size * n : 0;
}
