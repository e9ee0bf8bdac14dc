/* checkpoints.h - CheckpointConfig: every host's checkpoint folder (LocalPath, by default
 * /opt/ml/checkpoints) restored from S3Uri before Training and saved back to it after, on
 * success, failure and stop alike, and before a retry (so the next attempt resumes).
 *
 * The service syncs the folder while the job runs; sagerun syncs at these points only.  Every
 * host restores the same content; on saving, every host's files go to the same prefix (as on
 * the service, hosts should write distinct names: which copy of a name that several hosts
 * wrote S3 keeps is not defined).  Only
 * what differs is copied (s3_sync.h), each file or object whole or not at all.  S3Uri may
 * also be a local folder (file:// or a path), copied the same way.
 */
#ifndef SR_DATA_CHECKPOINTS_H
#define SR_DATA_CHECKPOINTS_H

#include <stdbool.h>
#include <stddef.h>

struct sr_error;
struct strv;

/* `dirs[0..n-1]`: each host's checkpoint folder (created).  `cancelled` (may be NULL) stops a
 * restore between objects with -ECANCELED.  One line per call goes to `report`. */
int checkpoints_restore(const char *uri, char *const *dirs, size_t n, bool (*cancelled)(void *ctx),
			void *ctx, struct strv *report, struct sr_error *err);
int checkpoints_save(const char *uri, char *const *dirs, size_t n, struct strv *report,
		     struct sr_error *err);

/* The folder in a host's tree `opt_ml` for LocalPath (NULL: the default); NULL when LocalPath
 * is not under /opt/ml (validation refuses it) or when a symbolic link lies on the way (the
 * job's code made it; a link is never followed out of the host's tree).  Caller frees. */
char *checkpoints_host_dir(const char *opt_ml, const char *local_path);

#endif
