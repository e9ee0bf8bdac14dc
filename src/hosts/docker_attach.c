/* docker_attach.c - `sagerun container attach`: one container's life as one process.
 *
 * The order is the docker CLI's (`docker run`: waitExitOrRemoved before ContainerStart):
 *  1. POST /containers/ID/wait?condition=next-exit.  The engine sends the answer's headers
 *     as soon as the wait is registered and the body (the exit status) when the container
 *     exits, so once the headers are in, no exit can be missed, however fast.
 *  2. POST /containers/ID/start.
 *  3. GET /containers/ID/logs?follow=1: everything the container wrote since its start,
 *     then what it writes, until it ends; the stream is multiplexed (an 8-byte header per
 *     frame: stream 1 or 2, then the length, big-endian) and copied to our fd 1 and 2.
 * The wait and the logs run side by side in one curl multi handle.  The process sleeps only in
 * curl_multi_poll, which also watches a signalfd of SIGTERM and SIGINT: an answer, output or
 * a stop wakes it at once.  After the exit the logs are followed to their end (the engine
 * ends them once all is sent), not for a fixed time.
 */
#include "hosts/docker.h"
#include "hosts/hosts.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hosts/docker_api.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/lazylib.h"
#include "util/membuf.h"
#include "util/xalloc.h"

/* After the container exited, its last log lines may still be on their way: the engine ends
 * the stream once it has sent them all, which for a container that wrote much just before its
 * end can take long.  So the stream is followed to its end as long as it moves, and given up
 * only after this long without a byte. */
#define LOGS_DRAIN_MS 5000

struct waiter {
	bool headers_done; /* the wait is registered */
	long status;	   /* of its answer's status line */
	struct membuf body;
};

struct demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t left;	 /* payload bytes of the current frame still to copy */
	int fd;		 /* where the current frame goes */
	int64_t last_ms; /* when the last bytes came (clock_mono_ms) */
};

static size_t on_wait_header(char *p, size_t size, size_t n, void *ctx)
{
	struct waiter *w = ctx;

	if (size * n > 12 && !strncmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', size * n);

		w->status = sp ? strtol(sp + 1, NULL, 10) : 0;
	}
	/* The empty line ends the headers (a 100 Continue has none). */
	if (size * n == 2 && p[0] == '\r' && p[1] == '\n' && w->status != 100)
		w->headers_done = true;
	return size * n;
}

static size_t on_wait_data(char *p, size_t size, size_t n, void *ctx)
{
	struct waiter *w = ctx;

	return membuf_curl_write(p, size, n, &w->body);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* the reader is gone: the supervisor decides, not us */
		p += k;
		n -= (size_t)k;
	}
}

static size_t on_logs(char *p, size_t size, size_t n, void *ctx)
{
	struct demux *d = ctx;
	size_t len = size * n, done = 0;

	d->last_ms = clock_mono_ms();
	while (done < len) {
		if (d->left) {
			size_t k = len - done < d->left ? len - done : d->left;

			write_all(d->fd, p + done, k);
			done += k;
			d->left -= (uint32_t)k;
			continue;
		}
		d->hdr[d->hdr_len++] = (unsigned char)p[done++];
		if (d->hdr_len == sizeof(d->hdr)) {
			d->fd = d->hdr[0] == 2 ? STDERR_FILENO : STDOUT_FILENO;
			d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
				  (uint32_t)d->hdr[6] << 8 | d->hdr[7];
			d->hdr_len = 0;
		}
	}
	return len;
}

static CURL *stream_handle(const char *socket, const char *url, bool post)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	return c;
}

/* Signals whose default action ends a process: the ones a container can die of. */
static bool ends_process(int sig)
{
	switch (sig) {
	case SIGCHLD:
	case SIGCONT:
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
	case SIGURG:
	case SIGWINCH:
		return false;
	default:
		return sig >= 1 && sig <= SIGRTMAX;
	}
}

