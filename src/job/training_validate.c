/* training_validate.c - a training job checked as CreateTrainingJob checks it (botocore's
 * model, reference §5.1), after the spec parser and the flags have each checked what they
 * saw: the whole job once more, whatever it came from. */
#include "job/job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/internal.h"
#include "job/rules.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int check_channel(const struct job *job, size_t i, struct sr_error *err)
{
	const struct job_channel *c = &job->train.channels[i];
	_cleanup_free_ char *w = xasprintf("InputDataConfig[%zu]", i);
	_cleanup_free_ char *wn = xasprintf("%s.ChannelName", w);
	_cleanup_free_ char *ws = xasprintf("%s.DataSource.S3DataSource", w);
	char where[256];
	int r;

	r = job_check(err, wn, c->name, 1, JOB_CHANNEL_NAME_MAX, job_rule_channel_name);
	if (r < 0)
		return r;
	for (size_t j = 0; j < i; j++)
		if (!strcmp(job->train.channels[j].name, c->name))
			return sr_err(err, -EINVAL, "%s: duplicate channel name \"%s\"", wn,
				      c->name);
#define CHECK_FIELD(base, field, s, min, max, rule)                                                \
	do {                                                                                       \
		snprintf(where, sizeof(where), "%s.%s", base, field);                              \
		r = job_check(err, where, s, min, max, rule);                                      \
		if (r < 0)                                                                         \
			return r;                                                                  \
	} while (0)
	CHECK_FIELD(ws, "S3Uri", c->uri, 1, JOB_URI_MAX, job_rule_uri);
	CHECK_FIELD(ws, "S3DataType", c->s3_data_type, 1, 64, job_rule_s3_data_type);
	CHECK_FIELD(ws, "S3DataDistributionType", c->distribution, 1, 64, job_rule_distribution);
	CHECK_FIELD(w, "ContentType", c->content_type, 0, JOB_CONTENT_TYPE_MAX, NULL);
	CHECK_FIELD(w, "CompressionType", c->compression, 1, 64, job_rule_channel_compression);
	CHECK_FIELD(w, "RecordWrapperType", c->record_wrapper, 1, 64, job_rule_record_wrapper);
	CHECK_FIELD(w, "InputMode", c->input_mode, 1, 64, job_rule_input_mode);
#undef CHECK_FIELD
	if (job_uri_is_s3(c->uri))
		return 0;
	if (strcmp(c->s3_data_type, "S3Prefix"))
		return sr_err(err, -EINVAL,
			      "%s.S3DataType: a local channel must be an S3Prefix folder (got %s)",
			      ws, c->s3_data_type);
	if (!c->local_path)
		return sr_err(err, -EINVAL, "channel '%s': no local path for '%s'", c->name,
			      c->uri);
	if (!fs_exists(c->local_path))
		return sr_err(err, -ENOENT, "channel '%s': folder '%s' does not exist", c->name,
			      c->local_path);
	if (!fs_is_dir(c->local_path))
		return sr_err(err, -ENOTDIR, "channel '%s': '%s' is not a folder", c->name,
			      c->local_path);
	return 0;
}

/* Under /opt/ml/, without "." or ".." parts: the host's tree holds it; and apart from the
 * folders sagerun fills (channels link to shared data there, code and artifacts). */
static bool checkpoint_path_ok(const char *p)
{
	static const char *const taken[] = {"input", "code", "model", "output"};

	if (strncmp(p, "/opt/ml/", 8) || !p[8])
		return false;
	for (size_t i = 0; i < sizeof(taken) / sizeof(*taken); i++) {
		size_t n = strlen(taken[i]);

		if (!strncmp(p + 8, taken[i], n) && (!p[8 + n] || p[8 + n] == '/'))
			return false;
	}
	for (const char *s = p + 8; *s;) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);

		if ((n == 1 && s[0] == '.') || (n == 2 && !strncmp(s, "..", 2)))
			return false;
		s = *e ? e + 1 : e;
	}
	return true;
}

