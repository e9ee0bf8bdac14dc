/* sagemaker_request.c - the Create<Kind>Job request the service gets: the one the job's kind
 * makes from the built job (the Environment's values as given, not redacted as describe
 * shows them), so that a spec that runs locally is the request that is sent.
 *
 * The spec may hold fields sagerun reads but does not model because nothing local honours them
 * (Tags, VpcConfig, OutputDataConfig.KmsKeyId, a channel's ShuffleConfig, ...): the service
 * does, so they go along, merged under what the job says.  Objects merge key by key, the lists
 * of named items (channels, inputs, outputs) item by item by name; what the job models is the
 * job's alone (a flag may have replaced it: --entry-point drops ContainerEntrypoint).
 */
#include "engines/sagemaker_internal.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "job/job.h"
#include "util/cleanup.h"
#include "util/error.h"

/* Modelled by the job: never taken from the spec, even when the job has none. */
static const char *const job_only[] = {
    "HyperParameters",
    "Environment",
    "ContainerEntrypoint",
    "ContainerArguments",
};

/* Lists whose items have a name, and that name's key. */
static const struct {
	const char *list, *key;
} named[] = {
    {"InputDataConfig", "ChannelName"},
    {"ProcessingInputs", "InputName"},
    {"Outputs", "OutputName"},
};

static bool is_job_only(const char *key)
{
	for (size_t i = 0; i < sizeof(job_only) / sizeof(*job_only); i++)
		if (!strcmp(key, job_only[i]))
			return true;
	return false;
}

static const char *name_key(const char *list)
{
	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++)
		if (!strcmp(list, named[i].list))
			return named[i].key;
	return NULL;
}

static void merge(json_t *dst, json_t *src);

/* Each item of `dst` gets what the spec's item of the same name has beyond it. */
static void merge_named(json_t *dst, json_t *src, const char *key)
{
	size_t i, j;
	json_t *d, *s;

	json_array_foreach (dst, i, d) {
		const char *name = json_string_value(json_object_get(d, key));

		json_array_foreach (src, j, s) {
			const char *sname = json_string_value(json_object_get(s, key));

			if (name && sname && !strcmp(name, sname))
				merge(d, s);
		}
	}
}

static void merge(json_t *dst, json_t *src)
{
	const char *key;
	json_t *s;

	if (!json_is_object(dst) || !json_is_object(src))
		return;
	json_object_foreach (src, key, s) {
		json_t *d = json_object_get(dst, key);
		const char *nk = name_key(key);

		if (is_job_only(key))
			continue;
		if (!d)
			json_object_set(dst, key, s);
		else if (json_is_object(d))
			merge(d, s);
		else if (nk && json_is_array(d) && json_is_array(s))
			merge_named(d, s, nk);
	}
}

json_t *sm_request_json(const struct job *job, struct sr_error *err)
{
	json_t *req = job_api_request_json(job);
	json_error_t jerr;

	if (!req) {
		sr_err(err, -ENOMEM, "format the request of '%s'", job->name);
		return NULL;
	}
	if (job->spec_path) {
		_cleanup_json_ json_t *spec = json_load_file(job->spec_path, 0, &jerr);

		if (!spec) {
			json_decref(req);
			sr_err(err, -EINVAL, "--spec '%s': read again: %s", job->spec_path,
			       jerr.text);
			return NULL;
		}
		merge(req, spec);
	}
	/* GZIP is the service's default, and older API models (botocore 1.29, Debian 12's) have
	 * no CompressionType: sent only when it asks for something else, as the SDK does. */
	json_t *out = json_object_get(req, "OutputDataConfig");
	const char *comp = json_string_value(json_object_get(out, "CompressionType"));

	if (comp && !strcmp(comp, "GZIP"))
		json_object_del(out, "CompressionType");
	return req;
}
