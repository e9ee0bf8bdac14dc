#include "data/s3_artifacts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/artifacts.h"

#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* s3://bucket/prefix -> bucket and "prefix/<job>" ("<job>" without a prefix). */
static int job_base(const char *output_uri, const char *job_name, char **bucket, char **base,
		    struct sr_error *err)
{
	_cleanup_free_ char *prefix = NULL;
	int r = s3_uri_parse(output_uri, bucket, &prefix, err);

	if (r < 0)
		return r;
	while (*prefix && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = '\0';
	*base = *prefix ? xasprintf("%s/%s", prefix, job_name) : xstrdup(job_name);
	return 0;
}

int s3_artifacts_upload(const char *output_uri, const char *job_name, const char *model,
			const char *output, char **ret_model_uri, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *base = NULL;
	_cleanup_free_ char *model_key = NULL, *output_key = NULL;
	struct s3_client *c = NULL;
	int r = job_base(output_uri, job_name, &bucket, &base, err);

	if (r < 0)
		return r;
	model_key = xasprintf("%s/output/model.tar.gz", base);
	output_key = xasprintf("%s/output/output.tar.gz", base);
	r = s3_client_new(&c, err);
	if (r >= 0)
		r = s3_put_file(c, bucket, model_key, model, err);
	if (r >= 0)
		r = s3_put_file(c, bucket, output_key, output, err);
	s3_client_free(c);
	if (r < 0)
		return sr_err_wrap(err, "upload the artifacts");
	*ret_model_uri = xasprintf("s3://%s/%s", bucket, model_key);
	return 0;
}

int s3_sourcedir_upload(const char *output_uri, const char *job_name, const char *src,
			const char *work_dir, char **ret_uri, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *base = NULL, *key = NULL;
	_cleanup_free_ char *tarball = xasprintf("%s/sourcedir.tar.gz", work_dir);
	_cleanup_free_ char *single = NULL;
	struct s3_client *c = NULL;
	const char *root = src;
	int r = job_base(output_uri, job_name, &bucket, &base, err);

	/* A single entry point goes in alone, as the SDK tars it: under the name it was given,
	 * which is what sagemaker_program says, with the content of what it links to. */
	if (r >= 0 && !fs_is_dir(src)) {
		const char *name = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
		_cleanup_free_ char *lnk = NULL;

		single = xasprintf("%s/sourcedir", work_dir);
		lnk = xasprintf("%s/%s", single, name);
		(void)fs_rm_rf(single, NULL); /* an earlier attempt's */
		r = fs_mkdir_p(single, 0755, err);
		if (r >= 0 && symlink(src, lnk) < 0)
			r = sr_err_errno(err, errno, "link '%s'", lnk);
		root = single;
	}
	if (r >= 0)
		r = artifacts_pack_source(root, tarball, err);
	if (r >= 0)
		key = xasprintf("%s/source/sourcedir.tar.gz", base);
	if (r >= 0)
		r = s3_client_new(&c, err);
	if (r >= 0)
		r = s3_put_file(c, bucket, key, tarball, err);
	s3_client_free(c);
	(void)unlink(tarball);
	if (single)
		(void)fs_rm_rf(single, NULL);
	if (r < 0)
		return sr_err_wrap(err, "upload the source folder");
	*ret_uri = xasprintf("s3://%s/%s", bucket, key);
	return 0;
}
