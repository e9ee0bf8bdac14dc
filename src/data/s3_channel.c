#include "data/s3_channel.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/gunzip.h"
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
		return sr_err_errno(err, errno, "link '%s' to '%s'", path, cached);
	return fs_copy_file(cached, path, 0444, err);
}

static bool gzipped(const struct job_channel *c)
{
	return c->compression && !strcmp(c->compression, "Gzip");
}

/* What a channel holds: objects of `bucket`, laid out by their keys less `prefix`. */
struct source {
	char *bucket, *prefix;
	struct s3_object *objs;
	size_t n;
};

static void source_release(struct source *src)
{
	free(src->bucket);
	free(src->prefix);
	s3_objects_free(src->objs, src->n);
}

int s3_manifest_parse(const char *data, size_t len, const char *uri, char **ret_bucket,
		      char **ret_prefix, struct strv *ret_keys, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL;
	_cleanup_json_ json_t *root = NULL;
	struct strv keys = STRV_INIT;
	json_error_t je;
	json_t *first, *pv;
	int r;

	root = json_loadb(data, len, 0, &je);
	if (!root)
		return sr_err(err, -EINVAL, "manifest %s: line %d: %s", uri, je.line, je.text);
	first = json_array_get(root, 0);
	pv = json_object_get(first, "prefix");
	if (!json_is_array(root) || !json_is_string(pv) ||
	    strncmp(json_string_value(pv), "s3://", 5)) {
		sr_err(err, -EINVAL, "manifest %s: not a manifest", uri);
		return sr_err_hint(err, "a manifest is [{\"prefix\": \"s3://bucket/prefix/\"}, "
					"\"key/relative/to/prefix\", ...]");
	}
	r = s3_uri_parse(json_string_value(pv), &bucket, &prefix, err);
	if (r < 0)
		return sr_err_wrap(err, "manifest %s: [0].prefix", uri);
	for (size_t i = 1; i < json_array_size(root); i++) {
		json_t *v = json_array_get(root, i);

		if (!json_is_string(v) || !*json_string_value(v)) {
			strv_release(&keys);
			return sr_err(err, -EINVAL,
				      "manifest %s: [%zu]: must be a key relative to the prefix",
				      uri, i);
		}
		strv_pushf(&keys, "%s%s", prefix, json_string_value(v));
	}
	*ret_bucket = TAKE_PTR(bucket);
	*ret_prefix = TAKE_PTR(prefix);
	*ret_keys = keys;
	return 0;
}

/* S3DataType ManifestFile: the object at the channel's URI is the manifest
 * (s3_manifest_parse); each key in it is looked up (HEAD, for the cache's ETag).  Errors name
 * the manifest and the entry. */
static int list_manifest(struct s3_client *cl, const struct job_channel *c, const char *cache_dir,
			 struct source *src, struct sr_error *err)
{
	_cleanup_free_ char *mbucket = NULL, *mkey = NULL, *path = NULL, *data = NULL;
	struct strv keys = STRV_INIT;
	size_t len;
	int r;

	r = s3_uri_parse(c->uri, &mbucket, &mkey, err);
	if (r < 0)
		return r;
	path = xasprintf("%s/manifest-%d", cache_dir, (int)getpid());
	r = s3_get_file(cl, mbucket, mkey, path, err);
	if (r >= 0)
		r = fs_read_file(path, 256 << 20, &data, &len, err);
	(void)unlink(path);
	if (r < 0)
		return sr_err_wrap(err, "manifest %s", c->uri);
	r = s3_manifest_parse(data, len, c->uri, &src->bucket, &src->prefix, &keys, err);
	if (r < 0)
		return r;
	src->objs = xcalloc(keys.n ? keys.n : 1, sizeof(*src->objs));
	for (size_t i = 0; i < keys.n; i++) {
		r = s3_head(cl, src->bucket, keys.v[i], &src->objs[src->n], err);
		if (r < 0) {
			strv_release(&keys);
			return sr_err_wrap(err, "manifest %s: [%zu]", c->uri, i + 1);
		}
		if (!src->objs[src->n].key)
			src->objs[src->n].key = xstrdup(keys.v[i]);
		src->n++;
	}
	strv_release(&keys);
	return 0;
}

static int list_source(struct s3_client *cl, const struct job_channel *c, const char *cache_dir,
		       struct source *src, struct sr_error *err)
{
	int r;

	if (c->s3_data_type && !strcmp(c->s3_data_type, "ManifestFile"))
		return list_manifest(cl, c, cache_dir, src, err);
	if (c->s3_data_type && strcmp(c->s3_data_type, "S3Prefix"))
		return sr_err(err, -ENOTSUP, "S3DataType %s is not supported", c->s3_data_type);
	r = s3_uri_parse(c->uri, &src->bucket, &src->prefix, err);
	if (r >= 0)
		r = s3_list(cl, src->bucket, src->prefix, &src->objs, &src->n, err);
	return r;
}

