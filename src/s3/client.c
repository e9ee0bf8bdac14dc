/* client.c - S3 requests: one `struct xfer` per HTTP request, run in parallel on one curl multi
 * handle (which keeps the connections), signed anew at every attempt. */
#include "s3/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s3/creds.h"
#include "s3/internal.h"
#include "s3/sigv4.h"
#include "s3/xml.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/lazylib.h"
#include "util/sha256.h"
#include "util/strv.h"
#include "util/xalloc.h"

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
	struct s3_client *c = xcalloc(1, sizeof(*c));
	int r = lazylib_curl_load(err);

	if (r >= 0)
		r = s3_config_load(&c->cfg, err);
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

int s3_uri_parse(const char *uri, char **ret_bucket, char **ret_key, struct sr_error *err)
{
	const char *b, *slash;

	if (strncmp(uri, "s3://", 5) || !uri[5] || uri[5] == '/')
		return sr_err(err, -EINVAL, "'%s' is not an S3 URI (s3://bucket/key)", uri);
	b = uri + 5;
	slash = strchr(b, '/');
	*ret_bucket = slash ? xstrndup(b, (size_t)(slash - b)) : xstrdup(b);
	*ret_key = xstrdup(slash ? slash + 1 : "");
	return 0;
}

void s3_objects_free(struct s3_object *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].key);
		free(o[i].etag);
	}
	free(o);
}

/* ---- one request -------------------------------------------------------------------------- */

void s3_xfer_init(struct xfer *x, const char *method, const char *bucket, const char *key)
{
	memset(x, 0, sizeof(*x));
	x->method = method;
	x->bucket = bucket;
	x->key = key;
	x->body_fd = -1;
	x->sink_fd = -1;
	x->length = -1;
}

static void xfer_attempt_done(struct xfer *x)
{
	curl_slist_free_all(x->hl);
	x->hl = NULL;
	free(x->url);
	x->url = NULL;
	if (x->auth) {
		explicit_bzero(x->auth, strlen(x->auth));
		free(x->auth);
		x->auth = NULL;
	}
	if (x->easy)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
}

void s3_xfer_release(struct xfer *x)
{
	xfer_attempt_done(x);
	free(x->mem);
	x->mem = NULL;
}

static size_t on_write(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (x->sink_fd >= 0 && status >= 200 && status < 300) {
		for (size_t done = 0; done < len;) {
			ssize_t w =
			    pwrite(x->sink_fd, p + done, len - done, x->sink_off + x->written);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				x->write_failed = true;
				return 0;
			}
			done += (size_t)w;
			x->written += w;
			x->client->moved += w;
		}
		return len;
	}
	if (x->mem_len + len > MEM_MAX)
		return 0;
	xgrow(&x->mem, &x->mem_cap, x->mem_len + len + 1, 1);
	memcpy(x->mem + x->mem_len, p, len);
	x->mem_len += len;
	x->mem[x->mem_len] = '\0';
	return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t want = size * n, left = x->body_len - x->body_pos;

	if (want > left)
		want = left;
	if (!want)
		return 0;
	if (x->body_mem) {
		memcpy(p, x->body_mem + x->body_pos, want);
	} else {
		ssize_t r = pread(x->body_fd, p, want, x->body_off + (off_t)x->body_pos);

		if (r <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)r;
	}
	x->body_pos += want;
	if (!x->body_mem)
		x->client->moved += (int64_t)want;
	return want;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;

	if (len > 6 && !strncasecmp(p, "ETag:", 5)) {
		const char *v = p + 5;
		size_t o = 0;

		while (*v == ' ')
			v++;
		for (; v < p + len && *v != '\r' && *v != '\n' && o < sizeof(x->etag) - 1; v++)
			if (*v != '"')
				x->etag[o++] = *v;
		x->etag[o] = '\0';
	} else if (len > 15 && !strncasecmp(p, "Content-Length:", 15)) {
		x->length = strtoll(p + 15, NULL, 10);
	}
	return len;
}

