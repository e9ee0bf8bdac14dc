/* local_logs.c - a local job's logs: each host's output as the supervisor wrote it into the
 * job folder (logs/algo-N.log with its time index, supervise/logfile.h), merged in time order
 * across hosts; -f follows a running job from any terminal and ends when its supervisor lets
 * go of the job folder. */
#include "engines/engine.h"
#include "engines/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "store/store.h"
#include "supervise/logfile.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xalloc.h"

/* Follow mode wakes at least this often to see whether the job ended. */
#define FOLLOW_TICK_MS 200

struct src {
	char name[16];
	char *path;
	struct logfile_reader r;
	bool open;
	bool late; /* not there when logs started: --tail does not apply */
	/* the next line, read ahead for the merge */
	bool pending;
	const char *line;
	size_t len;
	int64_t t;
};

struct logs {
	struct src *src;
	size_t n;
	int width;
	bool prefix, timestamps;
	int64_t since_ms; /* 0: everything */
	int64_t tail;	  /* -1: everything */
};

static void src_try_open(struct logs *lg, struct src *s)
{
	if (s->open)
		return;
	if (logfile_reader_open(&s->r, s->path, NULL) < 0)
		return; /* not written yet: the host has not started */
	s->open = true;
	if (lg->tail >= 0 && !s->late)
		(void)logfile_reader_tail(&s->r, (uint64_t)lg->tail);
}

/* Read ahead one line that passes --since; false when none is there now. */
static bool src_peek(struct logs *lg, struct src *s)
{
	while (!s->pending && s->open) {
		int r = logfile_reader_next(&s->r, &s->line, &s->len, &s->t);

		if (r <= 0)
			return false;
		if (lg->since_ms && s->t && s->t < lg->since_ms)
			continue;
		s->pending = true;
	}
	return s->pending;
}

static void print_line(const struct logs *lg, const struct src *s)
{
	if (lg->timestamps) {
		char ts[48];

		fputs(s->t ? clock_iso8601(s->t, ts, sizeof(ts)) : "-", stdout);
		fputc(' ', stdout);
	}
	if (lg->prefix)
		printf("%-*s | ", lg->width, s->name);
	fwrite(s->line, 1, s->len, stdout);
	fputc('\n', stdout);
}

/* How long a line's time may run ahead of its being in the file: the supervisor stamps a line
 * just before it writes it. */
#define FOLLOW_SETTLE_MS 50

/* Print every whole line there is now, oldest first across hosts.  `cutoff` (follow mode):
 * only lines stamped before it, since a host's file read a moment ago may still get a line
 * older than one found since in another's; the rest waits for the next drain. */
static void drain(struct logs *lg, int64_t cutoff)
{
	for (size_t i = 0; i < lg->n; i++)
		src_try_open(lg, &lg->src[i]);
	for (;;) {
		struct src *best = NULL;

		for (size_t i = 0; i < lg->n; i++) {
			if (src_peek(lg, &lg->src[i]) && (!best || lg->src[i].t < best->t))
				best = &lg->src[i];
		}
		if (!best || (cutoff && best->t >= cutoff))
			break;
		print_line(lg, best);
		best->pending = false;
	}
	fflush(stdout);
}

static int follow(struct logs *lg, const char *folder, const char *log_dir)
{
	_cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	bool watching = false;

	for (;;) {
		bool running = store_lease_held(folder);
		struct pollfd p = {.fd = in, .events = POLLIN};
		char buf[4096];

		/* logs/ appears when the hosts start, after Downloading. */
		if (!watching && in >= 0)
			watching = inotify_add_watch(in, log_dir, IN_MODIFY | IN_CREATE) >= 0;
		drain(lg, clock_wall_ms() - FOLLOW_SETTLE_MS);
		if (!running) {
			drain(lg, 0); /* everything, now that the supervisor let go */
			return 0;
		}
		if (ferror(stdout))
			return -EPIPE;
		/* inotify wakes us at once for new lines; the tick notices the job's end. */
		if (poll(&p, watching ? 1 : 0, FOLLOW_TICK_MS) > 0)
			while (read(in, buf, sizeof(buf)) > 0)
				;
	}
}

static void logs_release(struct logs *lg)
{
	for (size_t i = 0; i < lg->n; i++) {
		if (lg->src[i].open)
			logfile_reader_close(&lg->src[i].r);
		free(lg->src[i].path);
	}
	free(lg->src);
}

int local_logs(const struct store_job_row *row, const struct engine_logs_options *o,
	       struct sr_error *err)
{
	struct logs lg = {.tail = o->tail,
			  .prefix = !o->host,
			  .timestamps = o->timestamps,
			  .since_ms = o->since_ms};
	_cleanup_free_ char *log_dir = xasprintf("%s/logs", row->folder);
	int r = 0;

	lg.src = xcalloc((size_t)row->hosts, sizeof(*lg.src));
	for (int i = 0; i < row->hosts; i++) {
		struct src *src = &lg.src[lg.n];

		snprintf(src->name, sizeof(src->name), "algo-%d", i + 1);
		if (o->host && strcmp(o->host, src->name))
			continue;
		src->path = xasprintf("%s/%s.log", log_dir, src->name);
		if ((int)strlen(src->name) > lg.width)
			lg.width = (int)strlen(src->name);
		lg.n++;
	}
	if (o->host && !lg.n) {
		logs_release(&lg);
		return sr_err(err, -EINVAL, "--host: job '%s' has no host '%s' (algo-1 to algo-%d)",
			      row->name, o->host, row->hosts);
	}
	for (size_t i = 0; i < lg.n; i++) {
		src_try_open(&lg, &lg.src[i]);
		lg.src[i].late = !lg.src[i].open;
	}
	if (o->follow)
		r = follow(&lg, row->folder, log_dir);
	else
		drain(&lg, 0);
	logs_release(&lg);
	if (r < 0)
		return sr_err_errno(err, -r, "logs of '%s': write", row->name);
	return 0;
}
