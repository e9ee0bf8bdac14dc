/* supervise/internal.h - the pieces of supervise/ shared between its files only.
 *
 *   loop.c     epoll loop, watches, timerfds
 *   logmux.c   line splitting, "algo-N | " prefixes, terminal queues, per-host log files,
 *              tail ring
 *   supervise.c  sup_run(): starting hosts, exits, failure / stop / MaxRuntime policy
 */
#ifndef SR_SUPERVISE_INTERNAL_H
#define SR_SUPERVISE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervise/supervise.h"

struct sr_error;
struct sup_loop;

/* ---- loop.c: one epoll loop; epoll data points to a watch, never a bare fd ---------------- */

struct sup_watch {
	int fd; /* borrowed: the watch never closes it */
	/* Called for readiness (level-triggered).  Returns < 0 only for sagerun's own failures,
	 * which end sup_loop_run(). */
	int (*handler)(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
		       struct sr_error *err);
	void *owner; /* borrowed */
	bool active; /* registered; a removed watch's already-fetched events are dropped */
};

struct sup_loop {
	int epfd;
	bool quit; /* set by a handler: sup_loop_run() returns after the current event */
};

int sup_loop_init(struct sup_loop *l, struct sr_error *err);
void sup_loop_release(struct sup_loop *l);

/* Register `fd` for `events` (EPOLLIN, EPOLLOUT; level-triggered).  The watch's memory must
 * outlive its registration. */
int sup_watch_add(struct sup_loop *l, struct sup_watch *w, int fd, uint32_t events,
		  int (*handler)(struct sup_loop *, struct sup_watch *, uint32_t,
				 struct sr_error *),
		  void *owner, struct sr_error *err);
/* Unregister (EPOLL_CTL_DEL) and mark inactive; call it before closing the fd.  Idempotent. */
void sup_watch_remove(struct sup_loop *l, struct sup_watch *w);

/* Dispatch events until a handler sets l->quit or fails. */
int sup_loop_run(struct sup_loop *l, struct sr_error *err);

/* CLOCK_MONOTONIC timerfd, CLOEXEC|NONBLOCK. */
int sup_timer_open(int *ret_fd, struct sr_error *err);
/* Fire once after `ms` (>= 1 ms), or disarm with ms == 0. */
int sup_timer_arm(int fd, int64_t ms, struct sr_error *err);
/* Consume the expiration so the fd stops being readable.  False when the timer did not
 * really expire (an event fetched before it was disarmed): the handler must do nothing. */
bool sup_timer_ack(int fd);

/* ---- logmux.c ------------------------------------------------------------------------------ */

enum sup_stream_kind { SUP_STDOUT, SUP_STDERR, SUP_STREAM_MAX };

/* At most this many bytes of lines wait for a slow terminal or pipe, per sink; beyond it whole
 * lines are dropped there (the log files keep them). */
#define SUP_SINK_QUEUE_MAX (8u << 20)
/* sup_run() waits this long at its end for what is still queued, then gives up. */
#define SUP_SINK_FLUSH_MS 2000

/* One place lines are shown: the caller's fd 1 or 2 (or both, when they are the same pipe or
 * terminal: one queue keeps their lines in order and whole).
 *
 * A pipe, FIFO or terminal may stop taking data (a paused `less`, Ctrl-S, `| (sleep 12)`),
 * and a blocking write() there would freeze the loop with its signals and timers.  The
 * caller's open file description is shared with the user's shell, so it must not be made
 * O_NONBLOCK; instead the sink writes through a private non-blocking description opened via
 * /proc/self/fd/N (a socket cannot be reopened: send(MSG_DONTWAIT) does the same per call).
 * When the queue is full, whole lines are dropped there until it drains; then one note
 * "sagerun: output is not being read fast enough; dropped N lines (...)" marks the gap in
 * that same sink.
 * Regular files never block and keep the caller's fd, written as before.  Limitation: when
 * the reopen fails (no /proc, no permission on the terminal), the caller's fd is used, and
 * its writes may block as they did before this queue existed. */
struct sup_out {
	struct sup_sink *sink; /* borrowed: the owner */
	int fd;		       /* what is written to: own_fd, or the caller's fd (borrowed) */
	int own_fd;	       /* our private description, -1 if none */
	bool queued;	       /* writes may not take everything: use the queue */
	bool use_send;	       /* a socket: send(MSG_DONTWAIT) */
	bool broken;	       /* a write failed (EPIPE...): stop writing there */
	char *q;	       /* whole "prefix line\n" records waiting, from q + q_head */
	size_t q_head, q_len, q_cap;
	size_t dropped; /* lines not shown since the queue was last empty: dropping until then */
	struct sup_watch w; /* EPOLLOUT while something is queued */
};