/* End as the container ended: killed by signal N (the engine says 128+N), raise N here so
 * the supervisor sees a signal, as with the other backends.  A code that names a signal that
 * would stop or be ignored (147 is SIGTSTP's) is an exit code like any other. */
static int exit_like(long code)
{
	if (code > 128 && ends_process((int)code - 128)) {
		int sig = (int)code - 128;
		struct rlimit no_core = {0, 0};
		sigset_t set;

		(void)setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		(void)raise(sig);
	}
	return code >= 0 && code < 256 ? (int)code : 125;
}

/* One `sagerun container attach`: both streams in one multi handle, and the stop signals. */
struct attach {
	const char *host; /* borrowed */
	struct dk_engine engine;
	char *start_path;
	char *kill_path; /* without the signal */
	CURLM *multi;
	CURL *wait_h; /* in the multi from the beginning */
	CURL *logs_h; /* in the multi once the container is started */
	struct waiter wait;
	struct demux demux;
	int stop_fd;  /* signalfd of SIGTERM and SIGINT */
	bool stopped; /* one of them came before the start: the container never runs */
	bool started; /* its start was asked for: from here a stop goes through the engine */
	bool wait_done, logs_done;
	int64_t exited_ms; /* when the wait answered; 0 until then */
};

/* A stop that comes before the container was started (the supervisor's /kill found it not
 * running) must wake the loop at once, so it is read from a signalfd that curl_multi_poll
 * watches.  Blocked before libcurl loads, so any thread of libcurl's blocks them too. */
static int stop_signals_open(struct sr_error *err)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return sr_err_errno(err, errno, "block SIGTERM and SIGINT");
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return sr_err_errno(err, errno, "watch SIGTERM and SIGINT");
	return fd;
}

/* Take every pending stop.  Before the start it means never start.  After it, it is one the
 * supervisor sent us because its /kill found the container not running: either the container
 * has ended (a second /kill changes nothing) or the supervisor asked between our last look
 * and our start, and the stop would be lost with the container running; so it goes on to
 * the engine. */
