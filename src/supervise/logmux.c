/* logmux.c - the hosts' output: lines, prefixes, log files, tails.
 *
 * Every line goes to the terminal as ONE record "algo-N | <line>\n", written with one
 * write() or queued whole when the terminal is slow (the rest of a record written in part is
 * the next thing written), so lines of different hosts never interleave or split there; a
 * terminal that does not keep up loses whole lines, with a note, never the loop's time.
 * Every line also goes as one write() of "<line>\n" to the host's log file (O_APPEND).
 * Lines longer than SUP_LINE_MAX are cut into pieces of SUP_LINE_MAX bytes; every piece but
 * the last ends with SUP_SPLIT_MARKER, so nothing is lost and the memory per stream stays
 * bounded whatever a host prints.
 */
#include "supervise/internal.h"
#include "supervise/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xalloc.h"

/* A tail line is only ever used inside a FailureReason, which is 1024 characters at most. */
#define TAIL_LINE_MAX 1024
#define MARKER_LEN    (sizeof(SUP_SPLIT_MARKER) - 1)

/* Distinct and readable on dark and light terminals; repeats after 12 hosts. */
static const char *const colors[] = {"36", "33", "32", "35", "34", "31",
				     "96", "93", "92", "95", "94", "91"};

/* Regular files (and the log files): they take everything unless the disk is full. */
static int write_full(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno; /* EAGAIN too: never wait for it */
		if (w == 0)
			return -ENOSPC;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- sinks --------------------------------------------------------------------------------- */

/* What the dropped-lines note may add above queue_max (sagerun's own notes are never
 * dropped for host lines), and how much one EPOLLOUT event writes before the loop moves on. */
#define NOTE_RESERVE	  (64u << 10)
#define RECORDS_PER_EVENT 1024

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A private non-blocking description of the object `fd` refers to, or -1. */
static int reopen_nonblock(int fd, const struct stat *sb)
{
	char path[64];
	struct stat nsb;
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* O_NOCTTY: a terminal opened by a process without one would become its controlling
	 * terminal. */
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return -1;
	/* /proc could be something else (not mounted, another pid namespace's). */
	if (fstat(nfd, &nsb) < 0 || !same_file(sb, &nsb)) {
		close(nfd);
		return -1;
	}
	return nfd;
}

static void out_init(struct sup_sink *s, struct sup_out *o, int fd, const struct stat *sb)
{
	memset(o, 0, sizeof(*o));
	o->sink = s;
	o->fd = fd;
	o->own_fd = -1;
	o->w.fd = -1;
	if (fd < 0 || !sb)
		return;
	if (S_ISREG(sb->st_mode) || S_ISBLK(sb->st_mode))
		return; /* never blocks: written directly */
	o->queued = true;
	if (S_ISSOCK(sb->st_mode)) {
		o->use_send = true; /* /proc/self/fd/N of a socket cannot be opened (ENXIO) */
		return;
	}
	o->own_fd = reopen_nonblock(fd, sb);
	if (o->own_fd >= 0)
		o->fd = o->own_fd;
}

void sup_sink_init(struct sup_sink *s, int out_fd, int err_fd, const char *log_dir)
{
	struct stat sb[SUP_STREAM_MAX];
	bool ok[SUP_STREAM_MAX];
	int fds[SUP_STREAM_MAX] = {out_fd, err_fd};

	memset(s, 0, sizeof(*s));
	s->log_dir = log_dir;
	s->queue_max = SUP_SINK_QUEUE_MAX;
	s->scratch_cap = sizeof(((struct sup_log *)0)->prefix) + SUP_LINE_MAX + MARKER_LEN + 1;
	s->scratch = xmalloc(s->scratch_cap);
	for (int k = 0; k < SUP_STREAM_MAX; k++)
		ok[k] = fds[k] >= 0 && fstat(fds[k], &sb[k]) == 0;
	for (int k = 0; k < SUP_STREAM_MAX; k++) {
		s->route[k] = k;
		out_init(s, &s->out[k], fds[k], ok[k] ? &sb[k] : NULL);
		/* A closed fd: nothing can be shown there. */
		if (fds[k] >= 0 && !ok[k])
			s->out[k].broken = true;
	}
	/* `2>&1` to a pipe or terminal: two queues would let a stderr line into the middle of a
	 * stdout line that was written in part.  One queue keeps them whole and in order. */
	if (ok[SUP_STDOUT] && ok[SUP_STDERR] && s->out[SUP_STDOUT].queued &&
	    s->out[SUP_STDERR].queued && same_file(&sb[SUP_STDOUT], &sb[SUP_STDERR])) {
		s->out[SUP_STDERR].own_fd = sr_close(s->out[SUP_STDERR].own_fd);
		s->out[SUP_STDERR].fd = -1;
		s->route[SUP_STDERR] = SUP_STDOUT;
	}
}

static void out_release(struct sup_sink *s, struct sup_out *o)
{
	if (s->loop)
		sup_watch_remove(s->loop, &o->w);
	o->own_fd = sr_close(o->own_fd);
	o->fd = -1;
	free(o->q);
	o->q = NULL;
	o->q_head = o->q_len = o->q_cap = 0;
}

void sup_sink_release(struct sup_sink *s)
{
	for (int k = 0; k < SUP_STREAM_MAX; k++)
		out_release(s, &s->out[k]);
	free(s->scratch);
	s->scratch = NULL;
	s->scratch_cap = 0;
}

/* One non-blocking attempt; -1 with errno set as write(). */
static ssize_t out_write(struct sup_out *o, const char *p, size_t n)
{
	ssize_t w;

	do {
		if (o->use_send)
			w = send(o->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(o->fd, p, n);
	} while (w < 0 && errno == EINTR);
	if (w == 0 && n) {
		errno = ENOSPC;
		return -1;
	}
	return w;
}

static void out_break(struct sup_out *o)
{
	/* A closed terminal (EPIPE) must not stop the job: its output still goes to the log. */
	o->broken = true;
	o->q_head = o->q_len = 0;
	o->dropped = 0;
}

static void out_enqueue(struct sup_out *o, const char *p, size_t n)
{
	if (!o->q_len)
		o->q_head = 0;
	if (o->q_head + o->q_len + n > o->q_cap && o->q_head) {
		memmove(o->q, o->q + o->q_head, o->q_len);
		o->q_head = 0;
	}
	if (o->q_len + n > o->q_cap)
		xgrow(&o->q, &o->q_cap, o->q_len + n, 1);
	memcpy(o->q + o->q_head + o->q_len, p, n);
	o->q_len += n;
}

/* Keep EPOLLOUT registered exactly while something waits.  Without a loop (or an fd epoll
 * refuses) lines wait for the next sink_put() or sup_sink_flush(). */
static int on_out(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
		  struct sr_error *err);

static void out_watch(struct sup_out *o)
{
	struct sup_sink *s = o->sink;
	bool want = o->q_len && !o->broken;

	if (!s->loop || want == o->w.active)
		return;
	if (want)
		(void)sup_watch_add(s->loop, &o->w, o->fd, EPOLLOUT, on_out, o, NULL);
	else
		sup_watch_remove(s->loop, &o->w);
}

static void out_drained(struct sup_out *o)
{
	struct sup_sink *s = o->sink;
	char note[512];
	int n;

	if (!o->dropped)
		return;
	if (s->log_dir)
		n = snprintf(note, sizeof(note),
			     "sagerun: output is not being read fast enough; dropped %zu line%s "
			     "(the full logs are in %s)\n",
			     o->dropped, o->dropped == 1 ? "" : "s", s->log_dir);
	else
		n = snprintf(note, sizeof(note),
			     "sagerun: output is not being read fast enough; dropped %zu line%s\n",
			     o->dropped, o->dropped == 1 ? "" : "s");
	o->dropped = 0;
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(note)) {
		n = (int)sizeof(note) - 1;
		note[n - 1] = '\n';
	}
	out_enqueue(o, note, (size_t)n);
}

/* Write queued records, one write() each (a pipe never splits one of PIPE_BUF bytes or less
 * between other writers), at most `budget` of them.  A partial write leaves the rest of the
 * record at the head: it goes out next, before anything else. */
static void out_flush(struct sup_out *o, size_t budget)
{
	while (o->q_len && !o->broken && budget--) {
		const char *head = o->q + o->q_head;
		const char *nl = memchr(head, '\n', o->q_len);
		size_t n = nl ? (size_t)(nl - head) + 1 : o->q_len;
		ssize_t w = out_write(o, head, n);

		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0) {
			out_break(o);
			break;
		}
		o->q_head += (size_t)w;
		o->q_len -= (size_t)w;
		if (!o->q_len)
			out_drained(o); /* queues the note, if lines were dropped */
		if ((size_t)w < n)
			break; /* full for now: EPOLLOUT says when there is room */
	}
	out_watch(o);
}

