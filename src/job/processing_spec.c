/* processing_spec.c - one table per object of the CreateProcessingJob request (botocore model,
 * reference §5.4), with a parser per honoured field and, for the others, why they are not
 * honoured locally.  The machinery is in spec.c.
 *
 * Each ProcessingInput becomes a job_channel named InputName (its LocalPath in `dest`), so that
 * inputs are staged by the code that stages training channels.
 */
#include "job/job.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "job/internal.h"
#include "job/rules.h"
#include "job/spec_internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* The first problem of two: each of them is said either way (spec.c keeps every problem). */
static int first_problem(int r, int r2)
{
	return r < 0 ? r : r2;
}

/* ---- ProcessingInputs ---- */

static int parse_in_uri(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_URI_MAX, job_rule_uri, &s->chan->uri);
}

static int parse_in_path(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_PROC_LOCAL_PATH_MAX, job_rule_proc_local_path,
			       &s->chan->dest);
}

static int parse_in_type(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_proc_data_type, &s->chan->s3_data_type);
}

static int parse_in_mode(struct spec *s, json_t *v)
{
	int r = spec_get_string(s, v, 1, 64, job_rule_proc_input_mode, &s->chan->input_mode);

	if (r == 0 && !strcmp(s->chan->input_mode, "Pipe"))
		spec_warn(s, "Pipe behaves as File locally (the data is staged at LocalPath before "
			     "the job starts)");
	return r;
}

static int parse_in_distribution(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_distribution, &s->chan->distribution);
}

static int parse_in_compression(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_channel_compression, &s->chan->compression);
}

static const struct spec_field s3_input_fields[] = {
    {"S3Uri", parse_in_uri, NULL},
    {"LocalPath", parse_in_path, NULL},
    {"S3DataType", parse_in_type, NULL},
    {"S3InputMode", parse_in_mode, NULL},
    {"S3DataDistributionType", parse_in_distribution, NULL},
    {"S3CompressionType", parse_in_compression, NULL},
    {NULL, NULL, NULL},
};

static int parse_s3_input(struct spec *s, json_t *v)
{
	_cleanup_free_ char *why = NULL;
	const char *field, *hint;
	int r = spec_object(s, v, s3_input_fields);

	/* every missing field is said, whatever else is wrong, as botocore's validator says them */
	if (!json_is_object(v))
		return r;
	r = first_problem(
	    r, spec_require(s, v, "S3Uri", " (s3://BUCKET/PREFIX, file://PATH or a local path)"));
	r = first_problem(r,
			  spec_require(s, v, "LocalPath", " (a folder under /opt/ml/processing/)"));
	r = first_problem(r, spec_require(s, v, "S3DataType", " (S3Prefix or ManifestFile)"));
	/* The rules across fields read what was kept: a field refused is not there (NULL), and
	 * reads as its default, which only a refused S3InputMode (File) could make a problem. */
	if (json_object_get(v, "S3InputMode") && !s->chan->input_mode)
		return r;
	why = processing_input_conflict(s->chan, &field, &hint);
	if (!why)
		return r;
	jsonpos_push_key(&s->path, field);
	r = first_problem(r, spec_fail(s, "%s", why));
	if (hint)
		sr_err_hint(s->err, "%s", hint);
	jsonpos_pop(&s->path);
	return r;
}

static int parse_in_name(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_PROC_NAME_MAX, job_rule_proc_item_name, &s->chan->name);
}

static int parse_app_managed(struct spec *s, json_t *v, bool *ret)
{
	if (!json_is_boolean(v))
		return spec_fail(s, "expected a boolean, got %s", spec_type_phrase(v));
	*ret = json_is_true(v);
	if (*ret)
		spec_warn_unhonoured(s, "sagerun stages and uploads every input and output");
	return 0;
}

static int parse_in_app_managed(struct spec *s, json_t *v)
{
	return parse_app_managed(s, v, &s->chan->app_managed);
}

