/* sagemaker_internal.h - what the files of the sagemaker engine share.  engines/ only.
 *
 *   sagemaker.c          the engine's table: submit, watch, stop, logs, status, remove
 *   sagemaker_request.c  the Create*Job request the service gets for a built job
 *   sagemaker_upload.c   where the job's local parts go in S3, and sending them there
 *   sagemaker_watch.c    Describe*Job polled to the job's end, as status lines and records
 *   sagemaker_logs.c     the hosts' output from CloudWatch Logs, merged with algo-N prefixes
 *   sagemaker_dlc.c      --framework NAME:VERSION as the SDK's image URI (sagemaker_dlc_table.c,
 *                        generated from the SDK's data by scripts/dlc-table.py)
 */
#ifndef SR_ENGINES_SAGEMAKER_INTERNAL_H
#define SR_ENGINES_SAGEMAKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/status.h"

struct aws_json_client;
struct engine_logs_options;
struct job;
struct job_kind;
struct job_report;
struct json_t;
struct sr_error;
struct store;
struct store_job_row;

/* The variable that names the execution role when neither --role nor the spec does. */
#define SM_ROLE_ENV "SAGERUN_ROLE_ARN"

/* One local file or folder the job reads, and where it goes in S3. */
enum sm_upload_how {
	SM_UP_SYNC,	 /* a folder made alike under a prefix: only what changed goes */
	SM_UP_FILE,	 /* one file to one key */
	SM_UP_SOURCEDIR, /* a training job's code, packed as the SDK packs it */
};

struct sm_upload {
	enum sm_upload_how how;
	char *local; /* absolute */
	char *uri;   /* s3://bucket/key, or s3://bucket/prefix/ for SM_UP_SYNC */
	char *what;  /* "channel 'train'", for messages */
};

/* One output the user wants back on this machine when the job completes (--download). */
struct sm_download {
	char *uri;   /* an object (model.tar.gz) or a prefix (a processing output) */
	char *local; /* the folder it goes into */
};

/* What the job needs besides its request: the session bucket and what goes into it. */
struct sm_plan {
	char *region;
	char *account; /* the role's */
	char *bucket;  /* sagemaker-<region>-<account>, the SDK's default bucket */
	bool bucket_used;
	struct sm_upload *up;
	size_t n_up;
	struct sm_download *down;
	size_t n_down;
	char *work_dir; /* a private temp folder for what is packed (processing's code) */
};

void sm_plan_release(struct sm_plan *p);

/* sagemaker_upload.c: the role and image checked (a usage error says what to give), each local
 * part of `job` pointed at where it goes in S3 (recorded in the plan), the local output made
 * a download when `download`.  Nothing is sent.  `image` is --image (NULL: the spec's). */
int sm_plan_make(struct job *job, const char *role, const char *image, bool download,
		 struct sm_plan *p, const struct job_report *rep, struct sr_error *err);
/* Send every upload of the plan (the bucket made first when missing). */
int sm_plan_upload(const struct sm_plan *p, const struct job_report *rep, const char *job_name,
		   struct sr_error *err);
/* Fetch the plan's downloads (after Completed). */
int sm_plan_download(const struct sm_plan *p, const struct job_report *rep, const char *job_name,
		     struct sr_error *err);

/* The Deep Learning Containers of a framework, as the SDK's image_uri_config/<framework>.json
 * lists them for training (sagemaker_dlc_table.c). */
struct sm_dlc_registry {
	const char *region;
	const char *account; /* the ECR registry's */
};

struct sm_dlc_version {
	const char *version;	/* full: "2.5.1" */
	const char *py_version; /* "py311": the only one the SDK has for it */
	const char *repository; /* "pytorch-training" */
	const struct sm_dlc_registry *registries;
	size_t n_registries;
};

struct sm_dlc_alias {
	const char *alias; /* "2.5" */
	const char *full;  /* "2.5.1" */
};

