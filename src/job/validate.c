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
	/* The service's pattern takes them, but a channel is a folder of its name under
	 * /opt/ml/input/data, and these two name no folder of their own. */
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "must name a folder of its own under /opt/ml/input/data, not . or ..";
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
	static const char *const ok[] = {"File", "FastFile", "Pipe", NULL};

	if (one_of(s, ok))
		return NULL;
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

const char *job_rule_proc_data_type(const char *s)
{
	static const char *const ok[] = {"S3Prefix", "ManifestFile", NULL};

	return one_of(s, ok) ? NULL : "must be S3Prefix or ManifestFile";
}

const char *job_rule_proc_input_mode(const char *s)
{
	static const char *const ok[] = {"File", "Pipe", NULL};

	return one_of(s, ok) ? NULL : "must be File or Pipe";
}

const char *job_rule_upload_mode(const char *s)
{
	static const char *const ok[] = {"EndOfJob", "Continuous", NULL};

	return one_of(s, ok) ? NULL : "must be EndOfJob or Continuous";
}

const char *job_rule_proc_item_name(const char *s)
{
	if (strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
		return "must not hold '/' nor be . or ..: sagerun keeps each input and output in a "
		       "folder of that name";
	return NULL;
}

const char *job_rule_proc_local_path(const char *s)
{
	static const char *const expect =
	    "must be a folder under /opt/ml/processing/, such as /opt/ml/processing/input/data";
	size_t n = strlen(JOB_PROC_BASE);

	if (strncmp(s, JOB_PROC_BASE, n) || !s[n] || s[n] == '/')
		return expect;
	for (const char *p = s + n; *p;) {
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);

		if ((len == 1 && p[0] == '.') || (len == 2 && !strncmp(p, "..", 2)))
			return "must not hold . or .. parts: it names a folder of each host's "
			       "/opt/ml/processing/";
		if (len == 0 && *e)
			return expect; /* "//" */
		p = *e ? e + 1 : e;
	}
	return NULL;
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

	/* "s3:/bucket" is a typo, not a folder to make here (./s3:x is one, if really meant). */
	if (n == 0 && (!strncasecmp(s, "s3:", 3) || !strncasecmp(s, "file:", 5)))
		return "must be s3://BUCKET/PREFIX or file://PATH, with two slashes, or a "
		       "local path (./ before a local folder whose name starts so)";
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

int job_check(struct sr_error *err, const char *where, const char *s, size_t min, size_t max,
	      const char *(*rule)(const char *))
{
	_cleanup_free_ char *msg = NULL;

	if (!s)
		return min ? sr_err(err, -EINVAL, "%s: missing", where) : 0;
	msg = job_check_string(s, min, max, rule);
	return msg ? sr_err(err, -EINVAL, "%s: %s", where, msg) : 0;
}

int job_check_list(struct sr_error *err, const char *where, const struct strv *sv)
{
	if (sv->n > JOB_CONTAINER_ARGS_MAX)
		return sr_err(err, -EINVAL, "%s: more than %d items (got %zu)", where,
			      JOB_CONTAINER_ARGS_MAX, sv->n);
	for (size_t i = 0; i < sv->n; i++) {
		_cleanup_free_ char *w = xasprintf("%s[%zu]", where, i);
		int r = job_check(err, w, sv->v[i], 0, JOB_CONTAINER_ARG_MAX, NULL);

		if (r < 0)
			return r;
	}
	return 0;
}

int job_check_map(struct sr_error *err, const char *where, const struct job_map *m, size_t max_keys,
		  size_t key_min, size_t key_max, size_t value_max,
		  const char *(*key_rule)(const char *))
{
	if (m->n > max_keys)
		return sr_err(err, -EINVAL, "%s: more than %zu entries (got %zu)", where, max_keys,
			      m->n);
	for (size_t i = 0; i < m->n; i++) {
		_cleanup_free_ char *q = job_quote(m->items[i].key);
		_cleanup_free_ char *wk = xasprintf("%s key %s", where, q);
		_cleanup_free_ char *wv = xasprintf("%s[%s]", where, q);
		int r = job_check(err, wk, m->items[i].key, key_min, key_max, key_rule);

		if (r == 0)
			r = job_check(err, wv, m->items[i].value, 0, value_max, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

int job_validate(const struct job *job, struct sr_error *err)
{
	if (!job->kind)
		return sr_err(err, -EINVAL, "a job of no kind (neither training nor another)");
	return job->kind->validate(job, err);
}
