/* multipart.c - a file too large for one PutObject, uploaded in parts: CreateMultipartUpload,
 * UploadPart for every S3_PART_SIZE piece (S3_PARALLEL at a time), CompleteMultipartUpload
 * with the parts' ETags, and AbortMultipartUpload after any failure, so that no partial object
 * is ever visible and no upload is left behind.
 *
 * Here because it is the one operation that is a sequence of requests with an undo, and
 * whose start, end and undo must not be cut by a stop; s3_put_one (ops.c) comes here for
 * large files. */
#include "s3/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static int on_upload_id(void *ctx, const char *parent, const char *name, const char *text)
{
	char **id = ctx;

	if (!strcmp(parent, "InitiateMultipartUploadResult") && !strcmp(name, "UploadId")) {
		free(*id);
		*id = xstrdup(text);
	}
	return 0;
}

/* CreateMultipartUpload: the upload's id in *id (which may be set even after a failure). */
static int upload_start(struct s3_client *c, const char *bucket, const char *key, char **id,
			struct sr_error *err)
{
	struct xfer init;
	int r;

	s3_xfer_init(&init, "POST", bucket, key);
	init.q[init.nq++] = (struct sigv4_param){"uploads", NULL};
	init.body_mem = "";
	r = s3_run_one_uncancellable(c, &init, err);
	if (r >= 0 && !s3_xfer_ok(&init))
		r = s3_xfer_error(c, &init, "put (start multipart upload)", err);
	if (r >= 0 &&
	    (s3_xml_walk(init.mem ? init.mem : "", init.mem_len, on_upload_id, id) < 0 || !*id))
		r = sr_err(err, -EBADMSG, "put s3://%s/%s: no UploadId in the answer", bucket, key);
	s3_xfer_release(&init);
	return r;
}

/* The CompleteMultipartUpload body: every part by number, with its ETag. */
static void complete_xml(const struct xfer *parts, size_t n, char **ret_xml, size_t *ret_len)
{
	FILE *f = open_memstream(ret_xml, ret_len);

	if (!f)
		abort();
	fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
			parts[i].etag);
	fputs("</CompleteMultipartUpload>", f);
	fclose(f);
}

/* UploadPart for every piece of `fd`; *ret_xml: the body that completes the upload. */
static int upload_parts(struct s3_client *c, const char *bucket, const char *key, const char *id,
			int fd, int64_t size, char **ret_xml, size_t *ret_len, struct sr_error *err)
{
	size_t n = (size_t)((size + S3_PART_SIZE - 1) / S3_PART_SIZE);
	struct xfer *parts = xcalloc(n, sizeof(*parts));
	struct xfer **xs = xcalloc(n, sizeof(*xs));
	char(*nums)[24] = xcalloc(n, sizeof(*nums));
	int r;

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
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (!s3_xfer_ok(&parts[i]))
			r = s3_xfer_error(c, &parts[i], "put (part)", err);
		else if (!parts[i].etag[0])
			r = sr_err(err, -EBADMSG, "put s3://%s/%s: part %zu has no ETag", bucket,
				   key, i + 1);
	}
	if (r >= 0)
		complete_xml(parts, n, ret_xml, ret_len);
	for (size_t i = 0; i < n; i++)
		s3_xfer_release(&parts[i]);
	free(parts);
	free(xs);
	free(nums);
	return r;
}

static int upload_complete(struct s3_client *c, const char *bucket, const char *key, const char *id,
			   const char *xml, size_t xml_len, struct sr_error *err)
{
	struct xfer done;
	int r;

	s3_xfer_init(&done, "POST", bucket, key);
	done.q[done.nq++] = (struct sigv4_param){"uploadId", id};
	done.body_mem = xml;
	done.body_len = xml_len;
	r = s3_run_one_uncancellable(c, &done, err);
	/* S3 can answer 200 with an <Error> body for a complete that failed. */
	if (r >= 0 && (!s3_xfer_ok(&done) || (done.mem && strstr(done.mem, "<Error>"))))
		r = s3_xfer_error(c, &done, "put (complete multipart upload)", err);
	s3_xfer_release(&done);
	return r;
}

static void upload_abort(struct s3_client *c, const char *bucket, const char *key, const char *id)
{
	struct xfer x;

	/* Even, and above all, when the upload was stopped. */
	s3_xfer_init(&x, "DELETE", bucket, key);
	x.q[x.nq++] = (struct sigv4_param){"uploadId", id};
	(void)s3_run_one_uncancellable(c, &x, NULL);
	s3_xfer_release(&x);
}

int s3_put_multipart(struct s3_client *c, const char *bucket, const char *key, int fd, int64_t size,
		     struct sr_error *err)
{
	_cleanup_free_ char *id = NULL, *xml = NULL;
	size_t xml_len = 0;
	int r = upload_start(c, bucket, key, &id, err);

	if (r < 0)
		return r;
	r = upload_parts(c, bucket, key, id, fd, size, &xml, &xml_len, err);
	if (r >= 0)
		r = upload_complete(c, bucket, key, id, xml, xml_len, err);
	if (r < 0)
		upload_abort(c, bucket, key, id);
	return r;
}
