/* supervise.c - sup_run(): start the hosts, watch them to the end, apply the service's policy.
 *
 * A host is finished once its first process was collected (which kills the rest of its
 * group) AND both of its pipes reached EOF, so every line it wrote is in the logs and in its
 * tail before its exit is judged.  The first host to finish non-zero fails the job; stopping
 * (signal, MaxRuntime, failure) sends SIGTERM to the hosts still running and SIGKILL when
 * the stop grace runs out.
 */
#include "supervise/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hosts/hosts.h"
#include "job/status.h"
#include "supervise/internal.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/signame.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* FailureReason is at most this many characters (the service's limit, reference §2.13); a
 * character is up to 4 bytes of UTF-8. */
#define REASON_MAX	 1024
#define REASON_MAX_BYTES (4 * REASON_MAX)
/* How long a host's pipes may stay open after its process group was killed: only a process
 * that left the group (setsid) can hold them, and it must not keep the job alive. */
#define DRAIN_MS 2000
/* Reads per readiness event, so one chatty host cannot starve the others. */
#define READS_PER_EVENT 16
/* Reads to empty a pipe whose writers are gone (its capacity is 1 MiB at most). */
#define DRAIN_READS 256

struct sup_state;
struct sup_host;

struct sup_stream {
	struct sup_host *host;
	enum sup_stream_kind kind;
	int fd; /* borrowed from the host, which closes it at teardown */
	struct sup_watch w;
	struct sup_lines lines;
	bool eof;
};

struct sup_host {
	struct sup_state *s;
	struct host *h;		     /* borrowed */
	struct job_host_status *hst; /* borrowed, NULL if the status has fewer hosts */
	struct sup_log log;
	struct sup_stream stream[SUP_STREAM_MAX];
	struct sup_watch pid_w;
	struct sup_watch drain_w;
	int drain_fd;
	bool started;
	bool collected;
	bool finished;
	int wstatus;
};

struct sup_state {
	const struct sup_config *cfg;
	struct job_status *st;
	struct sup_loop loop;
	struct sup_sink sink;
	struct sup_host *hosts;
	size_t n_started;
	size_t n_finished;
	int sig_fd;
	int max_fd;
	int grace_fd;
	struct sup_watch sig_w;
	struct sup_watch max_w;
	struct sup_watch grace_w;
	enum sup_outcome outcome;
	bool stopping; /* SIGTERM went to every host */
};

/* Seconds from the job to timer milliseconds, clamped so the product cannot overflow. */
static int64_t clamp_ms(int64_t sec, int64_t max_sec)
{
	return (sec < 0 ? 0 : sec < max_sec ? sec : max_sec) * 1000;
}

/* What happened to the hosts, for the caller to name in the job's terms. */
static void event(struct sup_state *s, enum job_event ev)
{
	if (s->cfg->on_event)
		s->cfg->on_event(s->cfg->ctx, ev);
}

/* ---- stopping ------------------------------------------------------------------------------ */

static void signal_hosts(struct sup_state *s, int sig)
{
	for (size_t i = 0; i < s->cfg->n_hosts; i++) {
		struct sup_host *sh = &s->hosts[i];
		struct sr_error e = {0};

		if (!sh->started || sh->collected)
			continue;
		/* Can only fail with EPERM (a process changed its uid); collect() and teardown()
		 * try the group kill again, there is nothing better to do here. */
		(void)host_signal(sh->h, sig, &e);
	}
}

static int kill_hosts(struct sup_state *s, struct sr_error *err)
{
	signal_hosts(s, SIGKILL);
	return sup_timer_arm(s->grace_fd, 0, err);
}

/* SIGTERM (the kind's stop signal) now, SIGKILL after the stop grace; as `docker stop -t
 * <grace>`. */
static int stop_hosts(struct sup_state *s, struct sr_error *err)
{
	s->stopping = true;
	if (s->cfg->stop_grace_s <= 0)
		return kill_hosts(s, err);
	signal_hosts(s, s->cfg->stop_signal ? s->cfg->stop_signal : SIGTERM);
	return sup_timer_arm(s->grace_fd, clamp_ms(s->cfg->stop_grace_s, SUP_STOP_GRACE_S_MAX),
			     err);
}

/* ---- failure reason ------------------------------------------------------------------------ */