static void amz_now(char buf[17])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Sign and set up this attempt's easy handle. */
static int xfer_prepare(struct s3_client *c, struct xfer *x, struct sr_error *err)
{
	_cleanup_free_ char *ekey = sigv4_uri_encode(x->key ? x->key : "", true);
	_cleanup_free_ char *path = NULL, *query = NULL, *creq = NULL, *signed_h = NULL;
	_cleanup_free_ char *host = NULL, *payload = NULL;
	char date[17];
	struct sigv4_param h[6];
	size_t nh = 0;
	struct sigv4_creds sc = {c->creds.access_key, c->creds.secret_key, c->creds.session_token};

	if (c->cfg.path_style) {
		host = xstrdup(c->host);
		path = xasprintf("/%s%s%s", x->bucket, x->key && *x->key ? "/" : "", ekey);
	} else {
		host = xasprintf("%s.s3.%s.amazonaws.com", x->bucket, c->cfg.region);
		path = xasprintf("/%s", ekey);
	}
	/* Small bodies (XML) are signed; file bodies go unsigned, as the AWS CLI sends them. */
	if (x->body_mem) {
		unsigned char d[SHA256_DIGEST_LEN];

		payload = xmalloc(2 * SHA256_DIGEST_LEN + 1);
		sha256(x->body_mem, x->body_len, d);
		sr_hex_encode(d, sizeof(d), payload);
	} else {
		payload = xstrdup(x->body_fd >= 0 ? SIGV4_UNSIGNED : SIGV4_EMPTY_SHA256);
	}
	amz_now(date);
	h[nh++] = (struct sigv4_param){"host", host};
	h[nh++] = (struct sigv4_param){"x-amz-content-sha256", payload};
	h[nh++] = (struct sigv4_param){"x-amz-date", date};
	if (sc.session_token)
		h[nh++] = (struct sigv4_param){"x-amz-security-token", sc.session_token};
	if (x->range[0])
		h[nh++] = (struct sigv4_param){"range", x->range};
	query = sigv4_query(x->q, x->nq);
	creq = sigv4_canonical_request(x->method, path, x->q, x->nq, h, nh, payload, &signed_h);
	x->auth = sigv4_authorization(&sc, c->cfg.region, "s3", date, creq, signed_h);

	/* The URL carries exactly the path and query that were signed. */
	x->url = xasprintf("%s%s%s%s%s", c->cfg.path_style ? c->scheme_host : "https://",
			   c->cfg.path_style ? "" : host, path, *query ? "?" : "", query);
	for (size_t i = 0; i < nh; i++) {
		char *line = xasprintf("%s: %s", h[i].name, h[i].value);

		x->hl = curl_slist_append(x->hl, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	{
		char *line = xasprintf("Authorization: %s", x->auth);

		x->hl = curl_slist_append(x->hl, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	x->hl = curl_slist_append(x->hl, "Expect:");
	x->hl = curl_slist_append(x->hl, "Accept:");

	x->client = c;
	x->easy = curl_easy_init();
	if (!x->easy)
		return sr_err(err, -ENOMEM, "S3: cannot start a request");
	curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
	curl_easy_setopt(x->easy, CURLOPT_PATH_AS_IS, 1L); /* keys are not paths to clean up */
	if (c->cainfo)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, c->cainfo);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hl);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* A transfer that stalls (no byte for 30 s) is a connection error, retried. */
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME, 30L);
	/* Bodies in 512 KiB pieces rather than 16 and 64 KiB: a 32th of the callbacks and the
	 * pwrite/pread calls behind them. */
	if (x->sink_fd >= 0)
		curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE, 512L * 1024);
	if (x->body_fd >= 0)
		curl_easy_setopt(x->easy, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	if (!strcmp(x->method, "HEAD")) {
		curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(x->method, "PUT")) {
		curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
		curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
	} else if (!strcmp(x->method, "POST")) {
		curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	} else if (strcmp(x->method, "GET")) {
		curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, x->method);
	}
	/* A fresh attempt starts its body and its sink over. */
	x->body_pos = 0;
	x->written = 0;
	x->mem_len = 0;
	x->etag[0] = '\0';
	x->length = -1;
	x->status = 0;
	x->write_failed = false;
	return 0;
}

