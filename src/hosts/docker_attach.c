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
 * The wait and the logs run side by side in one curl multi handle.
 */
#include "hosts/docker.h"
#include "hosts/hosts.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hosts/docker_api.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/lazylib.h"
#include "util/membuf.h"
#include "util/xalloc.h"

/* After the container exited, its last log lines may still be on their way. */
#define LOGS_DRAIN_MS 5000

struct waiter {
	bool headers_done; /* the wait is registered */
	long status;	   /* of its answer's status line */
	struct membuf body;
};

struct demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t left; /* payload bytes of the current frame still to copy */
	int fd;	       /* where the current frame goes */
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

/* A stop that comes before the container was started (the supervisor's /kill found it not
 * running): give up without starting it. */
static volatile sig_atomic_t stop_before_start;

static void on_stop(int sig)
{
	(void)sig;
	stop_before_start = 1;
}

static int fail(const char *host, const char *what)
{
	fprintf(stderr, "sagerun: %s: %s\n", host, what);
	return 125;
}

int host_docker_attach(const char *socket, const char *api, const char *host, const char *id)
{
	struct dk_engine engine;
	struct sigaction sa = {.sa_handler = on_stop};
	int64_t drain_until = 0;
	struct sr_error err = {0};
	struct waiter w = {.body.max = 65536};
	struct demux dm = {.fd = STDOUT_FILENO};
	_cleanup_free_ char *wait_url = NULL, *logs_url = NULL, *start_path = NULL;
	_cleanup_json_ json_t *ans = NULL, *result = NULL;
	CURL *wh = NULL, *lh = NULL;
	CURLM *m = NULL;
	bool wait_done = false, logs_done = false, started = false, exited = false;
	long code = -1;
	int running = 0, rc = 125;

	/* A supervisor that stopped reading: its writes fail (EPIPE), the status still counts. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (lazylib_curl_load(&err) < 0)
		return fail(host, err.msg);
	dk_engine_init(&engine, socket, api);
	{
		_cleanup_free_ char *wp = xasprintf("/containers/%s/wait?condition=next-exit", id);
		_cleanup_free_ char *lp =
		    xasprintf("/containers/%s/logs?follow=1&stdout=1&stderr=1", id);

		wait_url = dk_url(&engine, wp);
		logs_url = dk_url(&engine, lp);
	}
	start_path = xasprintf("/containers/%s/start", id);
	m = curl_multi_init();
	wh = stream_handle(socket, wait_url, true);
	lh = stream_handle(socket, logs_url, false);
	if (!m || !wh || !lh) {
		rc = fail(host, "cannot start requests to the Docker engine");
		goto out;
	}
	curl_easy_setopt(wh, CURLOPT_HEADERFUNCTION, on_wait_header);
	curl_easy_setopt(wh, CURLOPT_HEADERDATA, &w);
	curl_easy_setopt(wh, CURLOPT_WRITEFUNCTION, on_wait_data);
	curl_easy_setopt(wh, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(lh, CURLOPT_WRITEFUNCTION, on_logs);
	curl_easy_setopt(lh, CURLOPT_WRITEDATA, &dm);
	curl_multi_add_handle(m, wh);

	while (!wait_done || !logs_done) {
		CURLMsg *msg;
		int left;

		if (curl_multi_perform(m, &running) != CURLM_OK) {
			rc = fail(host, "Docker engine: request failed");
			goto out;
		}
		while ((msg = curl_multi_info_read(m, &left))) {
			long st = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &st);
			if (msg->easy_handle == wh) {
				wait_done = true;
				if (msg->data.result != CURLE_OK || st != 200) {
					char b[512];

					ans = w.body.data ? json_loads(w.body.data, 0, NULL) : NULL;
					snprintf(b, sizeof(b), "Docker engine: wait for the container: %s",
						 msg->data.result != CURLE_OK
						     ? curl_easy_strerror(msg->data.result)
						     : json_string_value(json_object_get(ans, "message"))
							 ?: "unexpected answer");
					rc = fail(host, b);
					goto out;
				}
			} else {
				logs_done = true;
				/* Output lost, not the status: say so once. */
				if (msg->data.result != CURLE_OK || st != 200)
					fprintf(stderr,
						"sagerun: %s: the container's output cannot be "
						"read back (%s); its log driver must be json-file, "
						"local or journald\n",
						host,
						msg->data.result != CURLE_OK
						    ? curl_easy_strerror(msg->data.result)
						    : "the engine refused its logs");
			}
		}
		if (!started && w.headers_done) {
			long ss = 0;

			started = true;
			if (w.status != 200) {
				rc = fail(host,
					  "Docker engine: the wait for the container was refused");
				goto out;
			}
			if (stop_before_start) {
				rc = 128 +
				     SIGTERM; /* stopped before it ran: as a SIGTERM would end it */
				goto out;
			}
			if (dk_request(&engine, "POST", start_path, NULL, &ss, &ans, &err) < 0) {
				rc = fail(host, err.msg);
				goto out;
			}
			if (ss != 204 && ss != 304) {
				char b[32], msgb[1024];

				snprintf(msgb, sizeof(msgb), "start container: %s",
					 dk_message(ans, ss, b, sizeof(b)));
				rc = fail(host, msgb);
				goto out;
			}
			curl_multi_add_handle(m, lh);
			continue;
		}
		if (wait_done && !logs_done) {
			if (!drain_until)
				drain_until = clock_mono_ms() + LOGS_DRAIN_MS;
			else if (clock_mono_ms() >= drain_until)
				break;
		}
		if (!wait_done || !logs_done)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}

	result = json_loads(w.body.data ? w.body.data : "", 0, NULL);
	code = json_integer_value(json_object_get(result, "StatusCode"));
	{
		const char *e =
		    json_string_value(json_object_get(json_object_get(result, "Error"), "Message"));

		if (e && *e)
			fprintf(stderr, "sagerun: %s: the engine says: %s\n", host, e);
	}
	if (!json_is_integer(json_object_get(result, "StatusCode"))) {
		rc = fail(host, "Docker engine: the wait answered no exit status");
		goto out;
	}
	exited = true;
out:
	if (m) {
		if (wh)
			curl_multi_remove_handle(m, wh);
		if (lh)
			curl_multi_remove_handle(m, lh);
	}
	if (wh)
		curl_easy_cleanup(wh);
	if (lh)
		curl_easy_cleanup(lh);
	if (m)
		curl_multi_cleanup(m);
	free(w.body.data);
	dk_engine_release(&engine);
	/* Last: it may raise the container's signal on this process. */
	return exited ? exit_like(code) : rc;
}