static int refuse_dataset(struct spec *s, json_t *v)
{
	(void)v;
	spec_fail(s, "DatasetDefinition (Athena, Redshift) needs the service");
	return sr_err_hint(s->err, "export the data to S3 or a folder first and give it as an "
				   "S3Input");
}

static const struct spec_field input_fields[] = {
    {"InputName", parse_in_name, NULL},
    {"AppManaged", parse_in_app_managed, NULL},
    {"S3Input", parse_s3_input, NULL},
    {"DatasetDefinition", refuse_dataset, NULL},
    {NULL, NULL, NULL},
};

/* The name unique among the inputs before `i` (LocalPaths are job_build()'s to compare: flags
 * may replace an input). */
static int input_unique(struct spec *s, size_t i)
{
	const struct job_processing *p = &s->job->proc;
	int r = 0;

	for (size_t j = 0; j < i && r == 0; j++) {
		if (s->chan->name && p->inputs[j].name &&
		    !strcmp(p->inputs[j].name, s->chan->name)) {
			jsonpos_push_key(&s->path, "InputName");
			r = spec_fail(s,
				      "duplicate input name \"%s\" (ProcessingInputs[%zu] has it "
				      "too)",
				      s->chan->name, j);
			jsonpos_pop(&s->path);
		}
	}
	return r;
}

static int parse_one_input(struct spec *s, json_t *v, size_t i)
{
	int r = spec_object(s, v, input_fields);

	if (!json_is_object(v))
		return r;
	r = first_problem(r, spec_require(s, v, "InputName", ""));
	if (!json_object_get(v, "S3Input") && !json_object_get(v, "DatasetDefinition")) {
		r = first_problem(r, spec_fail(s, "missing S3Input"));
		sr_err_hint(s->err, "locally an input is an S3Input whose S3Uri is s3://..., "
				    "file://PATH or a local folder or file");
	}
	return first_problem(r, input_unique(s, i));
}

static int parse_inputs(struct spec *s, json_t *v)
{
	struct job_processing *p = &s->job->proc;
	size_t i, n;
	json_t *item;
	int r = spec_want(s, v, JSON_ARRAY, "a list of inputs");

	if (r < 0)
		return r;
	n = json_array_size(v);
	if (n > JOB_PROC_INPUTS_MAX)
		return spec_fail(s, "more than %d inputs (got %zu)", JOB_PROC_INPUTS_MAX, n);
	for (i = 0; i < p->n_inputs; i++)
		job_channel_release(&p->inputs[i]);
	free(p->inputs);
	p->inputs = n ? xcalloc(n, sizeof(*p->inputs)) : NULL;
	p->n_inputs = 0;
	json_array_foreach (v, i, item) {
		int ri;

		s->chan = &p->inputs[i];
		p->n_inputs = i + 1; /* so job_release() frees a half-parsed input */
		jsonpos_push_index(&s->path, i);
		ri = parse_one_input(s, item, i);
		jsonpos_pop(&s->path);
		s->chan = NULL;
		if (ri < 0 && r == 0)
			r = ri;
		if (spec_enough(s))
			break;
	}
	return r;
}

/* ---- ProcessingOutputConfig ---- */

static int parse_out_uri(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_URI_MAX, job_rule_uri, &s->out->uri);
}

static int parse_out_path(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_PROC_LOCAL_PATH_MAX, job_rule_proc_local_path,
			       &s->out->dest);
}

static int parse_upload_mode(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, 64, job_rule_upload_mode, &s->out->upload_mode);
}

static const struct spec_field s3_output_fields[] = {
    {"S3Uri", parse_out_uri, NULL},
    {"LocalPath", parse_out_path, NULL},
    {"S3UploadMode", parse_upload_mode, NULL},
    {NULL, NULL, NULL},
};

static int parse_s3_output(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, s3_output_fields);

	if (!json_is_object(v))
		return r;
	r = first_problem(
	    r, spec_require(s, v, "S3Uri", " (s3://BUCKET/PREFIX, file://PATH or a folder)"));
	r = first_problem(r,
			  spec_require(s, v, "LocalPath", " (a folder under /opt/ml/processing/)"));
	return first_problem(r, spec_require(s, v, "S3UploadMode", " (EndOfJob or Continuous)"));
}