static bool s3_code_is(const struct xfer *x, const char *code)
{
	_cleanup_free_ char *needle = xasprintf("<Code>%s</Code>", code);

	return x->mem && strstr(x->mem, needle);
}

/* A certificate not trusted (or no CA bundle to judge it by): asking again will not help. */
static bool tls_trust_error(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CERTPROBLEM;
}

static bool retryable(const struct xfer *x)
{
	if (x->write_failed)
		return false;
	if (x->rc != CURLE_OK)
		return x->rc != CURLE_ABORTED_BY_CALLBACK && !tls_trust_error(x->rc);
	return x->status >= 500 || x->status == 429 || s3_code_is(x, "SlowDown");
}

/* Full jitter: a random wait in [0, min(cap, base * 2^attempt)). */
static void backoff(int attempt)
{
	unsigned r = 0;
	long ms = 100L << (attempt < 6 ? attempt : 6);
	struct timespec ts;

	if (ms > 5000)
		ms = 5000;
	(void)getrandom(&r, sizeof(r), 0);
	ms = (long)(r % (unsigned)ms);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
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
	int r = xfer_prepare(c, x, err);

	if (r < 0)
		return r;
	x->attempts++;
	curl_multi_add_handle(c->multi, x->easy);
	return 0;
}

int s3_run_feed(struct s3_client *c, const struct s3_feed *f, struct sr_error *err)
{
	struct xfer *active[S3_PARALLEL];
	size_t nactive = 0;
	bool feeding = true;
	int r = 0;

	for (;;) {
		while (feeding && nactive < S3_PARALLEL) {
			struct xfer *x = f->next(f->ctx);

			if (!x) {
				feeding = false;
				break;
			}
			r = start(c, x, err);
			if (r < 0) {
				xfer_attempt_done(x);
				x->rc = CURLE_ABORTED_BY_CALLBACK;
				if (f->done)
					(void)f->done(f->ctx, x, NULL);
				feeding = false;
				break;
			}
			active[nactive++] = x;
		}
		if (!nactive)
			break;
		if (c->cancelled && c->cancelled(c->cancel_ctx)) {
			/* Dropped, each handed back so that its owner removes what it began. */
			for (size_t i = 0; i < nactive; i++) {
				curl_multi_remove_handle(c->multi, active[i]->easy);
				xfer_attempt_done(active[i]);
				active[i]->rc = CURLE_ABORTED_BY_CALLBACK;
				if (f->done)
					(void)f->done(f->ctx, active[i], NULL);
			}
			report_progress(c, true);
			return r < 0 ? r : sr_err(err, -ECANCELED, "S3 transfer stopped");
		}

		int running = 0, left;
		CURLMsg *m;

		curl_multi_perform(c->multi, &running);
		while ((m = curl_multi_info_read(c->multi, &left))) {
			struct xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			x->rc = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &x->status);
			curl_multi_remove_handle(c->multi, m->easy_handle);
			for (size_t i = 0; i < nactive; i++)
				if (active[i] == x) {
					active[i] = active[--nactive];
					break;
				}
			if (retryable(x) && x->attempts < S3_MAX_ATTEMPTS) {
				/* This attempt's bytes count again in the next one. */
				c->moved -=
				    (int64_t)x->written + (x->body_mem ? 0 : (int64_t)x->body_pos);
				xfer_attempt_done(x);
				backoff(x->attempts);
				if (start(c, x, NULL) == 0) {
					active[nactive++] = x;
					continue;
				}
				x->rc = CURLE_OUT_OF_MEMORY;
			}
			xfer_attempt_done(x);
			if (f->done) {
				int d = f->done(f->ctx, x, err);

				if (d < 0 && r >= 0) {
					r = d;
					feeding = false;
				}
			}
		}
		report_progress(c, false);
		if (nactive)
			curl_multi_poll(c->multi, NULL, 0, 200, NULL);
	}
	report_progress(c, true);
	return r;
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

