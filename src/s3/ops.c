/* ops.c - the S3 operations on one object or one prefix: ListObjectsV2 (every page), HeadObject,
 * GetObject (in parallel ranged parts when large, into a temp file renamed when whole),
 * PutObject (from memory or a file) and DeleteObject.
 *
 * Here because an operation is what to ask and how to read the answer; how the request is
 * signed, sent and retried is transport.c's and xfer.c's.  Uploads too large for one PutObject
 * go to multipart.c; many objects at once to batch.c. */
#include "s3/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s3/internal.h"
#include "s3/xml.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

void s3_objects_free(struct s3_object *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].key);
		free(o[i].etag);
	}
	free(o);
}

/* ---- ListObjectsV2 ------------------------------------------------------------------------ */

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

/* One page of the listing, from the continuation token of the one before. */
static int list_page(struct s3_client *c, const char *bucket, const char *prefix,
		     struct list_state *l, struct sr_error *err)
{
	struct xfer x;
	int r;

	s3_xfer_init(&x, "GET", bucket, NULL);
	x.label = prefix;
	x.q[x.nq++] = (struct sigv4_param){"list-type", "2"};
	x.q[x.nq++] = (struct sigv4_param){"prefix", prefix ? prefix : ""};
	if (l->token)
		x.q[x.nq++] = (struct sigv4_param){"continuation-token", l->token};
	l->truncated = false;
	r = s3_run_one(c, &x, err);
	if (r >= 0 && !s3_xfer_ok(&x))
		r = s3_xfer_error(c, &x, "list", err);
	if (r >= 0 && s3_xml_walk(x.mem ? x.mem : "", x.mem_len, on_list_xml, l) < 0)
		r = sr_err(err, -EBADMSG, "list s3://%s/%s: the answer is not valid XML", bucket,
			   prefix ? prefix : "");
	s3_xfer_release(&x);
	if (r >= 0 && l->truncated && !l->token)
		r = sr_err(err, -EBADMSG,
			   "list s3://%s/%s: truncated answer without a continuation token", bucket,
			   prefix ? prefix : "");
	return r;
}

