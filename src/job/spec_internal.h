/* spec_internal.h - the spec parser's machinery, shared by spec.c (context, type checks,
 * unknown fields, job_spec_parse) and training_spec.c (one table per API object).  Private to
 * job/: never include it from outside.  Each kind's field tables are in <kind>_spec.c.
 *
 * Every helper works on the value at s->path: push the key or index before calling, pop after.
 * Errors come out as `ORIGIN:LINE:COL: Json.Path: message` and return a negative errno.
 */
#ifndef SR_JOB_SPEC_INTERNAL_H
#define SR_JOB_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "job/jsonpos.h"
#include "util/strv.h"

struct job;
struct job_channel;
struct job_proc_output;
struct sr_error;
struct strv;

struct spec {
	json_t *root; /* the whole request, for rules that tie two fields together */
	const char *text;
	size_t len;
	const char *origin;
	struct jsonpos_path path;
	struct job *job;
	struct job_channel *chan;    /* the channel or processing input being parsed */
	struct job_proc_output *out; /* the processing output being parsed */
	struct strv *warnings;	     /* may be NULL */
	/* The problem being reported: spec_fail sets it, a hint may follow; the next
	 * spec_fail moves it to `problems` (one line each, a hint as a "hint: " line of its
	 * own), so that every problem of a spec is said in one run, as botocore's validator
	 * does. */
	struct sr_error *err;
	struct strv problems;
	int n_problems;
};

/* After this many problems a spec's parse stops: the rest is noise. */
#define SPEC_PROBLEMS_MAX 20

/* Whether the parse should stop: too many problems already. */
bool spec_enough(const struct spec *s);

/* One field of an API object: a parser, or (parse == NULL) accepted but not honoured, with a
 * warning unless the value asks for nothing (spec_is_empty).  A parsed field sagerun reads but
 * cannot honour (RetryStrategy...) warns from its parser, which knows the default value. */
struct spec_field {
	const char *name;
	int (*parse)(struct spec *s, json_t *v);
	const char *ignored; /* why it is not honoured, for the warning */
};

/* Each kind's request fields (<kind>_spec.c), NULL-terminated, for its job_kind. */
extern const struct spec_field training_spec_fields[];
extern const struct spec_field processing_spec_fields[];

/* An error about the value at s->path / about its key. */
int spec_fail(struct spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int spec_fail_key(struct spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning line about the member at s->path (points at its key). */
void spec_warn(struct spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The one wording for a field that is read but not honoured: `PATH: accepted but not honoured
 * locally (why)`. */
void spec_warn_unhonoured(struct spec *s, const char *why);

/* "an object", "a list", "a string", "an integer", ... */
const char *spec_type_phrase(const json_t *v);
int spec_want(struct spec *s, const json_t *v, json_type type, const char *expected);
/* A string of min..max characters passing `rule` (may be NULL), copied over *ret. */
int spec_get_string(struct spec *s, const json_t *v, size_t min, size_t max,
		    const char *(*rule)(const char *), char **ret);
/* An integer in min..max; `max_why` follows "must be at most N" ("" for nothing). */
int spec_get_int(struct spec *s, const json_t *v, long long min, long long max, const char *max_why,
		 long long *ret);
/* A list of 1..100 strings of item_min..256 characters, replacing *ret. */
int spec_get_strv(struct spec *s, const json_t *v, size_t item_min, struct strv *ret);
/* An object of strings (HyperParameters, Environment) into `map`, replacing it: at most
 * max_keys entries, keys passing `key_rule` (may be NULL), values of at most value_max
 * characters; `hint_strings` hints at quoting a number or boolean. */
struct job_map;
int spec_get_map(struct spec *s, json_t *v, struct job_map *map, size_t max_keys, size_t key_max,
		 size_t value_max, const char *(*key_rule)(const char *), bool hint_strings);
/* <Kind>JobName and RoleArn, the same rules in every request. */
int spec_parse_name(struct spec *s, json_t *v);
int spec_parse_role(struct spec *s, json_t *v);
/* The instance type, volume size, image, ContainerEntrypoint, ContainerArguments and
 * EnableNetworkIsolation of every kind's request, whatever object holds them. */
int spec_parse_instance_type(struct spec *s, json_t *v);
int spec_parse_volume(struct spec *s, json_t *v);
int spec_parse_image(struct spec *s, json_t *v);
int spec_parse_entrypoint(struct spec *s, json_t *v);
int spec_parse_arguments(struct spec *s, json_t *v);
int spec_parse_isolation(struct spec *s, json_t *v);
/* null, false, 0, "", [] or {}: values that ask for nothing. */
bool spec_is_empty(const json_t *v);
/* Check that `obj` is an object and dispatch each member, in text order, to `fields`. */
int spec_object(struct spec *s, json_t *obj, const struct spec_field *fields);
/* Error at the object unless it has `field`; `what` is appended to the message. */
int spec_require(struct spec *s, const json_t *obj, const char *field, const char *what);
/* The object (e.g. "ResourceConfig") a misplaced top-level key of a CreateTrainingJob request
 * belongs in, or NULL. */
const char *training_spec_nested_home(const char *key, const char **ret_field);
const char *processing_spec_nested_home(const char *key, const char **ret_field);

#endif
