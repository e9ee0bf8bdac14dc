/* batch.c - many objects at once: small ones each in one request, S3_PARALLEL in flight across
 * the whole batch (what `aws s3 cp --recursive` and `sync` do), large ones one after the
 * other, each in parallel parts.  For 10,000 objects of 10 KiB the batch, not the object, is
 * what keeps the connections busy. */
#include "s3/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3/internal.h"
#include "util/error.h"
#include "util/xalloc.h"

/* One request of the batch in flight, with the file it reads or writes. */
struct slot {
	struct xfer x; /* first: done() gets the slot back from it */
	const struct s3_file *f;
	int fd;
	char *tmp; /* downloads: where the body lands until complete */
	bool used;
};

struct batch {
	struct s3_client *c;
	const char *bucket;
	const struct s3_file *f;
	size_t n, next;
	bool up;
	struct slot slots[S3_PARALLEL];
	int error; /* the first; no new object starts after it */
	struct sr_error *err;
};

static bool small(const struct s3_file *f)
{
	return f->size >= 0 && f->size <= S3_PART_SIZE;
}

static struct slot *free_slot(struct batch *b)
{
	for (size_t i = 0; i < S3_PARALLEL; i++)
		if (!b->slots[i].used)
			return &b->slots[i];
	return NULL;
}

static void slot_release(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->tmp) {
		(void)unlink(s->tmp); /* after a rename there is nothing left to remove */
		free(s->tmp);
	}
	s3_xfer_release(&s->x);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static struct xfer *batch_next(void *ctx)
{
	struct batch *b = ctx;
	struct slot *s;
	const struct s3_file *f;

	while (b->next < b->n && !small(&b->f[b->next]))
		b->next++; /* large ones: after the batch */
	if (b->error < 0 || b->next >= b->n || !(s = free_slot(b)))
		return NULL;
	f = &b->f[b->next++];
	s->used = true;
	s->f = f;
	s3_xfer_init(&s->x, b->up ? "PUT" : "GET", b->bucket, f->key);
	if (b->up) {
		struct stat st;

		/* What was listed, still: a regular file (never a link followed, nor a FIFO
		 * waited on) of the listed size. */
		s->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (s->fd < 0 || fstat(s->fd, &st) < 0) {
			b->error = sr_err_errno(b->err, errno, "put s3://%s/%s: '%s'", b->bucket,
						f->key, f->path);
			slot_release(s);
			return NULL;
		}
		if (!S_ISREG(st.st_mode) || st.st_size != f->size) {
			b->error = sr_err(b->err, -ESTALE,
					  "put s3://%s/%s: '%s' changed since it was listed "
					  "(no longer a regular file of %lld bytes)",
					  b->bucket, f->key, f->path, (long long)f->size);
			slot_release(s);
			return NULL;
		}
		s->x.body_fd = s->fd;
		s->x.body_len = (size_t)f->size;
	} else {
		s->tmp = xasprintf("%s.sagerun-part.%d", f->path, (int)getpid());
		s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (s->fd < 0) {
			b->error = sr_err_errno(b->err, errno, "get s3://%s/%s: create '%s'",
						b->bucket, f->key, s->tmp);
			free(s->tmp);
			s->tmp = NULL;
			slot_release(s);
			return NULL;
		}
		s->x.sink_fd = s->fd;
	}
	return &s->x;
}

/* A download complete and checked: the file under its name (its data on disk first when
 * durable). */
static int get_finish(struct batch *b, struct slot *s, struct sr_error *err)
{
	const struct s3_file *f = s->f;

	if ((int64_t)s->x.written != f->size)
		return sr_err(err, -EIO, "get s3://%s/%s: got %lld bytes of %lld", b->bucket,
			      f->key, (long long)s->x.written, (long long)f->size);
	if (f->etag && *f->etag && s->x.etag[0] && strcmp(s->x.etag, f->etag))
		return sr_err(err, -ESTALE,
			      "get s3://%s/%s: the object changed since it was listed (ETag %s, "
			      "then %s)",
			      b->bucket, f->key, f->etag, s->x.etag);
	if (f->mtime > 0 && s3_set_mtime(s->fd, f->mtime) < 0)
		return sr_err_errno(err, errno, "get s3://%s/%s: set the time of '%s'", b->bucket,
				    f->key, s->tmp);
	if (f->durable && fdatasync(s->fd) < 0)
		return sr_err_errno(err, errno, "get s3://%s/%s: '%s'", b->bucket, f->key, s->tmp);
	if (rename(s->tmp, f->path) < 0)
		return sr_err_errno(err, errno, "get s3://%s/%s: rename to '%s'", b->bucket, f->key,
				    f->path);
	free(s->tmp);
	s->tmp = NULL;
	return 0;
}

static int batch_done(void *ctx, struct xfer *x, struct sr_error *err)
{
	struct batch *b = ctx;
	struct slot *s = (struct slot *)x;
	int r = 0;

	if (b->error < 0)
		err = NULL; /* the first error is the one told */
	if (x->rc == CURLE_ABORTED_BY_CALLBACK && !err)
		r = -ECANCELED; /* dropped: the runner tells why */
	else if (!s3_xfer_ok(x))
		r = s3_xfer_error(b->c, x, b->up ? "put" : "get", err);
	else if (b->up && !x->etag[0])
		r = sr_err(err, -EBADMSG, "put s3://%s/%s: the answer has no ETag", b->bucket,
			   s->f->key);
	else if (!b->up)
		r = get_finish(b, s, err);
	slot_release(s);
	if (r < 0 && b->error >= 0)
		b->error = r;
	return r;
}

static int run_batch(struct s3_client *c, const char *bucket, const struct s3_file *f, size_t n,
		     bool up, struct sr_error *err)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	struct s3_feed feed = {batch_next, batch_done, b};
	int r;

	*b = (struct batch){.c = c, .bucket = bucket, .f = f, .n = n, .up = up, .err = err};
	for (size_t i = 0; i < S3_PARALLEL; i++)
		b->slots[i].fd = -1;
	r = s3_run_feed(c, &feed, err);
	if (b->error < 0)
		r = b->error; /* the first, whether it came from next() or done() */
	for (size_t i = 0; i < S3_PARALLEL; i++)
		if (b->slots[i].used)
			slot_release(&b->slots[i]);
	free(b);
	/* The large ones, each with its parts in parallel. */
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (!small(&f[i]))
			r = up ? s3_put_one(c, bucket, f[i].key, f[i].path, O_NOFOLLOW | O_NONBLOCK,
					    err)
			       : s3_get_one(c, bucket, &f[i], err);
	return r;
}

int s3_get_files(struct s3_client *c, const char *bucket, const struct s3_file *f, size_t n,
		 struct sr_error *err)
{
	return run_batch(c, bucket, f, n, false, err);
}

int s3_put_files(struct s3_client *c, const char *bucket, const struct s3_file *f, size_t n,
		 struct sr_error *err)
{
	return run_batch(c, bucket, f, n, true, err);
}