/* The first REASON_MAX characters' worth of <opt_ml>/output/failure, NULL if absent, empty or not a
 * regular file.  The host's tree is the user's: no symlinks, and no FIFO to block on. */
static char *read_failure_file(const struct host *h)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	char buf[REASON_MAX_BYTES];
	struct stat sb;
	size_t len = 0;

	if (!h->opt_ml)
		return NULL;
	path = xasprintf("%s/output/failure", h->opt_ml);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return NULL;
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return len ? xstrndup(buf, len) : NULL;
}

/* A FailureReason is JSON text (describe), so it must be valid UTF-8, and it is cut to
 * REASON_MAX characters.  Hosts print anything: invalid bytes become '?'.  Takes ownership
 * of `s`. */
static char *reason_clean(char *s)
{
	char *out = utf8_clean(s, REASON_MAX);

	free(s);
	return out;
}

static char *failure_reason(struct sup_host *sh)
{
	static const char tail_intro[] = "; last log lines:\n";
	_cleanup_free_ char *head = NULL, *tail = NULL;
	char *reason = sh->s->cfg->failure_reason
			   ? sh->s->cfg->failure_reason(sh->s->cfg->ctx, sh->h, sh->wstatus)
			   : read_failure_file(sh->h);
	char sb[32];

	if (reason)
		return reason;
	if (WIFSIGNALED(sh->wstatus))
		head = xasprintf("AlgorithmError: %s was killed by signal %s", sh->h->name,
				 sr_signame(WTERMSIG(sh->wstatus), sb));
	else
		head = xasprintf("AlgorithmError: %s exited with code %d", sh->h->name,
				 WEXITSTATUS(sh->wstatus));
	if (strlen(head) + sizeof(tail_intro) - 1 < REASON_MAX)
		tail = sup_log_tail(&sh->log, REASON_MAX - strlen(head) - (sizeof(tail_intro) - 1));
	if (!tail)
		return TAKE_PTR(head);
	return xasprintf("%s%s%s", head, tail_intro, tail);
}

/* ---- hosts finishing ----------------------------------------------------------------------- */

static int host_finish(struct sup_host *sh, struct sr_error *err)
{
	struct sup_state *s = sh->s;
	bool ok = WIFEXITED(sh->wstatus) && WEXITSTATUS(sh->wstatus) == 0;

	if (sh->finished)
		return 0;
	sh->finished = true;
	s->n_finished++;
	sup_watch_remove(&s->loop, &sh->drain_w);
	sh->drain_fd = sr_close(sh->drain_fd);
	/* The first failure decides; exits caused by our own stop (143, SIGKILL) do not. */
	if (!ok && s->outcome == SUP_COMPLETED) {
		_cleanup_free_ char *reason = reason_clean(failure_reason(sh));

		s->outcome = SUP_FAILED;
		job_status_set_failure(s->st, reason);
		if (!s->stopping) {
			int r = stop_hosts(s, err);

			if (r < 0)
				return r;
		}
	}
	if (s->n_finished == s->n_started)
		s->loop.quit = true;
	return 0;
}

static void stream_emit(void *ctx, const char *line, size_t len, bool split)
{
	struct sup_stream *ss = ctx;

	sup_log_line(&ss->host->log, ss->kind, line, len, split);
}

static void stream_eof(struct sup_stream *ss)
{
	sup_lines_flush(&ss->lines);
	sup_watch_remove(&ss->host->s->loop, &ss->w);
	ss->eof = true;
}

/* Read what is there, `max_reads` times at most.  A read error is treated as EOF: a pipe
 * has no other failure than the writer going away. */
static void stream_read(struct sup_stream *ss, int max_reads)
{
	for (int i = 0; i < max_reads && !ss->eof; i++) {
		size_t avail;
		char *space = sup_lines_space(&ss->lines, &avail);
		ssize_t n = read(ss->fd, space, avail);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			stream_eof(ss);
			return;
		}
		sup_lines_commit(&ss->lines, (size_t)n);
	}
}

static bool host_drained(const struct sup_host *sh)
{
	return sh->stream[SUP_STDOUT].eof && sh->stream[SUP_STDERR].eof;
}

static int on_stream(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
		     struct sr_error *err)
{
	struct sup_stream *ss = w->owner;
	struct sup_host *sh = ss->host;

