/* s3_channel.h - an S3 channel in File mode: its objects downloaded before Training into a
 * cache keyed by bucket, key and ETag, so a re-run downloads only what changed, then laid out
 * as the channel's folder (hard links into the cache) for the hosts.
 *
 * S3DataType S3Prefix: every object under the prefix.  ManifestFile: the URI names a JSON
 * manifest, [{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]; each listed object lands
 * at its relative key.  CompressionType Gzip: every object must be gzip data and lands
 * decompressed (cached beside the download), a ".gz" dropped from its name.  (The service
 * applies Gzip in Pipe mode only and asks File mode to leave it None; sagerun, which runs
 * every channel in File mode, decompresses so that a Pipe-mode spec still gets its data.)
 *
 *   <home>/cache/s3/<sha256(bucket, key, etag)>      one object, as downloaded
 *   <job folder>/channels/<name>/<key less prefix>    FullyReplicated: one folder for all hosts
 *   <job folder>/channels/<name>/algo-N/<...>         ShardedByS3Key: one folder per host
 *
 * Objects missing from the cache download in one batch, 8 requests in flight (s3_get_files);
 * a cached file is used only when its size is the object's.
 *
 * ShardedByS3Key splits deterministically: the keys sorted byte-wise, host i (0-based) gets
 * the keys at positions i, i + N, i + 2N, ... (round robin), so every host gets N/hosts
 * objects, give or take one, and the same job always gives each host the same keys.
 */
#ifndef SR_DATA_S3_CHANNEL_H
#define SR_DATA_S3_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

struct job_channel;
struct s3_client;
struct sr_error;

struct s3_channel_stats {
	size_t objects;
	size_t downloaded; /* not in the cache before */
	long long bytes;
};

/* Stage channel `c` (an s3:// S3Prefix) under `dest` (created) for `n_hosts` hosts. */
int s3_channel_stage(struct s3_client *cl, const struct job_channel *c, const char *cache_dir,
		     const char *dest, size_t n_hosts, struct s3_channel_stats *stats,
		     struct sr_error *err);

/* Stage every s3:// channel of the n `channels` under <job_dir>/channels/<name> (laid out anew, so
 * a retry starts clean), one line per channel in `report` ("channel 'train': 6 objects, 35 bytes (1
 * downloaded, 5 from the cache)", `what` naming it: "channel", or a processing job's "input").
 * `cancelled` (may be NULL) is asked while the objects download: true stops them with -ECANCELED,
 * no partial file left. */
struct strv;
int s3_channels_stage(const struct job_channel *channels, size_t n, const char *job_dir,
		      const char *cache_dir, size_t n_hosts, const char *what,
		      bool (*cancelled)(void *ctx), void *ctx, struct strv *report,
		      struct sr_error *err);

/* A ManifestFile channel's manifest, `len` bytes of `data` (the object at `uri`, named in
 * errors): a JSON array, first {"prefix": "s3://bucket/prefix/"}, then keys relative to it,
 * each a non-empty string.  On success the prefix's bucket and key, and in *ret_keys (to
 * release) each entry's full key, prefix first, in the manifest's order. */
int s3_manifest_parse(const char *data, size_t len, const char *uri, char **ret_bucket,
		      char **ret_prefix, struct strv *ret_keys, struct sr_error *err);

/* The folder host `index` sees for the channel staged under `dest` (caller frees). */
char *s3_channel_host_dir(const struct job_channel *c, const char *dest, size_t index);

#endif
