#include "data/s3_channel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/job.h"
#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strv.h"
#include "util/xalloc.h"

static bool sharded(const struct job_channel *c)
{
	return c->distribution && !strcmp(c->distribution, "ShardedByS3Key");
}

char *s3_channel_host_dir(const struct job_channel *c, const char *dest, size_t index)
{
	return sharded(c) ? xasprintf("%s/algo-%zu", dest, index + 1) : xstrdup(dest);
}

static char *cache_path(const char *cache_dir, const char *bucket, const struct s3_object *o)
{
	struct sha256 s;
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];

	sha256_init(&s);
	sha256_update(&s, bucket, strlen(bucket) + 1);
	sha256_update(&s, o->key, strlen(o->key) + 1);
	sha256_update(&s, o->etag ? o->etag : "", strlen(o->etag ? o->etag : "") + 1);
	sha256_final(&s, d);
	sr_hex_encode(d, sizeof(d), hex);
	return xasprintf("%s/%s", cache_dir, hex);
}

/* `path` as a link to the cached file (a copy across file systems). */
static int place(const char *cached, const char *path, struct sr_error *err)
{
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	int r;

	*slash = '\0';
	r = fs_mkdir_p(parent, 0755, err);
	if (r < 0)
		return r;
	if (link(cached, path) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return sr_err(err, -errno, "link '%s' to '%s': %s", path, cached, strerror(errno));
	return fs_copy_file(cached, path, 0444, err);
}

int s3_channel_stage(struct s3_client *cl, const struct job_channel *c, const char *cache_dir,
		     const char *dest, size_t n_hosts, struct s3_channel_stats *stats,
		     struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL;
	struct s3_object *objs = NULL;
	size_t n = 0, kept = 0;
	int r;

	memset(stats, 0, sizeof(*stats));
	if (c->s3_data_type && strcmp(c->s3_data_type, "S3Prefix"))
		return sr_err(err, -ENOTSUP, "channel '%s': S3DataType %s is not supported yet",
			      c->name, c->s3_data_type);
	if (c->compression && strcmp(c->compression, "None"))
		return sr_err(err, -ENOTSUP,
			      "channel '%s': CompressionType %s is not supported yet", c->name,
			      c->compression);
	r = s3_uri_parse(c->uri, &bucket, &prefix, err);
	if (r >= 0)
		r = fs_mkdir_p(cache_dir, 0755, err);
	if (r >= 0)
		r = fs_mkdir_p(dest, 0755, err);
	if (r >= 0)
		r = s3_list(cl, bucket, prefix, &objs, &n, err);
	if (r < 0)
		return sr_err_wrap(err, "channel '%s'", c->name);
	if (sharded(c))
		for (size_t h = 0; r >= 0 && h < n_hosts; h++) {
			_cleanup_free_ char *d = s3_channel_host_dir(c, dest, h);

			r = fs_mkdir_p(d, 0755, err);
		}
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct s3_object *o = &objs[i];
		_cleanup_free_ char *cached = NULL, *rel_path = NULL, *host_dir = NULL;

		if (!*o->key || o->key[strlen(o->key) - 1] == '/')
			continue; /* a "folder" marker object */
		host_dir = s3_channel_host_dir(c, dest, sharded(c) ? kept % n_hosts : 0);
		/* Refused before anything of it is written: nothing lands outside the channel. */
		r = s3_key_local_path(host_dir, prefix, o->key, &rel_path, err);
		if (r < 0)
			break;
		cached = cache_path(cache_dir, bucket, o);
		if (!fs_exists(cached)) {
			r = s3_get_file(cl, bucket, o->key, cached, err);
			if (r < 0)
				break;
			stats->downloaded++;
		}
		r = place(cached, rel_path, err);
		stats->objects++;
		stats->bytes += o->size > 0 ? o->size : 0;
		kept++;
	}
	s3_objects_free(objs, n);
	if (r < 0)
		return sr_err_wrap(err, "channel '%s'", c->name);
	return 0;
}

int s3_channels_stage(const struct job *job, const char *job_dir, const char *cache_dir,
		      size_t n_hosts, struct strv *report, struct sr_error *err)
{
	struct s3_client *cl = NULL;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < job->n_channels; i++) {
		const struct job_channel *c = &job->channels[i];
		_cleanup_free_ char *dest = NULL;
		struct s3_channel_stats st;

		if (strncmp(c->uri, "s3://", 5))
			continue;
		if (!cl && (r = s3_client_new(&cl, err)) < 0)
			break;
		dest = xasprintf("%s/channels/%s", job_dir, c->name);
		r = fs_rm_rf(dest, err);
		if (r >= 0)
			r = s3_channel_stage(cl, c, cache_dir, dest, n_hosts, &st, err);
		if (r >= 0)
			strv_pushf(
			    report,
			    "channel '%s': %zu objects, %lld bytes (%zu downloaded, %zu from "
			    "the cache)",
			    c->name, st.objects, st.bytes, st.downloaded,
			    st.objects - st.downloaded);
	}
	s3_client_free(cl);
	return r;
}