static int on_out(struct sup_loop *loop, struct sup_watch *w, uint32_t events, struct sr_error *err)
{
	(void)loop;
	(void)events; /* EPOLLERR/EPOLLHUP: the write says what it is */
	(void)err;
	out_flush(w->owner, RECORDS_PER_EVENT);
	return 0;
}

/* One whole record ("prefix line\n" or a note) for stream `k`.  `note`: sagerun's own, never
 * dropped while the queue has room for it. */
static void sink_put(struct sup_sink *s, enum sup_stream_kind k, const char *p, size_t n, bool note)
{
	struct sup_out *o = &s->out[s->route[k]];
	size_t limit = s->queue_max + (note ? NOTE_RESERVE : 0);
	ssize_t w;

	if (o->fd < 0 || o->broken)
		return;
	if (!o->queued) {
		int r = write_full(o->fd, p, n);

		if (r == -EAGAIN)
			o->dropped++; /* only a device made non-blocking by someone else */
		else if (r < 0)
			out_break(o);
		return;
	}
	/* No epoll watch (no loop yet, or an fd epoll refuses): try now. */
	if (o->q_len && !o->w.active)
		out_flush(o, SIZE_MAX);
	if (o->q_len || o->dropped) {
		/* Once lines are dropped, all are until the queue drains, so the note marks one
		 * gap instead of a sample of lines with holes everywhere. */
		if ((o->dropped && !note) || o->q_len + n > limit)
			o->dropped++;
		else
			out_enqueue(o, p, n);
		return;
	}
	w = out_write(o, p, n);
	if (w < 0 && errno != EAGAIN) {
		out_break(o);
		return;
	}
	if (w < 0)
		w = 0;
	if ((size_t)w == n)
		return;
	/* Started (or not) but not finished: the rest must come next whatever the limit. */
	out_enqueue(o, p + w, n - (size_t)w);
	out_watch(o);
}

