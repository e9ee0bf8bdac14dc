/* multipart.c - a file too large for one PutObject, uploaded in parts: CreateMultipartUpload,
 * UploadPart for every S3_PART_SIZE piece (larger pieces when 10,000 would not hold the file;
 * S3_PARALLEL at a time), CompleteMultipartUpload
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
static int complete_xml(const struct xfer *parts, size_t n, const char *bucket, const char *key,
			char **ret_xml, size_t *ret_len, struct sr_error *err)
{
	FILE *f = open_memstream(ret_xml, ret_len);

	if (!f)
		return sr_err_errno(err, errno, "put s3://%s/%s: the list of %zu parts", bucket,
				    key, n);
	fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
			parts[i].etag);
	fputs("</CompleteMultipartUpload>", f);
	if (fclose(f) != 0 || !*ret_xml) {
		free(*ret_xml);
		*ret_xml = NULL;
		return sr_err(err, -ENOMEM, "put s3://%s/%s: the list of %zu parts", bucket, key,
			      n);
	}
	return 0;
}

int64_t s3_part_size(int64_t size)
{
	int64_t part = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;

	/* Whole MiB, as the AWS CLI's, and never under S3_PART_SIZE. */
	part = (part + (1 << 20) - 1) & ~(int64_t)((1 << 20) - 1);
	return part > S3_PART_SIZE ? part : S3_PART_SIZE;
}

/* UploadPart for every piece of `fd`; *ret_xml: the body that completes the upload. */
static int upload_parts(struct s3_client *c, const char *bucket, const char *key, const char *id,
			int fd, int64_t size, char **ret_xml, size_t *ret_len, struct sr_error *err)
{
	int64_t part = s3_part_size(size);
	size_t n = (size_t)((size + part - 1) / part);
	struct xfer *parts = xcalloc(n, sizeof(*parts));
	struct xfer **xs = xcalloc(n, sizeof(*xs));
	char(*nums)[24] = xcalloc(n, sizeof(*nums));
	int r;

	for (size_t i = 0; i < n; i++) {
		int64_t off = (int64_t)i * part;

		snprintf(nums[i], sizeof(nums[i]), "%zu", i + 1);
		s3_xfer_init(&parts[i], "PUT", bucket, key);
		parts[i].q[parts[i].nq++] = (struct sigv4_param){"partNumber", nums[i]};
		parts[i].q[parts[i].nq++] = (struct sigv4_param){"uploadId", id};
		parts[i].body_fd = fd;
		parts[i].body_off = (off_t)off;
		parts[i].body_len = (size_t)(size - off < part ? size - off : part);
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
		r = complete_xml(parts, n, bucket, key, ret_xml, ret_len, err);
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

/* AbortMultipartUpload.  When it fails the parts stay stored, and billed, until someone
 * removes them: `err` (the failure that led here) gets a hint that says how. */
static void upload_abort(struct s3_client *c, const char *bucket, const char *key, const char *id,
			 struct sr_error *err)
{
	struct sr_error aerr = {0};
	char before[SR_ERR_MSG_MAX];
	struct xfer x;
	int r;

	/* Even, and above all, when the upload was stopped. */
	s3_xfer_init(&x, "DELETE", bucket, key);
	x.q[x.nq++] = (struct sigv4_param){"uploadId", id};
	r = s3_run_one_uncancellable(c, &x, &aerr);
	/* NoSuchUpload: already gone, which is what was asked. */
	if (r >= 0 && !s3_xfer_ok(&x) && x.status != 404)
		r = s3_xfer_error(c, &x, "abort multipart upload", &aerr);
	s3_xfer_release(&x);
	if (r >= 0 || !err)
		return;
	snprintf(before, sizeof(before), "%s", err->hint);
	sr_err_hint(err,
		    "%s%swarning: the incomplete multipart upload of s3://%s/%s (upload id %s) "
		    "could not be aborted (%s); its parts are kept, and billed, until removed: "
		    "aws s3api abort-multipart-upload --bucket %s --key %s --upload-id %s",
		    before, before[0] ? "; " : "", bucket, key, id, aerr.msg, bucket, key, id);
}

int s3_put_multipart(struct s3_client *c, const char *bucket, const char *key, int fd, int64_t size,
		     struct sr_error *err)
{
	_cleanup_free_ char *id = NULL, *xml = NULL;
	size_t xml_len = 0;
	int r;

	/* Refused before a byte moves: S3 would refuse the part after the 10,000th. */
	if (size > S3_MAX_OBJECT_SIZE)
		return sr_err(err, -EFBIG,
			      "put s3://%s/%s: %lld bytes, more than S3's largest object (5 TiB)",
			      bucket, key, (long long)size);
	r = upload_start(c, bucket, key, &id, err);
	if (r < 0) {
		/* An id that came with a failed start names an upload S3 may have begun. */
		if (id)
			upload_abort(c, bucket, key, id, err);
		return r;
	}
	r = upload_parts(c, bucket, key, id, fd, size, &xml, &xml_len, err);
	if (r >= 0)
		r = upload_complete(c, bucket, key, id, xml, xml_len, err);
	if (r < 0)
		upload_abort(c, bucket, key, id, err);
	return r;
}