/* CompressionType Gzip: the object decompressed, once, beside its cached download. */
static int gunzipped(const char *cached, const char *bucket, const char *key, char **ret,
		     struct sr_error *err)
{
	_cleanup_free_ char *plain = xasprintf("%s.gunzip", cached);
	_cleanup_free_ char *label = xasprintf("s3://%s/%s", bucket, key);
	int r = 0;

	if (!fs_exists(plain))
		r = gunzip_file(cached, plain, label, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(plain);
	return 0;
}

/* In the cache, whole (its size the object's): anything else is fetched again. */
static bool cached_whole(const char *cached, const struct s3_object *o)
{
	struct stat st;

	return stat(cached, &st) == 0 && S_ISREG(st.st_mode) &&
	       (o->size < 0 || st.st_size == o->size);
}

static int cmp_file_path(const void *a, const void *b)
{
	return strcmp(((const struct s3_file *)a)->path, ((const struct s3_file *)b)->path);
}

/* Every object of `src` the cache lacks, in one batch (a key listed twice fetched once). */
static int fetch_missing(struct s3_client *cl, const struct source *src, char **cached,
			 struct s3_channel_stats *stats, struct sr_error *err)
{
	struct s3_file *todo = xcalloc(src->n ? src->n : 1, sizeof(*todo));
	size_t nt = 0, kept = 0;
	int r;

	for (size_t i = 0; i < src->n; i++) {
		const struct s3_object *o = &src->objs[i];

		if (cached[i] && !cached_whole(cached[i], o))
			/* Durable: every later job trusts the cache by name. */
			todo[nt++] = (struct s3_file){.key = o->key,
						      .path = cached[i],
						      .size = o->size,
						      .etag = o->etag,
						      .durable = true};
	}
	if (nt > 1)
		qsort(todo, nt, sizeof(*todo), cmp_file_path);
	for (size_t i = 0; i < nt; i++)
		if (!kept || strcmp(todo[kept - 1].path, todo[i].path))
			todo[kept++] = todo[i];
	r = s3_get_files(cl, src->bucket, todo, kept, err);
	if (r >= 0)
		stats->downloaded = kept;
	free(todo);
	return r;
}

/* Where an object lands: its key less the prefix, below the channel's folder.  An S3Prefix
 * URI that is an object's whole key names that object, which the service lists by that
 * prefix and puts at <LocalPath>/<its name> (s3://b/graph/metadata.json gives
 * metadata.json); whatever else the prefix lists lands by the rest of its key, as always. */
static int object_local_path(const char *dir, const char *prefix, const char *key, char **ret,
			     struct sr_error *err)
{
	const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;

	/* Not "." or "..", which would land outside the folder (nor "dir/", a folder marker). */
	if (prefix && !strcmp(key, prefix) && *base && strcmp(base, ".") && strcmp(base, "..")) {
		*ret = xasprintf("%s/%s", dir, base);
		return 0;
	}
	return s3_key_local_path(dir, prefix, key, ret, err);
}

/* Paths in the order of their folders: '/' below every other byte, so a folder's own path is
 * followed at once by everything under it ("data", "data/x", "data.csv"). */
static int path_byte(unsigned char c)
{
	return c == '/' ? 1 : c ? c + 1 : 0;
}

static int cmp_local(const void *a, const void *b, void *arg)
{
	char *const *local = arg;
	const unsigned char *x = (const unsigned char *)local[*(const size_t *)a];
	const unsigned char *y = (const unsigned char *)local[*(const size_t *)b];

	for (; *x && *x == *y; x++, y++)
		;
	return path_byte(*x) - path_byte(*y);
}

/* Two keys that would land at one path, or one where the other needs a folder (s3://b/data
 * lists data and data/data, or data and datadata, once the whole key is placed by its
 * name): refused before anything is downloaded, both named. */
static int check_overlaps(const struct source *src, char **local, struct sr_error *err)
{
	size_t *ix = xcalloc(src->n ? src->n : 1, sizeof(*ix)), n = 0;
	int r = 0;

	for (size_t i = 0; i < src->n; i++)
		if (local[i])
			ix[n++] = i;
	qsort_r(ix, n, sizeof(*ix), cmp_local, local);
	for (size_t i = 1; r >= 0 && i < n; i++) {
		const char *a = local[ix[i - 1]], *b = local[ix[i]];
		size_t la = strlen(a);

		if (strcmp(a, b) && (strncmp(a, b, la) || b[la] != '/'))
			continue;
		r = sr_err(err, -EEXIST, "s3://%s/%s and s3://%s/%s would both be '%s'",
			   src->bucket, src->objs[ix[i - 1]].key, src->bucket, src->objs[ix[i]].key,
			   a);
		sr_err_hint(err, "give a prefix that ends in '/', or list the objects to use in a "
				 "ManifestFile");
	}
	free(ix);
	return r;
}

int s3_channel_stage(struct s3_client *cl, const struct job_channel *c, const char *cache_dir,
		     const char *dest, size_t n_hosts, struct s3_channel_stats *stats,
		     struct sr_error *err)
{
	struct source src = {0};
	char **cached = NULL, **local = NULL;
	size_t kept = 0;
	int r;

