/* processing_request.c - a processing job as its CreateProcessingJob request (API field
 * names): for describe output, credentials redacted; and as the service echoes it into every
 * host's /opt/ml/config/processingjobconfig.json (the developer guide's example: the same
 * fields, ProcessingJobArn first, nulls where nothing was given, S3DownloadMode). */
#include "job/job.h"

#include <jansson.h>

#include "job/internal.h"

static json_t *jnull_or(json_t *v)
{
	return v ? v : json_null();
}

static json_t *jinput(const struct job_channel *c, bool config)
{
	json_t *in = json_object(), *s3 = json_object();

	json_object_set_new(in, "InputName", job_json_str(c->name));
	json_object_set_new(in, "AppManaged", json_boolean(c->app_managed));
	json_object_set_new(s3, "S3Uri", job_json_str(c->uri));
	json_object_set_new(s3, "LocalPath", job_json_str(c->dest));
	json_object_set_new(s3, "S3DataType",
			    job_json_str(c->s3_data_type ? c->s3_data_type : "S3Prefix"));
	json_object_set_new(s3, "S3InputMode",
			    job_json_str(c->input_mode ? c->input_mode : "File"));
	json_object_set_new(s3, "S3DataDistributionType",
			    job_json_str(c->distribution ? c->distribution : "FullyReplicated"));
	json_object_set_new(s3, "S3CompressionType",
			    job_json_str(c->compression ? c->compression : "None"));
	if (config)
		json_object_set_new(s3, "S3DownloadMode", json_string("StartOfJob"));
	json_object_set_new(in, "S3Input", s3);
	return in;
}

static json_t *joutput(const struct job_proc_output *o)
{
	json_t *out = json_object(), *s3 = json_object();

	json_object_set_new(out, "OutputName", job_json_str(o->name));
	json_object_set_new(s3, "S3Uri", job_json_str(o->uri));
	json_object_set_new(s3, "LocalPath", job_json_str(o->dest));
	json_object_set_new(s3, "S3UploadMode",
			    job_json_str(o->upload_mode ? o->upload_mode : "EndOfJob"));
	json_object_set_new(out, "S3Output", s3);
	json_object_set_new(out, "AppManaged", json_boolean(o->app_managed));
	return out;
}

static json_t *jinputs(const struct job *job, bool config)
{
	json_t *a = json_array();

	for (size_t i = 0; i < job->proc.n_inputs; i++)
		json_array_append_new(a, jinput(&job->proc.inputs[i], config));
	return a;
}

static json_t *joutputs(const struct job *job, bool config)
{
	json_t *a = json_array(), *o;

	for (size_t i = 0; i < job->proc.n_outputs; i++)
		json_array_append_new(a, joutput(&job->proc.outputs[i]));
	o = json_pack("{s:o}", "Outputs", a);
	if (config)
		json_object_set_new(o, "KmsKeyId", json_null());
	return o;
}

static json_t *jcluster(const struct job *job, bool config)
{
	json_t *c = json_object();

	json_object_set_new(c, "InstanceCount", json_integer(job->instance_count));
	json_object_set_new(c, "InstanceType", job_json_str(job->instance_type));
	json_object_set_new(
	    c, "VolumeSizeInGB",
	    json_integer(job->volume_size_gb > 0 ? job->volume_size_gb : JOB_DEFAULT_VOLUME_GB));
	if (config)
		json_object_set_new(c, "VolumeKmsKeyId", json_null());
	return json_pack("{s:o}", "ClusterConfig", c);
}

static json_t *japp(const struct job *job, bool config)
{
	json_t *a = json_object();

	if (config || job->image)
		json_object_set_new(a, "ImageUri",
				    jnull_or(job->image ? job_json_str(job->image) : NULL));
	if (config || job->entrypoint.n)
		json_object_set_new(
		    a, "ContainerEntrypoint",
		    jnull_or(job->entrypoint.n ? job_json_strv(&job->entrypoint) : NULL));
	if (config || job->arguments.n)
		json_object_set_new(
		    a, "ContainerArguments",
		    jnull_or(job->arguments.n ? job_json_strv(&job->arguments) : NULL));
	return a;
}

json_t *processing_request_json(const struct job *job, bool redact)
{
	json_t *req = json_object();

	if (job->proc.n_inputs)
		json_object_set_new(req, "ProcessingInputs", jinputs(job, false));
	if (job->proc.n_outputs)
		json_object_set_new(req, "ProcessingOutputConfig", joutputs(job, false));
	json_object_set_new(req, "ProcessingJobName", job_json_str(job->name));
	json_object_set_new(req, "ProcessingResources", jcluster(job, false));
	json_object_set_new(req, "StoppingCondition",
			    json_pack("{s:I}", "MaxRuntimeInSeconds", (json_int_t)job->max_run_s));
	json_object_set_new(req, "AppSpecification", japp(job, false));
	json_object_set_new(req, "Environment", job_json_map(&job->environment, redact));
	if (job->network_isolation)
		json_object_set_new(req, "NetworkConfig",
				    json_pack("{s:b}", "EnableNetworkIsolation", 1));
	if (job->role_arn)
		json_object_set_new(req, "RoleArn", job_json_str(job->role_arn));
	return req;
}

json_t *job_processing_config_json(const struct job *job)
{
	json_t *c = json_object();

	json_object_set_new(c, "ProcessingJobArn", job_json_str(job->arn));
	json_object_set_new(c, "ProcessingJobName", job_json_str(job->name));
	json_object_set_new(c, "AppSpecification", japp(job, true));
	json_object_set_new(c, "Environment", job_json_map(&job->environment, false));
	json_object_set_new(c, "ProcessingInputs", jinputs(job, true));
	if (job->proc.n_outputs)
		json_object_set_new(c, "ProcessingOutputConfig", joutputs(job, true));
	json_object_set_new(c, "ProcessingResources", jcluster(job, true));
	json_object_set_new(c, "RoleArn",
			    jnull_or(job->role_arn ? job_json_str(job->role_arn) : NULL));
	json_object_set_new(c, "StoppingCondition",
			    json_pack("{s:I}", "MaxRuntimeInSeconds", (json_int_t)job->max_run_s));
	if (job->network_isolation)
		json_object_set_new(c, "NetworkConfig",
				    json_pack("{s:b}", "EnableNetworkIsolation", 1));
	return c;
}