void sup_sink_flush(struct sup_sink *s, int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		struct pollfd pf[SUP_STREAM_MAX];
		nfds_t np = 0;
		int64_t left;

		for (int k = 0; k < SUP_STREAM_MAX; k++) {
			struct sup_out *o = &s->out[k];

			out_flush(o, SIZE_MAX);
			if (o->q_len && !o->broken)
				pf[np++] = (struct pollfd){.fd = o->fd, .events = POLLOUT};
		}
		left = deadline - clock_mono_ms();
		if (!np || left <= 0)
			return;
		if (poll(pf, np, left < INT_MAX ? (int)left : INT_MAX) < 0 && errno != EINTR)
			return;
	}
}

void sup_sink_note(struct sup_sink *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	memcpy(buf, "sagerun: ", 9);
	va_start(ap, fmt);
	n = vsnprintf(buf + 9, sizeof(buf) - 10, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = 9 + (n < (int)sizeof(buf) - 10 ? n : (int)sizeof(buf) - 11);
	buf[n++] = '\n';
	sink_put(s, SUP_STDERR, buf, (size_t)n, true);
}

int sup_log_open(struct sup_log *lg, struct sup_sink *sink, const char *name, size_t width,
		 size_t index, bool color, const char *log_dir, struct sr_error *err)
{
	int n;

	memset(lg, 0, sizeof(*lg));
	lg->sink = sink;
	lg->file_fd = -1;
	lg->ts_fd = -1;
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
	    open(lg->file_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lg->file_fd < 0)
		return sr_err_errno(err, errno, "open log file '%s'", lg->file_path);
	lg->ts_fd = logfile_ts_open(lg->file_path, lg->file_fd);
	return 0;
}

void sup_log_close(struct sup_log *lg)
{
	lg->file_fd = sr_close(lg->file_fd);
	lg->ts_fd = sr_close(lg->ts_fd);
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

	sink_put(s, k, p, lg->prefix_len + body_len, false);
	if (lg->file_fd >= 0) {
		/* The line's time first: a reader holding the whole line always finds it. */
		if (lg->ts_fd >= 0 && logfile_ts_append(lg->ts_fd, clock_wall_ms()) < 0) {
			lg->ts_fd = sr_close(lg->ts_fd);
		}
		r = write_full(lg->file_fd, body, body_len);
		if (r < 0) {
			/* A full disk should not kill a training job; say so once and go on. */
			sup_sink_note(s,
				      "%s: cannot write '%s': %s; the rest of its output is not "
				      "logged there",
				      lg->name, lg->file_path, strerror(-r));
			lg->file_fd = sr_close(lg->file_fd);
			lg->ts_fd = sr_close(lg->ts_fd);
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