/* Where every host's prefixed lines go.  One per sup_run. */
struct sup_sink {
	struct sup_out out[SUP_STREAM_MAX];
	int route[SUP_STREAM_MAX]; /* stream -> out[]: both 0 when fds 1 and 2 are one pipe/tty */
	struct sup_loop *loop;	   /* borrowed; NULL until set: queued lines wait for a flush */
	const char *log_dir;	   /* borrowed, named in the dropped-lines note; may be NULL */
	size_t queue_max;	   /* SUP_SINK_QUEUE_MAX (tests lower it) */
	char *scratch;		   /* one line with prefix, colour and marker */
	size_t scratch_cap;
};

/* `out_fd`, `err_fd` may be -1 (nothing shown).  Set s->loop once the loop exists, so queued
 * lines are written as the sink takes them. */
void sup_sink_init(struct sup_sink *s, int out_fd, int err_fd, const char *log_dir);
/* Write what is queued, waiting up to `timeout_ms` in total for the sinks to take it; what is
 * left after that is given up. */
void sup_sink_flush(struct sup_sink *s, int64_t timeout_ms);
/* Stops the watches (before the loop goes), closes the private descriptions, frees the
 * queues (without writing them: sup_sink_flush() first). */
void sup_sink_release(struct sup_sink *s);
/* A note of sagerun's own on the error stream: "sagerun: <text>\n". */
void sup_sink_note(struct sup_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One host's log: its prefix, its log file, the tail of its last lines. */
struct sup_log {
	struct sup_sink *sink; /* borrowed */
	char name[16];
	char prefix[80];
	size_t prefix_len;
	int file_fd;
	int ts_fd; /* the log's time index (logfile.h), -1 when not written */
	char *file_path;
	char *tail[SUP_TAIL_LINES]; /* ring, oldest at tail_next when full */
	size_t tail_next;
	size_t tail_n;
};

/* `width` pads the name so the " | " of all hosts line up; `color` picks a colour by index.
 * With a log_dir the log file <log_dir>/<name>.log is opened for appending (not truncated). */
int sup_log_open(struct sup_log *lg, struct sup_sink *sink, const char *name, size_t width,
		 size_t index, bool color, const char *log_dir, struct sr_error *err);
void sup_log_close(struct sup_log *lg);
/* Emit one line (without its '\n'): the prefixed line to the sink (one write(), or queued
 * whole, or dropped when the queue is full), one write() of the raw line to the log file
 * (always), and into the tail ring.  `split`: a piece of a longer line, which
 * gets SUP_SPLIT_MARKER. */
void sup_log_line(struct sup_log *lg, enum sup_stream_kind k, const char *line, size_t len,
		  bool split);
/* The newest tail lines that fit in `max` bytes joined by '\n', oldest first (the newest is
 * cut to `max` if it alone is longer).  NULL when there are none.  Caller frees. */
char *sup_log_tail(const struct sup_log *lg, size_t max);

/* Line splitter: bytes in, complete lines (and SUP_LINE_MAX pieces of longer ones) out. */
struct sup_lines {
	char *buf; /* SUP_LINE_MAX + 1 bytes: a line of exactly SUP_LINE_MAX plus its '\n' fits */
	size_t len;
	void (*emit)(void *ctx, const char *line, size_t len, bool split);
	void *ctx;
};

void sup_lines_init(struct sup_lines *sl, void (*emit)(void *, const char *, size_t, bool),
		    void *ctx);
void sup_lines_release(struct sup_lines *sl);
/* Free space at the end of the buffer to read into (never 0). */
char *sup_lines_space(struct sup_lines *sl, size_t *ret_avail);
/* `n` bytes were put at sup_lines_space(): emit whatever is complete. */
void sup_lines_commit(struct sup_lines *sl, size_t n);
/* Copy `n` bytes in (any length) and emit what is complete. */
void sup_lines_feed(struct sup_lines *sl, const char *data, size_t n);
/* End of stream: a last line without '\n' is emitted as a line. */
void sup_lines_flush(struct sup_lines *sl);

#endif
