/* processing_validate.c - a processing job checked as CreateProcessingJob checks it (botocore's
 * model and the API reference's rules, reference §4 and §5.4), after the spec parser and the
 * flags have each checked what they saw: the whole job once more, whatever it came from.
 *
 * Beyond the service's rules, two of sagerun's own, both for the hosts' trees: an input's or
 * output's name becomes a folder of the job (no '/', not . or ..), and no two LocalPaths may
 * be the same folder or one inside the other (each is a folder of its own in every host). */
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

/* Length of `p` without trailing slashes. */
static size_t trimmed_len(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	return n;
}

/* The same folder, or one inside the other. */
static bool paths_overlap(const char *a, const char *b)
{
	size_t na = trimmed_len(a), nb = trimmed_len(b);
	size_t n = na < nb ? na : nb;

	return !strncmp(a, b, n) && (na == nb || (na < nb ? b[n] : a[n]) == '/');
}

const char *processing_place_path(const struct job *job, size_t k)
{
	const struct job_processing *p = &job->proc;

	return k < p->n_inputs ? p->inputs[k].dest : p->outputs[k - p->n_inputs].dest;
}

char *processing_place_name(const struct job *job, size_t k)
{
	size_t n = job->proc.n_inputs;

	return k < n ? xasprintf("ProcessingInputs[%zu].S3Input.LocalPath", k)
		     : xasprintf("ProcessingOutputConfig.Outputs[%zu].S3Output.LocalPath", k - n);
}

bool processing_places_clash(const struct job *job, size_t *ret_a, size_t *ret_b)
{
	size_t n = job->proc.n_inputs + job->proc.n_outputs;

	for (size_t b = 0; b < n; b++) {
		for (size_t a = 0; a < b; a++) {
			const char *pa = processing_place_path(job, a);
			const char *pb = processing_place_path(job, b);

			/* An input may lie inside another (the SDK's code at .../input/code
			 * beside data at .../input: mounted over it, as on the service where
			 * both are downloaded there); never at the same folder, and an output
			 * never shares a folder with anything: its files are uploaded from
			 * it. */
			bool inputs = a < job->proc.n_inputs && b < job->proc.n_inputs;

			if (pa && pb && paths_overlap(pa, pb) &&
			    (!inputs || trimmed_len(pa) == trimmed_len(pb))) {
				*ret_a = a;
				*ret_b = b;
				return true;
			}
		}
	}
	return false;
}

const char *processing_place_relation(const char *a, const char *b)
{
	size_t na = trimmed_len(a), nb = trimmed_len(b);

	return na == nb ? "is the same folder as" : na < nb ? "holds" : "lies inside";
}

/* Every LocalPath apart from every other. */
static int check_places(const struct job *job, struct sr_error *err)
{
	size_t a, b;

	if (!processing_places_clash(job, &a, &b))
		return 0;

	const char *pa = processing_place_path(job, a), *pb = processing_place_path(job, b);
	_cleanup_free_ char *wa = processing_place_name(job, a);
	_cleanup_free_ char *wb = processing_place_name(job, b);

	sr_err(err, -EINVAL, "%s: '%s' %s %s '%s'", wb, pb, processing_place_relation(pb, pa), wa,
	       pa);
	return sr_err_hint(err, "%s", PROCESSING_PLACES_HINT);
}

char *processing_input_conflict(const struct job_channel *c, const char **ret_field,
				const char **ret_hint)
{
	const char *compression = c->compression ? c->compression : "None";
	const char *mode = c->input_mode ? c->input_mode : "File";
	const char *type = c->s3_data_type ? c->s3_data_type : "S3Prefix";

	*ret_field = "S3CompressionType";
	*ret_hint = NULL;
	/* "Gzip can only be used when Pipe mode is specified as the S3InputMode" (API). */
	if (!strcmp(compression, "Gzip") && strcmp(mode, "Pipe")) {
		*ret_hint = "set S3InputMode to Pipe (sagerun then stages the data decompressed), "
			    "or drop the compression";
		return xstrdup("Gzip needs S3InputMode Pipe, as on the service");
	}
	if (!c->uri || job_uri_is_s3(c->uri))
		return NULL;
	/* A manifest names S3 objects: there is nothing to read it against locally. */
	if (strcmp(type, "S3Prefix")) {
		_cleanup_free_ char *q = job_quote(type);

		*ret_field = "S3DataType";
		return xasprintf("a local input must be an S3Prefix folder or file (got %s)", q);
	}
	if (!strcmp(compression, "Gzip"))
		return xstrdup("Gzip is for s3:// inputs; a local input is given as it is");
	return NULL;
}

