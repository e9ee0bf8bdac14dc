/* training_spec.c - one table per object of the CreateTrainingJob request (botocore model,
 * reference §5.1), with a parser per honoured field and, for the others, why they are not
 * honoured locally.  The machinery is in spec.c. */
#include "job/job.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "job/rules.h"
#include "job/spec_internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

static void warn_fastfile(struct spec *s, const char *mode)
{
	if (mode && !strcmp(mode, "FastFile"))
		spec_warn(s, "FastFile behaves as File locally (channels are staged before the "
			     "job starts)");
}

/* ---- AlgorithmSpecification ---- */

static int parse_input_mode(struct spec *s, json_t *v)
{
	int r = spec_get_string(s, v, 1, 64, job_rule_input_mode, &s->job->train.input_mode);

	if (r == 0)
		warn_fastfile(s, s->job->train.input_mode);
	return r;
}

static int parse_metric_name(struct spec *s, json_t *v)
{
	_cleanup_free_ char *name = NULL;

	return spec_get_string(s, v, 1, 255, NULL, &name);
}

static int parse_metric_regex(struct spec *s, json_t *v)
{
	_cleanup_free_ char *regex = NULL;

	return spec_get_string(s, v, 1, 500, NULL, &regex);
}

static const struct spec_field metric_fields[] = {
    {"Name", parse_metric_name, NULL},
    {"Regex", parse_metric_regex, NULL},
    {NULL, NULL, NULL},
};

/* Checked as the service checks them (an empty Name is refused there), then not used:
 * metrics are not scraped locally. */
static int parse_metrics(struct spec *s, json_t *v)
{
	size_t i;
	json_t *item;
	int r = spec_want(s, v, JSON_ARRAY, "a list of metric definitions");

	if (r < 0)
		return r;
	if (json_array_size(v) > 40)
		return spec_fail(s, "more than 40 metric definitions (got %zu)",
				 json_array_size(v));
	json_array_foreach (v, i, item) {
		int ri;

		jsonpos_push_index(&s->path, i);
		ri = spec_object(s, item, metric_fields);
		if (ri == 0)
			ri = spec_require(s, item, "Name", "");
		if (ri == 0)
			ri = spec_require(s, item, "Regex", "");
		jsonpos_pop(&s->path);
		if (ri < 0 && r == 0)
			r = ri;
	}
	if (r == 0 && json_array_size(v))
		spec_warn_unhonoured(s, "metrics are not scraped from the logs");
	return r;
}

static const struct spec_field algo_fields[] = {
    {"TrainingImage", spec_parse_image, NULL},
    {"AlgorithmName", NULL, "Marketplace algorithms need the service"},
    {"TrainingInputMode", parse_input_mode, NULL},
    {"MetricDefinitions", parse_metrics, NULL},
    {"EnableSageMakerMetricsTimeSeries", NULL, "metrics are not scraped from the logs"},
    {"ContainerEntrypoint", spec_parse_entrypoint, NULL},
    {"ContainerArguments", spec_parse_arguments, NULL},
    {"TrainingImageConfig", NULL, "private registry settings are not used locally"},
    {NULL, NULL, NULL},
};

static int parse_algo(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, algo_fields);

	return r < 0 ? r : spec_require(s, v, "TrainingInputMode", " (File or FastFile)");
}

/* ---- HyperParameters, Environment ---- */

static int parse_hps(struct spec *s, json_t *v)
{
	return spec_get_map(s, v, &s->job->train.hyperparameters, JOB_HP_MAX_KEYS, JOB_HP_KEY_MAX,
			    JOB_HP_VALUE_MAX, NULL, true);
}

static int parse_env(struct spec *s, json_t *v)
{
	return spec_get_map(s, v, &s->job->environment, JOB_ENV_MAX_KEYS, JOB_ENV_KEY_MAX,
			    JOB_ENV_VALUE_MAX, job_rule_env_key, false);
}

/* ---- InputDataConfig ---- */

static int parse_s3_type(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_s3_data_type, &s->chan->s3_data_type);
}

static int parse_s3_uri(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_URI_MAX, job_rule_uri, &s->chan->uri);
}

static int parse_distribution(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_distribution, &s->chan->distribution);
}

static const struct spec_field s3_fields[] = {
    {"S3DataType", parse_s3_type, NULL},
    {"S3Uri", parse_s3_uri, NULL},
    {"S3DataDistributionType", parse_distribution, NULL},
    {"AttributeNames", NULL, "augmented manifest attributes are not filtered locally"},
    {"InstanceGroupNames", NULL, "instance groups are not emulated"},
    {"ModelAccessConfig", NULL, "no model license to accept locally"},
    {"HubAccessConfig", NULL, "SageMaker hubs are not read locally"},
    {NULL, NULL, NULL},
};

