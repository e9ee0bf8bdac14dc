/* spec.c - a CreateTrainingJob request (the JSON `aws sagemaker create-training-job
 * --cli-input-json` takes) into struct job.
 *
 * Every object sagerun models is described by a table of its fields.  A field either has a
 * parser, or is accepted but not honoured locally (VpcConfig...): those get one warning each,
 * unless their value is empty or false, which asks for nothing.  Parsed fields the process
 * backend cannot honour (TrainingImage, RetryStrategy...) warn the same way from their parser
 * when their value differs from the default.  Any other key is an error, with a "did you
 * mean" when a known field is close.  Values are checked against the service's rules here,
 * while their position in the text is known (jsonpos.h), so that every message reads
 * `FILE:LINE:COL: Json.Path: what is expected`.  Defaults are job_build()'s business, and so
 * is refusing what this version cannot do at all (s3:// locations), since flags may replace
 * it.
 *
 * This file holds the machinery and job_spec_parse(); spec_fields.c the tables.
 */
#include "job/job.h"
#include "job/kind.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "job/jsonpos.h"
#include "job/rules.h"
#include "job/spec_internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* The problem being reported joins the list (its hint a line of its own). */
static void problem_flush(struct spec *s)
{
	if (!s->err || !s->err->code)
		return;
	strv_push(&s->problems, s->err->msg);
	if (s->err->hint[0])
		strv_pushf(&s->problems, "hint: %s", s->err->hint);
	s->n_problems++;
	sr_err_clear(s->err);
}

bool spec_enough(const struct spec *s)
{
	return s->n_problems + (s->err && s->err->code ? 1 : 0) >= SPEC_PROBLEMS_MAX;
}

/* One problem: the spec's every problem in one message, each on its line, or the one alone
 * as it was (its hint the error's own). */
static int problems_report(struct spec *s, int r)
{
	char *at;
	size_t room;

	if (r >= 0 || !s->n_problems) {
		strv_release(&s->problems);
		return r;
	}
	problem_flush(s);
	s->err->code = r;
	at = s->err->msg;
	room = sizeof(s->err->msg);
	for (size_t i = 0; i < s->problems.n && room > 1; i++) {
		int n = snprintf(at, room, "%s%s", i ? "\n" : "", s->problems.v[i]);

		if (n < 0 || (size_t)n >= room)
			break;
		at += n;
		room -= (size_t)n;
	}
	if (s->n_problems >= SPEC_PROBLEMS_MAX && room > 1)
		snprintf(at, room, "\n(stopped after %d problems)", SPEC_PROBLEMS_MAX);
	strv_release(&s->problems);
	return r;
}

static int spec_vfail(struct spec *s, enum jsonpos_what what, const char *fmt, va_list ap)
{
	_cleanup_free_ char *where = jsonpos_where(s->text, s->len, s->origin, &s->path, what);
	_cleanup_free_ char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	problem_flush(s);
	return sr_err(s->err, -EINVAL, "%s: %s", where, msg ? msg : fmt);
}

/* An error about the value at the current path. */
int spec_fail(struct spec *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = spec_vfail(s, JSONPOS_VALUE, fmt, ap);
	va_end(ap);
	return r;
}

/* An error about the member itself (its key). */
int spec_fail_key(struct spec *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = spec_vfail(s, JSONPOS_KEY, fmt, ap);
	va_end(ap);
	return r;
}

void spec_warn(struct spec *s, const char *fmt, ...)
{
	_cleanup_free_ char *where = NULL;
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	if (!s->warnings)
		return;
	where = jsonpos_where(s->text, s->len, s->origin, &s->path, JSONPOS_KEY);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	strv_pushf(s->warnings, "%s: %s", where, msg ? msg : fmt);
}

void spec_warn_unhonoured(struct spec *s, const char *why)
{
	spec_warn(s, "accepted but not honoured locally (%s)", why);
}