#define CHECK_FIELD(base, field, s, min, max, rule)                                                \
	do {                                                                                       \
		snprintf(where, sizeof(where), "%s.%s", base, field);                              \
		r = job_check(err, where, s, min, max, rule);                                      \
		if (r < 0)                                                                         \
			return r;                                                                  \
	} while (0)

static int check_input(const struct job *job, size_t i, struct sr_error *err)
{
	const struct job_channel *c = &job->proc.inputs[i];
	_cleanup_free_ char *w = xasprintf("ProcessingInputs[%zu]", i);
	_cleanup_free_ char *ws = xasprintf("%s.S3Input", w);
	_cleanup_free_ char *why = NULL;
	const char *field, *hint;
	char where[256];
	int r;

	CHECK_FIELD(w, "InputName", c->name, 1, JOB_PROC_NAME_MAX, job_rule_proc_item_name);
	for (size_t j = 0; j < i; j++)
		if (!strcmp(job->proc.inputs[j].name, c->name))
			return sr_err(err, -EINVAL, "%s.InputName: duplicate input name \"%s\"", w,
				      c->name);
	CHECK_FIELD(ws, "S3Uri", c->uri, 1, JOB_URI_MAX, job_rule_uri);
	CHECK_FIELD(ws, "LocalPath", c->dest, 1, JOB_PROC_LOCAL_PATH_MAX, job_rule_proc_local_path);
	CHECK_FIELD(ws, "S3DataType", c->s3_data_type, 1, 64, job_rule_proc_data_type);
	CHECK_FIELD(ws, "S3InputMode", c->input_mode, 1, 64, job_rule_proc_input_mode);
	CHECK_FIELD(ws, "S3DataDistributionType", c->distribution, 1, 64, job_rule_distribution);
	CHECK_FIELD(ws, "S3CompressionType", c->compression, 1, 64, job_rule_channel_compression);
	why = processing_input_conflict(c, &field, &hint);
	if (why) {
		sr_err(err, -EINVAL, "%s.%s: %s (input '%s')", ws, field, why, c->name);
		return hint ? sr_err_hint(err, "%s", hint) : err->code;
	}
	if (job_uri_is_s3(c->uri))
		return 0;
	if (!c->local_path)
		return sr_err(err, -EINVAL, "input '%s': no local path for '%s'", c->name, c->uri);
	if (!fs_exists(c->local_path))
		return sr_err(err, -ENOENT, "input '%s': '%s' does not exist", c->name,
			      c->local_path);
	return 0;
}

static int check_output(const struct job *job, size_t i, struct sr_error *err)
{
	const struct job_proc_output *o = &job->proc.outputs[i];
	_cleanup_free_ char *w = xasprintf("ProcessingOutputConfig.Outputs[%zu]", i);
	_cleanup_free_ char *ws = xasprintf("%s.S3Output", w);
	char where[256];
	int r;

	CHECK_FIELD(w, "OutputName", o->name, 1, JOB_PROC_NAME_MAX, job_rule_proc_item_name);
	for (size_t j = 0; j < i; j++)
		if (!strcmp(job->proc.outputs[j].name, o->name))
			return sr_err(err, -EINVAL, "%s.OutputName: duplicate output name \"%s\"",
				      w, o->name);
	CHECK_FIELD(ws, "S3Uri", o->uri, 1, JOB_URI_MAX, job_rule_uri);
	CHECK_FIELD(ws, "LocalPath", o->dest, 1, JOB_PROC_LOCAL_PATH_MAX, job_rule_proc_local_path);
	CHECK_FIELD(ws, "S3UploadMode", o->upload_mode, 1, 64, job_rule_upload_mode);
	if (o->local_path && fs_exists(o->local_path) && !fs_is_dir(o->local_path))
		return sr_err(err, -ENOTDIR, "%s.S3Uri: '%s' is not a folder (output '%s')", ws,
			      o->local_path, o->name);
	return 0;
}

#undef CHECK_FIELD