static int parse_out_name(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_PROC_NAME_MAX, job_rule_proc_item_name, &s->out->name);
}

static int parse_out_app_managed(struct spec *s, json_t *v)
{
	return parse_app_managed(s, v, &s->out->app_managed);
}

static int refuse_feature_store(struct spec *s, json_t *v)
{
	(void)v;
	spec_fail(s, "FeatureStoreOutput needs the service's Feature Store");
	return sr_err_hint(s->err, "write the records to an S3Output instead and ingest them "
				   "from there");
}

static const struct spec_field output_fields[] = {
    {"OutputName", parse_out_name, NULL},
    {"S3Output", parse_s3_output, NULL},
    {"FeatureStoreOutput", refuse_feature_store, NULL},
    {"AppManaged", parse_out_app_managed, NULL},
    {NULL, NULL, NULL},
};

static int parse_one_output(struct spec *s, json_t *v, size_t i)
{
	const struct job_processing *p = &s->job->proc;
	int r = spec_object(s, v, output_fields);

	if (!json_is_object(v))
		return r;
	r = first_problem(r, spec_require(s, v, "OutputName", ""));
	if (!json_object_get(v, "S3Output") && !json_object_get(v, "FeatureStoreOutput")) {
		r = first_problem(r, spec_fail(s, "missing S3Output"));
		sr_err_hint(s->err, "locally an output is an S3Output whose S3Uri is s3://..., "
				    "file://PATH or a local folder");
	}
	for (size_t j = 0; j < i; j++) {
		if (!s->out->name || !p->outputs[j].name ||
		    strcmp(p->outputs[j].name, s->out->name))
			continue;
		jsonpos_push_key(&s->path, "OutputName");
		r = first_problem(
		    r, spec_fail(s, "duplicate output name \"%s\" (Outputs[%zu] has it too)",
				 s->out->name, j));
		jsonpos_pop(&s->path);
		break;
	}
	return r;
}

static int parse_outputs(struct spec *s, json_t *v)
{
	struct job_processing *p = &s->job->proc;
	size_t i, n;
	json_t *item;
	int r = spec_want(s, v, JSON_ARRAY, "a list of outputs");

	if (r < 0)
		return r;
	n = json_array_size(v);
	if (n == 0)
		return spec_fail(s, "must list 1 to %d outputs (got none)", JOB_PROC_OUTPUTS_MAX);
	if (n > JOB_PROC_OUTPUTS_MAX)
		return spec_fail(s, "more than %d outputs (got %zu)", JOB_PROC_OUTPUTS_MAX, n);
	for (i = 0; i < p->n_outputs; i++)
		job_proc_output_release(&p->outputs[i]);
	free(p->outputs);
	p->outputs = xcalloc(n, sizeof(*p->outputs));
	p->n_outputs = 0;
	json_array_foreach (v, i, item) {
		int ri;

		s->out = &p->outputs[i];
		p->n_outputs = i + 1;
		jsonpos_push_index(&s->path, i);
		ri = parse_one_output(s, item, i);
		jsonpos_pop(&s->path);
		s->out = NULL;
		if (ri < 0 && r == 0)
			r = ri;
		if (spec_enough(s))
			break;
	}
	return r;
}

static const struct spec_field output_config_fields[] = {
    {"Outputs", parse_outputs, NULL},
    {"KmsKeyId", NULL, "nothing is encrypted with KMS locally"},
    {NULL, NULL, NULL},
};

static int parse_output_config(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, output_config_fields);

	return json_is_object(v)
		   ? first_problem(r, spec_require(s, v, "Outputs", " (a list of 1 to 10 outputs)"))
		   : r;
}

/* ---- ProcessingResources, StoppingCondition, AppSpecification, the rest ---- */

static int parse_instance_count(struct spec *s, json_t *v)
{
	long long x = 0;
	int r = spec_get_int(s, v, 1, JOB_PROC_HOSTS_MAX, "", &x);

	if (r == 0)
		s->job->instance_count = (int)x;
	return r;
}

