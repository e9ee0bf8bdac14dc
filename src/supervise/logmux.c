/* logmux.c - the hosts' output: lines, prefixes, log files, tails.
 *
 * Every line goes out as ONE write() of "algo-N | <line>\n", so lines of different hosts
 * never interleave or split on the terminal, and as one write() of "<line>\n" to the host's
 * log file (O_APPEND).  Lines longer than SUP_LINE_MAX are cut into pieces of SUP_LINE_MAX
 * bytes; every piece but the last ends with SUP_SPLIT_MARKER, so nothing is lost and the
 * memory per stream stays bounded whatever a host prints.
 */
#include "supervise/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

/* A tail line is only ever used inside a FailureReason, which is 1024 characters at most. */
#define TAIL_LINE_MAX 1024
#define MARKER_LEN    (sizeof(SUP_SPLIT_MARKER) - 1)

/* Distinct and readable on dark and light terminals; repeats after 12 hosts. */
static const char *const colors[] = {"36", "33", "32", "35", "34", "31",
				     "96", "93", "92", "95", "94", "91"};

static int write_full(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* Someone made the terminal non-blocking: wait until it takes more. */
			struct pollfd pf = {.fd = fd, .events = POLLOUT};

			(void)poll(&pf, 1, -1);
			continue;
		}
		if (w < 0)
			return -errno;
		if (w == 0)
			return -ENOSPC;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void sup_sink_init(struct sup_sink *s, int out_fd, int err_fd)
{
	memset(s, 0, sizeof(*s));
	s->fd[SUP_STDOUT] = out_fd;
	s->fd[SUP_STDERR] = err_fd;
	s->scratch_cap = sizeof(((struct sup_log *)0)->prefix) + SUP_LINE_MAX + MARKER_LEN + 1;
	s->scratch = xmalloc(s->scratch_cap);
}

void sup_sink_release(struct sup_sink *s)
{
	free(s->scratch);
	s->scratch = NULL;
	s->scratch_cap = 0;
}

