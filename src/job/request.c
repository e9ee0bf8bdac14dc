/* request.c - the job as the CreateTrainingJob request (API field names), for describe output.
 *
 * Credentials must never reach describe output, the store or logs (DESIGN.md "Secrets"), so
 * Environment entries whose name says they hold one keep their key, to show they were set,
 * with the value "(redacted)".  Keeping the key rather than dropping it tells a reader the job
 * saw credentials without telling them what they were.  The test is by name and generous: a
 * harmless value hidden costs less than a secret shown.
 */
#include "job/job.h"

#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "util/secret.h"

#define REDACTED "(redacted)"

/* job_validate() guarantees UTF-8, so json_string() only fails on a job that skipped it;
 * describe output must still come out whole. */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s ? s : "");

	return v ? v : json_string("(not valid UTF-8)");
}

static json_t *jstrv(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, jstr(sv->v[i]));
	return a;
}

static json_t *jmap(const struct job_map *m, bool redact)
{
	json_t *o = json_object();

	for (size_t i = 0; i < m->n; i++) {
		const char *v =
		    redact && sr_name_is_credential(m->items[i].key) ? REDACTED : m->items[i].value;

		json_object_set_new(o, m->items[i].key, jstr(v));
	}
	return o;
}

static json_t *jchannel(const struct job_channel *c)
{
	json_t *ch = json_object(), *s3 = json_object(), *src = json_object();

	json_object_set_new(ch, "ChannelName", jstr(c->name));
	json_object_set_new(s3, "S3DataType", jstr(c->s3_data_type ? c->s3_data_type : "S3Prefix"));
	json_object_set_new(s3, "S3Uri", jstr(c->uri));
	json_object_set_new(s3, "S3DataDistributionType",
			    jstr(c->distribution ? c->distribution : "FullyReplicated"));
	json_object_set_new(src, "S3DataSource", s3);
	json_object_set_new(ch, "DataSource", src);
	if (c->content_type)
		json_object_set_new(ch, "ContentType", jstr(c->content_type));
	json_object_set_new(ch, "CompressionType", jstr(c->compression ? c->compression : "None"));
	json_object_set_new(ch, "RecordWrapperType",
			    jstr(c->record_wrapper ? c->record_wrapper : "None"));
	if (c->input_mode_set && c->input_mode)
		json_object_set_new(ch, "InputMode", jstr(c->input_mode));
	return ch;
}

struct json_t *job_request_json(const struct job *job)
{
	json_t *req = json_object(), *algo = json_object(), *o;

	json_object_set_new(req, "TrainingJobName", jstr(job->name));
	if (job->role_arn)
		json_object_set_new(req, "RoleArn", jstr(job->role_arn));

	if (job->image)
		json_object_set_new(algo, "TrainingImage", jstr(job->image));
	json_object_set_new(algo, "TrainingInputMode",
			    jstr(job->input_mode ? job->input_mode : "File"));
	if (job->entrypoint.n)
		json_object_set_new(algo, "ContainerEntrypoint", jstrv(&job->entrypoint));
	if (job->arguments.n)
		json_object_set_new(algo, "ContainerArguments", jstrv(&job->arguments));
	json_object_set_new(req, "AlgorithmSpecification", algo);

	json_object_set_new(req, "HyperParameters", jmap(&job->hyperparameters, false));

	if (job->n_channels) {
		o = json_array();
		for (size_t i = 0; i < job->n_channels; i++)
			json_array_append_new(o, jchannel(&job->channels[i]));
		json_object_set_new(req, "InputDataConfig", o);
	}

	o = json_object();
	json_object_set_new(o, "S3OutputPath", jstr(job->output_path));
	json_object_set_new(o, "CompressionType",
			    jstr(job->output_compression ? job->output_compression : "GZIP"));
	json_object_set_new(req, "OutputDataConfig", o);

	o = json_object();
	json_object_set_new(o, "InstanceType", jstr(job->instance_type));
	json_object_set_new(o, "InstanceCount", json_integer(job->instance_count));
	json_object_set_new(
	    o, "VolumeSizeInGB",
	    json_integer(job->volume_size_gb > 0 ? job->volume_size_gb : JOB_DEFAULT_VOLUME_GB));
	json_object_set_new(req, "ResourceConfig", o);

	o = json_object();
	json_object_set_new(o, "MaxRuntimeInSeconds", json_integer(job->max_run_s));
	json_object_set_new(req, "StoppingCondition", o);

	json_object_set_new(req, "Environment", jmap(&job->environment, true));

	if (job->checkpoint_s3_uri) {
		o = json_object();
		json_object_set_new(o, "S3Uri", jstr(job->checkpoint_s3_uri));
		if (job->checkpoint_local_path)
			json_object_set_new(o, "LocalPath", jstr(job->checkpoint_local_path));
		json_object_set_new(req, "CheckpointConfig", o);
	}
	if (job->max_retry_attempts > 0) {
		o = json_object();
		json_object_set_new(o, "MaximumRetryAttempts",
				    json_integer(job->max_retry_attempts));
		json_object_set_new(req, "RetryStrategy", o);
	}
	json_object_set_new(req, "EnableNetworkIsolation", json_boolean(job->network_isolation));
	return req;
}
