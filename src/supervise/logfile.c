#include "supervise/logfile.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

#define READ_CHUNK 65536

int logfile_ts_open(const char *path, int log_fd)
{
	_cleanup_free_ char *ts = xasprintf("%s" LOGFILE_TS_SUFFIX, path);
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
	uint64_t lines = 0;
	struct stat sb, tb;
	char buf[READ_CHUNK];
	off_t off = 0;
	ssize_t n;
	int fd;

	if (fstat(log_fd, &sb) < 0)
		return -1;
	if (sb.st_size == 0)
		return open(ts, flags | O_TRUNC, 0600);
	while ((n = pread(log_fd, buf, sizeof(buf), off)) > 0) {
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))); p++)
			lines++;
		off += n;
	}
	fd = open(ts, flags & ~O_CREAT);
	if (fd >= 0 && (fstat(fd, &tb) < 0 || (uint64_t)tb.st_size != lines * sizeof(uint64_t))) {
		close(fd);
		return -1;
	}
	return fd;
}

int logfile_ts_append(int ts_fd, int64_t time_ms)
{
	uint64_t le = htole64((uint64_t)time_ms);
	ssize_t n;

	do
		n = write(ts_fd, &le, sizeof(le));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(le) ? 0 : -ENOSPC;
}

int logfile_reader_open(struct logfile_reader *r, const char *path, struct sr_error *err)
{
	_cleanup_free_ char *ts = xasprintf("%s" LOGFILE_TS_SUFFIX, path);

	memset(r, 0, sizeof(*r));
	r->ts_fd = -1;
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0)
		return sr_err_errno(err, errno, "open log '%s'", path);
	r->ts_fd = open(ts, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	r->ts_path = TAKE_PTR(ts);
	return 0;
}

void logfile_reader_close(struct logfile_reader *r)
{
	sr_closep(&r->fd);
	sr_closep(&r->ts_fd);
	free(r->ts_path);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = r->ts_fd = -1;
}

static int64_t time_of(struct logfile_reader *r, uint64_t line)
{
	uint64_t le;

	/* The supervisor makes the .ts just after the .log, before any line: a reader that came
	 * in between finds it by the first whole line. */
	if (r->ts_fd < 0 && !r->ts_retried && r->ts_path) {
		r->ts_retried = true;
		r->ts_fd = open(r->ts_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (r->ts_fd < 0 ||
	    pread(r->ts_fd, &le, sizeof(le), (off_t)(line * sizeof(le))) != (ssize_t)sizeof(le))
		return 0;
	return (int64_t)le64toh(le);
}

/* Read more of the file; 0 at the current end, > 0 bytes read, < 0 error. */
static ssize_t fill(struct logfile_reader *r)
{
	ssize_t n;

	if (r->consumed) {
		memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
		r->len -= r->consumed;
		r->consumed = 0;
	}
	xgrow(&r->buf, &r->cap, r->len + READ_CHUNK + 1, 1);
	do
		n = read(r->fd, r->buf + r->len, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	r->len += (size_t)n;
	return n;
}

int logfile_reader_next(struct logfile_reader *r, const char **line, size_t *len, int64_t *time_ms)
{
	for (;;) {
		char *start = r->buf ? r->buf + r->consumed : NULL;
		char *nl = start ? memchr(start, '\n', r->len - r->consumed) : NULL;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			*line = start;
			*len = (size_t)(nl - start);
			*time_ms = time_of(r, r->line);
			r->line++;
			r->consumed += *len + 1;
			return 1;
		}
		n = fill(r);
		if (n <= 0)
			return (int)n;
	}
}

int logfile_reader_tail(struct logfile_reader *r, uint64_t n)
{
	uint64_t total = 0, skip;
	char buf[READ_CHUNK];
	off_t off = 0;
	ssize_t got;

	/* Count the whole lines there now, then read past all but the last n of them. */
	while ((got = pread(r->fd, buf, sizeof(buf), off)) > 0) {
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))); p++)
			total++;
		off += got;
	}
	if (got < 0)
		return -errno;
	skip = total > n ? total - n : 0;
	while (skip--) {
		const char *line;
		size_t len;
		int64_t t;
		int r2 = logfile_reader_next(r, &line, &len, &t);

		if (r2 <= 0)
			return r2;
	}
	return 0;
}