const char *spec_type_phrase(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

int spec_want(struct spec *s, const json_t *v, json_type type, const char *expected)
{
	if (json_typeof(v) == type)
		return 0;
	return spec_fail(s, "expected %s, got %s", expected, spec_type_phrase(v));
}

int spec_get_string(struct spec *s, const json_t *v, size_t min, size_t max,
		    const char *(*rule)(const char *), char **ret)
{
	_cleanup_free_ char *msg = NULL;
	int r = spec_want(s, v, JSON_STRING, "a string");

	if (r < 0)
		return r;
	msg = job_check_string(json_string_value(v), min, max, rule);
	if (msg)
		return spec_fail(s, "%s", msg);
	free(*ret);
	*ret = xstrdup(json_string_value(v));
	return 0;
}

int spec_get_int(struct spec *s, const json_t *v, long long min, long long max, const char *max_why,
		 long long *ret)
{
	long long x;

	if (!json_is_integer(v))
		return spec_fail(s, "expected an integer, got %s", spec_type_phrase(v));
	x = json_integer_value(v);
	if (x < min)
		return spec_fail(s, "must be at least %lld (got %lld)", min, x);
	if (x > max)
		return spec_fail(s, "must be at most %lld%s (got %lld)", max, max_why, x);
	*ret = x;
	return 0;
}

/* A list of strings (ContainerEntrypoint, ContainerArguments): 1 to 100 items. */
int spec_get_strv(struct spec *s, const json_t *v, size_t item_min, struct strv *ret)
{
	size_t i;
	json_t *item;
	int r = spec_want(s, v, JSON_ARRAY, "a list of strings");

	if (r < 0)
		return r;
	if (json_array_size(v) == 0)
		return spec_fail(s, "must have at least 1 item (got none)");
	if (json_array_size(v) > JOB_CONTAINER_ARGS_MAX)
		return spec_fail(s, "must have at most %d items (got %zu)", JOB_CONTAINER_ARGS_MAX,
				 json_array_size(v));
	strv_release(ret);
	json_array_foreach (v, i, item) {
		_cleanup_free_ char *str = NULL;

		jsonpos_push_index(&s->path, i);
		int ri = spec_get_string(s, item, item_min, JOB_CONTAINER_ARG_MAX, NULL, &str);
		jsonpos_pop(&s->path);
		if (ri < 0 && r == 0)
			r = ri;
		else if (ri == 0)
			strv_push_take(ret, TAKE_PTR(str));
	}
	return r;
}

int spec_get_map(struct spec *s, json_t *v, struct job_map *map, size_t max_keys, size_t key_max,
		 size_t value_max, const char *(*key_rule)(const char *), bool hint_strings)
{
	const char *key;
	json_t *item;
	int r = spec_want(s, v, JSON_OBJECT, "an object of strings");

	if (r < 0)
		return r;
	if (json_object_size(v) > max_keys)
		return spec_fail(s, "more than %zu entries (got %zu)", max_keys,
				 json_object_size(v));
	job_map_release(map);
	r = 0;
	json_object_foreach (v, key, item) {
		_cleanup_free_ char *msg =
		    job_check_string(key, key_rule ? 1 : 0, key_max, key_rule);
		int rk = 0;

		jsonpos_push_key(&s->path, key);
		if (msg) {
			rk = spec_fail_key(s, "key %s", msg);
		} else if (!json_is_string(item)) {
			rk = spec_fail(s, "expected a string, got %s", spec_type_phrase(item));
			if (hint_strings && (json_is_number(item) || json_is_boolean(item))) {
				_cleanup_free_ char *d = json_dumps(item, JSON_ENCODE_ANY);

				sr_err_hint(s->err,
					    "the API takes every hyperparameter as a string: "
					    "write \"%s\"",
					    d ? d : "...");
			}
		} else if ((msg = job_check_string(json_string_value(item), 0, value_max, NULL))) {
			rk = spec_fail(s, "value %s", msg);
		} else {
			job_map_set(map, key, json_string_value(item));
		}
		jsonpos_pop(&s->path);
		if (rk < 0 && r == 0)
			r = rk;
		if (spec_enough(s))
			break;
	}
	return r;
}

int spec_parse_name(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_NAME_MAX, job_rule_name, &s->job->name);
}

int spec_parse_role(struct spec *s, json_t *v)
{
	int r = spec_get_string(s, v, JOB_ROLE_ARN_MIN, JOB_ROLE_ARN_MAX, job_rule_role_arn,
				&s->job->role_arn);

	if (r < 0)
		sr_err_hint(s->err, "RoleArn is optional locally: drop it, or give a role such as "
				    "arn:aws:iam::111122223333:role/SageMakerRole");
	return r;
}

/* ---- fields every kind of request has ---- */

int spec_parse_instance_type(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_INSTANCE_TYPE_MAX, job_rule_instance_type,
			       &s->job->instance_type);
}

