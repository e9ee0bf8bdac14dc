/* channels.h - put each input channel where a host expects it.
 *
 * File channels are never copied, whatever their size: the host's input/data/<channel> is a
 * symlink to the channel's folder (process backend) or a read-only bind mount (namespaces).
 * S3 channels are downloaded into a folder first (s3_channel.h), then staged the same way.
 */
#ifndef SR_DATA_CHANNELS_H
#define SR_DATA_CHANNELS_H

#include <stddef.h>

struct job_channel;
struct sr_error;

/* Link every one of the n channels into <opt_ml>/input/data/<channel>. */
int chan_stage_local(const struct job_channel *channels, size_t n, const char *opt_ml,
		     struct sr_error *err);
/* Copy every one of the n channels into <opt_ml>/input/data/<channel>: the host's own copy,
 * which it may write, for a backend that mounts nothing (the file system shares the data
 * where it can: util/fs.h's reflink). */
int chan_stage_copy(const struct job_channel *channels, size_t n, const char *opt_ml,
		    struct sr_error *err);

/* Put the user's code (sagemaker_submit_directory: a folder, or a single file) into
 * <opt_ml>/code as the toolkit does: copy a folder's tree, copy a single file, extract a
 * .tar.gz (with artifacts_unpack's checks: nothing that leads out of the folder).  Only
 * when the code folder is empty; on failure it is left empty.  `submit_dir` may be a plain path, a
 * file:// URI or an s3:// URI of a sourcedir.tar.gz (downloaded, then extracted). */
int chan_stage_code(const char *submit_dir, const char *code_dir, struct sr_error *err);

#endif