static int run_one(struct s3_client *c, struct xfer *x, struct sr_error *err)
{
	struct xfer *xs[] = {x};

	return s3_run(c, xs, 1, err);
}

/* A request a stop must not cut: starting, completing or aborting a multipart upload (cut
 * there, an upload would be left unknown to us, or an object made while we report failure). */
static int run_one_uncancellable(struct s3_client *c, struct xfer *x, struct sr_error *err)
{
	bool (*cancelled)(void *) = c->cancelled;
	int r;

	c->cancelled = NULL;
	r = run_one(c, x, err);
	c->cancelled = cancelled;
	return r;
}

/* The error of a finished request, named by its operation and URI, with S3's code. */
struct s3err {
	char code[64];
	char message[256];
};

static int on_err_xml(void *ctx, const char *parent, const char *name, const char *text)
{
	struct s3err *e = ctx;

	if (!strcmp(parent, "Error") && !strcmp(name, "Code"))
		snprintf(e->code, sizeof(e->code), "%s", text);
	else if (!strcmp(parent, "Error") && !strcmp(name, "Message"))
		snprintf(e->message, sizeof(e->message), "%s", text);
	return 0;
}

int s3_xfer_error(struct s3_client *c, const struct xfer *x, const char *op, struct sr_error *err)
{
	struct s3err e;
	int code;

	memset(&e, 0, sizeof(e));
	const char *key = x->label ? x->label : x->key ? x->key : "";

	if (x->rc != CURLE_OK && tls_trust_error(x->rc)) {
		sr_err(err, -EIO, "%s s3://%s/%s: %s (CA bundle: %s)", op, x->bucket, key,
		       curl_easy_strerror(x->rc), c->cainfo ? c->cainfo : "libcurl's default");
		return sr_err_hint(err,
				   "give the endpoint's CA certificate with AWS_CA_BUNDLE=FILE "
				   "(or SSL_CERT_FILE)");
	}
	if (x->rc != CURLE_OK)
		return sr_err(err, -EIO, "%s s3://%s/%s: %s (after %d attempts)", op, x->bucket,
			      key, curl_easy_strerror(x->rc), x->attempts);
	if (x->write_failed)
		return sr_err(err, -EIO, "%s s3://%s/%s: cannot write the local file", op,
			      x->bucket, key);
	if (x->mem)
		(void)s3_xml_walk(x->mem, x->mem_len, on_err_xml, &e);
	code = x->status == 404 ? -ENOENT : x->status == 403 ? -EACCES : -EIO;
	if (x->status == 404 && !e.code[0] && !strcmp(x->method, "HEAD"))
		snprintf(e.code, sizeof(e.code), "NoSuchKey");
	sr_err(err, code, "%s s3://%s/%s: HTTP %ld%s%s%s%s", op, x->bucket, key, x->status,
	       e.code[0] ? " " : "", e.code, e.message[0] ? ": " : "", e.message);
	if (x->status == 403 &&
	    (!strcmp(e.code, "InvalidAccessKeyId") || !strcmp(e.code, "SignatureDoesNotMatch")))
		sr_err_hint(err, "the credentials came from %s", c->creds.source);
	else if (!strcmp(e.code, "NoSuchBucket"))
		sr_err_hint(err, "bucket '%s' does not exist at %s", x->bucket,
			    c->cfg.endpoint ? c->cfg.endpoint : "AWS");
	return code;
}