	(void)loop;
	(void)events;
	stream_read(ss, READS_PER_EVENT);
	if (sh->collected && host_drained(sh))
		return host_finish(sh, err);
	return 0;
}

static int on_drain_timeout(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
			    struct sr_error *err)
{
	struct sup_host *sh = w->owner;

	(void)loop;
	(void)events;
	if (!sup_timer_ack(sh->drain_fd))
		return 0;
	sup_sink_note(&sh->s->sink,
		      "%s: its output is still open %d ms after it ended (a process that left "
		      "its process group?); no longer reading it",
		      sh->h->name, DRAIN_MS);
	for (int k = 0; k < SUP_STREAM_MAX; k++) {
		struct sup_stream *ss = &sh->stream[k];

		if (ss->eof)
			continue;
		stream_read(ss, DRAIN_READS); /* what is in the pipe, not what comes later */
		if (!ss->eof)
			stream_eof(ss);
	}
	return host_finish(sh, err);
}

static int on_pidfd(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
		    struct sr_error *err)
{
	struct sup_host *sh = w->owner;
	int r;

	(void)events;
	sup_watch_remove(loop, w);
	/* Reaps the first process and kills the rest of the group, so the pipes reach EOF. */
	r = host_collect(sh->h, &sh->wstatus, err);
	if (r < 0)
		return r;
	sh->collected = true;
	if (sh->hst) {
		sh->hst->exited = 1;
		sh->hst->end_ms = clock_wall_ms();
		if (WIFSIGNALED(sh->wstatus)) {
			sh->hst->signal = WTERMSIG(sh->wstatus);
			sh->hst->exit_code = 128 + sh->hst->signal;
		} else {
			sh->hst->exit_code = WEXITSTATUS(sh->wstatus);
		}
	}
	/* Whatever is in the pipes now was written before the end: read it before judging. */
	for (int k = 0; k < SUP_STREAM_MAX; k++)
		if (!sh->stream[k].eof)
			stream_read(&sh->stream[k], DRAIN_READS);
	if (host_drained(sh))
		return host_finish(sh, err);
	/* The killed processes close their ends as they exit; give them DRAIN_MS. */
	r = sup_timer_open(&sh->drain_fd, err);
	if (r < 0)
		return r;
	r = sup_watch_add(loop, &sh->drain_w, sh->drain_fd, EPOLLIN, on_drain_timeout, sh, err);
	if (r < 0)
		return r;
	return sup_timer_arm(sh->drain_fd, DRAIN_MS, err);
}

/* ---- signals and timers -------------------------------------------------------------------- */

static int on_signal(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
		     struct sr_error *err)
{
	struct sup_state *s = w->owner;
	struct signalfd_siginfo si;
	int r;

	(void)loop;
	(void)events;
	for (;;) {
		ssize_t n = read(s->sig_fd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return 0; /* EAGAIN: all read */
		if (s->stopping) {
			/* A second Ctrl-C while hosts are being stopped (by us or for a failure):
			 * the user wants it over now.  A second SIGTERM (sagerun stop, a service
			 * manager) asks for what is already happening: the grace still holds. */
			r = si.ssi_signo == SIGINT ? kill_hosts(s, err) : 0;
		} else {
			s->outcome = SUP_STOPPED;
			event(s, JOB_EV_STOP_ASKED);
			r = stop_hosts(s, err);
		}
		if (r < 0)
			return r;
	}
}

static int on_max_runtime(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
			  struct sr_error *err)
{
	struct sup_state *s = w->owner;

	(void)loop;
	(void)events;
	if (!sup_timer_ack(s->max_fd) || s->stopping)
		return 0;
	s->outcome = SUP_MAX_RUNTIME;
	event(s, JOB_EV_MAX_RUNTIME);
	return stop_hosts(s, err);
}

static int on_grace(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
		    struct sr_error *err)
{
	struct sup_state *s = w->owner;

