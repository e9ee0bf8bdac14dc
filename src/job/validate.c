/* validate.c - the service's value rules (rules.h) and job_validate(), the final check of a
 * merged job.  Values from a spec were already checked with their positions by spec.c and
 * flags by build.c, so job_validate() failing after job_build() means a cross-field problem;
 * its messages name API fields (`ResourceConfig.InstanceCount: ...`). */
#include "job/job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "job/rules.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Shown in "(got ...)": enough to recognise a value without flooding the terminal. */
#define QUOTE_SHOWN 60

static bool one_of(const char *s, const char *const *values)
{
	for (; *values; values++)
		if (!strcmp(s, *values))
			return true;
	return false;
}

const char *job_rule_name(const char *s)
{
	return job_name_valid(s) ? NULL
				 : "must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}: letters, digits "
				   "and hyphens, starting and ending with a letter or digit";
}

const char *job_rule_role_arn(const char *s)
{
	static const char *const expect =
	    "must match arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+";
	const char *p = s;

	if (strncmp(p, "arn:aws", 7))
		return expect;
	for (p += 7; (*p >= 'a' && *p <= 'z') || *p == '-'; p++)
		;
	if (strncmp(p, ":iam::", 6))
		return expect;
	p += 6;
	for (int i = 0; i < 12; i++, p++)
		if (*p < '0' || *p > '9')
			return expect;
	if (strncmp(p, ":role", 5))
		return expect;
	p += 5;
	if (!*p)
		return expect;
	for (; *p; p++)
		if (!job_is_alnum(*p) && !strchr("_+=,.@-/", *p))
			return expect;
	return NULL;
}

const char *job_rule_channel_name(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!job_is_alnum(*p) && !strchr(".-_", *p))
			return "must match [A-Za-z0-9.\\-_]+";
	return NULL;
}

const char *job_rule_env_key(const char *s)
{
	static const char *const expect = "must match [a-zA-Z_][a-zA-Z0-9_]*";

	if (!*s || (*s >= '0' && *s <= '9'))
		return expect;
	for (const char *p = s; *p; p++)
		if (!job_is_alnum(*p) && *p != '_')
			return expect;
	return NULL;
}