bool s3_xfer_ok(const struct xfer *x)
{
	return x->rc == CURLE_OK && !x->write_failed && x->status >= 200 && x->status < 300;
}

/* ---- operations --------------------------------------------------------------------------- */

/* "2026-12-01T21:15:49.000Z" (ListObjectsV2's LastModified) -> seconds since the epoch, 0
 * when it is not one. */
static int64_t s3_parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return 0;
	return (int64_t)timegm(&tm);
}

struct list_state {
	struct s3_object *objs;
	size_t n, cap;
	bool truncated;
	char *token;
};

static int on_list_xml(void *ctx, const char *parent, const char *name, const char *text)
{
	struct list_state *l = ctx;

	if (!strcmp(parent, "Contents")) {
		struct s3_object *o;

		if (!strcmp(name, "Key")) {
			xgrow(&l->objs, &l->cap, l->n + 1, sizeof(*l->objs));
			o = &l->objs[l->n++];
			memset(o, 0, sizeof(*o));
			o->key = xstrdup(text);
			o->size = -1;
		} else if (l->n && !strcmp(name, "Size")) {
			l->objs[l->n - 1].size = strtoll(text, NULL, 10);
		} else if (l->n && !strcmp(name, "LastModified")) {
			l->objs[l->n - 1].mtime = s3_parse_time(text);
		} else if (l->n && !strcmp(name, "ETag")) {
			o = &l->objs[l->n - 1];
			free(o->etag);
			o->etag = xstrdup(text + (text[0] == '"'));
			if (*o->etag && o->etag[strlen(o->etag) - 1] == '"')
				o->etag[strlen(o->etag) - 1] = '\0';
		}
	} else if (!strcmp(parent, "ListBucketResult")) {
		if (!strcmp(name, "IsTruncated"))
			l->truncated = !strcmp(text, "true");
		else if (!strcmp(name, "NextContinuationToken")) {
			free(l->token);
			l->token = xstrdup(text);
		}
	}
	return 0;
}

static int cmp_obj(const void *a, const void *b)
{
	return strcmp(((const struct s3_object *)a)->key, ((const struct s3_object *)b)->key);
}

int s3_list(struct s3_client *c, const char *bucket, const char *prefix, struct s3_object **ret,
	    size_t *ret_n, struct sr_error *err)
{
	struct list_state l = {0};
	int r = 0;

	do {
		struct xfer x;

		s3_xfer_init(&x, "GET", bucket, NULL);
		x.label = prefix;
		x.q[x.nq++] = (struct sigv4_param){"list-type", "2"};
		x.q[x.nq++] = (struct sigv4_param){"prefix", prefix ? prefix : ""};
		if (l.token)
			x.q[x.nq++] = (struct sigv4_param){"continuation-token", l.token};
		l.truncated = false;
		r = run_one(c, &x, err);
		if (r >= 0 && !s3_xfer_ok(&x))
			r = s3_xfer_error(c, &x, "list", err);
		if (r >= 0 && s3_xml_walk(x.mem ? x.mem : "", x.mem_len, on_list_xml, &l) < 0)
			r = sr_err(err, -EBADMSG, "list s3://%s/%s: the answer is not valid XML",
				   bucket, prefix ? prefix : "");
		s3_xfer_release(&x);
		if (r >= 0 && l.truncated && !l.token)
			r = sr_err(err, -EBADMSG,
				   "list s3://%s/%s: truncated answer without a continuation token",
				   bucket, prefix ? prefix : "");
	} while (r >= 0 && l.truncated);
	free(l.token);
	if (r < 0) {
		s3_objects_free(l.objs, l.n);
		return r;
	}
	if (l.n)
		qsort(l.objs, l.n, sizeof(*l.objs), cmp_obj);
	*ret = l.objs;
	*ret_n = l.n;
	return 0;
}

int s3_head(struct s3_client *c, const char *bucket, const char *key, struct s3_object *ret,
	    struct sr_error *err)
{
	struct xfer x;
	int r;

