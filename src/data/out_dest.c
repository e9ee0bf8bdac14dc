/* out_dest.c - a processing output's destination (internal.h): an S3 prefix, through the
 * S3 client's batches, or a local folder, each file through a temp file and a rename so that
 * a reader never sees half of one. */
#include "data/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

int out_dest_init(struct out_dest *d, const char *name, const char *uri, struct sr_error *err)
{
	memset(d, 0, sizeof(*d));
	if (!strncmp(uri, "s3://", 5)) {
		size_t len;
		int r = s3_uri_parse(uri, &d->bucket, &d->prefix, err);

		if (r < 0)
			return sr_err_wrap(err, "output '%s'", name);
		len = strlen(d->prefix);
		if (len && d->prefix[len - 1] != '/') {
			char *p = xasprintf("%s/", d->prefix);

			free(d->prefix);
			d->prefix = p;
		}
	} else {
		/* file:///x is /x; file://host/x names another machine. */
		const char *path = !strncmp(uri, "file://", 7) ? uri + 7 : uri;

		if (path[0] != '/')
			return sr_err(err, -EINVAL,
				      "output '%s': S3Uri '%s' is neither s3://bucket/prefix nor a "
				      "local folder (file:///path or an absolute path)",
				      name, uri);
		d->dir = fs_abspath(path);
	}
	d->name = xstrdup(name);
	d->uri = xstrdup(uri);
	return 0;
}

void out_dest_release(struct out_dest *d)
{
	s3_client_free(d->s3);
	free(d->name);
	free(d->uri);
	free(d->bucket);
	free(d->prefix);
	free(d->dir);
	memset(d, 0, sizeof(*d));
}

char *out_dest_where(const struct out_dest *d, const char *rel)
{
	if (d->bucket)
		return xasprintf("s3://%s/%s%s", d->bucket, d->prefix, rel);
	return xasprintf("%s/%s", d->dir, rel);
}

/* Credentials are read when first needed (DESIGN.md), so an output of no files needs none. */
static int client(struct out_dest *d, struct sr_error *err)
{
	int r = d->s3 ? 0 : s3_client_new(&d->s3, err);

	if (r >= 0)
		s3_client_set_cancel(d->s3, d->cancelled, d->cancel_ctx);
	return r;
}

/* Into the folder: a temp file beside `rel`'s place, renamed over it when whole. */
static int copy_in(struct out_dest *d, int in, const char *rel, struct sr_error *err)
{
	_cleanup_free_ char *to = out_dest_where(d, rel);
	_cleanup_free_ char *tmp = xasprintf("%s.sagerun-XXXXXX", to);
	_cleanup_free_ char *parent = xstrdup(to);
	_cleanup_close_ int out = -1;
	bool writing = false;
	int r;

	*strrchr(parent, '/') = '\0';
	r = fs_mkdir_p(parent, 0755, err);
	if (r < 0)
		return r;
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return sr_err_errno(err, errno, "copy to '%s'", tmp);
	r = lseek(in, 0, SEEK_SET) < 0 ? -errno : fs_copy_fd(in, out, &writing);
	if (r < 0 && writing)
		sr_err_errno(err, -r, "copy to '%s'", tmp);
	else if (r < 0)
		sr_err_errno(err, -r, "read the file to copy to '%s'", to);
	/* mkostemp makes it 0600; a copied output is as readable as the job's file was. */
	else if (fchmod(out, 0644) < 0)
		r = sr_err_errno(err, errno, "copy to '%s'", tmp);
	else if (rename(tmp, to) < 0)
		r = sr_err_errno(err, errno, "rename to '%s'", to);
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int out_dest_put_files(struct out_dest *d, const struct out_put *f, size_t n, struct sr_error *err)
{
	struct s3_file *todo;
	char **keys;
	int r = 0;

	if (!d->bucket) {
		for (size_t i = 0; r >= 0 && i < n; i++) {
			/* O_NONBLOCK: a FIFO put there since the listing is refused, not waited
			 * on. */
			_cleanup_close_ int in =
			    open(f[i].path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

			r = in < 0 ? sr_err_errno(err, errno, "read '%s'", f[i].path)
				   : copy_in(d, in, f[i].rel, err);
			if (r < 0)
				sr_err_wrap(err, "copy '%s'", f[i].rel);
		}
		return r;
	}
	if (!n)
		return 0;
	r = client(d, err);
	if (r < 0)
		return r;
	todo = xcalloc(n, sizeof(*todo));
	keys = xcalloc(n, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		keys[i] = xasprintf("%s%s", d->prefix, f[i].rel);
		todo[i] = (struct s3_file){.key = keys[i], .path = f[i].path, .size = f[i].size};
	}
	r = s3_put_files(d->s3, d->bucket, todo, n, err);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(todo);
	return r;
}

int out_dest_put_fd(struct out_dest *d, int fd, const char *rel, struct sr_error *err)
{
	_cleanup_free_ char *key = NULL;
	char path[64];
	int r;

	if (!d->bucket)
		return copy_in(d, fd, rel, err);
	r = client(d, err);
	if (r < 0)
		return r;
	/* The client opens files by name: this one names the file already open, so a link
	 * the job put in its place since cannot send another file. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	key = xasprintf("%s%s", d->prefix, rel);
	return s3_put_file(d->s3, d->bucket, key, path, err);
}
