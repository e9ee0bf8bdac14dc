/* cleanup.h - scope-bound cleanup (crun: utils.h; systemd: fd-util.h).
 *
 *   _cleanup_free_ char *p = NULL;      freed on every return
 *   _cleanup_close_ int fd = -1;        closed on every return
 *   h->fd = sr_close(h->fd);            closed now, and marked closed
 *   return TAKE_PTR(p);                 hands ownership out
 */
#ifndef SR_UTIL_CLEANUP_H
#define SR_UTIL_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void sr_freep(void *p)
{
	free(*(void **)p);
}

static inline void sr_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno; /* close() must not clobber the errno we report */
		close(*fd);
		errno = saved;
	}
}

/* Close and return -1, so a field is closed and reset in one statement:
 * `h->fd = sr_close(h->fd);` */
static inline int sr_close(int fd)
{
	sr_closep(&fd);
	return -1;
}

static inline void sr_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f)	 __attribute__((cleanup(f)))
#define _cleanup_free_	 _cleanup_(sr_freep)
#define _cleanup_close_	 _cleanup_(sr_closep)
#define _cleanup_fclose_ _cleanup_(sr_fclosep)

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/* jansson values: `_cleanup_json_ json_t *v = NULL;` */
#define _cleanup_json_ _cleanup_(sr_json_decrefp)
struct json_t;
void sr_json_decrefp(void *p);

#endif
