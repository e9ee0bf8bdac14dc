/* training_request.c - a training job as its CreateTrainingJob request (API field names): for
 * describe output (credentials redacted: job_json_map), and as an engine sends it. */
#include "job/job.h"

#include <jansson.h>

#include "job/internal.h"

static json_t *jchannel(const struct job_channel *c)
{
	json_t *ch = json_object(), *s3 = json_object(), *src = json_object();

	json_object_set_new(ch, "ChannelName", job_json_str(c->name));
	json_object_set_new(s3, "S3DataType",
			    job_json_str(c->s3_data_type ? c->s3_data_type : "S3Prefix"));
	json_object_set_new(s3, "S3Uri", job_json_str(c->uri));
	json_object_set_new(s3, "S3DataDistributionType",
			    job_json_str(c->distribution ? c->distribution : "FullyReplicated"));
	json_object_set_new(src, "S3DataSource", s3);
	json_object_set_new(ch, "DataSource", src);
	if (c->content_type)
		json_object_set_new(ch, "ContentType", job_json_str(c->content_type));
	json_object_set_new(ch, "CompressionType",
			    job_json_str(c->compression ? c->compression : "None"));
	json_object_set_new(ch, "RecordWrapperType",
			    job_json_str(c->record_wrapper ? c->record_wrapper : "None"));
	if (c->input_mode_set && c->input_mode)
		json_object_set_new(ch, "InputMode", job_json_str(c->input_mode));
	return ch;
}

struct json_t *training_request_json(const struct job *job, bool redact)
{
	json_t *req = json_object(), *algo = json_object(), *o;

	json_object_set_new(req, "TrainingJobName", job_json_str(job->name));
	if (job->role_arn)
		json_object_set_new(req, "RoleArn", job_json_str(job->role_arn));

	if (job->image)
		json_object_set_new(algo, "TrainingImage", job_json_str(job->image));
	json_object_set_new(algo, "TrainingInputMode",
			    job_json_str(job->train.input_mode ? job->train.input_mode : "File"));
	if (job->entrypoint.n)
		json_object_set_new(algo, "ContainerEntrypoint", job_json_strv(&job->entrypoint));
	if (job->arguments.n)
		json_object_set_new(algo, "ContainerArguments", job_json_strv(&job->arguments));
	json_object_set_new(req, "AlgorithmSpecification", algo);

	json_object_set_new(req, "HyperParameters",
			    job_json_map(&job->train.hyperparameters, false));

	if (job->train.n_channels) {
		o = json_array();
		for (size_t i = 0; i < job->train.n_channels; i++)
			json_array_append_new(o, jchannel(&job->train.channels[i]));
		json_object_set_new(req, "InputDataConfig", o);
	}

	o = json_object();
	json_object_set_new(o, "S3OutputPath", job_json_str(job->train.output_path));
	json_object_set_new(
	    o, "CompressionType",
	    job_json_str(job->train.output_compression ? job->train.output_compression : "GZIP"));
	json_object_set_new(req, "OutputDataConfig", o);

	o = json_object();
	json_object_set_new(o, "InstanceType", job_json_str(job->instance_type));
	json_object_set_new(o, "InstanceCount", json_integer(job->instance_count));
	json_object_set_new(
	    o, "VolumeSizeInGB",
	    json_integer(job->volume_size_gb > 0 ? job->volume_size_gb : JOB_DEFAULT_VOLUME_GB));
	json_object_set_new(req, "ResourceConfig", o);

	o = json_object();
	json_object_set_new(o, "MaxRuntimeInSeconds", json_integer(job->max_run_s));
	json_object_set_new(req, "StoppingCondition", o);

	json_object_set_new(req, "Environment", job_json_map(&job->environment, redact));

	if (job->train.checkpoint_s3_uri) {
		o = json_object();
		json_object_set_new(o, "S3Uri", job_json_str(job->train.checkpoint_s3_uri));
		if (job->train.checkpoint_local_path)
			json_object_set_new(o, "LocalPath",
					    job_json_str(job->train.checkpoint_local_path));
		json_object_set_new(req, "CheckpointConfig", o);
	}
	if (job->train.max_retry_attempts > 0) {
		o = json_object();
		json_object_set_new(o, "MaximumRetryAttempts",
				    json_integer(job->train.max_retry_attempts));
		json_object_set_new(req, "RetryStrategy", o);
	}
	json_object_set_new(req, "EnableNetworkIsolation", json_boolean(job->network_isolation));
	return req;
}
