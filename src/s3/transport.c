/* transport.c - the client and how its requests travel: credentials, endpoint and CA bundle
 * found once, one curl multi handle that keeps the connections, and the runner that keeps up
 * to S3_PARALLEL requests in flight, retries the retryable with backoff, reports progress and
 * drops everything when the caller cancels.
 *
 * Here because every operation moves its bytes the same way: ops.c, multipart.c and batch.c
 * say what to ask (a `struct xfer`, xfer.c) and hand it to s3_run or s3_run_feed. */
#include "s3/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "s3/creds.h"
#include "s3/internal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/lazylib.h"
#include "util/xalloc.h"

/* ---- the client --------------------------------------------------------------------------- */

/* The CA bundle: AWS_CA_BUNDLE (the AWS CLI's), SSL_CERT_FILE, CURL_CA_BUNDLE, else the
 * first of the usual places that exists (Debian and Ubuntu, RHEL, Alpine and SUSE), so that a
 * static sagerun finds one in whatever image it runs in.  NULL: libcurl's built-in default. */
static char *find_ca_bundle(void)
{
	static const char *const env[] = {"AWS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"};
	static const char *const paths[] = {"/etc/ssl/certs/ca-certificates.crt",
					    "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem",
					    "/etc/ssl/ca-bundle.pem"};

	for (size_t i = 0; i < sizeof(env) / sizeof(*env); i++)
		if (getenv(env[i]) && *getenv(env[i]))
			return xstrdup(getenv(env[i]));
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		if (access(paths[i], R_OK) == 0)
			return xstrdup(paths[i]);
	return NULL;
}

int s3_client_new(struct s3_client **ret, struct sr_error *err)
{
	return s3_client_make(ret, "AWS_ENDPOINT_URL_S3", err);
}

int s3_client_make(struct s3_client **ret, const char *endpoint_env, struct sr_error *err)
{
	struct s3_client *c = xcalloc(1, sizeof(*c));
	int r = lazylib_curl_load(err);

	if (r >= 0)
		r = s3_config_load_for(&c->cfg, endpoint_env, err);
	if (r >= 0)
		r = s3_creds_load(&c->creds, err);
	if (r < 0) {
		s3_client_free(c);
		return r;
	}
	if (c->cfg.endpoint) {
		const char *h = strstr(c->cfg.endpoint, "://");

		c->scheme_host = xstrdup(c->cfg.endpoint);
		c->host = xstrdup(h ? h + 3 : c->cfg.endpoint);
		char *slash = strchr(c->host, '/');
		if (slash) /* a path on the endpoint is not supported: keep the host */
			*slash = '\0';
	}
	c->cainfo = find_ca_bundle();
	c->multi = curl_multi_init();
	if (!c->multi) {
		s3_client_free(c);
		return sr_err(err, -ENOMEM, "S3: cannot start libcurl");
	}
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)S3_PARALLEL);
	*ret = c;
	return 0;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	if (c->multi)
		curl_multi_cleanup(c->multi);
	s3_creds_release(&c->creds);
	s3_config_release(&c->cfg);
	free(c->scheme_host);
	free(c->host);
	free(c->cainfo);
	free(c);
}

void s3_client_set_progress(struct s3_client *c, s3_progress_fn fn, void *ctx)
{
	c->progress = fn;
	c->progress_ctx = ctx;
}

void s3_client_set_cancel(struct s3_client *c, bool (*fn)(void *ctx), void *ctx)
{
	c->cancelled = fn;
	c->cancel_ctx = ctx;
}

const char *s3_client_creds_source(const struct s3_client *c)
{
	return c->creds.source;
}

/* ---- running requests --------------------------------------------------------------------- */

long s3_backoff_ms(int attempt, unsigned random)
{
	long ms = 100L << (attempt < 6 ? attempt : 6);

	if (ms > S3_BACKOFF_CAP_MS)
		ms = S3_BACKOFF_CAP_MS;
	return (long)(random % (unsigned)ms);
}

static long backoff_ms(int attempt)
{
	unsigned r = 0;

	(void)getrandom(&r, sizeof(r), 0);
	return s3_backoff_ms(attempt, r);
}

static void report_progress(struct s3_client *c, bool force)
{
	int64_t now;

	if (!c->progress)
		return;
	now = clock_mono_ms();
	if (!force && now - c->progress_ms < 200)
		return;
	c->progress_ms = now;
	c->progress(c->progress_ctx, c->moved);
}

static int start(struct s3_client *c, struct xfer *x, struct sr_error *err)
{
	int r = s3_xfer_prepare(c, x, err);

	if (r < 0)
		return r;
	x->attempts++;
	curl_multi_add_handle(c->multi, x->easy);
	return 0;
}

/* One s3_run_feed: the requests in flight, and whether the feed may give more.  A request
 * waiting for its next attempt stays in `active` without an easy handle until its
 * `retry_ms`: the loop keeps serving the others and asking whether to cancel meanwhile,
 * where a sleep would stall every transfer in flight and `sagerun stop` with it. */
struct feed_run {
	struct s3_client *c;
	const struct s3_feed *f;
	struct xfer *active[S3_PARALLEL];
	size_t nactive;
	bool feeding;
	int r; /* the first error */
};

/* Hand `x` back to the feed without an answer. */
static void run_drop(struct feed_run *run, struct xfer *x)
{
	s3_xfer_attempt_done(x);
	x->rc = CURLE_ABORTED_BY_CALLBACK;
	if (run->f->done)
		(void)run->f->done(run->f->ctx, x, NULL);
}