	s3_xfer_init(&x, "HEAD", bucket, key);
	r = run_one(c, &x, err);
	if (r >= 0 && !s3_xfer_ok(&x))
		r = s3_xfer_error(c, &x, "head", err);
	if (r >= 0) {
		ret->key = xstrdup(key);
		ret->size = x.length;
		ret->etag = xstrdup(x.etag);
	}
	s3_xfer_release(&x);
	return r;
}

int s3_get_one(struct s3_client *c, const char *bucket, const struct s3_file *f,
	       struct sr_error *err)
{
	const char *key = f->key, *path = f->path;
	struct s3_object head = {0};
	_cleanup_free_ char *tmp = xasprintf("%s.sagerun-part.%d", path, (int)getpid());
	_cleanup_close_ int fd = -1;
	struct xfer *parts = NULL, **xs = NULL;
	size_t n = 0;
	int r;

	/* What a listing told is as good as a HeadObject. */
	if (f->size >= 0 && f->etag) {
		head.size = f->size;
		head.etag = xstrdup(f->etag);
	} else {
		r = s3_head(c, bucket, key, &head, err);
		if (r < 0)
			return r;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = sr_err_errno(err, errno, "get s3://%s/%s: create '%s'", bucket, key, tmp);
		goto out;
	}
	if (head.size < 0)
		head.size = 0;
	/* Parts of S3_PART_SIZE, fetched S3_PARALLEL at a time, each into its own place. */
	n = head.size > S3_PART_SIZE ? (size_t)((head.size + S3_PART_SIZE - 1) / S3_PART_SIZE) : 1;
	parts = xcalloc(n, sizeof(*parts));
	xs = xcalloc(n, sizeof(*xs));
	for (size_t i = 0; i < n; i++) {
		int64_t from = (int64_t)i * S3_PART_SIZE;
		int64_t to = from + S3_PART_SIZE - 1 < head.size - 1 ? from + S3_PART_SIZE - 1
								     : head.size - 1;

		s3_xfer_init(&parts[i], "GET", bucket, key);
		parts[i].sink_fd = fd;
		parts[i].sink_off = (off_t)from;
		if (n > 1)
			snprintf(parts[i].range, sizeof(parts[i].range), "bytes=%lld-%lld",
				 (long long)from, (long long)to);
		xs[i] = &parts[i];
	}
	r = s3_run(c, xs, n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (!s3_xfer_ok(&parts[i]))
			r = s3_xfer_error(c, &parts[i], "get", err);
		/* The object changed between the parts (or since it was listed): not one
		 * consistent file. */
		else if (head.etag[0] && parts[i].etag[0] && strcmp(parts[i].etag, head.etag))
			r = sr_err(err, -ESTALE,
				   "get s3://%s/%s: the object changed while it was "
				   "downloaded (ETag %s, then %s)",
				   bucket, key, head.etag, parts[i].etag);
	}
	if (r >= 0) {
		struct stat st;

		if ((f->durable && fsync(fd) < 0) || fstat(fd, &st) < 0)
			r = sr_err_errno(err, errno, "get s3://%s/%s: '%s'", bucket, key, tmp);
		else if (st.st_size != head.size)
			r = sr_err(err, -EIO, "get s3://%s/%s: got %lld bytes of %lld", bucket, key,
				   (long long)st.st_size, (long long)head.size);
	}
	if (r >= 0 && f->mtime > 0 && (r = s3_set_mtime(fd, f->mtime)) < 0)
		sr_err_errno(err, -r, "get s3://%s/%s: set the time of '%s'", bucket, key, tmp);
	if (r >= 0 && rename(tmp, path) < 0)
		r = sr_err_errno(err, errno, "get s3://%s/%s: rename to '%s'", bucket, key, path);
out:
	if (r < 0 && fd >= 0)
		unlink(tmp); /* never a partial file under the real name, nor a temp one left */
	for (size_t i = 0; i < n; i++)
		s3_xfer_release(&parts[i]);
	free(parts);
	free(xs);
	free(head.key);
	free(head.etag);
	return r;
}