void sup_sink_note(struct sup_sink *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (s->fd[SUP_STDERR] < 0 || s->broken[SUP_STDERR])
		return;
	memcpy(buf, "sagerun: ", 9);
	va_start(ap, fmt);
	n = vsnprintf(buf + 9, sizeof(buf) - 10, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = 9 + (n < (int)sizeof(buf) - 10 ? n : (int)sizeof(buf) - 11);
	buf[n++] = '\n';
	if (write_full(s->fd[SUP_STDERR], buf, (size_t)n) < 0)
		s->broken[SUP_STDERR] = true;
}

int sup_log_open(struct sup_log *lg, struct sup_sink *sink, const char *name, size_t width,
		 size_t index, bool color, const char *log_dir, struct sr_error *err)
{
	int n;

	memset(lg, 0, sizeof(*lg));
	lg->sink = sink;
	lg->file_fd = -1;
	snprintf(lg->name, sizeof(lg->name), "%s", name);
	if (width > sizeof(lg->name) - 1)
		width = sizeof(lg->name) - 1;
	if (color)
		n = snprintf(lg->prefix, sizeof(lg->prefix), "\033[%sm%-*s |\033[0m ",
			     colors[index % (sizeof(colors) / sizeof(colors[0]))], (int)width,
			     name);
	else
		n = snprintf(lg->prefix, sizeof(lg->prefix), "%-*s | ", (int)width, name);
	lg->prefix_len = (size_t)n < sizeof(lg->prefix) ? (size_t)n : sizeof(lg->prefix) - 1;
	if (!log_dir)
		return 0;
	lg->file_path = xasprintf("%s/%s.log", log_dir, name);
	lg->file_fd =
	    open(lg->file_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lg->file_fd < 0)
		return sr_err(err, -errno, "open log file '%s': %s", lg->file_path,
			      strerror(errno));
	return 0;
}

void sup_log_close(struct sup_log *lg)
{
	sr_closep(&lg->file_fd);
	lg->file_fd = -1;
	free(lg->file_path);
	lg->file_path = NULL;
	for (size_t i = 0; i < SUP_TAIL_LINES; i++) {
		free(lg->tail[i]);
		lg->tail[i] = NULL;
	}
	lg->tail_n = lg->tail_next = 0;
}

static void tail_push(struct sup_log *lg, const char *line, size_t len)
{
	free(lg->tail[lg->tail_next]);
	lg->tail[lg->tail_next] = xstrndup(line, len < TAIL_LINE_MAX ? len : TAIL_LINE_MAX);
	lg->tail_next = (lg->tail_next + 1) % SUP_TAIL_LINES;
	if (lg->tail_n < SUP_TAIL_LINES)
		lg->tail_n++;
}

void sup_log_line(struct sup_log *lg, enum sup_stream_kind k, const char *line, size_t len,
		  bool split)
{
	struct sup_sink *s = lg->sink;
	size_t mlen = split ? MARKER_LEN : 0;
	char *p = s->scratch, *body = s->scratch + lg->prefix_len;
	size_t body_len;
	int r;

	/* Callers never pass more; cut here too rather than overflow the scratch buffer. */
	while (len > SUP_LINE_MAX) {
		sup_log_line(lg, k, line, SUP_LINE_MAX, true);
		line += SUP_LINE_MAX;
		len -= SUP_LINE_MAX;
	}
	memcpy(p, lg->prefix, lg->prefix_len);
	memcpy(body, line, len);
	memcpy(body + len, SUP_SPLIT_MARKER, mlen);
	body[len + mlen] = '\n';
	body_len = len + mlen + 1;

	/* A closed terminal (EPIPE) must not stop the job: its output still goes to the log. */
	if (s->fd[k] >= 0 && !s->broken[k] && write_full(s->fd[k], p, lg->prefix_len + body_len))
		s->broken[k] = true;
	if (lg->file_fd >= 0) {
		r = write_full(lg->file_fd, body, body_len);
		if (r < 0) {
			/* A full disk should not kill a training job; say so once and go on. */
			sup_sink_note(s,
				      "%s: cannot write '%s': %s; the rest of its output is not "
				      "logged there",
				      lg->name, lg->file_path, strerror(-r));
			sr_closep(&lg->file_fd);
			lg->file_fd = -1;
		}
	}
	tail_push(lg, line, len);
}

char *sup_log_tail(const struct sup_log *lg, size_t max)
{
	size_t total = 0, count, pos = 0;
	char *out;

#define TAIL_AT(k) lg->tail[(lg->tail_next + SUP_TAIL_LINES - 1 - (k)) % SUP_TAIL_LINES]
	if (!lg->tail_n || !max)
		return NULL;
	for (count = 0; count < lg->tail_n; count++) {
		size_t need = strlen(TAIL_AT(count)) + (count ? 1 : 0);

		if (total + need > max)
			break;
		total += need;
	}
	if (!count)
		return xstrndup(TAIL_AT(0), max);
	out = xmalloc(total + 1);
	for (size_t k = count; k-- > 0;) {
		size_t n = strlen(TAIL_AT(k));

		memcpy(out + pos, TAIL_AT(k), n);
		pos += n;
		if (k)
			out[pos++] = '\n';
	}
	out[pos] = '\0';
	return out;
#undef TAIL_AT
}

void sup_lines_init(struct sup_lines *sl, void (*emit)(void *, const char *, size_t, bool),
		    void *ctx)
{
	sl->buf = xmalloc(SUP_LINE_MAX + 1);
	sl->len = 0;
	sl->emit = emit;
	sl->ctx = ctx;
}

void sup_lines_release(struct sup_lines *sl)
{
	free(sl->buf);
	sl->buf = NULL;
	sl->len = 0;
}

char *sup_lines_space(struct sup_lines *sl, size_t *ret_avail)
{
	*ret_avail = SUP_LINE_MAX + 1 - sl->len;
	return sl->buf + sl->len;
}

void sup_lines_commit(struct sup_lines *sl, size_t n)
{
	/* What was there before has no '\n' (it would have been emitted): search the new part. */
	size_t start = 0, from = sl->len;
	char *nl;

	sl->len += n;
	while ((nl = memchr(sl->buf + from, '\n', sl->len - from))) {
		size_t end = (size_t)(nl - sl->buf);

		sl->emit(sl->ctx, sl->buf + start, end - start, false);
		start = from = end + 1;
	}
	/* Only a full buffer without '\n' gets here with more than SUP_LINE_MAX bytes left:
	 * the line is longer than SUP_LINE_MAX, so this piece is not its end. */
	if (sl->len - start > SUP_LINE_MAX) {
		sl->emit(sl->ctx, sl->buf + start, SUP_LINE_MAX, true);
		start += SUP_LINE_MAX;
	}
	if (start) {
		memmove(sl->buf, sl->buf + start, sl->len - start);
		sl->len -= start;
	}
}

void sup_lines_feed(struct sup_lines *sl, const char *data, size_t n)
{
	while (n) {
		size_t avail;
		char *space = sup_lines_space(sl, &avail);
		size_t take = n < avail ? n : avail;

		memcpy(space, data, take);
		sup_lines_commit(sl, take);
		data += take;
		n -= take;
	}
}

void sup_lines_flush(struct sup_lines *sl)
{
	if (sl->len)
		sl->emit(sl->ctx, sl->buf, sl->len, false);
	sl->len = 0;
}