int spec_parse_volume(struct spec *s, json_t *v)
{
	long long x = 0;
	int r = spec_get_int(s, v, 1, JOB_VOLUME_GB_MAX, "", &x);

	if (r < 0)
		return r;
	s->job->volume_size_gb = (int)x;
	if (x != JOB_DEFAULT_VOLUME_GB)
		spec_warn_unhonoured(s, "hosts share this machine's disk, with no volume limit");
	return 0;
}

/* Whether the image runs depends on the backend, which says so itself (hosts.h:
 * check_options). */
int spec_parse_image(struct spec *s, json_t *v)
{
	return spec_get_string(s, v, 1, JOB_IMAGE_MAX, NULL, &s->job->image);
}

int spec_parse_entrypoint(struct spec *s, json_t *v)
{
	return spec_get_strv(s, v, 1, &s->job->entrypoint);
}

int spec_parse_arguments(struct spec *s, json_t *v)
{
	return spec_get_strv(s, v, 0, &s->job->arguments);
}

/* Honoured by the backends that isolate their hosts; the others say so (check_options). */
int spec_parse_isolation(struct spec *s, json_t *v)
{
	if (!json_is_boolean(v))
		return spec_fail(s, "expected a boolean, got %s", spec_type_phrase(v));
	s->job->network_isolation = json_is_true(v);
	return 0;
}

/* Values that ask for nothing: an ignored field set to one of these earns no warning. */
bool spec_is_empty(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return true;
	case JSON_OBJECT:
		return json_object_size(v) == 0;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	default:
		return false;
	}
}

/* Optimal string alignment distance, case-insensitive; names longer than 64 never match. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	unsigned char d[65][65];

	if (n > 64 || m > 64)
		return SIZE_MAX;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			unsigned v = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1u < v)
				v = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < v)
				v = d[i][j - 1] + 1u;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1u < v)
				v = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)v;
		}
	}
	return d[n][m];
}

static const struct spec_field *field_find(const struct spec_field *fields, const char *key)
{
	for (; fields->name; fields++)
		if (!strcmp(fields->name, key))
			return fields;
	return NULL;
}

/* The closest known field: same name but for case, else within 2 edits. */
static const char *field_suggest(const struct spec_field *fields, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (const struct spec_field *f = fields; f->name; f++)
		if (!strcasecmp(f->name, key))
			return f->name;
	for (const struct spec_field *f = fields; f->name; f++) {
		size_t d = edit_distance(key, f->name);

		if (d < best_d) {
			best_d = d;
			best = f->name;
		}
	}
	return best;
}

static int unknown_field(struct spec *s, const char *key, const struct spec_field *fields)
{
	_cleanup_free_ char *parent = jsonpos_path_str(&s->path);
	const char *hint = field_suggest(fields, key);
	char *list = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	jsonpos_push_key(&s->path, key);
	if (hint) {
		r = spec_fail_key(s, "unknown field (did you mean \"%s\"?)", hint);
		jsonpos_pop(&s->path);
		return r;
	}
	/* A field of a nested object written at the top ("InstanceCount"): say where it goes. */
	if (s->path.n == 1) {
		const struct job_kind *k = s->job->kind;
		const char *field = NULL;
		const char *home = k->spec_nested_home ? k->spec_nested_home(key, &field) : NULL;

		if (home) {
			r = spec_fail_key(s, "unknown field (did you mean %s.%s?)", home, field);
			jsonpos_pop(&s->path);
			return r;
		}
	}
	r = spec_fail_key(s, "unknown field");
	jsonpos_pop(&s->path);
	f = open_memstream(&list, &size);
	if (!f)
		return r;
	for (const struct spec_field *k = fields; k->name; k++)
		fprintf(f, "%s%s", k == fields ? "" : ", ", k->name);
	fclose(f);
	if (*parent)
		sr_err_hint(s->err, "%s takes: %s", parent, list ? list : "");
	else
		sr_err_hint(s->err, "a Create%s request takes: %s", s->job->kind->api,
			    list ? list : "");
	free(list);
	return r;
}

/* A request for another SageMaker API, known by its name field: said once, instead of a
 * dozen unknown fields. */