int s3_get_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct sr_error *err)
{
	struct s3_file f = {.key = key, .path = path, .size = -1};

	return s3_get_one(c, bucket, &f, err);
}

int s3_set_mtime(int fd, int64_t mtime)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)mtime}};

	return futimens(fd, ts) < 0 ? -errno : 0;
}

int s3_put_data(struct s3_client *c, const char *bucket, const char *key, const void *data,
		size_t len, struct sr_error *err)
{
	struct xfer x;
	int r;

	s3_xfer_init(&x, "PUT", bucket, key);
	x.body_mem = data;
	x.body_len = len;
	r = run_one(c, &x, err);
	if (r >= 0 && !s3_xfer_ok(&x))
		r = s3_xfer_error(c, &x, "put", err);
	s3_xfer_release(&x);
	return r;
}

static int on_upload_id(void *ctx, const char *parent, const char *name, const char *text)
{
	char **id = ctx;

	if (!strcmp(parent, "InitiateMultipartUploadResult") && !strcmp(name, "UploadId")) {
		free(*id);
		*id = xstrdup(text);
	}
	return 0;
}

static void abort_upload(struct s3_client *c, const char *bucket, const char *key, const char *id)
{
	struct xfer x;

	/* Even, and above all, when the upload was stopped. */
	s3_xfer_init(&x, "DELETE", bucket, key);
	x.q[x.nq++] = (struct sigv4_param){"uploadId", id};
	(void)run_one_uncancellable(c, &x, NULL);
	s3_xfer_release(&x);
}

static int put_multipart(struct s3_client *c, const char *bucket, const char *key, int fd,
			 int64_t size, struct sr_error *err)
{
	size_t n = (size_t)((size + S3_PART_SIZE - 1) / S3_PART_SIZE);
	struct xfer init, done, *parts = xcalloc(n, sizeof(*parts));
	struct xfer **xs = xcalloc(n, sizeof(*xs));
	_cleanup_free_ char *id = NULL, *xml = NULL;
	char(*nums)[24] = xcalloc(n, sizeof(*nums));
	size_t xml_len = 0;
	FILE *f;
	int r;

	s3_xfer_init(&init, "POST", bucket, key);
	init.q[init.nq++] = (struct sigv4_param){"uploads", NULL};
	init.body_mem = "";
	r = run_one_uncancellable(c, &init, err);
	if (r >= 0 && !s3_xfer_ok(&init))
		r = s3_xfer_error(c, &init, "put (start multipart upload)", err);
	if (r >= 0 &&
	    (s3_xml_walk(init.mem ? init.mem : "", init.mem_len, on_upload_id, &id) < 0 || !id))
		r = sr_err(err, -EBADMSG, "put s3://%s/%s: no UploadId in the answer", bucket, key);
	s3_xfer_release(&init);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < n; i++) {
		int64_t off = (int64_t)i * S3_PART_SIZE;

		snprintf(nums[i], sizeof(nums[i]), "%zu", i + 1);
		s3_xfer_init(&parts[i], "PUT", bucket, key);
		parts[i].q[parts[i].nq++] = (struct sigv4_param){"partNumber", nums[i]};
		parts[i].q[parts[i].nq++] = (struct sigv4_param){"uploadId", id};
		parts[i].body_fd = fd;
		parts[i].body_off = (off_t)off;
		parts[i].body_len = (size_t)(size - off < S3_PART_SIZE ? size - off : S3_PART_SIZE);
		xs[i] = &parts[i];
	}
	r = s3_run(c, xs, n, err);
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (!s3_xfer_ok(&parts[i]) || !parts[i].etag[0])
			r = s3_xfer_ok(&parts[i]) ? sr_err(err, -EBADMSG,
							   "put s3://%s/%s: part %zu has no "
							   "ETag",
							   bucket, key, i + 1)
						  : s3_xfer_error(c, &parts[i], "put (part)", err);
	if (r < 0)
		goto abort;

	f = open_memstream(&xml, &xml_len);
	if (!f)
		abort();
	fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
			parts[i].etag);
	fputs("</CompleteMultipartUpload>", f);
	fclose(f);
	s3_xfer_init(&done, "POST", bucket, key);
	done.q[done.nq++] = (struct sigv4_param){"uploadId", id};
	done.body_mem = xml;
	done.body_len = xml_len;
	r = run_one_uncancellable(c, &done, err);
	/* S3 can answer 200 with an <Error> body for a complete that failed. */
	if (r >= 0 && (!s3_xfer_ok(&done) || (done.mem && strstr(done.mem, "<Error>"))))
		r = s3_xfer_error(c, &done, "put (complete multipart upload)", err);
	s3_xfer_release(&done);
	if (r >= 0)
		goto out;