static int parse_s3_source(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, s3_fields);

	if (r == 0)
		r = spec_require(s, v, "S3Uri",
				 " (s3://BUCKET/PREFIX, file://PATH or a local path)");
	if (r < 0)
		return r;
	/* A manifest names S3 objects: there is nothing to read it against locally. */
	if (!job_uri_is_s3(s->chan->uri) && s->chan->s3_data_type &&
	    strcmp(s->chan->s3_data_type, "S3Prefix")) {
		jsonpos_push_key(&s->path, "S3DataType");
		r = spec_fail(s, "a local channel must be an S3Prefix folder (got \"%s\")",
			      s->chan->s3_data_type);
		jsonpos_pop(&s->path);
	}
	return r;
}

static const struct spec_field source_fields[] = {
    {"S3DataSource", parse_s3_source, NULL},
    {"FileSystemDataSource", NULL, "EFS and FSx for Lustre are not mounted locally"},
    {"DatasetSource", NULL, "dataset sources are not read locally"},
    {NULL, NULL, NULL},
};

static int parse_data_source(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, source_fields);

	/* The service takes one source per channel (said whatever else is wrong in them). */
	if (json_is_object(v) && json_object_get(v, "S3DataSource") &&
	    json_object_get(v, "FileSystemDataSource"))
		return spec_fail(s, "give S3DataSource or FileSystemDataSource, not both");
	if (r == 0 && !json_object_get(v, "S3DataSource")) {
		r = spec_fail(s, "missing S3DataSource");
		sr_err_hint(s->err, "locally a channel reads an S3DataSource whose S3Uri is "
				    "s3://..., file://PATH or a local folder");
	}
	return r;
}

static int parse_channel_name(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_CHANNEL_NAME_MAX, job_rule_channel_name,
			       &s->chan->name);
}

static int parse_content_type(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 0, JOB_CONTENT_TYPE_MAX, NULL, &s->chan->content_type);
}

static int parse_compression(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_channel_compression, &s->chan->compression);
}

static int parse_record_wrapper(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_record_wrapper, &s->chan->record_wrapper);
}

static int parse_channel_mode(struct spec *s, json_t *v)
{
	int r = spec_get_string(s, v, 1, 64, job_rule_input_mode, &s->chan->input_mode);

	if (r == 0) {
		s->chan->input_mode_set = true;
		warn_fastfile(s, s->chan->input_mode);
	}
	return r;
}

static const struct spec_field channel_fields[] = {
    {"ChannelName", parse_channel_name, NULL},
    {"DataSource", parse_data_source, NULL},
    {"ContentType", parse_content_type, NULL},
    {"CompressionType", parse_compression, NULL},
    {"RecordWrapperType", parse_record_wrapper, NULL},
    {"InputMode", parse_channel_mode, NULL},
    {"ShuffleConfig", NULL, "Pipe-mode shuffling is not emulated"},
    {NULL, NULL, NULL},
};

static int parse_one_channel(struct spec *s, json_t *v, size_t i)
{
	struct job *job = s->job;
	int r = spec_object(s, v, channel_fields);

	if (r == 0)
		r = spec_require(s, v, "ChannelName", "");
	if (r == 0)
		r = spec_require(s, v, "DataSource", " (with an S3DataSource)");
	if (r < 0)
		return r;
	/* An earlier channel refused may have no name: every problem is reported in one run. */
	for (size_t j = 0; j < i; j++) {
		if (!job->train.channels[j].name ||
		    strcmp(job->train.channels[j].name, s->chan->name))
			continue;
		jsonpos_push_key(&s->path, "ChannelName");
		r = spec_fail(s, "duplicate channel name \"%s\" (InputDataConfig[%zu] has it too)",
			      s->chan->name, j);
		jsonpos_pop(&s->path);
		return r;
	}
	return 0;
}

static int parse_channels(struct spec *s, json_t *v)
{
	struct job *job = s->job;
	size_t i, n;
	json_t *item;
	int r = spec_want(s, v, JSON_ARRAY, "a list of channels");

	if (r < 0)
		return r;
	n = json_array_size(v);
	if (n == 0)
		return spec_fail(s, "must list 1 to %d channels (got none)", JOB_CHANNELS_MAX);
	if (n > JOB_CHANNELS_MAX)
		return spec_fail(s, "more than %d channels (got %zu)", JOB_CHANNELS_MAX, n);
	for (i = 0; i < job->train.n_channels; i++)
		job_channel_release(&job->train.channels[i]);
	free(job->train.channels);
	job->train.channels = xcalloc(n, sizeof(*job->train.channels));
	job->train.n_channels = 0;
	json_array_foreach (v, i, item) {
		int rc;

		s->chan = &job->train.channels[i];
		job->train.n_channels = i + 1; /* so job_release() frees a half-parsed channel */
		jsonpos_push_index(&s->path, i);
		rc = parse_one_channel(s, item, i);
		jsonpos_pop(&s->path);
		s->chan = NULL;
		if (rc < 0 && r == 0)
			r = rc;
		if (spec_enough(s))
			break;
	}
	return r;
}