	(void)loop;
	(void)events;
	if (!sup_timer_ack(s->grace_fd))
		return 0;
	return kill_hosts(s, err);
}

/* ---- starting ------------------------------------------------------------------------------ */

/* A host could not be started: the job fails with its message (the first one's), the hosts
 * already running are stopped.  Returns 1, or < 0 for our own errors. */
static int start_failed(struct sup_state *s, int r, const struct sr_error *e, struct sr_error *err)
{
	if (s->cfg->start_error && !*s->cfg->start_error)
		*s->cfg->start_error = r;
	if (s->outcome != SUP_FAILED) {
		s->outcome = SUP_FAILED;
		job_status_set_failure(s->st, e->msg); /* ours: short and printable */
	}
	r = stop_hosts(s, err);
	return r < 0 ? r : 1;
}

/* The host runs: watch its pipes and its end. */
static int watch_started(struct sup_state *s, struct sup_host *sh, struct sr_error *err)
{
	int r;

	sh->started = true;
	s->n_started++;
	if (sh->hst) {
		sh->hst->started = 1;
		sh->hst->start_ms = clock_wall_ms();
	}
	sh->stream[SUP_STDOUT].fd = sh->h->out_fd;
	sh->stream[SUP_STDERR].fd = sh->h->err_fd;
	for (int k = 0; k < SUP_STREAM_MAX; k++) {
		r = sup_watch_add(&s->loop, &sh->stream[k].w, sh->stream[k].fd, EPOLLIN, on_stream,
				  &sh->stream[k], err);
		if (r < 0)
			return r;
	}
	return sup_watch_add(&s->loop, &sh->pid_w, sh->h->pidfd, EPOLLIN, on_pidfd, sh, err);
}

/* Launch every host, then wait for each (hosts.h: host_launch): with the ns backend each
 * host's init sets itself up while the next one is launched.  Returns 1 when a host could not
 * be started (the job fails), < 0 for our own errors. */
static int start_all(struct sup_state *s, struct sr_error *err)
{
	struct sr_error e = {0};
	size_t n = s->cfg->n_hosts, launched = 0;
	int failed_r = 0, r;

	for (; launched < n; launched++) {
		r = host_launch(s->hosts[launched].h, &e);
		if (r < 0) {
			failed_r = r;
			break;
		}
	}
	for (size_t i = 0; i < launched; i++) {
		struct sr_error ei = {0};

		r = host_launch_wait(s->hosts[i].h, failed_r < 0 ? &ei : &e);
		if (r < 0) {
			if (failed_r == 0)
				failed_r = r;
			continue;
		}
		r = watch_started(s, &s->hosts[i], err);
		if (r < 0)
			return r;
	}
	return failed_r < 0 ? start_failed(s, failed_r, &e, err) : 0;
}

static int run(struct sup_state *s, struct sr_error *err)
{
	const struct sup_config *cfg = s->cfg;
	size_t width = 0;
	sigset_t set;
	int r;

	r = sup_loop_init(&s->loop, err);
	if (r < 0)
		return r;
	s->sink.loop = &s->loop; /* from now on a slow terminal is written as it takes data */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		return sr_err_errno(err, errno, "create signalfd");
	r = sup_timer_open(&s->max_fd, err);
	if (r == 0)
		r = sup_timer_open(&s->grace_fd, err);
	if (r == 0)
		r = sup_watch_add(&s->loop, &s->sig_w, s->sig_fd, EPOLLIN, on_signal, s, err);
	if (r == 0)
		r = sup_watch_add(&s->loop, &s->max_w, s->max_fd, EPOLLIN, on_max_runtime, s, err);
	if (r == 0)
		r = sup_watch_add(&s->loop, &s->grace_w, s->grace_fd, EPOLLIN, on_grace, s, err);
	if (r < 0)
		return r;

	if (cfg->log_dir) {
		r = fs_mkdir_p(cfg->log_dir, 0755, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < cfg->n_hosts; i++)
		if (strlen(cfg->hosts[i].name) > width)
			width = strlen(cfg->hosts[i].name);
	for (size_t i = 0; i < cfg->n_hosts; i++) {
		struct sup_host *sh = &s->hosts[i];

		r = sup_log_open(&sh->log, &s->sink, sh->h->name, width, i, cfg->color,
				 cfg->log_dir, err);
		if (r < 0)
			return r;
	}

	r = start_all(s, err);
	if (r < 0)
		return r;
	if (s->n_started == cfg->n_hosts) {
		event(s, JOB_EV_HOSTS_STARTED);
		if (cfg->max_run_s > 0) {
			r = sup_timer_arm(s->max_fd, clamp_ms(cfg->max_run_s, SUP_MAX_RUN_S_MAX),
					  err);
			if (r < 0)
				return r;
		}
	}
	if (s->n_finished < s->n_started) {
		r = sup_loop_run(&s->loop, err);
		if (r < 0)
			return r;
	}
	event(s, JOB_EV_HOSTS_ENDED);
	return 0;
}

/* Everything sup_run() opened is closed, every host it started is torn down (killed and
 * reaped if still running: this is also the clean-up after our own errors). */
static void cleanup(struct sup_state *s, const sigset_t *old_mask)
{
	struct timespec zero = {0, 0};
	sigset_t pending;

	for (size_t i = 0; i < s->cfg->n_hosts; i++) {
		struct sup_host *sh = &s->hosts[i];

		for (int k = 0; k < SUP_STREAM_MAX; k++) {
			sup_watch_remove(&s->loop, &sh->stream[k].w);
			sup_lines_release(&sh->stream[k].lines);
		}
		sup_watch_remove(&s->loop, &sh->pid_w);
		sup_watch_remove(&s->loop, &sh->drain_w);
		sr_closep(&sh->drain_fd);
		if (sh->started)
			host_teardown(sh->h);
		sup_log_close(&sh->log);
	}
	sup_watch_remove(&s->loop, &s->sig_w);
	sup_watch_remove(&s->loop, &s->max_w);
	sup_watch_remove(&s->loop, &s->grace_w);
	sr_closep(&s->sig_fd);
	sr_closep(&s->max_fd);
	sr_closep(&s->grace_fd);
	/* The hosts are gone: nothing keeps them waiting while a slow terminal gets the rest. */
	sup_sink_flush(&s->sink, SUP_SINK_FLUSH_MS);
	sup_sink_release(&s->sink); /* removes its watches: before the loop goes */
	sup_loop_release(&s->loop);
	free(s->hosts);

	/* A SIGINT/SIGTERM that came after the job ended is still pending; unblocking it would
	 * kill sagerun (default action) before the artifacts are saved.  It was a request to
	 * stop a job that is over: consume it.  Signals the caller had blocked stay its own. */
	sigpending(&pending);
	for (int sig = SIGINT; sig <= SIGTERM; sig++) {
		sigset_t one;

		if ((sig != SIGINT && sig != SIGTERM) || !sigismember(&pending, sig) ||
		    sigismember(old_mask, sig))
			continue;
		sigemptyset(&one);
		sigaddset(&one, sig);
		while (sigtimedwait(&one, NULL, &zero) == sig)
			;
	}
	pthread_sigmask(SIG_SETMASK, old_mask, NULL);
}

int sup_run(const struct sup_config *cfg, enum sup_outcome *ret_outcome, struct sr_error *err)
{
	struct sup_state s;
	sigset_t block, old;
	int r;

	if (!cfg || !cfg->hosts || !cfg->n_hosts || !cfg->status)
		return sr_err(err, -EINVAL, "supervise: no hosts to run");
	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.st = cfg->status;
	s.loop.epfd = -1;
	s.sig_fd = s.max_fd = s.grace_fd = -1;
	s.outcome = SUP_COMPLETED;
	s.hosts = xcalloc(cfg->n_hosts, sizeof(*s.hosts));
	for (size_t i = 0; i < cfg->n_hosts; i++) {
		struct sup_host *sh = &s.hosts[i];

		sh->s = &s;
		sh->h = &cfg->hosts[i];
		sh->hst = i < s.st->n_hosts ? &s.st->hosts[i] : NULL;
		sh->drain_fd = -1;
		sh->log.file_fd = -1;
		sh->log.ts_fd = -1;
		for (int k = 0; k < SUP_STREAM_MAX; k++) {
			sh->stream[k].host = sh;
			sh->stream[k].kind = (enum sup_stream_kind)k;
			sh->stream[k].fd = -1;
			sup_lines_init(&sh->stream[k].lines, stream_emit, &sh->stream[k]);
		}
	}
	sup_sink_init(&s.sink, cfg->out_fd, cfg->err_fd, cfg->log_dir);

	/* Before any host starts: a Ctrl-C from now on is read from the signalfd, never lost,
	 * and never kills sagerun with hosts left behind.  SIGCHLD is not read (pidfds say
	 * which host ended) but blocked so it interrupts nothing. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	r = run(&s, err);
	cleanup(&s, &old);
	if (r < 0)
		return r;
	*ret_outcome = s.outcome;
	return 0;
}