static const struct spec_field cluster_fields[] = {
    {"InstanceCount", parse_instance_count, NULL},
    {"InstanceType", spec_parse_instance_type, NULL},
    {"VolumeSizeInGB", spec_parse_volume, NULL},
    {"VolumeKmsKeyId", NULL, "nothing is encrypted with KMS locally"},
    {NULL, NULL, NULL},
};

static int parse_cluster(struct spec *s, json_t *v)
{
	return spec_object(s, v, cluster_fields);
}

static const struct spec_field resources_fields[] = {
    {"ClusterConfig", parse_cluster, NULL},
    {NULL, NULL, NULL},
};

static int parse_resources(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, resources_fields);

	return json_is_object(v) ? first_problem(r, spec_require(s, v, "ClusterConfig",
								 " (InstanceCount, InstanceType)"))
				 : r;
}

static int parse_max_run(struct spec *s, json_t *v)
{
	long long x = 0;
	int r = spec_get_int(s, v, 1, JOB_PROC_MAX_RUN_LIMIT_S, " seconds (9 days)", &x);

	if (r == 0)
		s->job->max_run_s = x;
	return r;
}

static const struct spec_field stopping_fields[] = {
    {"MaxRuntimeInSeconds", parse_max_run, NULL},
    {NULL, NULL, NULL},
};

static int parse_stopping(struct spec *s, json_t *v)
{
	int r = spec_object(s, v, stopping_fields);

	return json_is_object(v)
		   ? first_problem(r, spec_require(s, v, "MaxRuntimeInSeconds", " (1 to 777600)"))
		   : r;
}

static const struct spec_field app_fields[] = {
    {"ImageUri", spec_parse_image, NULL},
    {"ContainerEntrypoint", spec_parse_entrypoint, NULL},
    {"ContainerArguments", spec_parse_arguments, NULL},
    {NULL, NULL, NULL},
};

static int parse_app(struct spec *s, json_t *v)
{
	return spec_object(s, v, app_fields);
}

static int parse_env(struct spec *s, json_t *v)
{
	return spec_get_map(s, v, &s->job->environment, JOB_ENV_MAX_KEYS, JOB_PROC_ENV_KEY_MAX,
			    JOB_PROC_ENV_VALUE_MAX, job_rule_env_key, false);
}

static const struct spec_field network_fields[] = {
    {"EnableInterContainerTrafficEncryption", NULL, "hosts talk over this machine's own network"},
    {"EnableNetworkIsolation", spec_parse_isolation, NULL},
    {"VpcConfig", NULL, "jobs run on this machine"},
    {NULL, NULL, NULL},
};

static int parse_network(struct spec *s, json_t *v)
{
	return spec_object(s, v, network_fields);
}

/* In the botocore model's order, so the hint listing them reads like the API reference. */
const struct spec_field processing_spec_fields[] = {
    {"ProcessingInputs", parse_inputs, NULL},
    {"ProcessingOutputConfig", parse_output_config, NULL},
    {"ProcessingJobName", spec_parse_name, NULL},
    {"ProcessingResources", parse_resources, NULL},
    {"StoppingCondition", parse_stopping, NULL},
    {"AppSpecification", parse_app, NULL},
    {"Environment", parse_env, NULL},
    {"NetworkConfig", parse_network, NULL},
    {"RoleArn", spec_parse_role, NULL},
    {"Tags", NULL, "nothing is tagged locally"},
    {"ExperimentConfig", NULL, "SageMaker Experiments is not emulated"},
    {NULL, NULL, NULL},
};

const char *processing_spec_nested_home(const char *key, const char **ret_field)
{
	static const struct {
		const char *name;
		const struct spec_field *fields;
	} nested[] = {
	    {"ProcessingResources.ClusterConfig", cluster_fields},
	    {"AppSpecification", app_fields},
	    {"StoppingCondition", stopping_fields},
	    {"ProcessingOutputConfig", output_config_fields},
	    {"NetworkConfig", network_fields},
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