int training_validate(const struct job *job, struct sr_error *err)
{
	int r;

	r = job_check(err, "TrainingJobName", job->name, 1, JOB_NAME_MAX, job_rule_name);
	if (r == 0 && job->role_arn)
		r = job_check(err, "RoleArn", job->role_arn, JOB_ROLE_ARN_MIN, JOB_ROLE_ARN_MAX,
			      job_rule_role_arn);
	if (r == 0 && job->image)
		r = job_check(err, "AlgorithmSpecification.TrainingImage", job->image, 1,
			      JOB_IMAGE_MAX, NULL);
	if (r == 0)
		r = job_check(err, "AlgorithmSpecification.TrainingInputMode",
			      job->train.input_mode, 1, 64, job_rule_input_mode);
	if (r == 0)
		r = job_check_list(err, "AlgorithmSpecification.ContainerEntrypoint",
				   &job->entrypoint);
	if (r == 0)
		r = job_check_list(err, "AlgorithmSpecification.ContainerArguments",
				   &job->arguments);
	if (r == 0)
		r = job_check_map(err, "HyperParameters", &job->train.hyperparameters,
				  JOB_HP_MAX_KEYS, 0, JOB_HP_KEY_MAX, JOB_HP_VALUE_MAX, NULL);
	if (r == 0)
		r = job_check_map(err, "Environment", &job->environment, JOB_ENV_MAX_KEYS, 1,
				  JOB_ENV_KEY_MAX, JOB_ENV_VALUE_MAX, job_rule_env_key);
	if (r < 0)
		return r;
	/* ContainerArguments alone replace `train` after the image's own entry point
	 * (reference §1.1): there must be an image. */
	if (job->arguments.n && !job->entrypoint.n && !job->image) {
		sr_err(
		    err, -EINVAL,
		    "AlgorithmSpecification.ContainerArguments: without a ContainerEntrypoint they "
		    "go to the image's own entry point, and there is no TrainingImage");
		return sr_err_hint(err, "add a ContainerEntrypoint, or a TrainingImage (run with "
					"--backend docker)");
	}
	/* An image alone runs its own entry point (on container hosts). */
	if (job->entrypoint.n == 0 &&
	    !job_map_get(&job->train.hyperparameters, "sagemaker_program") && !job->image)
		return sr_err(
		    err, -EINVAL,
		    "nothing to run: no AlgorithmSpecification.ContainerEntrypoint and no "
		    "sagemaker_program hyperparameter");

	if (job->train.n_channels > JOB_CHANNELS_MAX)
		return sr_err(err, -EINVAL, "InputDataConfig: more than %d channels (got %zu)",
			      JOB_CHANNELS_MAX, job->train.n_channels);
	for (size_t i = 0; i < job->train.n_channels; i++) {
		r = check_channel(job, i, err);
		if (r < 0)
			return r;
	}

	r = job_check(err, "OutputDataConfig.S3OutputPath", job->train.output_path, 1, JOB_URI_MAX,
		      job_rule_uri);
	if (r == 0)
		r = job_check(err, "OutputDataConfig.CompressionType",
			      job->train.output_compression, 1, 64, job_rule_output_compression);
	if (r < 0)
		return r;
	if (job->train.output_local && fs_exists(job->train.output_local) &&
	    !fs_is_dir(job->train.output_local))
		return sr_err(err, -ENOTDIR, "OutputDataConfig.S3OutputPath: '%s' is not a folder",
			      job->train.output_local);

	r = job_check(err, "ResourceConfig.InstanceType", job->instance_type, 1,
		      JOB_INSTANCE_TYPE_MAX, job_rule_instance_type);
	if (r < 0)
		return r;
	if (job->instance_count < 1 || job->instance_count > JOB_HOSTS_MAX)
		return sr_err(err, -EINVAL,
			      "ResourceConfig.InstanceCount: must be between 1 and %d (got %d)",
			      JOB_HOSTS_MAX, job->instance_count);
	if (job->volume_size_gb < 1 || job->volume_size_gb > JOB_VOLUME_GB_MAX)
		return sr_err(err, -EINVAL,
			      "ResourceConfig.VolumeSizeInGB: must be between 1 and %d (got %d)",
			      JOB_VOLUME_GB_MAX, job->volume_size_gb);
	/* the supervisor turns both into milliseconds: the limits keep that from overflowing */
	if (job->max_run_s < 1 || job->max_run_s > JOB_MAX_RUN_LIMIT_S)
		return sr_err(err, -EINVAL,
			      "StoppingCondition.MaxRuntimeInSeconds: must be between 1 and %d "
			      "seconds (28 days) (got %lld)",
			      JOB_MAX_RUN_LIMIT_S, (long long)job->max_run_s);
	if (job->stop_grace_s < 0 || job->stop_grace_s > JOB_STOP_GRACE_LIMIT_S)
		return sr_err(err, -EINVAL,
			      "stop grace: must be between 0 and %d seconds (1 day) (got %lld)",
			      JOB_STOP_GRACE_LIMIT_S, (long long)job->stop_grace_s);
	if (job->train.max_retry_attempts < 0 || job->train.max_retry_attempts > JOB_RETRY_MAX)
		return sr_err(
		    err, -EINVAL,
		    "RetryStrategy.MaximumRetryAttempts: must be between 1 and %d (got %d)",
		    JOB_RETRY_MAX, job->train.max_retry_attempts);
	if (job->train.checkpoint_s3_uri)
		r = job_check(err, "CheckpointConfig.S3Uri", job->train.checkpoint_s3_uri, 1,
			      JOB_URI_MAX, job_rule_uri);
	if (r == 0 && job->train.checkpoint_local_path)
		r = job_check(err, "CheckpointConfig.LocalPath", job->train.checkpoint_local_path,
			      0, JOB_CHECKPOINT_PATH_MAX, NULL);
	if (r == 0 && job->train.checkpoint_local_path &&
	    !checkpoint_path_ok(job->train.checkpoint_local_path)) {
		sr_err(err, -EINVAL,
		       "CheckpointConfig.LocalPath: must be a folder under /opt/ml, outside "
		       "input, code, model and output (got '%s')",
		       job->train.checkpoint_local_path);
		return sr_err_hint(err, "sagerun gives each host its own /opt/ml and nothing else; "
					"the default is /opt/ml/checkpoints");
	}
	return r;
}
