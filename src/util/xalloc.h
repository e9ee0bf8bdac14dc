/* xalloc.h - allocation that cannot fail.
 *
 * Running out of memory in a job launcher leaves nothing sensible to do, so, like git's
 * xmalloc(), these abort with a message instead of making every caller handle NULL.
 */
#ifndef SR_UTIL_XALLOC_H
#define SR_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* NULL in, NULL out. */
char *xstrdup_or_null(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *p (an array of *cap elements of `size` bytes) so it holds at least `need`. */
void xgrow(void *p, size_t *cap, size_t need, size_t size);

#endif