/* ---- OutputDataConfig, ResourceConfig, StoppingCondition, and the rest ---- */

static int parse_output_path(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_URI_MAX, job_rule_uri, &s->job->train.output_path);
}

static int parse_output_compression(struct spec *s, json_t *v)
{
	int r = spec_get_string(s, v, 1, 64, job_rule_output_compression,
				&s->job->train.output_compression);

	if (r == 0 && !strcmp(s->job->train.output_compression, "NONE"))
		spec_warn_unhonoured(s, "artifacts are still gzip tarballs");
	return r;
}

static const struct spec_field output_fields[] = {
    {"S3OutputPath", parse_output_path, NULL},
    {"KmsKeyId", NULL, "nothing is encrypted with KMS locally"},
    {"CompressionType", parse_output_compression, NULL},
    {NULL, NULL, NULL},
};

static int parse_output(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, output_fields);

	return r < 0 ? r
		     : spec_require(s, v, "S3OutputPath", " (s3://..., file://PATH or a folder)");
}

static int parse_instance_count(struct spec *s, json_t *v)
{
	long long x = 0;
	int r = spec_get_int(s, v, 1, JOB_HOSTS_MAX, " hosts on one machine", &x);

	if (r == 0)
		s->job->instance_count = (int)x;
	return r;
}

static int parse_instance_groups(struct spec *s, json_t *v)
{
	if (spec_is_empty(v))
		return 0;
	spec_fail(s, "heterogeneous clusters are not supported locally");
	return sr_err_hint(s->err, "describe the cluster with ResourceConfig.InstanceType and "
				   "ResourceConfig.InstanceCount");
}

static const struct spec_field resource_fields[] = {
    {"InstanceType", spec_parse_instance_type, NULL},
    {"InstanceCount", parse_instance_count, NULL},
    {"VolumeSizeInGB", spec_parse_volume, NULL},
    {"VolumeKmsKeyId", NULL, "nothing is encrypted with KMS locally"},
    {"KeepAlivePeriodInSeconds", NULL, "there are no warm pools locally"},
    {"InstanceGroups", parse_instance_groups, NULL},
    {"TrainingPlanArn", NULL, "there are no training plans locally"},
    {"InstancePlacementConfig", NULL, "all hosts are on this machine"},
    {NULL, NULL, NULL},
};

static int parse_resources(struct spec *s, json_t *v)
{
	return spec_object(s, v, resource_fields);
}

static int parse_max_run(struct spec *s, json_t *v)
{
	long long x = 0;
	int r = spec_get_int(s, v, 1, JOB_MAX_RUN_LIMIT_S, " seconds (28 days)", &x);

	if (r == 0)
		s->job->max_run_s = x;
	return r;
}

/* Checked as the service checks it; only managed spot training, which does not run here,
 * uses it. */
static int parse_max_wait(struct spec *s, json_t *v)
{
	long long x = 0;
	json_t *run =
	    json_object_get(json_object_get(s->root, "StoppingCondition"), "MaxRuntimeInSeconds");
	int r = spec_get_int(s, v, 1, LLONG_MAX, "", &x);

	if (r == 0 && json_is_integer(run) && x < json_integer_value(run))
		return spec_fail(s, "must be at least MaxRuntimeInSeconds (%lld) (got %lld)",
				 (long long)json_integer_value(run), x);
	return r;
}

static const struct spec_field stopping_fields[] = {
    {"MaxRuntimeInSeconds", parse_max_run, NULL},
    {"MaxWaitTimeInSeconds", parse_max_wait, NULL},
    {"MaxPendingTimeInSeconds", NULL, "jobs start at once here"},
    {NULL, NULL, NULL},
};

static int parse_stopping(struct spec *s, json_t *v)
{
	return spec_object(s, v, stopping_fields);
}

static int parse_checkpoint_uri(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_URI_MAX, job_rule_uri,
			       &s->job->train.checkpoint_s3_uri);
}

static int parse_checkpoint_path(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_CHECKPOINT_PATH_MAX, NULL,
			       &s->job->train.checkpoint_local_path);
}

static const struct spec_field checkpoint_fields[] = {
    {"S3Uri", parse_checkpoint_uri, NULL},
    {"LocalPath", parse_checkpoint_path, NULL},
    {NULL, NULL, NULL},
};

