/* rules.h - the service's value rules and small helpers, private to job/ (never include it
 * from outside).
 *
 * Each rule is written once and used three times: spec.c prefixes its answer with
 * `FILE:LINE:COL: Json.Path`, build.c with the flag (`--channel 'x=...'`), validate.c with the
 * field name.  A rule returns NULL when the value is fine, else what is expected, phrased to
 * follow "WHERE: " (e.g. "must be None or Gzip"); callers append ` (got "...")`.
 * Constraints come from the botocore model (reference §5.1).
 */
#ifndef SR_JOB_RULES_H
#define SR_JOB_RULES_H

#include <stdbool.h>
#include <stddef.h>

struct job_channel;

/* Limits on what a user can make sagerun read or keep. */
#define JOB_SPEC_MAX_BYTES	(1024 * 1024)
#define JOB_URI_MAX		1024
#define JOB_IMAGE_MAX		255
#define JOB_CONTENT_TYPE_MAX	256
#define JOB_CONTAINER_ARGS_MAX	100 /* ContainerEntrypoint / ContainerArguments items */
#define JOB_CONTAINER_ARG_MAX	256 /* characters in one of them */
#define JOB_ROLE_ARN_MIN	20
#define JOB_ROLE_ARN_MAX	2048
#define JOB_RETRY_MAX		30
#define JOB_CHECKPOINT_PATH_MAX 4096
#define JOB_INSTANCE_TYPE_MAX	64
#define JOB_VOLUME_GB_MAX	16384

const char *job_rule_name(const char *s);
const char *job_rule_role_arn(const char *s);
const char *job_rule_channel_name(const char *s);
const char *job_rule_env_key(const char *s);
const char *job_rule_instance_type(const char *s);
/* File, FastFile (the same locally) or Pipe (launch/'s pipe feeds). */
const char *job_rule_input_mode(const char *s);
const char *job_rule_s3_data_type(const char *s);
const char *job_rule_distribution(const char *s);
const char *job_rule_channel_compression(const char *s);
const char *job_rule_record_wrapper(const char *s);
const char *job_rule_output_compression(const char *s);
/* Processing: S3DataType S3Prefix | ManifestFile, S3InputMode File | Pipe, S3UploadMode
 * EndOfJob | Continuous, an InputName or OutputName (sagerun's own rule: it names a folder of
 * the job, so no '/' and not . or ..), and a LocalPath: a folder under /opt/ml/processing/,
 * without "." or ".." parts (it names a folder of each host's own tree). */
const char *job_rule_proc_data_type(const char *s);
const char *job_rule_proc_input_mode(const char *s);
const char *job_rule_upload_mode(const char *s);
const char *job_rule_proc_item_name(const char *s);
const char *job_rule_proc_local_path(const char *s);
/* s3://BUCKET/..., file://PATH or a plain local path. */
const char *job_rule_uri(const char *s);

/* Check a string: valid UTF-8, `min`..`max` characters, then `rule` (may be NULL).  NULL when
 * fine, else the message: "must not be empty", "longer than 63 characters (got 64)", or the
 * rule's answer; an answer starting with "must" gets ` (got "...")` appended.  Length messages
 * never echo the value, so secrets in values stay out of errors.  Caller frees. */
char *job_check_string(const char *s, size_t min, size_t max, const char *(*rule)(const char *));

/* [a-zA-Z0-9] in ASCII whatever the locale: the service's patterns mean exactly these. */
static inline bool job_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Characters (code points), as the service counts lengths. */
size_t job_utf8_len(const char *s);
bool job_utf8_valid(const char *s);

/* `s` as a JSON string for "(got ...)", shortened to about 60 characters.  Caller frees. */
char *job_quote(const char *s);

bool job_uri_is_s3(const char *uri);
/* Absolute local path of a file:// URI or plain path (relative ones against the current
 * directory); NULL for s3://.  Caller frees. */
char *job_uri_local_path(const char *uri);

void job_channel_release(struct job_channel *c);
struct job_proc_output;
void job_proc_output_release(struct job_proc_output *o);

/* A field's value against `rule` (job_check_string), a list of container arguments, a string
 * map (HyperParameters, Environment): 0, or -EINVAL with "<where>: <what is wrong>". */
struct job_map;
struct sr_error;
struct strv;
int job_check(struct sr_error *err, const char *where, const char *s, size_t min, size_t max,
	      const char *(*rule)(const char *));
int job_check_list(struct sr_error *err, const char *where, const struct strv *sv);
int job_check_map(struct sr_error *err, const char *where, const struct job_map *m, size_t max_keys,
		  size_t key_min, size_t key_max, size_t value_max,
		  const char *(*key_rule)(const char *));

#endif
