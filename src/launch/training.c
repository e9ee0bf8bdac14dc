/* training.c - the training kind on this machine (launch_kind): script mode's code uploaded
 * next to an S3 output, S3 channels staged through the cache, CheckpointConfig restored before
 * Training and saved after (and before a retry), the tarballs packed and uploaded, and each
 * host laid out as the service lays out a training instance (training_host.c). */
#include "launch/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "contract/framework.h"
#include "data/checkpoints.h"
#include "data/s3_artifacts.h"
#include "data/s3_channel.h"
#include "job/job.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* S3 channels: every object into the cache (only what it lacks), and the channel's folder of
 * links under <job folder>/channels/<name>, before any host is laid out. */
static int stage_s3_channels(struct local_job *L, struct sr_error *err)
{
	_cleanup_free_ char *cache = xasprintf("%s/cache/s3", L->home);
	struct strv report = STRV_INIT;
	int r =
	    s3_channels_stage(L->job->train.channels, L->job->train.n_channels, L->job_dir, cache,
			      L->n_hosts, "channel", launch_stop_asked, NULL, &report, err);

	launch_say_report(L, &report);
	return r;
}

/* Point each S3 channel at the folder host `index` sees (ShardedByS3Key: its own). */
static void set_s3_channel_paths(struct local_job *L, size_t index)
{
	for (size_t i = 0; i < L->job->train.n_channels; i++) {
		struct job_channel *c = &L->job->train.channels[i];
		_cleanup_free_ char *dest = NULL;

		if (strncmp(c->uri, "s3://", 5))
			continue;
		dest = xasprintf("%s/channels/%s", L->job_dir, c->name);
		free(c->local_path);
		c->local_path = s3_channel_host_dir(c, dest, index);
	}
}

/* Each prepared host's checkpoint folder (CheckpointConfig.LocalPath in its tree; validation
 * made sure it is under /opt/ml). */
static void checkpoint_dirs(struct local_job *L, struct strv *dirs)
{
	for (size_t i = 0; i < L->n_hosts; i++) {
		const struct host *h = &L->hosts[i];
		char *d;

		if (!h->opt_ml)
			continue;
		d = checkpoints_host_dir(h->opt_ml, L->job->train.checkpoint_local_path);
		if (d)
			strv_push_take(dirs, d);
		else
			job_say(L->rep, JOB_SAY_WARNING, NULL,
				"%s: the checkpoint folder is a symbolic link (or passes through "
				"one): not followed, not synced",
				h->name);
	}
}

/* CheckpointConfig: restore before Training (save false), save after. */
static int sync_checkpoints(struct local_job *L, bool save, struct sr_error *err)
{
	struct strv report = STRV_INIT, dirs = STRV_INIT;
	const char *uri = L->job->train.checkpoint_s3_uri;
	int r;

	if (!uri)
		return 0;
	checkpoint_dirs(L, &dirs);
	if (!dirs.n)
		return 0; /* no host was laid out: nothing to restore into or save */
	r = save ? checkpoints_save(uri, dirs.v, dirs.n, &report, err)
		 : checkpoints_restore(uri, dirs.v, dirs.n, launch_stop_asked, NULL, &report, err);
	launch_say_report(L, &report);
	strv_release(&dirs);
	return r;
}

/* Script mode with an S3 output: the local code goes up as sourcedir.tar.gz next to the
 * output and sagemaker_submit_directory points at it, as the SageMaker SDK does it, so the
 * hosts fetch their code the way they would on the service. */
static int upload_source(struct local_job *L, struct sr_error *err)
{
	struct job *job = L->job;
	const char *hp = job_map_get(&job->train.hyperparameters, "sagemaker_submit_directory");
	_cleanup_json_ json_t *v = hp ? json_loads(hp, JSON_DECODE_ANY, NULL) : NULL;
	_cleanup_free_ char *uri = NULL, *quoted = NULL;
	const char *local;
	json_t *s;
	int r;

	if (L->source_uploaded || job->train.output_local || !json_is_string(v))
		return 0;
	/* job_build made local code locations file:///absolute. */
	local = json_string_value(v);
	if (!strncmp(local, "file://", 7))
		local += 7;
	if (local[0] != '/')
		return 0; /* already s3:// */
	r = s3_sourcedir_upload(job->train.output_path, job->name, local, L->job_dir, &uri, err);
	if (r < 0)
		return r;
	s = json_string(uri);
	quoted = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	job_map_set(&job->train.hyperparameters, "sagemaker_submit_directory", quoted);
	L->source_uploaded = true;
	job_say(L->rep, JOB_SAY_INFO, job->name, "source: %s", uri);
	return 0;
}