static void stop_signals_read(struct attach *a)
{
	struct signalfd_siginfo si;

	while (read(a->stop_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		_cleanup_free_ char *path = NULL;
		_cleanup_json_ json_t *ans = NULL;
		struct sr_error ignored = {0};
		long status = 0;

		if (!a->started) {
			a->stopped = true;
			continue;
		}
		path = xasprintf("%s?signal=%u", a->kill_path, si.ssi_signo);
		(void)dk_request(&a->engine, "POST", path, NULL, &status, &ans, &ignored);
	}
}

static char *container_url(const struct dk_engine *e, const char *id, const char *what)
{
	_cleanup_free_ char *path = xasprintf("/containers/%s/%s", id, what);

	return dk_url(e, path);
}

/* The wait and the logs as two streams of one multi handle; the wait goes out at once (step
 * 1), the logs once the container runs. */
static int streams_open(struct attach *a, const char *socket, const char *id, struct sr_error *err)
{
	_cleanup_free_ char *wait_url = container_url(&a->engine, id, "wait?condition=next-exit");
	_cleanup_free_ char *logs_url =
	    container_url(&a->engine, id, "logs?follow=1&stdout=1&stderr=1");

	a->multi = curl_multi_init();
	a->wait_h = stream_handle(socket, wait_url, true);
	a->logs_h = stream_handle(socket, logs_url, false);
	if (!a->multi || !a->wait_h || !a->logs_h)
		return sr_err(err, -ENOMEM, "cannot start requests to the Docker engine");
	curl_easy_setopt(a->wait_h, CURLOPT_HEADERFUNCTION, on_wait_header);
	curl_easy_setopt(a->wait_h, CURLOPT_HEADERDATA, &a->wait);
	curl_easy_setopt(a->wait_h, CURLOPT_WRITEFUNCTION, on_wait_data);
	curl_easy_setopt(a->wait_h, CURLOPT_WRITEDATA, &a->wait);
	curl_easy_setopt(a->logs_h, CURLOPT_WRITEFUNCTION, on_logs);
	curl_easy_setopt(a->logs_h, CURLOPT_WRITEDATA, &a->demux);
	if (curl_multi_add_handle(a->multi, a->wait_h) != CURLM_OK)
		return sr_err(err, -EIO, "cannot start requests to the Docker engine");
	return 0;
}

static int attach_open(struct attach *a, const char *socket, const char *api, const char *id,
		       struct sr_error *err)
{
	int r;

	/* A supervisor that stopped reading: its writes fail (EPIPE), the status still counts. */
	signal(SIGPIPE, SIG_IGN);
	r = stop_signals_open(err);
	if (r < 0)
		return r;
	a->stop_fd = r;
	r = lazylib_curl_load(err);
	if (r < 0)
		return r;
	dk_engine_init(&a->engine, socket, api);
	a->start_path = xasprintf("/containers/%s/start", id);
	a->kill_path = xasprintf("/containers/%s/kill", id);
	return streams_open(a, socket, id, err);
}

/* The one cleanup path, whichever step failed; never calls libcurl when it did not load. */
static void attach_close(struct attach *a)
{
	if (a->multi) {
		if (a->wait_h)
			curl_multi_remove_handle(a->multi, a->wait_h);
		if (a->logs_h)
			curl_multi_remove_handle(a->multi, a->logs_h);
	}
	if (a->wait_h)
		curl_easy_cleanup(a->wait_h);
	if (a->logs_h)
		curl_easy_cleanup(a->logs_h);
	if (a->multi)
		curl_multi_cleanup(a->multi);
	free(a->wait.body.data);
	free(a->start_path);
	free(a->kill_path);
	dk_engine_release(&a->engine);
	a->stop_fd = sr_close(a->stop_fd);
}

static int wait_finished(struct attach *a, CURLcode result, long status, struct sr_error *err)
{
	_cleanup_json_ json_t *ans = NULL;
	const char *why;

	a->wait_done = true;
	if (result == CURLE_OK && status == 200)
		return 0;
	ans = a->wait.body.data ? json_loads(a->wait.body.data, 0, NULL) : NULL;
	why = result != CURLE_OK ? curl_easy_strerror(result)
				 : json_string_value(json_object_get(ans, "message"))
				       ?: "unexpected answer";
	return sr_err(err, -EIO, "Docker engine: wait for the container: %s", why);
}

/* Output lost, not the status: say so once and carry on. */
static void logs_finished(struct attach *a, CURLcode result, long status)
{
	a->logs_done = true;
	if (result == CURLE_OK && status == 200)
		return;
	fprintf(stderr,
		"sagerun: %s: the container's output cannot be read back (%s); its log driver "
		"must be json-file, local or journald\n",
		a->host,
		result != CURLE_OK ? curl_easy_strerror(result) : "the engine refused its logs");
}

static int transfers_reap(struct attach *a, struct sr_error *err)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(a->multi, &left))) {
		long status = 0;
		int r;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (msg->easy_handle != a->wait_h) {
			logs_finished(a, msg->data.result, status);
			continue;
		}
		r = wait_finished(a, msg->data.result, status, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Steps 2 and 3, once the wait is registered: start the container unless a stop came first
 * (read here too, as late as can be), then follow its output. */
static int container_start(struct attach *a, struct sr_error *err)
{
	_cleanup_json_ json_t *ans = NULL;
	long status = 0;
	char b[32];
	int r;

	if (a->wait.status != 200)
		return sr_err(err, -EIO, "Docker engine: the wait for the container was refused");
	stop_signals_read(a);
	if (a->stopped)
		return sr_err(err, -ECANCELED, "stopped before the container started");
	a->started = true;
	r = dk_request(&a->engine, "POST", a->start_path, NULL, &status, &ans, err);
	if (r < 0)
		return r;
	if (status != 204 && status != 304)
		return sr_err(err, -EIO, "start container: %s",
			      dk_message(ans, status, b, sizeof(b)));
	if (curl_multi_add_handle(a->multi, a->logs_h) != CURLM_OK)
		return sr_err(err, -EIO, "Docker engine: cannot follow the container's output");
	return 0;
}

/* How long the loop may sleep: while the container runs, until something happens
 * (curl_multi_poll takes no -1; it shortens the sleep to its own timers); once it exited,
 * until LOGS_DRAIN_MS pass without a byte of its output, -1 when they have. */
static int sleep_ms(struct attach *a)
{
	int64_t now, until;

	if (!a->wait_done)
		return INT_MAX;
	now = clock_mono_ms();
	if (!a->exited_ms)
		a->exited_ms = now;
	until = (a->demux.last_ms > a->exited_ms ? a->demux.last_ms : a->exited_ms) + LOGS_DRAIN_MS;
	return until > now ? (int)(until - now) : -1;
}

/* Sleep until a stream moves, a stop comes or `ms` are over. */
static int events_wait(struct attach *a, int ms, struct sr_error *err)
{
	struct curl_waitfd stop = {.fd = a->stop_fd, .events = CURL_WAIT_POLLIN};

	if (curl_multi_poll(a->multi, &stop, 1, ms, NULL) != CURLM_OK)
		return sr_err(err, -EIO, "Docker engine: wait for its answers failed");
	if (stop.revents & CURL_WAIT_POLLIN)
		stop_signals_read(a);
	if (a->stopped)
		return sr_err(err, -ECANCELED, "stopped before the container started");
	return 0;
}

/* Run both streams until the wait answered and the logs ended (or their drain is over). */
static int attach_follow(struct attach *a, struct sr_error *err)
{
	for (;;) {
		int running, ms, r;

		if (curl_multi_perform(a->multi, &running) != CURLM_OK)
			return sr_err(err, -EIO, "Docker engine: request failed");
		r = transfers_reap(a, err);
		if (r < 0)
			return r;
		if (a->wait_done && a->logs_done)
			return 0;
		if (!a->started && a->wait.headers_done) {
			r = container_start(a, err);
			if (r < 0)
				return r;
			continue; /* the logs request goes out now, not after a sleep */
		}
		ms = sleep_ms(a);
		if (ms < 0) {
			/* Its last lines are lost, not its status. */
			fprintf(stderr,
				"sagerun: %s: the container's output stopped coming %d s after "
				"it ended; what followed is not shown\n",
				a->host, LOGS_DRAIN_MS / 1000);
			return 0;
		}
		r = events_wait(a, ms, err);
		if (r < 0)
			return r;
	}
}

/* The wait's answer: {"StatusCode": N, "Error": {"Message": "..."}}. */
static int exit_status_read(const struct attach *a, long *ret_code, struct sr_error *err)
{
	_cleanup_json_ json_t *ans = json_loads(a->wait.body.data ?: "", 0, NULL);
	json_t *code = json_object_get(ans, "StatusCode");
	const char *e =
	    json_string_value(json_object_get(json_object_get(ans, "Error"), "Message"));

	if (e && *e)
		fprintf(stderr, "sagerun: %s: the engine says: %s\n", a->host, e);
	if (!json_is_integer(code))
		return sr_err(err, -EPROTO, "Docker engine: the wait answered no exit status");
	*ret_code = json_integer_value(code);
	return 0;
}

int host_docker_attach(const char *socket, const char *api, const char *host, const char *id)
{
	struct attach a = {
	    .host = host, .stop_fd = -1, .wait.body.max = 65536, .demux.fd = STDOUT_FILENO};
	struct sr_error err = {0};
	long code = -1;
	int r;

	r = attach_open(&a, socket, api, id, &err);
	if (r >= 0)
		r = attach_follow(&a, &err);
	if (r >= 0)
		r = exit_status_read(&a, &code, &err);
	attach_close(&a);
	if (a.stopped)
		return 128 + SIGTERM; /* stopped before it ran: as a SIGTERM would end it */
	if (r < 0) {
		fprintf(stderr, "sagerun: %s: %s\n", host, err.msg);
		return 125;
	}
	/* Last: it may raise the container's signal on this process. */
	return exit_like(code);
}
