/* build_internal.h - job_build()'s machinery, shared by build.c (what every kind's flags do:
 * the spec, --name, --hosts, --env, -- COMMAND, defaults) and each kind's <kind>_build.c (its
 * own flags, defaults and local paths).  Private to job/.
 *
 * Errors name their source: the flag (`--env 'KEY=...': ...`), or `FILE:LINE:COL: Json.Path`
 * for what came from the spec and is found wrong only after merging (build_fail_path).
 */
#ifndef SR_JOB_BUILD_INTERNAL_H
#define SR_JOB_BUILD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "job/job.h"
#include "job/jsonpos.h"

struct sr_error;
struct strv;

/* Where one item of a list (a channel, an input, an output) came from: its index in the
 * spec's list, or -1 with the flag argument that made it. */
struct build_origin {
	int spec_index;
	const char *flag_arg;
};

/* Items of one list a job can have: InputDataConfig (20), ProcessingInputs and
 * ProcessingOutputConfig.Outputs (10 each). */
#define BUILD_ITEMS_MAX 20

/* A local folder asked to be sharded (ShardedByS3Key): every host would get all of it. */
#define BUILD_LOCAL_SHARDED_HINT                                                                   \
	"drop the sharding (every host then reads all of it), or serve the data from S3"

struct build {
	const struct job_flags *flags;
	struct job *job;
	char *text; /* the spec's text (owned), NULL without --spec */
	size_t len;
	struct build_origin in[BUILD_ITEMS_MAX];  /* channels, processing inputs */
	struct build_origin out[BUILD_ITEMS_MAX]; /* processing outputs */
	struct strv *warnings;			  /* may be NULL */
	struct sr_error *err;
};

/* `--flag 'arg': message`, or `--flag: message` without an argument to show. */
int build_fail_flag(struct build *b, const char *flag, const char *arg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* `FILE:LINE:COL: Path: message` for a problem of the spec found after parsing. */
int build_fail_path(struct build *b, const struct jsonpos_path *path, enum jsonpos_what what,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The error of an item of list `in` (b->in or b->out) at `path` in the spec, or of the flag
 * `flag` that made it. */
int build_fail_item(struct build *b, const struct build_origin *o, const char *flag,
		    const struct jsonpos_path *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The spec (--spec), parsed as the job's kind; b->text keeps its text for later messages. */
int build_load_spec(struct build *b);
/* Split "KEY=VALUE" at the first '=' (VALUE may hold more of them). */
int build_split_kv(struct build *b, const char *flag, const char *arg, const char *shape,
		   char **ret_key, const char **ret_value);
/* The service's limits a kind's flags are held to: they differ between the APIs
 * (CreateTrainingJob takes 256 hosts here and 512-character Environment values,
 * CreateProcessingJob 100 and 256). */
struct build_limits {
	int hosts;	      /* --hosts: InstanceCount */
	int64_t max_run_s;    /* --max-run: MaxRuntimeInSeconds */
	size_t env_key_max;   /* --env: an Environment key's characters */
	size_t env_value_max; /* and its value's */
};
/* --name, --hosts, --instance-type, --max-run, --stop-grace. */
int build_apply_scalars(struct build *b, const struct build_limits *lim);
/* --env KEY=VALUE (values never echoed). */
int build_apply_envs(struct build *b, const struct build_limits *lim);
/* -- COMMAND ARGS: ContainerEntrypoint [COMMAND], ContainerArguments ARGS; with `args_only`
 * everything after "--" is ContainerArguments. */
int build_apply_command(struct build *b, bool args_only);
/* What every job gets when nothing set it (the name from `name_base`, one host,
 * ml.m5.large, 30 GB, a day), and its ARN. */
void build_defaults(struct build *b, const char *name_base);
void build_set_default(char **field, const char *value);
/* "train.py" -> "train" (with `drop_ext`), "/usr/bin/python3" -> "python3". */
char *build_name_base(const char *path, bool drop_ext);

/* The part of `path` inside folder `dir` (both absolute and normalised), or NULL. */
const char *build_path_inside(const char *dir, const char *path);
bool build_is_file(const char *path);
/* --source-dir DIR with --entry-point FILE: both checked (the entry point a file inside the
 * folder, as the SDK wants it), *ret_src the folder's absolute path, *ret_rel the entry
 * point's path inside it.  Without a source dir, *ret_src is the entry point's own absolute
 * path and *ret_rel its file name. */
int build_entry_point(struct build *b, const char *ep, const char *src, char **ret_src,
		      char **ret_rel);

/* Each kind's build (kind.h's `build`): its flags over the spec, its defaults, its local
 * paths.  The spec is loaded and --name ... --env applied by the kind, in its order. */
int training_build(struct build *b);
int processing_build(struct build *b);

#endif