	memset(stats, 0, sizeof(*stats));
	r = fs_mkdir_p(cache_dir, 0755, err);
	if (r >= 0)
		r = fs_mkdir_p(dest, 0755, err);
	if (r >= 0)
		r = list_source(cl, c, cache_dir, &src, err);
	/* The service refuses the job (a ValidationException of CreateTrainingJob; a processing
	 * job fails with a ClientError): an empty prefix is a wrong URI far more often than an
	 * empty dataset. */
	if (r >= 0 && src.n == 0 && (!c->s3_data_type || !strcmp(c->s3_data_type, "S3Prefix"))) {
		r = sr_err(err, -ENOENT, "no S3 objects found under S3 URL \"%s\"", c->uri);
		sr_err_hint(err, "check the bucket and the prefix, or put the data there: the "
				 "service refuses an input with no objects");
	}
	if (r < 0) {
		source_release(&src);
		return sr_err_wrap(err, "channel '%s'", c->name);
	}
	if (sharded(c))
		for (size_t h = 0; r >= 0 && h < n_hosts; h++) {
			_cleanup_free_ char *d = s3_channel_host_dir(c, dest, h);

			r = fs_mkdir_p(d, 0755, err);
		}
	cached = xcalloc(src.n ? src.n : 1, sizeof(*cached));
	local = xcalloc(src.n ? src.n : 1, sizeof(*local));
	/* Every key placed first: one that would land outside the channel is refused before
	 * anything of the channel is downloaded. */
	for (size_t i = 0; r >= 0 && i < src.n; i++) {
		const struct s3_object *o = &src.objs[i];
		_cleanup_free_ char *host_dir = NULL;

		if (!*o->key || o->key[strlen(o->key) - 1] == '/')
			continue; /* a "folder" marker object */
		host_dir = s3_channel_host_dir(c, dest, sharded(c) ? kept % n_hosts : 0);
		r = object_local_path(host_dir, src.prefix, o->key, &local[i], err);
		if (r < 0)
			break;
		if (gzipped(c)) {
			/* train.csv.gz is train.csv once decompressed. */
			size_t len = strlen(local[i]);

			if (len > 3 && !strcmp(local[i] + len - 3, ".gz"))
				local[i][len - 3] = '\0';
		}
		cached[i] = cache_path(cache_dir, src.bucket, o);
		kept++;
	}
	if (r >= 0)
		r = check_overlaps(&src, local, err);
	if (r >= 0)
		r = fetch_missing(cl, &src, cached, stats, err);
	for (size_t i = 0; r >= 0 && i < src.n; i++) {
		const struct s3_object *o = &src.objs[i];
		_cleanup_free_ char *plain = NULL;

		if (!cached[i])
			continue;
		if (gzipped(c)) {
			r = gunzipped(cached[i], src.bucket, o->key, &plain, err);
			if (r < 0)
				break;
		}
		r = place(plain ? plain : cached[i], local[i], err);
		stats->objects++;
		stats->bytes += o->size > 0 ? o->size : 0;
	}
	for (size_t i = 0; i < src.n; i++) {
		free(cached[i]);
		free(local[i]);
	}
	free(cached);
	free(local);
	source_release(&src);
	if (r < 0)
		return sr_err_wrap(err, "channel '%s'", c->name);
	return 0;
}

int s3_channels_stage(const struct job_channel *channels, size_t n, const char *job_dir,
		      const char *cache_dir, size_t n_hosts, const char *what,
		      bool (*cancelled)(void *ctx), void *ctx, struct strv *report,
		      struct sr_error *err)
{
	struct s3_client *cl = NULL;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct job_channel *c = &channels[i];
		_cleanup_free_ char *dest = NULL;
		struct s3_channel_stats st;

		if (strncmp(c->uri, "s3://", 5))
			continue;
		if (!cl && (r = s3_client_new(&cl, err)) < 0)
			break;
		s3_client_set_cancel(cl, cancelled, ctx);
		dest = xasprintf("%s/channels/%s", job_dir, c->name);
		r = fs_rm_rf(dest, err);
		if (r >= 0)
			r = s3_channel_stage(cl, c, cache_dir, dest, n_hosts, &st, err);
		if (r >= 0)
			strv_pushf(report,
				   "%s '%s': %zu objects, %lld bytes (%zu downloaded, %zu from "
				   "the cache)",
				   what, c->name, st.objects, st.bytes, st.downloaded,
				   st.objects - st.downloaded);
	}
	s3_client_free(cl);
	return r;
}