const char *job_rule_instance_type(const char *s)
{
	static const char *const expect = "must be an ml.* instance type such as ml.m5.large";

	if (strncmp(s, "ml.", 3) || !s[3])
		return expect;
	for (const char *p = s + 3; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			return expect;
	return NULL;
}

const char *job_rule_input_mode(const char *s)
{
	static const char *const ok[] = {"File", "FastFile", NULL};

	if (one_of(s, ok))
		return NULL;
	if (!strcmp(s, "Pipe"))
		return "Pipe mode is not supported locally yet: use File (FastFile also works and "
		       "behaves as File here)";
	return "must be File, FastFile or Pipe";
}

const char *job_rule_s3_data_type(const char *s)
{
	static const char *const ok[] = {"S3Prefix", "ManifestFile", "AugmentedManifestFile",
					 "Converse", NULL};

	return one_of(s, ok) ? NULL
			     : "must be S3Prefix, ManifestFile, AugmentedManifestFile or Converse";
}

const char *job_rule_distribution(const char *s)
{
	static const char *const ok[] = {"FullyReplicated", "ShardedByS3Key", NULL};

	return one_of(s, ok) ? NULL : "must be FullyReplicated or ShardedByS3Key";
}

const char *job_rule_channel_compression(const char *s)
{
	static const char *const ok[] = {"None", "Gzip", NULL};

	return one_of(s, ok) ? NULL : "must be None or Gzip";
}

const char *job_rule_record_wrapper(const char *s)
{
	static const char *const ok[] = {"None", "RecordIO", NULL};

	return one_of(s, ok) ? NULL : "must be None or RecordIO";
}

const char *job_rule_output_compression(const char *s)
{
	static const char *const ok[] = {"GZIP", "NONE", NULL};

	return one_of(s, ok) ? NULL : "must be GZIP or NONE";
}

/* Length of a "scheme://" prefix, 0 when there is none. */
static size_t scheme_len(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while (job_is_alnum(*p) || *p == '+' || *p == '.' || *p == '-')
		p++;
	return strncmp(p, "://", 3) ? 0 : (size_t)(p - s) + 3;
}

const char *job_rule_uri(const char *s)
{
	static const char *const expect = "must be s3://BUCKET/PREFIX, file://PATH or a local path";
	size_t n = scheme_len(s);

	if (n == 0)
		return NULL; /* a plain local path */
	if (!strncmp(s, "s3://", 5))
		return s[5] && s[5] != '/' ? NULL : expect;
	if (!strncmp(s, "file://", 7))
		return s[7] ? NULL : expect;
	if (!strncasecmp(s, "https://", 8) || !strncasecmp(s, "http://", 7))
		return "must be s3://BUCKET/PREFIX, file://PATH or a local path (http(s):// S3 "
		       "URLs are not supported locally)";
	return expect;
}

size_t job_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

bool job_utf8_valid(const char *s)
{
	/* jansson refuses invalid UTF-8 in strings; the request JSON must be able to hold it. */
	json_t *v = json_string(s);
	bool ok = v != NULL;

	json_decref(v);
	return ok;
}

char *job_quote(const char *s)
{
	json_t *v;
	char *q, *out;
	size_t n;

	v = json_string(s);
	if (!v)
		v = json_string("(not valid UTF-8)");
	q = json_dumps(v, JSON_ENCODE_ANY);
	json_decref(v);
	if (!q)
		return xstrdup("\"?\"");
	n = strlen(q);
	if (n <= QUOTE_SHOWN) {
		out = xstrdup(q);
	} else {
		size_t cut = QUOTE_SHOWN - 4;

		/* cut before an escape or UTF-8 continuation, never inside one */
		while (cut > 1 && ((((unsigned char)q[cut] & 0xC0) == 0x80) || q[cut - 1] == '\\'))
			cut--;
		out = xasprintf("%.*s...\"", (int)cut, q);
	}
	free(q);
	return out;
}

char *job_check_string(const char *s, size_t min, size_t max, const char *(*rule)(const char *))
{
	size_t n;
	const char *why;

	if (!job_utf8_valid(s))
		return xstrdup("must be valid UTF-8");
	n = job_utf8_len(s);
	if (n < min)
		return min == 1 ? xstrdup("must not be empty")
				: xasprintf("shorter than %zu characters (got %zu)", min, n);
	if (n > max)
		return xasprintf("longer than %zu characters (got %zu)", max, n);
	why = rule ? rule(s) : NULL;
	if (!why)
		return NULL;
	if (strncmp(why, "must", 4))
		return xstrdup(why);
	_cleanup_free_ char *q = job_quote(s);
	return xasprintf("%s (got %s)", why, q);
}

bool job_uri_is_s3(const char *uri)
{
	return !strncmp(uri, "s3://", 5);
}

char *job_uri_local_path(const char *uri)
{
	if (job_uri_is_s3(uri))
		return NULL;
	/* file://data/train is the relative path data/train, as the SDK's local mode reads it
	 * (netloc + path); file:///data/train is absolute. */
	if (!strncmp(uri, "file://", 7))
		uri += 7;
	if (!*uri)
		return NULL;
	return fs_abspath(uri);
}

/* ---- job_validate ---- */

static int check(struct sr_error *err, const char *where, const char *s, size_t min, size_t max,
		 const char *(*rule)(const char *))
{
	_cleanup_free_ char *msg = NULL;

	if (!s)
		return min ? sr_err(err, -EINVAL, "%s: missing", where) : 0;
	msg = job_check_string(s, min, max, rule);
	return msg ? sr_err(err, -EINVAL, "%s: %s", where, msg) : 0;
}

static int check_list(struct sr_error *err, const char *where, const struct strv *sv)
{
	if (sv->n > JOB_CONTAINER_ARGS_MAX)
		return sr_err(err, -EINVAL, "%s: more than %d items (got %zu)", where,
			      JOB_CONTAINER_ARGS_MAX, sv->n);
	for (size_t i = 0; i < sv->n; i++) {
		_cleanup_free_ char *w = xasprintf("%s[%zu]", where, i);
		int r = check(err, w, sv->v[i], 0, JOB_CONTAINER_ARG_MAX, NULL);

		if (r < 0)
			return r;
	}
	return 0;
}

static int check_map(struct sr_error *err, const char *where, const struct job_map *m,
		     size_t max_keys, size_t key_min, size_t key_max, size_t value_max,
		     const char *(*key_rule)(const char *))
{
	if (m->n > max_keys)
		return sr_err(err, -EINVAL, "%s: more than %zu entries (got %zu)", where, max_keys,
			      m->n);
	for (size_t i = 0; i < m->n; i++) {
		_cleanup_free_ char *q = job_quote(m->items[i].key);
		_cleanup_free_ char *wk = xasprintf("%s key %s", where, q);
		_cleanup_free_ char *wv = xasprintf("%s[%s]", where, q);
		int r = check(err, wk, m->items[i].key, key_min, key_max, key_rule);

		if (r == 0)
			r = check(err, wv, m->items[i].value, 0, value_max, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_channel(const struct job *job, size_t i, struct sr_error *err)
{
	const struct job_channel *c = &job->channels[i];
	_cleanup_free_ char *w = xasprintf("InputDataConfig[%zu]", i);
	_cleanup_free_ char *wn = xasprintf("%s.ChannelName", w);
	_cleanup_free_ char *ws = xasprintf("%s.DataSource.S3DataSource", w);
	char where[256];
	int r;

	r = check(err, wn, c->name, 1, JOB_CHANNEL_NAME_MAX, job_rule_channel_name);
	if (r < 0)
		return r;
	for (size_t j = 0; j < i; j++)
		if (!strcmp(job->channels[j].name, c->name))
			return sr_err(err, -EINVAL, "%s: duplicate channel name \"%s\"", wn,
				      c->name);
#define CHECK_FIELD(base, field, s, min, max, rule)                                                \
	do {                                                                                       \
		snprintf(where, sizeof(where), "%s.%s", base, field);                              \
		r = check(err, where, s, min, max, rule);                                          \
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

int job_validate(const struct job *job, struct sr_error *err)
{
	int r;

	r = check(err, "TrainingJobName", job->name, 1, JOB_NAME_MAX, job_rule_name);
	if (r == 0 && job->role_arn)
		r = check(err, "RoleArn", job->role_arn, JOB_ROLE_ARN_MIN, JOB_ROLE_ARN_MAX,
			  job_rule_role_arn);
	if (r == 0 && job->image)
		r = check(err, "AlgorithmSpecification.TrainingImage", job->image, 1, JOB_IMAGE_MAX,
			  NULL);
	if (r == 0)
		r = check(err, "AlgorithmSpecification.TrainingInputMode", job->input_mode, 1, 64,
			  job_rule_input_mode);
	if (r == 0)
		r = check_list(err, "AlgorithmSpecification.ContainerEntrypoint", &job->entrypoint);
	if (r == 0)
		r = check_list(err, "AlgorithmSpecification.ContainerArguments", &job->arguments);
	if (r == 0)
		r = check_map(err, "HyperParameters", &job->hyperparameters, JOB_HP_MAX_KEYS, 0,
			      JOB_HP_KEY_MAX, JOB_HP_VALUE_MAX, NULL);
	if (r == 0)
		r = check_map(err, "Environment", &job->environment, JOB_ENV_MAX_KEYS, 1,
			      JOB_ENV_KEY_MAX, JOB_ENV_VALUE_MAX, job_rule_env_key);
	if (r < 0)
		return r;
	if (job->entrypoint.n == 0 && !job_map_get(&job->hyperparameters, "sagemaker_program"))
		return sr_err(
		    err, -EINVAL,
		    "nothing to run: no AlgorithmSpecification.ContainerEntrypoint and no "
		    "sagemaker_program hyperparameter");

	if (job->n_channels > JOB_CHANNELS_MAX)
		return sr_err(err, -EINVAL, "InputDataConfig: more than %d channels (got %zu)",
			      JOB_CHANNELS_MAX, job->n_channels);
	for (size_t i = 0; i < job->n_channels; i++) {
		r = check_channel(job, i, err);
		if (r < 0)
			return r;
	}

	r = check(err, "OutputDataConfig.S3OutputPath", job->output_path, 1, JOB_URI_MAX,
		  job_rule_uri);
	if (r == 0)
		r = check(err, "OutputDataConfig.CompressionType", job->output_compression, 1, 64,
			  job_rule_output_compression);
	if (r < 0)
		return r;
	if (job->output_local && fs_exists(job->output_local) && !fs_is_dir(job->output_local))
		return sr_err(err, -ENOTDIR, "OutputDataConfig.S3OutputPath: '%s' is not a folder",
			      job->output_local);

	r = check(err, "ResourceConfig.InstanceType", job->instance_type, 1, JOB_INSTANCE_TYPE_MAX,
		  job_rule_instance_type);
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
	if (job->max_retry_attempts < 0 || job->max_retry_attempts > JOB_RETRY_MAX)
		return sr_err(
		    err, -EINVAL,
		    "RetryStrategy.MaximumRetryAttempts: must be between 1 and %d (got %d)",
		    JOB_RETRY_MAX, job->max_retry_attempts);
	if (job->checkpoint_s3_uri)
		r = check(err, "CheckpointConfig.S3Uri", job->checkpoint_s3_uri, 1, JOB_URI_MAX,
			  job_rule_uri);
	if (r == 0 && job->checkpoint_local_path)
		r = check(err, "CheckpointConfig.LocalPath", job->checkpoint_local_path, 0,
			  JOB_CHECKPOINT_PATH_MAX, NULL);
	if (r == 0 && job->checkpoint_local_path &&
	    !checkpoint_path_ok(job->checkpoint_local_path)) {
		sr_err(err, -EINVAL,
		       "CheckpointConfig.LocalPath: must be a folder under /opt/ml, outside "
		       "input, code, model and output (got '%s')",
		       job->checkpoint_local_path);
		return sr_err_hint(err, "sagerun gives each host its own /opt/ml and nothing else; "
					"the default is /opt/ml/checkpoints");
	}
	return r;
}
