/* internal.h - what the files of s3/ share: the client, one HTTP request (`struct xfer`,
 * xfer.c), the runner that keeps up to S3_PARALLEL requests in flight on the client's curl
 * multi handle (transport.c), and the single-object transfers batch.c falls back on (ops.c,
 * multipart.c). */
#ifndef SR_S3_INTERNAL_H
#define SR_S3_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "s3/client.h"
#include "s3/creds.h"
#include "s3/sigv4.h"

/* What an error answer or an XML result may be; objects go to files. */
#define MEM_MAX (16 * 1024 * 1024)

struct s3_client {
	struct s3_creds creds;
	struct s3_config cfg;
	CURLM *multi;
	char *scheme_host; /* "http://127.0.0.1:4568" (custom endpoint) */
	char *host;	   /* "127.0.0.1:4568", the signed Host */
	char *cainfo;	   /* CA bundle for HTTPS, NULL: libcurl's default */
	/* Bodies moved so far (a retried attempt's bytes are taken back), for progress. */
	int64_t moved;
	s3_progress_fn progress;
	void *progress_ctx;
	int64_t progress_ms; /* when progress was last called */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
};

struct xfer;

/* A call of an AWS JSON-1.1 API (awsjson.c) instead of an S3 request: POST of a JSON body
 * to the service's endpoint, signed for the service, its operation in X-Amz-Target. */
struct xfer_api {
	const char *url;     /* "https://api.sagemaker.us-east-1.amazonaws.com/" */
	const char *host;    /* the signed Host */
	const char *service; /* the signing name: "sagemaker", "logs" */
	const char *target;  /* "SageMaker.CreateTrainingJob" */
	/* The answer is a throttling error (HTTP 400 with a code such as ThrottlingException):
	 * worth another attempt, as botocore retries it.  A hook, so the transport asks the API
	 * layer above it without calling up into it. */
	bool (*throttled)(const struct xfer *x);
};

struct xfer {
	/* request */
	const struct xfer_api *api; /* NULL: an S3 request */
	const char *method;
	const char *bucket;
	const char *key;
	const char *label; /* the key or prefix for messages, when not `key` */
	struct sigv4_param q[4];
	size_t nq;
	char range[64]; /* "bytes=a-b" or "" */
	/* body: from fd at [off, off+len), or from memory */
	int body_fd;
	off_t body_off;
	size_t body_len;
	const char *body_mem;
	size_t body_pos;
	/* sink for a 2xx body: fd at sink_off (pwrite), else memory */
	int sink_fd;
	off_t sink_off;
	/* results */
	long status;
	char etag[128];
	int64_t length; /* Content-Length */
	char *mem;
	size_t mem_len, mem_cap;
	off_t written;
	bool write_failed;
	CURLcode rc;
	int attempts;
	int64_t retry_ms; /* waiting for its next attempt: when it starts (clock_mono_ms) */
	/* per attempt */
	struct s3_client *client;
	CURL *easy;
	struct curl_slist *hl;
	char *url;
	char *auth;
};

/* ---- transport.c: the client ---- */

/* The client with the endpoint of `endpoint_env` (s3_config_load_for). */
int s3_client_make(struct s3_client **ret, const char *endpoint_env, struct sr_error *err);

/* ---- xfer.c: one request ---- */

void s3_xfer_init(struct xfer *x, const char *method, const char *bucket, const char *key);
void s3_xfer_release(struct xfer *x);

/* Before each attempt (transport.c): sign it anew, give it a fresh easy handle, and reset
 * its answer. */
int s3_xfer_prepare(struct s3_client *c, struct xfer *x, struct sr_error *err);
/* Free what one attempt held (easy handle, headers, URL, signature), keeping the answer. */
void s3_xfer_attempt_done(struct xfer *x);

bool s3_xfer_ok(const struct xfer *x);
/* A finished attempt whose failure another attempt may cure: a connection error (not an
 * untrusted certificate), HTTP 5xx, 429 or SlowDown. */
bool s3_xfer_retryable(const struct xfer *x);
/* The error of a finished request, named by operation `op` and its URI, with S3's code. */
int s3_xfer_error(struct s3_client *c, const struct xfer *x, const char *op, struct sr_error *err);

/* ---- transport.c: running requests ---- */

/* The wait before the attempt after `attempt`: full jitter, `random` taken into
 * [0, min(S3_BACKOFF_CAP_MS, 100 ms * 2^attempt)).  Exposed for tests. */
long s3_backoff_ms(int attempt, unsigned random);

/* A source of requests for s3_run_feed: next() hands the next request to start (NULL: none
 * left), done() takes each one back once it has its final answer (after the retries), or
 * was dropped (rc CURLE_ABORTED_BY_CALLBACK); done() < 0 stops the feed. */
struct s3_feed {
	struct xfer *(*next)(void *ctx);
	int (*done)(void *ctx, struct xfer *x, struct sr_error *err);
	void *ctx;
};

/* Run the feed's requests, at most S3_PARALLEL at once, each retried while retryable.  Returns
 * 0, the first done() error, or -ECANCELED when the client's cancel callback said so (every
 * request in flight is then dropped and handed to done()). */
int s3_run_feed(struct s3_client *c, const struct s3_feed *f, struct sr_error *err);

/* `n` requests; 0 when every one got an answer (any HTTP status: the caller judges). */
int s3_run(struct s3_client *c, struct xfer **xs, size_t n, struct sr_error *err);
int s3_run_one(struct s3_client *c, struct xfer *x, struct sr_error *err);
/* A request a stop must not cut: starting, completing or aborting a multipart upload (cut
 * there, an upload would be left unknown to us, or an object made while we report failure). */
int s3_run_one_uncancellable(struct s3_client *c, struct xfer *x, struct sr_error *err);

/* ---- ops.c, multipart.c: one object ---- */

/* One download, in parts when large; s3_get_file with what a listing told. */
int s3_get_one(struct s3_client *c, const char *bucket, const struct s3_file *f,
	       struct sr_error *err);
/* Set the modification time of `fd`; 0 or -errno. */
int s3_set_mtime(int fd, int64_t mtime);
/* s3_put_file with extra open(2) flags (batches: O_NOFOLLOW | O_NONBLOCK, so that a listed
 * file turned into a symlink or a FIFO is refused, never followed or waited on). */
int s3_put_one(struct s3_client *c, const char *bucket, const char *key, const char *path,
	       int oflags, struct sr_error *err);
/* S3's limits on a multipart upload: its parts, and the object it makes. */
#define S3_MAX_PARTS	   10000
#define S3_MAX_OBJECT_SIZE (5LL << 40)
/* The size of each part for an object of `size` bytes: S3_PART_SIZE, or more (whole MiB) when
 * S3_MAX_PARTS of those would not hold it.  Exposed for tests. */
int64_t s3_part_size(int64_t size);
/* Upload `size` bytes of the open file `fd` in parts; aborted after any failure, and when the
 * abort fails too, `err`'s hint says how to remove the upload (bucket, key, upload id). */
int s3_put_multipart(struct s3_client *c, const char *bucket, const char *key, int fd, int64_t size,
		     struct sr_error *err);

#endif