abort:
	abort_upload(c, bucket, key, id);
out:
	for (size_t i = 0; i < n; i++)
		s3_xfer_release(&parts[i]);
	free(parts);
	free(xs);
	free(nums);
	return r;
}

int s3_put_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct sr_error *err)
{
	return s3_put_one(c, bucket, key, path, 0, err);
}

int s3_put_one(struct s3_client *c, const char *bucket, const char *key, const char *path,
	       int oflags, struct sr_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | oflags);
	struct stat st;
	struct xfer x;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return sr_err_errno(err, errno, "put s3://%s/%s: '%s'", bucket, key, path);
	if (!S_ISREG(st.st_mode))
		return sr_err(err, -EINVAL, "put s3://%s/%s: '%s' is not a regular file", bucket,
			      key, path);
	if (st.st_size > S3_PART_SIZE)
		return put_multipart(c, bucket, key, fd, st.st_size, err);
	s3_xfer_init(&x, "PUT", bucket, key);
	x.body_fd = fd;
	x.body_len = (size_t)st.st_size;
	r = run_one(c, &x, err);
	if (r >= 0 && !s3_xfer_ok(&x))
		r = s3_xfer_error(c, &x, "put", err);
	s3_xfer_release(&x);
	return r;
}

int s3_delete(struct s3_client *c, const char *bucket, const char *key, struct sr_error *err)
{
	struct xfer x;
	int r;

	s3_xfer_init(&x, "DELETE", bucket, key);
	r = run_one(c, &x, err);
	if (r >= 0 && !s3_xfer_ok(&x))
		r = s3_xfer_error(c, &x, "delete", err);
	s3_xfer_release(&x);
	return r;
}

int s3_key_local_path(const char *dir, const char *prefix, const char *key, char **ret,
		      struct sr_error *err)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	const char *rel;

	if (plen && strncmp(key, prefix, plen))
		return sr_err(err, -EINVAL, "key '%s' is not under the prefix '%s'", key, prefix);
	rel = key + plen;
	/* "data" as prefix of "data/x": the separator is not a segment of its own. */
	if (plen && prefix[plen - 1] != '/' && *rel == '/')
		rel++;
	if (!*rel)
		return sr_err(err, -EINVAL,
			      "key '%s' names the prefix itself, not an object under it", key);
	for (const char *p = rel; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
			return sr_err(
			    err, -EINVAL,
			    "key '%s' would land outside '%s' (an empty, '.' or '..' part); "
			    "nothing was written for it",
			    key, dir);
		if (!*e)
			break;
		p = e + 1;
		if (!*p) /* "a/": a trailing slash is an empty last part */
			return sr_err(err, -EINVAL,
				      "key '%s' would land outside '%s' (an empty, '.' or '..' "
				      "part); nothing was written for it",
				      key, dir);
	}
	*ret = xasprintf("%s/%s", dir, rel);
	return 0;
}
