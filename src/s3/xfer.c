/* xfer.c - one HTTP request to S3 (`struct xfer`): each attempt signed anew with SigV4 on a
 * fresh libcurl easy handle, its body read from a file or from memory, its answer written to a
 * file or kept in memory, and the finished answer judged: good, worth another attempt, or an
 * error named by operation, URI and S3's own code.
 *
 * Here because everything about a single request, and nothing about running many, lives in
 * one place: transport.c starts and retries these without looking inside them, and the
 * operations (ops.c, multipart.c, batch.c) only fill one in and read its answer. */
#include "s3/internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "s3/sigv4.h"
#include "s3/xml.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/xalloc.h"

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

void s3_xfer_attempt_done(struct xfer *x)
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
	s3_xfer_attempt_done(x);
	free(x->mem);
	x->mem = NULL;
}

/* ---- libcurl's callbacks ------------------------------------------------------------------ */

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

/* ---- one attempt -------------------------------------------------------------------------- */

static void amz_now(char buf[17])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* x-amz-content-sha256: small bodies (XML) are signed; file bodies go unsigned, as the AWS CLI
 * sends them. */
static char *payload_hash(const struct xfer *x)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char *hex;

	if (!x->body_mem)
		return xstrdup(x->body_fd >= 0 ? SIGV4_UNSIGNED : SIGV4_EMPTY_SHA256);
	hex = xmalloc(2 * SHA256_DIGEST_LEN + 1);
	sha256(x->body_mem, x->body_len, d);
	sr_hex_encode(d, sizeof(d), hex);
	return hex;
}

/* A header line may hold the signature: wiped before it is freed. */
static void add_header(struct xfer *x, const char *name, const char *value)
{
	char *line = xasprintf("%s: %s", name, value);

	x->hl = curl_slist_append(x->hl, line);
	explicit_bzero(line, strlen(line));
	free(line);
}

/* A JSON API call: POST / with the headers botocore signs for these services (Host,
 * X-Amz-Date, X-Amz-Target, Content-Type, the session token), the body's hash in the
 * signature but not in a header (that header is S3's). */
static void xfer_sign_api(struct s3_client *c, struct xfer *x)
{
	_cleanup_free_ char *creq = NULL, *signed_h = NULL, *payload = payload_hash(x);
	char date[17];
	struct sigv4_param h[5];
	size_t nh = 0;
	struct sigv4_creds sc = {c->creds.access_key, c->creds.secret_key, c->creds.session_token};

	amz_now(date);
	h[nh++] = (struct sigv4_param){"content-type", "application/x-amz-json-1.1"};
	h[nh++] = (struct sigv4_param){"host", x->api->host};
	h[nh++] = (struct sigv4_param){"x-amz-date", date};
	h[nh++] = (struct sigv4_param){"x-amz-target", x->api->target};
	if (sc.session_token)
		h[nh++] = (struct sigv4_param){"x-amz-security-token", sc.session_token};
	creq = sigv4_canonical_request("POST", "/", NULL, 0, h, nh, payload, &signed_h);
	x->auth = sigv4_authorization(&sc, c->cfg.region, x->api->service, date, creq, signed_h);
	x->url = xstrdup(x->api->url);
	for (size_t i = 0; i < nh; i++)
		add_header(x, h[i].name, h[i].value);
	add_header(x, "Authorization", x->auth);
	x->hl = curl_slist_append(x->hl, "Expect:");
	x->hl = curl_slist_append(x->hl, "Accept:");
}

/* This attempt's URL and headers, with a signature made now. */
static void xfer_sign(struct s3_client *c, struct xfer *x)
{
	_cleanup_free_ char *ekey = sigv4_uri_encode(x->key ? x->key : "", true);
	_cleanup_free_ char *path = NULL, *query = NULL, *creq = NULL, *signed_h = NULL;
	_cleanup_free_ char *host = NULL, *payload = payload_hash(x);
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
	for (size_t i = 0; i < nh; i++)
		add_header(x, h[i].name, h[i].value);
	add_header(x, "Authorization", x->auth);
	x->hl = curl_slist_append(x->hl, "Expect:");
	x->hl = curl_slist_append(x->hl, "Accept:");
}

static void easy_set_method(CURL *e, struct xfer *x)
{
	if (!strcmp(x->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(x->method, "PUT")) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
	} else if (!strcmp(x->method, "POST")) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	} else if (strcmp(x->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
	}
}

static void easy_setup(struct s3_client *c, struct xfer *x)
{
	CURL *e = x->easy;

	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* keys are not paths to clean up */
	if (c->cainfo)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->cainfo);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hl);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)S3_CONNECT_TIMEOUT_MS);
	/* A transfer that stalls (no byte for S3_STALL_SECONDS) is a connection error, retried. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)S3_STALL_SECONDS);
	/* Bodies in 512 KiB pieces rather than 16 and 64 KiB: a 32th of the callbacks and the
	 * pwrite/pread calls behind them. */
	if (x->sink_fd >= 0)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
	if (x->body_fd >= 0)
		curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	easy_set_method(e, x);
}

int s3_xfer_prepare(struct s3_client *c, struct xfer *x, struct sr_error *err)
{
	if (x->api)
		xfer_sign_api(c, x);
	else
		xfer_sign(c, x);
	x->client = c;
	x->easy = curl_easy_init();
	if (!x->easy)
		return sr_err(err, -ENOMEM, "S3: cannot start a request");
	easy_setup(c, x);
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

/* ---- the answer --------------------------------------------------------------------------- */

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

bool s3_xfer_retryable(const struct xfer *x)
{
	if (x->write_failed)
		return false;
	if (x->rc != CURLE_OK)
		return x->rc != CURLE_ABORTED_BY_CALLBACK && !tls_trust_error(x->rc);
	if (x->api)
		return x->status >= 500 || x->status == 429 || x->api->throttled(x);
	return x->status >= 500 || x->status == 429 || s3_code_is(x, "SlowDown");
}

bool s3_xfer_ok(const struct xfer *x)
{
	return x->rc == CURLE_OK && !x->write_failed && x->status >= 200 && x->status < 300;
}

/* S3's own words in an <Error> answer. */
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

/* Where S3's code points at our side: the credentials, or the bucket's name. */
static void add_hint(struct s3_client *c, const struct xfer *x, const char *s3code,
		     struct sr_error *err)
{
	if (x->status == 403 &&
	    (!strcmp(s3code, "InvalidAccessKeyId") || !strcmp(s3code, "SignatureDoesNotMatch")))
		sr_err_hint(err, "the credentials came from %s", c->creds.source);
	else if (!strcmp(s3code, "NoSuchBucket"))
		sr_err_hint(err, "bucket '%s' does not exist at %s", x->bucket,
			    c->cfg.endpoint ? c->cfg.endpoint : "AWS");
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
		return sr_err(err, -EIO, "%s s3://%s/%s: %s (after %d attempt%s)", op, x->bucket,
			      key, curl_easy_strerror(x->rc), x->attempts,
			      x->attempts == 1 ? "" : "s");
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
	add_hint(c, x, e.code, err);
	return code;
}
