/* kind.h - a kind of SageMaker job (training, processing): everything that differs
 * between kinds, in one const table per kind, so that a new kind is a new file and not an
 * `if` in every layer.
 *
 * A kind brings its request's field table (the spec parser's), its validation, its request
 * and Describe* JSON, and its names: the store's type, the API's nouns, and what each status
 * is called and says.  What a kind lays into each host (contract/) and how its inputs are
 * staged and its outputs exported (launch/) belong to those layers, which look at job->kind.
 */
#ifndef SR_JOB_KIND_H
#define SR_JOB_KIND_H

#include <stdbool.h>
#include <stdint.h>

#include "job/status.h"

struct build;
struct job;
struct job_status;
struct json_t;
struct sr_error;
struct spec_field;

struct job_kind {
	const char *name;     /* "training": the store's type, `ps`'s TYPE */
	const char *api;      /* "TrainingJob": <api>Name, <api>Arn, <api>Status, Describe<api> */
	const char *arn_type; /* "training-job", in the job's ARN */
	/* Each secondary status's name ("Training" for SEC_RUNNING) and the StatusMessage it
	 * comes with ("Training in progress."); SEC_RESTARTING's is a format taking the attempt
	 * and the number of attempts. */
	const char *secondary_names[SEC_MAX];
	const char *messages[SEC_MAX];
	/* The Stopping message when MaxRuntimeInSeconds ran out. */
	const char *max_runtime_stopping;
	/* The request's own fields, NULL-terminated (spec_internal.h), and where a misplaced
	 * top-level key belongs ("InstanceCount" -> ResourceConfig), or NULL. */
	const struct spec_field *spec_fields;
	const char *(*spec_nested_home)(const char *key, const char **ret_field);
	/* The signal that stops a host (sagerun stop, a failed host, MaxRuntimeInSeconds),
	 * SIGKILL following after the stop grace. */
	int stop_signal;
	/* job_build(): the kind's flags over its spec (build_internal.h). */
	int (*build)(struct build *b);
	/* The kind's own rules, after those every job has (job_validate). */
	int (*validate)(const struct job *job, struct sr_error *err);
	/* The Create<api> request (API field names): for describe output with the values of
	 * credentials' variables redacted (`redact`), as sent to the service without.  New
	 * reference. */
	struct json_t *(*request_json)(const struct job *job, bool redact);
	/* The Describe<api> response: the request, the status, the hosts.  New reference. */
	struct json_t *(*describe_json)(const struct job *job, const struct job_status *st);
	/* A stored Describe<api> response changed as the service would show the job failed now
	 * for `reason` (a lost supervisor). */
	void (*describe_lost)(struct json_t *d, const char *reason, int64_t now_ms);
	/* Free the kind's own part of the job (zeroed when the job is of another kind). */
	void (*release)(struct job *job);
};

extern const struct job_kind job_kind_training;
extern const struct job_kind job_kind_processing;

/* NULL when unknown.  Known: "training", "processing". */
const struct job_kind *job_kind_find(const char *name);

#endif
