/* client.h - an S3 client on libcurl: list, head, get, put, delete, with parallel ranged GETs
 * and parallel multipart uploads, retries with backoff, and files written atomically.
 *
 *   struct s3_client *c;
 *   s3_client_new(&c, err);                          credentials, region, endpoint (creds.h)
 *   s3_get_file(c, "bucket", "data/part-0", "/tmp/part-0", err);
 *   s3_put_file(c, "bucket", "out/model.tar.gz", "/tmp/model.tar.gz", err);
 *   s3_client_free(c);
 *
 * Addressing: path-style (http://host:port/bucket/key) for a custom endpoint, virtual-hosted
 * (https://bucket.s3.region.amazonaws.com/key) for AWS.  Requests are signed by sigv4.h.
 * Errors name the operation, the s3:// URI and S3's own code and message; never a credential.
 * Retries: connection errors, HTTP 5xx, 429 and SlowDown, up to S3_MAX_ATTEMPTS per request
 * with exponential backoff and full jitter; every attempt is signed anew.  A request waiting
 * for its next attempt does not hold up the others, nor a cancel.
 *
 * How long a dead endpoint takes to fail: each attempt has S3_CONNECT_TIMEOUT_MS to connect
 * (name lookup included), and a transfer that moves no byte for S3_STALL_SECONDS fails; the
 * waits between the S3_MAX_ATTEMPTS attempts add up to less than S3_BACKOFF_TOTAL_MS.  So a
 * request to an endpoint that refuses or never answers the connection fails within
 * 5 x 10 s + 3 s = 53 s, and to one that accepts it and then says nothing within
 * 5 x (10 s + 30 s) + 3 s = 203 s.
 */
#ifndef SR_S3_CLIENT_H
#define SR_S3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sr_error;

#define S3_MAX_ATTEMPTS	      5
#define S3_CONNECT_TIMEOUT_MS 10000
#define S3_STALL_SECONDS      30
/* No wait between attempts is longer, and all of a request's waits together are shorter. */
#define S3_BACKOFF_CAP_MS   5000
#define S3_BACKOFF_TOTAL_MS 3000
/* Objects from this size on go in parts, this big, this many at a time. */
#define S3_PART_SIZE (8 * 1024 * 1024)
#define S3_PARALLEL  8

struct s3_client;

struct s3_object {
	char *key;
	int64_t size;
	char *etag;    /* without quotes */
	int64_t mtime; /* LastModified, seconds since the epoch (s3_list only; else 0) */
};

/* Credentials and configuration from the standard chain; -ENOKEY when there are none. */
int s3_client_new(struct s3_client **ret, struct sr_error *err);
void s3_client_free(struct s3_client *c);

/* Called while requests run, at most every 200 ms and once at the end of each operation, with
 * the bytes of bodies moved since the client was made (a retried attempt's taken back). */
typedef void (*s3_progress_fn)(void *ctx, int64_t moved);
void s3_client_set_progress(struct s3_client *c, s3_progress_fn fn, void *ctx);

/* Asked while requests run: when `fn` says true, the requests in flight are dropped and the
 * operation fails with -ECANCELED, leaving no file or object behind (a multipart upload is
 * aborted).  For `sagerun stop` during Downloading and Uploading. */
void s3_client_set_cancel(struct s3_client *c, bool (*fn)(void *ctx), void *ctx);

/* Where the credentials came from ("environment (AWS_ACCESS_KEY_ID)"), for messages. */
const char *s3_client_creds_source(const struct s3_client *c);

/* "s3://bucket/key/prefix" -> bucket and key ("" for none).  Caller frees both. */
int s3_uri_parse(const char *uri, char **ret_bucket, char **ret_key, struct sr_error *err);

/* Every object under `prefix`, in key order (ListObjectsV2, all pages).  *ret is an array of
 * *ret_n objects; release with s3_objects_free. */
int s3_list(struct s3_client *c, const char *bucket, const char *prefix, struct s3_object **ret,
	    size_t *ret_n, struct sr_error *err);
void s3_objects_free(struct s3_object *o, size_t n);

/* Size and ETag of one object; -ENOENT when there is none. */
int s3_head(struct s3_client *c, const char *bucket, const char *key, struct s3_object *ret,
	    struct sr_error *err);

/* Download into `path` through a temp file in the same folder, in parallel ranged parts when
 * large; the size is checked against HeadObject's, and `path` appears only when complete (not
 * durable: see struct s3_file). */
int s3_get_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct sr_error *err);

/* Upload `path` (PutObject, or a multipart upload in parallel parts when large; a failed
 * multipart upload is aborted, so no partial object is ever visible). */
int s3_put_file(struct s3_client *c, const char *bucket, const char *key, const char *path,
		struct sr_error *err);

/* Upload `len` bytes from memory (PutObject). */
int s3_put_data(struct s3_client *c, const char *bucket, const char *key, const void *data,
		size_t len, struct sr_error *err);

/* One object of a batch: S3 `key` and local `path`.  For a download, `size` and `etag` as
 * s3_list gave them spare a HeadObject per object (size -1: looked up) and are checked;
 * `mtime` > 0 becomes the file's modification time (as `aws s3` sets LastModified);
 * `durable`: its data reaches the disk before the rename (for a file later trusted by its
 * name alone, the S3 channel cache).  Without it a file still appears only whole, but a
 * crash of the machine may leave it short (as with `aws s3 cp`); an fsync is 40 % of a
 * 1 GiB download here. */
struct s3_file {
	const char *key;
	const char *path;
	int64_t size;
	const char *etag;
	int64_t mtime;
	bool durable;
};

/* Download or upload `n` objects of `bucket`, S3_PARALLEL requests in flight across all of
 * them (small objects in one request each, large ones in parts), each file atomic as with
 * s3_get_file / s3_put_file.  The parent folders must exist.  At the first error no new
 * object starts; those already in flight finish, and the error is returned. */
int s3_get_files(struct s3_client *c, const char *bucket, const struct s3_file *f, size_t n,
		 struct sr_error *err);
int s3_put_files(struct s3_client *c, const char *bucket, const struct s3_file *f, size_t n,
		 struct sr_error *err);

/* 1 when the bucket exists (and these credentials may see it), 0 when there is none. */
int s3_bucket_exists(struct s3_client *c, const char *bucket, struct sr_error *err);
/* CreateBucket in `region`; a bucket of ours that exists already is no error. */
int s3_bucket_create(struct s3_client *c, const char *bucket, const char *region,
		     struct sr_error *err);

int s3_delete(struct s3_client *c, const char *bucket, const char *key, struct sr_error *err);

/* Where object `key` under `prefix` lands in the local folder `dir` (<dir>/<key less the
 * prefix>).  A key that would land outside (an empty, "." or ".." segment, or nothing after
 * the prefix) is refused with an error naming it.  Caller frees *ret. */
int s3_key_local_path(const char *dir, const char *prefix, const char *key, char **ret,
		      struct sr_error *err);

#endif
