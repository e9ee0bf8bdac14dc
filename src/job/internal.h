/* job/internal.h - what the files of one kind of job share with the kind's table.  job/ only.
 *
 *   training.c           the training kind's table (job_kind_training), describe, release
 *   training_spec.c      its CreateTrainingJob field tables (spec_internal.h)
 *   training_validate.c  its rules
 *   training_request.c   its request JSON
 *   training_build.c     its flags (build_internal.h)
 *   processing*.c        the processing kind, file for file the same
 */
#ifndef SR_JOB_INTERNAL_H
#define SR_JOB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

struct job;
struct json_t;
struct sr_error;

int training_validate(const struct job *job, struct sr_error *err);
struct json_t *training_request_json(const struct job *job, bool redact);

/* The processing kind's (processing*.c): its rules, its request (Environment values redacted
 * with `redact`). */
int processing_validate(const struct job *job, struct sr_error *err);
struct json_t *processing_request_json(const struct job *job, bool redact);
/* What is wrong with one input's S3Input taken whole, its fields each fine (NULL values are
 * their defaults: File, None, S3Prefix): Gzip without Pipe, a local manifest, a local Gzip.
 * NULL when nothing, else the message (caller frees), with the field it is about in
 * *ret_field and a hint in the API's words, or NULL, in *ret_hint.  The spec parser, the
 * flags and processing_validate() each say it their way. */
struct job_channel;
char *processing_input_conflict(const struct job_channel *c, const char **ret_field,
				const char **ret_hint);
/* The LocalPaths of a job's inputs and outputs as one list (the inputs, then the outputs):
 * whether two of them (a < b) clash: the same folder, or an output and another item one inside
 * the other (an input may lie inside another input); item k's
 * LocalPath and its API name (caller frees); and how LocalPath `a` stands to `b`, which
 * overlap ("is the same folder as", "holds", "lies inside"). */
bool processing_places_clash(const struct job *job, size_t *ret_a, size_t *ret_b);
const char *processing_place_path(const struct job *job, size_t k);
char *processing_place_name(const struct job *job, size_t k);
const char *processing_place_relation(const char *a, const char *b);
#define PROCESSING_PLACES_HINT                                                                     \
	"give every input and output a folder of its own, such as "                                \
	"/opt/ml/processing/input/<name> and /opt/ml/processing/output/<name> (an input may lie "  \
	"inside another input)"

/* json.c: a string (job_validate() guarantees UTF-8, so json_string() only fails on a job
 * that skipped it; describe output must still come out whole), a list of strings, a map with
 * credentials' values redacted when `redact`.  New references. */
struct job_map;
struct strv;
struct json_t *job_json_str(const char *s);
struct json_t *job_json_strv(const struct strv *sv);
struct json_t *job_json_map(const struct job_map *m, bool redact);

#endif