struct sm_dlc_framework {
	const char *name;
	const struct sm_dlc_version *versions; /* oldest first */
	size_t n_versions;
	const struct sm_dlc_alias *aliases;
	size_t n_aliases;
};

extern const struct sm_dlc_framework sm_dlc_pytorch;

/* The image URI the SDK's image_uris.retrieve(framework, region, version,
 * instance_type=instance_type, image_scope="training") gives: the region's registry, the
 * version's repository and the tag VERSION-(gpu|cpu)-PYVERSION (the version as given, an alias
 * too), gpu for the ml.p* and ml.g* families.  A usage error lists what is known when the
 * framework, version, region or instance type has no image.  New string. */
int sm_dlc_image(const char *framework, const char *version, const char *region,
		 const char *instance_type, char **ret, struct sr_error *err);

/* sagemaker_request.c: the Create<Kind>Job request for `job` as planned: the kind's request
 * with the Environment's values as given, and the fields of the spec sagerun reads but does
 * not model (Tags, VpcConfig, ...) kept.  New reference, or NULL with `err` set. */
struct json_t *sm_request_json(const struct job *job, struct sr_error *err);

/* sagemaker_describe.c: the Describe<Kind>Job answer read as a status: the state, the secondary
 * status and its transitions (training's SecondaryStatusTransitions; a processing job's
 * status alone), FailureReason and times. */
void sm_describe_status(const struct job_kind *kind, struct json_t *d, struct job_status *st);
/* Append a transition (sec, from start to end, 0: open) with a copy of msg. */
void sm_add_transition(struct job_status *st, enum job_secondary sec, int64_t start, int64_t end,
		       const char *msg);
/* The Describe<Kind>Job request for a job of `kind` named `name`.  New reference. */
struct json_t *sm_name_request(const struct job_kind *kind, const char *name);
/* Record a Describe answer in the store (status, times, the answer itself). */
int sm_record(struct store *s, const char *name, const struct job_kind *kind, struct json_t *d,
	      struct sr_error *err);

/* How a watch ends. */
struct sm_watch_result {
	enum job_state state;
	bool left_running; /* a second Ctrl-C: the job runs on, unwatched */
};

/* Poll the job until it ends: each new transition said through rep->status (as the local
 * engine's lines), each answer recorded; with `logs`, the hosts' output on stdout as it
 * comes.  With `interrupt`, a Ctrl-C (SIGINT or SIGTERM) stops the job and a second one
 * leaves it running. */
int sm_watch(struct aws_json_client *sm, struct job *job, bool logs, bool interrupt,
	     const struct job_report *rep, struct sm_watch_result *res, struct sr_error *err);

/* sagemaker_logs.c: a follower of one job's log streams (one per host). */
struct sm_logs;
int sm_logs_new(const struct job_kind *kind, const char *job_name, const char *host,
		bool timestamps, int64_t since_ms, struct sm_logs **ret, struct sr_error *err);
/* Print every event there is now, oldest first across hosts: how many, or a negative errno.
 * Streams appear once the hosts start; each is read with its forward token. */
int sm_logs_poll(struct sm_logs *lg, struct sr_error *err);
/* Once the job ended: CloudWatch shows a host's last lines a few seconds after it wrote them
 * (ingestion), so the SDK reads once more a poll interval after the end.  Read on every tick
 * until SM_LOGS_SETTLE_MS after the end (the service's `end_ms`, or now, whichever is
 * earlier) has passed, or `nap` (sleep up to ms) says to stop by answering nonzero. */
#define SM_LOGS_SETTLE_MS      3000
#define SM_LOGS_SETTLE_TICK_MS 500
int sm_logs_settle(struct sm_logs *lg, int64_t end_ms, int (*nap)(void *ctx, int ms), void *ctx,
		   struct sr_error *err);
void sm_logs_free(struct sm_logs *lg);

/* sagemaker_logs.c: `sagerun logs` of a recorded job. */
int sm_logs_cmd(const struct store_job_row *row, const struct engine_logs_options *o,
		struct sr_error *err);

#endif