static int parse_checkpoint(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, checkpoint_fields);

	if (r == 0)
		r = spec_require(s, v, "S3Uri", "");
	return r;
}

static int parse_retry_attempts(struct spec *s, json_t *v)
{
	long long x = 0;
	int r = spec_get_int(s, v, 1, JOB_RETRY_MAX, "", &x);

	if (r == 0)
		s->job->train.max_retry_attempts = (int)x;
	return r;
}

static const struct spec_field retry_fields[] = {
    {"MaximumRetryAttempts", parse_retry_attempts, NULL},
    {NULL, NULL, NULL},
};

static int parse_retry(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, retry_fields);

	if (r == 0)
		r = spec_require(s, v, "MaximumRetryAttempts", " (1 to 30)");
	return r;
}

/* The service refuses spot training without the time it may wait for capacity. */
static int parse_spot(struct spec *s, json_t *v)
{
	if (!json_is_boolean(v))
		return spec_fail(s, "expected a boolean, got %s", spec_type_phrase(v));
	if (!json_is_true(v))
		return 0;
	if (!json_object_get(json_object_get(s->root, "StoppingCondition"),
			     "MaxWaitTimeInSeconds")) {
		spec_fail(s, "managed spot training needs StoppingCondition.MaxWaitTimeInSeconds");
		return sr_err_hint(s->err,
				   "add it (at least MaxRuntimeInSeconds), or drop "
				   "EnableManagedSpotTraining: it does not run here anyway");
	}
	spec_warn_unhonoured(s, "there is no spot capacity here; the job runs once");
	return 0;
}

/* In the botocore model's order, so the hint listing them reads like the API reference. */
const struct spec_field training_spec_fields[] = {
    {"TrainingJobName", spec_parse_name, NULL},
    {"HyperParameters", parse_hps, NULL},
    {"AlgorithmSpecification", parse_algo, NULL},
    {"RoleArn", spec_parse_role, NULL},
    {"InputDataConfig", parse_channels, NULL},
    {"OutputDataConfig", parse_output, NULL},
    {"ResourceConfig", parse_resources, NULL},
    {"VpcConfig", NULL, "jobs run on this machine"},
    {"StoppingCondition", parse_stopping, NULL},
    {"Tags", NULL, "nothing is tagged locally"},
    {"EnableNetworkIsolation", spec_parse_isolation, NULL},
    {"EnableInterContainerTrafficEncryption", NULL, "hosts talk over this machine's own network"},
    {"EnableManagedSpotTraining", parse_spot, NULL},
    {"CheckpointConfig", parse_checkpoint, NULL},
    {"DebugHookConfig", NULL, "SageMaker Debugger is not emulated"},
    {"DebugRuleConfigurations", NULL, "SageMaker Debugger is not emulated"},
    {"TensorBoardOutputConfig", NULL, "TensorBoard output is not collected"},
    {"ExperimentConfig", NULL, "SageMaker Experiments is not emulated"},
    {"ProfilerConfig", NULL, "SageMaker Profiler is not emulated"},
    {"ProfilerRuleConfigurations", NULL, "SageMaker Profiler is not emulated"},
    {"Environment", parse_env, NULL},
    {"RetryStrategy", parse_retry, NULL},
    {"RemoteDebugConfig", NULL, "remote debugging is not emulated"},
    {"InfraCheckConfig", NULL, "no infrastructure checks run locally"},
    {"SessionChainingConfig", NULL, "sessions are not chained locally"},
    {"ServerlessJobConfig", NULL, "serverless jobs are not emulated"},
    {"MlflowConfig", NULL, "MLflow tracking is not configured locally"},
    {"ModelPackageConfig", NULL, "model packages are not registered locally"},
    {NULL, NULL, NULL},
};

/* The object a top-level key belongs in when it is one of its fields but for case
 * ("InstanceCount" -> ResourceConfig); *ret_field gets the field's proper spelling. */
const char *training_spec_nested_home(const char *key, const char **ret_field)
{
	static const struct {
		const char *name;
		const struct spec_field *fields;
	} nested[] = {
	    {"AlgorithmSpecification", algo_fields}, {"OutputDataConfig", output_fields},
	    {"ResourceConfig", resource_fields},     {"StoppingCondition", stopping_fields},
	    {"CheckpointConfig", checkpoint_fields}, {"RetryStrategy", retry_fields},
	};

	for (size_t i = 0; i < sizeof(nested) / sizeof(nested[0]); i++) {
		for (const struct spec_field *f = nested[i].fields; f->name; f++) {
			if (!strcasecmp(f->name, key)) {
				*ret_field = f->name;
				return nested[i].name;
			}
		}
	}
	return NULL;
}