int s3_list(struct s3_client *c, const char *bucket, const char *prefix, struct s3_object **ret,
	    size_t *ret_n, struct sr_error *err)
{
	struct list_state l = {0};
	int r = 0;

	do {
		r = list_page(c, bucket, prefix, &l, err);
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

/* ---- HeadObject, GetObject ---------------------------------------------------------------- */

int s3_head(struct s3_client *c, const char *bucket, const char *key, struct s3_object *ret,
	    struct sr_error *err)
{
	struct xfer x;
	int r;

	s3_xfer_init(&x, "HEAD", bucket, key);
	r = s3_run_one(c, &x, err);
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

/* The object's size and ETag: what a listing told is as good as a HeadObject. */
static int get_expect(struct s3_client *c, const char *bucket, const struct s3_file *f,
		      struct s3_object *head, struct sr_error *err)
{
	if (f->size >= 0 && f->etag) {
		head->size = f->size;
		head->etag = xstrdup(f->etag);
		return 0;
	}
	return s3_head(c, bucket, f->key, head, err);
}

/* The object into `fd`: parts of S3_PART_SIZE, fetched S3_PARALLEL at a time, each into its
 * own place, every one of the same ETag. */
static int get_parts(struct s3_client *c, const char *bucket, const char *key, int fd,
		     const struct s3_object *head, struct sr_error *err)
{
	size_t n = head->size > S3_PART_SIZE
		       ? (size_t)((head->size + S3_PART_SIZE - 1) / S3_PART_SIZE)
		       : 1;
	struct xfer *parts = xcalloc(n, sizeof(*parts));
	struct xfer **xs = xcalloc(n, sizeof(*xs));
	int r;

	for (size_t i = 0; i < n; i++) {
		int64_t from = (int64_t)i * S3_PART_SIZE;
		int64_t to = from + S3_PART_SIZE - 1 < head->size - 1 ? from + S3_PART_SIZE - 1
								      : head->size - 1;

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
		else if (head->etag[0] && parts[i].etag[0] && strcmp(parts[i].etag, head->etag))
			r = sr_err(err, -ESTALE,
				   "get s3://%s/%s: the object changed while it was "
				   "downloaded (ETag %s, then %s)",
				   bucket, key, head->etag, parts[i].etag);
	}
	for (size_t i = 0; i < n; i++)
		s3_xfer_release(&parts[i]);
	free(parts);
	free(xs);
	return r;
}

/* The temp file `tmp` holds the whole object: on disk if durable, of the size expected, with
 * the object's time. */
static int get_check(const char *bucket, const struct s3_file *f, int fd, const char *tmp,
		     int64_t size, struct sr_error *err)
{
	struct stat st;
	int r;

	if ((f->durable && fsync(fd) < 0) || fstat(fd, &st) < 0)
		return sr_err_errno(err, errno, "get s3://%s/%s: '%s'", bucket, f->key, tmp);
	if (st.st_size != size)
		return sr_err(err, -EIO, "get s3://%s/%s: got %lld bytes of %lld", bucket, f->key,
			      (long long)st.st_size, (long long)size);
	if (f->mtime > 0 && (r = s3_set_mtime(fd, f->mtime)) < 0)
		return sr_err_errno(err, -r, "get s3://%s/%s: set the time of '%s'", bucket, f->key,
				    tmp);
	return 0;
}

int s3_get_one(struct s3_client *c, const char *bucket, const struct s3_file *f,
	       struct sr_error *err)
{
	const char *key = f->key, *path = f->path;
	struct s3_object head = {0};
	_cleanup_free_ char *tmp = xasprintf("%s.sagerun-part.%d", path, (int)getpid());
	_cleanup_close_ int fd = -1;
	int r = get_expect(c, bucket, f, &head, err);

	if (r < 0)
		return r;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = sr_err_errno(err, errno, "get s3://%s/%s: create '%s'", bucket, key, tmp);
		goto out;
	}
	if (head.size < 0)
		head.size = 0;
	r = get_parts(c, bucket, key, fd, &head, err);
	if (r >= 0)
		r = get_check(bucket, f, fd, tmp, head.size, err);
	if (r >= 0 && rename(tmp, path) < 0)
		r = sr_err_errno(err, errno, "get s3://%s/%s: rename to '%s'", bucket, key, path);
	if (r < 0)
		unlink(tmp); /* never a partial file under the real name, nor a temp one left */
out:
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

/* ---- PutObject, DeleteObject -------------------------------------------------------------- */

/* A request with no answer to read but its status: `op` names it in an error. */
static int run_simple(struct s3_client *c, struct xfer *x, const char *op, struct sr_error *err)
{
	int r = s3_run_one(c, x, err);

	if (r >= 0 && !s3_xfer_ok(x))
		r = s3_xfer_error(c, x, op, err);
	s3_xfer_release(x);
	return r;
}

int s3_put_data(struct s3_client *c, const char *bucket, const char *key, const void *data,
		size_t len, struct sr_error *err)
{
	struct xfer x;

	s3_xfer_init(&x, "PUT", bucket, key);
	x.body_mem = data;
	x.body_len = len;
	return run_simple(c, &x, "put", err);
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

	if (fd < 0 || fstat(fd, &st) < 0)
		return sr_err_errno(err, errno, "put s3://%s/%s: '%s'", bucket, key, path);
	if (!S_ISREG(st.st_mode))
		return sr_err(err, -EINVAL, "put s3://%s/%s: '%s' is not a regular file", bucket,
			      key, path);
	if (st.st_size > S3_PART_SIZE)
		return s3_put_multipart(c, bucket, key, fd, st.st_size, err);
	s3_xfer_init(&x, "PUT", bucket, key);
	x.body_fd = fd;
	x.body_len = (size_t)st.st_size;
	return run_simple(c, &x, "put", err);
}

int s3_delete(struct s3_client *c, const char *bucket, const char *key, struct sr_error *err)
{
	struct xfer x;

	s3_xfer_init(&x, "DELETE", bucket, key);
	return run_simple(c, &x, "delete", err);
}

int s3_bucket_exists(struct s3_client *c, const char *bucket, struct sr_error *err)
{
	struct xfer x;
	int r;

	s3_xfer_init(&x, "HEAD", bucket, NULL);
	x.label = "";
	r = s3_run_one(c, &x, err);
	if (r >= 0 && s3_xfer_ok(&x))
		r = 1;
	else if (r >= 0 && x.rc == CURLE_OK && x.status == 404)
		r = 0;
	else if (r >= 0 && x.rc == CURLE_OK && x.status == 403) {
		r = sr_err(err, -EACCES,
			   "bucket s3://%s: HTTP 403: it exists, and these credentials "
			   "may not use it",
			   bucket);
		sr_err_hint(err, "the credentials came from %s", c->creds.source);
	} else if (r >= 0)
		r = s3_xfer_error(c, &x, "head bucket", err);
	s3_xfer_release(&x);
	return r;
}

int s3_bucket_create(struct s3_client *c, const char *bucket, const char *region,
		     struct sr_error *err)
{
	/* us-east-1 takes no LocationConstraint (it refuses its own name there). */
	_cleanup_free_ char *body =
	    strcmp(region, "us-east-1")
		? xasprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
			    "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
			    "</CreateBucketConfiguration>",
			    region)
		: NULL;
	struct xfer x;
	int r;

	s3_xfer_init(&x, "PUT", bucket, NULL);
	x.label = "";
	if (body) {
		x.body_mem = body;
		x.body_len = strlen(body);
	}
	r = s3_run_one(c, &x, err);
	/* Made meanwhile by another of our jobs: as good. */
	if (r >= 0 && !s3_xfer_ok(&x) &&
	    !(x.status == 409 && x.mem && strstr(x.mem, "<Code>BucketAlreadyOwnedByYou</Code>")))
		r = s3_xfer_error(c, &x, "create bucket", err);
	s3_xfer_release(&x);
	return r;
}