static void run_remove(struct feed_run *run, struct xfer *x)
{
	for (size_t i = 0; i < run->nactive; i++)
		if (run->active[i] == x) {
			run->active[i] = run->active[--run->nactive];
			break;
		}
}

/* `x` has its final answer: hand it to the feed. */
static void run_done(struct feed_run *run, struct xfer *x, struct sr_error *err)
{
	run_remove(run, x);
	s3_xfer_attempt_done(x);
	if (run->f->done) {
		int d = run->f->done(run->f->ctx, x, err);

		if (d < 0 && run->r >= 0) {
			run->r = d;
			run->feeding = false;
		}
	}
}

/* Start the feed's next requests until S3_PARALLEL are in flight or it has no more. */
static void run_fill(struct feed_run *run, struct sr_error *err)
{
	while (run->feeding && run->nactive < S3_PARALLEL) {
		struct xfer *x = run->f->next(run->f->ctx);

		if (!x) {
			run->feeding = false;
			break;
		}
		run->r = start(run->c, x, err);
		if (run->r < 0) {
			run_drop(run, x);
			run->feeding = false;
			break;
		}
		run->active[run->nactive++] = x;
	}
}

/* Dropped, each handed back so that its owner removes what it began. */
static int run_cancel(struct feed_run *run, struct sr_error *err)
{
	for (size_t i = 0; i < run->nactive; i++) {
		if (run->active[i]->easy)
			curl_multi_remove_handle(run->c->multi, run->active[i]->easy);
		run_drop(run, run->active[i]);
	}
	report_progress(run->c, true);
	return run->r < 0 ? run->r : sr_err(err, -ECANCELED, "S3 transfer stopped");
}

/* Another attempt at `x` when one may help, after its backoff; false when its answer is
 * final. */
static bool run_retry(struct feed_run *run, struct xfer *x)
{
	struct s3_client *c = run->c;

	if (!s3_xfer_retryable(x) || x->attempts >= S3_MAX_ATTEMPTS)
		return false;
	/* This attempt's bytes count again in the next one. */
	c->moved -= (int64_t)x->written + (x->body_mem ? 0 : (int64_t)x->body_pos);
	s3_xfer_attempt_done(x);
	x->retry_ms = clock_mono_ms() + backoff_ms(x->attempts);
	return true;
}

/* Start the waiting requests whose backoff is over; returns the ms until the next one is due
 * (at most `max`). */
static long run_wake(struct feed_run *run, long max, struct sr_error *err)
{
	int64_t now = clock_mono_ms();

	for (size_t i = 0; i < run->nactive;) {
		struct xfer *x = run->active[i];

		if (x->easy) {
			i++;
		} else if (x->retry_ms <= now) {
			if (start(run->c, x, NULL) == 0) {
				i++;
				continue;
			}
			x->rc = CURLE_OUT_OF_MEMORY;
			run_done(run, x, err); /* takes it out of active[i] */
		} else {
			if (x->retry_ms - now < max)
				max = (long)(x->retry_ms - now);
			i++;
		}
	}
	return max;
}

/* A request's attempt ended: try again later, or hand its final answer to the feed. */
static void run_finished(struct feed_run *run, CURLMsg *m, struct sr_error *err)
{
	struct xfer *x = NULL;

	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
	x->rc = m->data.result;
	curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &x->status);
	curl_multi_remove_handle(run->c->multi, m->easy_handle);
	if (run_retry(run, x))
		return;
	run_done(run, x, err);
}

int s3_run_feed(struct s3_client *c, const struct s3_feed *f, struct sr_error *err)
{
	struct feed_run run = {.c = c, .f = f, .feeding = true};

	for (;;) {
		int running = 0, left;
		CURLMsg *m;

		long wait;

		run_fill(&run, err);
		if (!run.nactive)
			break;
		if (c->cancelled && c->cancelled(c->cancel_ctx))
			return run_cancel(&run, err);
		wait = run_wake(&run, 200, err);
		curl_multi_perform(c->multi, &running);
		while ((m = curl_multi_info_read(c->multi, &left)))
			if (m->msg == CURLMSG_DONE)
				run_finished(&run, m, err);
		report_progress(c, false);
		if (run.nactive)
			curl_multi_poll(c->multi, NULL, 0, (int)wait, NULL);
	}
	report_progress(c, true);
	return run.r;
}

struct array_feed {
	struct xfer **xs;
	size_t n, next;
};

static struct xfer *array_next(void *ctx)
{
	struct array_feed *a = ctx;

	return a->next < a->n ? a->xs[a->next++] : NULL;
}

int s3_run(struct s3_client *c, struct xfer **xs, size_t n, struct sr_error *err)
{
	struct array_feed a = {xs, n, 0};
	struct s3_feed f = {array_next, NULL, &a};

	return s3_run_feed(c, &f, err);
}

int s3_run_one(struct s3_client *c, struct xfer *x, struct sr_error *err)
{
	struct xfer *xs[] = {x};

	return s3_run(c, xs, 1, err);
}

int s3_run_one_uncancellable(struct s3_client *c, struct xfer *x, struct sr_error *err)
{
	bool (*cancelled)(void *) = c->cancelled;
	int r;

	c->cancelled = NULL;
	r = s3_run_one(c, x, err);
	c->cancelled = cancelled;
	return r;
}