static int other_request(struct spec *s, json_t *root)
{
	static const struct {
		const char *field, *api, *how;
	} others[] = {
	    {"TrainingJobName", "CreateTrainingJob", "run it with `sagerun train --spec FILE`"},
	    {"ProcessingJobName", "CreateProcessingJob",
	     "run it with `sagerun process --spec FILE`"},
	    {"TransformJobName", "CreateTransformJob", "batch transform is not run locally"},
	    {"HyperParameterTuningJobName", "CreateHyperParameterTuningJob",
	     "tuning jobs are not run locally"},
	    {"EndpointConfigName", "CreateEndpointConfig", "endpoints are not run locally"},
	    {"AutoMLJobName", "CreateAutoMLJob", "AutoML is not run locally"},
	};
	const char *api = s->job->kind->api;
	_cleanup_free_ char *own = xasprintf("%sName", api);

	if (json_object_get(root, own))
		return 0;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (!json_object_get(root, others[i].field) ||
		    !strcmp(others[i].api + strlen("Create"), api))
			continue;
		jsonpos_push_key(&s->path, others[i].field);
		spec_fail_key(s, "this is a %s request, not a Create%s one", others[i].api, api);
		jsonpos_pop(&s->path);
		return sr_err_hint(s->err, "%s", others[i].how);
	}
	return 0;
}

int spec_object(struct spec *s, json_t *obj, const struct spec_field *fields)
{
	const char *key;
	json_t *v;
	int r = spec_want(s, obj, JSON_OBJECT, "an object");

	if (r < 0)
		return r;
	/* jansson keeps insertion order, so problems come in the order of the text; each
	 * member is looked at, whatever the one before it said. */
	json_object_foreach (obj, key, v) {
		const struct spec_field *f = field_find(fields, key);
		int rf = 0;

		if (spec_enough(s))
			break;
		if (!f) {
			rf = unknown_field(s, key, fields);
		} else {
			jsonpos_push_key(&s->path, key);
			if (f->parse)
				rf = f->parse(s, v);
			else if (!spec_is_empty(v))
				spec_warn_unhonoured(s, f->ignored);
			jsonpos_pop(&s->path);
		}
		if (rf < 0 && r == 0)
			r = rf;
	}
	return r;
}

int spec_require(struct spec *s, const json_t *obj, const char *field, const char *what)
{
	if (json_object_get(obj, field))
		return 0;
	return spec_fail(s, "missing required field %s%s", field, what);
}

/* jansson ends its syntax errors with ` near '<token>'`, the text it was reading: a spec's
 * token can be a credential (`"AWS_SECRET_ACCESS_KEY": "wJalr...`), and errors end up on
 * terminals and in CI logs.  Line and column say where; the token itself is cut.  jansson's
 * own words come first and never contain " near '", so the first one starts the token. */
static void strip_token(char *text)
{
	char *near = strstr(text, " near '");

	if (near)
		*near = '\0';
}

int job_spec_parse(const struct job_kind *kind, const char *text, size_t len, const char *origin,
		   struct job *job, struct strv *warnings, struct sr_error *err)
{
	struct spec s = {.text = text,
			 .len = len,
			 .origin = origin,
			 .job = job,
			 .warnings = warnings,
			 .err = err};
	_cleanup_json_ json_t *root = NULL;
	json_error_t jerr;
	size_t i;

	job->kind = kind;
	sr_err_clear(err);
	if (!origin)
		s.origin = origin = "spec";
	if (len > JOB_SPEC_MAX_BYTES)
		return sr_err(err, -EFBIG, "%s: larger than 1 MiB (%zu bytes)", origin, len);
	for (i = 0; i < len && text[i] && strchr(" \t\r\n", text[i]); i++)
		;
	if (i == len) {
		sr_err(err, -EINVAL, "%s: empty file: expected a Create%s request (a JSON object)",
		       origin, kind->api);
		return sr_err_hint(err,
				   "start from `aws sagemaker create-%s --generate-cli-skeleton "
				   "input`",
				   kind->arn_type);
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		strip_token(jerr.text);
		if (jerr.line > 0)
			/* jansson says column 0 right after a newline (at the end of the file) */
			sr_err(err, -EINVAL, "%s:%d:%d: invalid JSON: %s", origin, jerr.line,
			       jerr.column > 0 ? jerr.column : 1, jerr.text);
		else
			sr_err(err, -EINVAL, "%s: invalid JSON: %s", origin, jerr.text);
		return sr_err_hint(err,
				   "the file must hold one Create%s request, the JSON "
				   "`aws sagemaker create-%s --cli-input-json` takes; fix the "
				   "syntax near that position",
				   kind->api, kind->arn_type);
	}
	if (!json_is_object(root))
		return spec_fail(&s, "expected an object (a Create%s request), got %s", kind->api,
				 spec_type_phrase(root));
	s.root = root;
	if (other_request(&s, root) < 0)
		return -EINVAL;
	return problems_report(&s, spec_object(&s, root, kind->spec_fields));
}