static int check_framework(const struct job *job, struct sr_error *err)
{
	if (!job->framework || contract_framework_find(job->framework))
		return 0;
	sr_err(err, -EINVAL, "--framework %s: not a framework sagerun knows", job->framework);
	return sr_err_hint(err, "known: %s", contract_framework_names());
}

/* A local output must be a folder sagerun can make, checked before the job is recorded (not
 * after the hosts ran); and --framework one sagerun knows. */
static int check_output(struct local_job *L, struct sr_error *err)
{
	const char *out = L->job->train.output_local;
	_cleanup_free_ char *what = out ? xasprintf("output '%s'", out) : NULL;

	if (check_framework(L->job, err) < 0)
		return -EINVAL;
	if (!out)
		return 0; /* s3://: the upload says what is wrong with it */
	return launch_check_output_folder(
	    out, what, "give --output a folder you can write, or an s3:// URI", err);
}

static int restore_checkpoints(struct local_job *L, struct sr_error *err)
{
	return sync_checkpoints(L, false, err);
}

static int save_checkpoints(struct local_job *L, struct sr_error *err)
{
	return sync_checkpoints(L, true, err);
}

static int host_prepare(struct local_job *L, struct host *h, struct sr_error *err)
{
	set_s3_channel_paths(L, h->index);
	return training_host_prepare(L, h, err);
}

static int retries(const struct job *job)
{
	return job->train.max_retry_attempts;
}

/* Checkpoints and artifacts are exported whatever the outcome, as the service does: both,
 * even when one fails; the first failure is the one returned. */
static int export(struct local_job *L, struct sr_error *err)
{
	struct sr_error perr = {0};
	int rc = sync_checkpoints(L, true, err);
	int rp = training_package(L, rc < 0 ? &perr : err);

	if (rc < 0 && rp < 0)
		job_say_error(L->rep, JOB_SAY_ERROR, NULL, &perr);
	return rc < 0 ? rc : rp;
}

/* No ContainerEntrypoint, and ContainerArguments or no program (sagemaker_program): the
 * image's own entry point runs, with the arguments or with `train` (reference §1.1). */
static bool image_only(const struct job *job)
{
	return job->image && !job->entrypoint.n &&
	       (job->arguments.n || !job_map_get(&job->train.hyperparameters, "sagemaker_program"));
}

static bool has_pipe(const struct job *job)
{
	for (size_t i = 0; i < job->train.n_channels; i++)
		if (job->train.channels[i].input_mode &&
		    !strcmp(job->train.channels[i].input_mode, "Pipe"))
			return true;
	return false;
}

static const char *compose_lacks(const struct job *job)
{
	if (job->train.checkpoint_s3_uri)
		return "CheckpointConfig: a compose file has no step before or after the "
		       "containers; not synced";
	if (has_pipe(job))
		return "Pipe-mode channels are fed by sagerun's supervisor, which a compose file "
		       "does not have: their pipes stay empty";
	return NULL;
}

static void hosts_gone(struct local_job *L)
{
	training_pipes_stop(L);
}

const struct launch_kind launch_kind_training = {
    .job_kind = &job_kind_training,
    .image_only = image_only,
    .check = check_output,
    .upload = upload_source,
    .stage_inputs = stage_s3_channels,
    .host_prepare = host_prepare,
    .before_run = restore_checkpoints,
    .retries = retries,
    .save_progress = save_checkpoints,
    .export = export,
    .compose_lacks = compose_lacks,
    .hosts_gone = hosts_gone,
};
