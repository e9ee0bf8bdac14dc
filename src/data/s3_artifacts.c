#include "data/s3_artifacts.h"

#include <stdlib.h>
#include <string.h>

#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

int s3_artifacts_upload(const char *output_uri, const char *job_name, const char *model,
			const char *output, char **ret_model_uri, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL, *base = NULL;
	_cleanup_free_ char *model_key = NULL, *output_key = NULL;
	struct s3_client *c = NULL;
	int r = s3_uri_parse(output_uri, &bucket, &prefix, err);

	if (r < 0)
		return r;
	while (*prefix && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = '\0';
	base = *prefix ? xasprintf("%s/%s/output", prefix, job_name)
		       : xasprintf("%s/output", job_name);
	model_key = xasprintf("%s/model.tar.gz", base);
	output_key = xasprintf("%s/output.tar.gz", base);
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