static int check_common(const struct job *job, struct sr_error *err)
{
	int r = job_check(err, "ProcessingJobName", job->name, 1, JOB_NAME_MAX, job_rule_name);

	if (r == 0 && job->role_arn)
		r = job_check(err, "RoleArn", job->role_arn, JOB_ROLE_ARN_MIN, JOB_ROLE_ARN_MAX,
			      job_rule_role_arn);
	if (r == 0 && job->image)
		r = job_check(err, "AppSpecification.ImageUri", job->image, 1, JOB_IMAGE_MAX, NULL);
	if (r == 0)
		r = job_check_list(err, "AppSpecification.ContainerEntrypoint", &job->entrypoint);
	if (r == 0)
		r = job_check_list(err, "AppSpecification.ContainerArguments", &job->arguments);
	if (r == 0)
		r = job_check_map(err, "Environment", &job->environment, JOB_ENV_MAX_KEYS, 1,
				  JOB_PROC_ENV_KEY_MAX, JOB_PROC_ENV_VALUE_MAX, job_rule_env_key);
	if (r == 0)
		r = job_check(err, "ProcessingResources.ClusterConfig.InstanceType",
			      job->instance_type, 1, JOB_INSTANCE_TYPE_MAX, job_rule_instance_type);
	if (r < 0)
		return r;
	if (job->instance_count < 1 || job->instance_count > JOB_PROC_HOSTS_MAX)
		return sr_err(err, -EINVAL,
			      "ProcessingResources.ClusterConfig.InstanceCount: must be between 1 "
			      "and %d (got %d)",
			      JOB_PROC_HOSTS_MAX, job->instance_count);
	if (job->volume_size_gb < 1 || job->volume_size_gb > JOB_VOLUME_GB_MAX)
		return sr_err(err, -EINVAL,
			      "ProcessingResources.ClusterConfig.VolumeSizeInGB: must be between 1 "
			      "and %d (got %d)",
			      JOB_VOLUME_GB_MAX, job->volume_size_gb);
	if (job->max_run_s < 1 || job->max_run_s > JOB_PROC_MAX_RUN_LIMIT_S)
		return sr_err(err, -EINVAL,
			      "StoppingCondition.MaxRuntimeInSeconds: must be between 1 and %d "
			      "seconds (9 days) (got %lld)",
			      JOB_PROC_MAX_RUN_LIMIT_S, (long long)job->max_run_s);
	if (job->stop_grace_s < 0 || job->stop_grace_s > JOB_STOP_GRACE_LIMIT_S)
		return sr_err(err, -EINVAL,
			      "stop grace: must be between 0 and %d seconds (1 day) (got %lld)",
			      JOB_STOP_GRACE_LIMIT_S, (long long)job->stop_grace_s);
	return 0;
}

int processing_validate(const struct job *job, struct sr_error *err)
{
	const struct job_processing *p = &job->proc;
	int r = check_common(job, err);

	if (r < 0)
		return r;
	/* ContainerArguments alone go to the image's own entry point (reference §4). */
	if (job->arguments.n && !job->entrypoint.n && !job->image) {
		sr_err(err, -EINVAL,
		       "AppSpecification.ContainerArguments: without a ContainerEntrypoint they go "
		       "to the image's own entry point, and there is no ImageUri");
		return sr_err_hint(err, "add a ContainerEntrypoint, or an ImageUri (run with "
					"--backend docker)");
	}
	if (!job->entrypoint.n && !job->image)
		return sr_err(err, -EINVAL,
			      "nothing to run: no AppSpecification.ContainerEntrypoint and no "
			      "ImageUri whose own entry point could run");
	if (p->n_inputs > JOB_PROC_INPUTS_MAX)
		return sr_err(err, -EINVAL, "ProcessingInputs: more than %d inputs (got %zu)",
			      JOB_PROC_INPUTS_MAX, p->n_inputs);
	if (p->n_outputs > JOB_PROC_OUTPUTS_MAX)
		return sr_err(err, -EINVAL,
			      "ProcessingOutputConfig.Outputs: more than %d outputs (got %zu)",
			      JOB_PROC_OUTPUTS_MAX, p->n_outputs);
	for (size_t i = 0; i < p->n_inputs; i++)
		if ((r = check_input(job, i, err)) < 0)
			return r;
	for (size_t i = 0; i < p->n_outputs; i++)
		if ((r = check_output(job, i, err)) < 0)
			return r;
	return check_places(job, err);
}
