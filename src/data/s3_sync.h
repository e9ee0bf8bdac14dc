/* s3_sync.h - a local folder and an S3 prefix made alike, in either direction: everything
 * (`sagerun s3 cp --recursive`), or only what differs (`sagerun s3 sync`, CheckpointConfig).
 *
 * What differs: a file missing on the other side or of another size; up, a local file newer
 * than the object's LastModified (as `aws s3 sync` judges it, fractions of a second counted);
 * down, a local file whose time is not the object's LastModified (what aws does only with
 * --exact-timestamps: its default keeps a same-size file whose object changed).  Downloads
 * take LastModified as their modification time, so a second sync finds nothing to do.  The prefix
 * is a folder: s3://b/data means the keys under "data/".  A key that would land outside the folder
 * is refused before anything is written.  Every file and object appears whole or not at all
 * (s3_get_files, s3_put_files).
 *
 *   struct s3_sync_opts o = {.changed_only = true};
 *   s3_sync_up(client, "/opt/ml/checkpoints", "s3://bucket/ckpt", &o, &stats, err);
 */
#ifndef SR_DATA_S3_SYNC_H
#define SR_DATA_S3_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct s3_client;
struct s3_object;
struct sr_error;

struct s3_sync_opts {
	bool changed_only;
	bool delete_extra; /* what the source lacks is removed from the destination */
	/* Up, changed_only: judge against this listing of the prefix (taken once before several
	 * folders go up to it) instead of a fresh one, and count a file unchanged only when its
	 * time is the object's LastModified exactly, to the second and without a fraction, as a
	 * download left it.  So a file rewritten within the second of the last upload is not
	 * missed, and one host's stale copy never overwrites what another host just saved. */
	bool use_listed;
	const struct s3_object *listed;
	size_t n_listed;
	/* Told once what is to be copied, before any of it is (for a progress bar). */
	void (*plan)(void *ctx, size_t files, int64_t bytes);
	void *ctx;
};

struct s3_sync_stats {
	size_t files;	/* in the source */
	size_t copied;	/* of them, copied */
	size_t deleted; /* from the destination (delete_extra) */
	int64_t bytes;	/* copied */
};

/* The objects under `uri` taken as a folder (for s3_sync_opts.listed). */
int s3_sync_list(struct s3_client *c, const char *uri, struct s3_object **ret, size_t *ret_n,
		 struct sr_error *err);

int s3_sync_down(struct s3_client *c, const char *uri, const char *dir,
		 const struct s3_sync_opts *o, struct s3_sync_stats *st, struct sr_error *err);
int s3_sync_up(struct s3_client *c, const char *dir, const char *uri, const struct s3_sync_opts *o,
	       struct s3_sync_stats *st, struct sr_error *err);

#endif
