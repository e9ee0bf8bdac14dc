/* job.h - struct job: one SageMaker job as plain data (no I/O): what every kind of job has
 * and its kind's own part (kind.h says what a kind brings).
 *
 * A training job is built from a CreateTrainingJob request JSON (spec.c with the training
 * kind's field table, training_spec.c) and/or command-line flags (build.c), validated as the
 * service validates (validate.c, training_validate.c), and turned back into the request JSON
 * that describe output echoes (training_request.c).  Every layer below reads it; none
 * changes it after job_build() returns.
 */
#ifndef SR_JOB_JOB_H
#define SR_JOB_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/kind.h"
#include "util/strv.h"

struct sr_error;

/* Service limits (botocore service model, reference §5.1). */
#define JOB_NAME_MAX	       63
#define JOB_HP_MAX_KEYS	       100
#define JOB_HP_KEY_MAX	       256
#define JOB_HP_VALUE_MAX       2500
#define JOB_ENV_MAX_KEYS       100
#define JOB_ENV_KEY_MAX	       512
#define JOB_ENV_VALUE_MAX      512
#define JOB_CHANNELS_MAX       20
#define JOB_CHANNEL_NAME_MAX   64
#define JOB_HOSTS_MAX	       256     /* ours: N emulated hosts on one machine */
#define JOB_MAX_RUN_LIMIT_S    2419200 /* MaxRuntimeInSeconds: 28 days (reference §1.9) */
#define JOB_STOP_GRACE_LIMIT_S 86400   /* ours: a day is more than any clean shutdown needs */

#define JOB_DEFAULT_INSTANCE_TYPE "ml.m5.large"
#define JOB_DEFAULT_OUTPUT	  "./sagerun-output"
#define JOB_DEFAULT_STOP_GRACE_S  120
#define JOB_DEFAULT_MAX_RUN_S	  86400
#define JOB_DEFAULT_VOLUME_GB	  30
#define JOB_DEFAULT_REGION	  "us-east-1"
#define JOB_DEFAULT_ACCOUNT	  "000000000000"

/* The Environment variable --mpi-launcher sets; the runtime reads it (runtime/mpi.h's
 * RT_MPI_LAUNCHER_ENV, the same name: the runtime does not include job/). */
#define JOB_MPI_LAUNCHER_ENV "SAGERUN_MPI_LAUNCHER"

/* An ordered string map (HyperParameters, Environment): insertion order is kept, a second set
 * of the same key replaces the value in place. */
struct job_kv {
	char *key;
	char *value;
};

struct job_map {
	struct job_kv *items;
	size_t n;
	size_t cap;
};

void job_map_set(struct job_map *m, const char *key, const char *value);
const char *job_map_get(const struct job_map *m, const char *key);
void job_map_release(struct job_map *m);

struct job_channel {
	char *name;	      /* ChannelName */
	char *uri;	      /* S3Uri as given: s3://..., file://... or a local path */
	char *local_path;     /* absolute local folder for file channels; NULL for s3:// */
	char *content_type;   /* ContentType, NULL when unset */
	char *compression;    /* CompressionType: "None" | "Gzip" */
	char *record_wrapper; /* RecordWrapperType: "None" | "RecordIO" */
	char *input_mode;     /* effective mode: Channel.InputMode, else the job's */
	bool input_mode_set;  /* InputMode given on the channel itself */
	char *s3_data_type;   /* "S3Prefix" | "ManifestFile" | ... */
	char *distribution;   /* S3DataDistributionType: "FullyReplicated" | "ShardedByS3Key" */
	char *dest;	      /* processing: S3Input.LocalPath, under /opt/ml/processing/ */
	bool app_managed;     /* processing: AppManaged */
};

/* What only a training job has (CreateTrainingJob beyond what every job has). */
struct job_training {
	char *input_mode; /* AlgorithmSpecification.TrainingInputMode, default "File" */
	struct job_map hyperparameters; /* as sent to the service: string -> string */
	struct strv hp_flag_keys;	/* the keys --hp gave (their values as typed) */
	struct job_channel *channels;	/* InputDataConfig */
	size_t n_channels;
	char *output_path;	     /* OutputDataConfig.S3OutputPath as given */
	char *output_local;	     /* absolute local folder for a local output, else NULL */
	char *output_compression;    /* "GZIP" | "NONE" */
	char *checkpoint_s3_uri;     /* CheckpointConfig.S3Uri, NULL when absent */
	char *checkpoint_local_path; /* CheckpointConfig.LocalPath */
	int max_retry_attempts;	     /* RetryStrategy.MaximumRetryAttempts, 0 when absent */
};

/* Processing limits (botocore service model, reference §5.4). */
#define JOB_PROC_INPUTS_MAX	 10
#define JOB_PROC_OUTPUTS_MAX	 10
#define JOB_PROC_NAME_MAX	 256 /* InputName, OutputName */
#define JOB_PROC_LOCAL_PATH_MAX	 256
#define JOB_PROC_HOSTS_MAX	 100
#define JOB_PROC_MAX_RUN_LIMIT_S 777600 /* MaxRuntimeInSeconds: 9 days */
#define JOB_PROC_ENV_KEY_MAX	 256
#define JOB_PROC_ENV_VALUE_MAX	 256
/* Where a processing job's inputs and outputs live in each host. */
#define JOB_PROC_BASE "/opt/ml/processing/"
/* ScriptProcessor's and FrameworkProcessor's code inputs (the SDK's names and places). */
#define JOB_PROC_CODE_INPUT	  "code"
#define JOB_PROC_CODE_DEST	  "/opt/ml/processing/input/code"
#define JOB_PROC_ENTRYPOINT_INPUT "entrypoint"
#define JOB_PROC_ENTRYPOINT_DEST  "/opt/ml/processing/input/entrypoint"

/* One ProcessingOutput (S3Output). */
struct job_proc_output {
	char *name;	   /* OutputName */
	char *uri;	   /* S3Uri as given: s3://..., file://... or a local path */
	char *local_path;  /* absolute local folder for a local uri; NULL for s3:// */
	char *dest;	   /* LocalPath: the folder in each host, under /opt/ml/processing/ */
	char *upload_mode; /* S3UploadMode: "EndOfJob" | "Continuous" */
	bool app_managed;  /* AppManaged */
};

/* What only a processing job has (CreateProcessingJob beyond what every job has). */
struct job_processing {
	/* ProcessingInputs: each a channel named InputName, with its LocalPath in `dest`
	 * (InputMode is S3InputMode, compression S3CompressionType). */
	struct job_channel *inputs;
	size_t n_inputs;
	struct job_proc_output *outputs; /* ProcessingOutputConfig.Outputs */
	size_t n_outputs;
	/* FrameworkProcessor (--source-dir, --entry-point): the folder shipped as
	 * sourcedir.tar.gz with the SDK's runproc.sh, which runs `command` on the entry point
	 * (launch/ adds the two inputs).  NULL otherwise. */
	char *source_dir;
	char *entry_point; /* its path inside source_dir */
	struct strv command;
};

/* One SageMaker job: what every kind of job has, then its kind's own part. */
struct job {
	const struct job_kind *kind; /* job/kind.h: training, ... */
	char *name;		     /* <Kind>JobName */
	char *arn;		     /* arn:aws:sagemaker:<region>:<account>:<kind>-job/<name> */
	char *role_arn;		     /* RoleArn, NULL when absent (not needed locally) */
	char *image;		     /* the image (TrainingImage), NULL when absent */
	struct strv entrypoint;	     /* ContainerEntrypoint (empty when unset) */
	struct strv arguments;	     /* ContainerArguments (empty when unset) */
	struct job_map environment;  /* Environment */
	char *instance_type;
	int instance_count;
	int volume_size_gb;
	int64_t max_run_s;	/* StoppingCondition.MaxRuntimeInSeconds, 1..JOB_MAX_RUN_LIMIT_S */
	int64_t stop_grace_s;	/* SIGTERM -> SIGKILL window, 0..JOB_STOP_GRACE_LIMIT_S (ours; the
				 * service's is 120 s) */
	bool network_isolation; /* EnableNetworkIsolation */
	char *spec_path;	/* the --spec file, NULL when none (for messages) */
	/* --framework NAME[:VERSION]: the framework container the job is for (the SDK's
	 * PyTorch estimator...), which its hosts behave as (contract/framework.h); not part of
	 * the request.  NULL when none. */
	char *framework;
	char *framework_version;
	struct job_training train;  /* kind == &job_kind_training */
	struct job_processing proc; /* kind == &job_kind_processing */
};

/* Command-line flags of `sagerun train` and `sagerun process`, as parsed by cli/.  NULL / -1 /
 * empty means "not given".  Flags override the spec field by field. */
struct job_flags {
	const struct job_kind *kind; /* the job to make (NULL: training) */
	const char *spec_path;	     /* --spec FILE */
	const char *name;	     /* --name */
	int hosts;		     /* --hosts N (-1) */
	const char *instance_type;
	struct strv hps;	  /* --hp KEY=VALUE, in order */
	struct strv channels;	  /* --channel NAME=PATH */
	struct strv envs;	  /* --env KEY=VALUE */
	const char *output;	  /* --output DIR (training) */
	const char *checkpoints;  /* --checkpoints URI: CheckpointConfig.S3Uri */
	const char *distribution; /* --distribution torch|mpi */
	int processes_per_host;	  /* --processes-per-host K (0: not given) */
	const char *mpi_launcher; /* --mpi-launcher sagerun|ssh (NULL: not given) */
	const char *framework;	  /* --framework NAME[:VERSION] (NULL: not given) */
	int64_t max_run_s;	  /* --max-run (-1) */
	int64_t stop_grace_s;	  /* --stop-grace (-1) */
	const char *entry_point;  /* --entry-point FILE */
	const char *source_dir;	  /* --source-dir DIR */
	char **command;		  /* after "--": argv, NULL-terminated; NULL when absent */
	int n_command;
	/* Processing. */
	struct strv inputs;	  /* --input NAME=SOURCE[,key=value...] */
	struct strv outputs;	  /* --output NAME=DESTINATION[,key=value...] */
	const char *code;	  /* --code FILE: ScriptProcessor's code */
	const char *proc_command; /* --command 'WORDS': ScriptProcessor's command */
	const char *image;	  /* --image: a processing job's AppSpecification.ImageUri */
	/* The job runs elsewhere (an engine other than local), where the service honours every
	 * field: no warnings about what this machine does not honour. */
	bool remote;
};

void job_flags_init(struct job_flags *f);
void job_flags_release(struct job_flags *f);

/* Build a job from the spec file (if any) and the flags, apply defaults, resolve local paths
 * (channels, output, checkpoints, source dir) to absolute ones and validate everything.
 * Warnings are appended to `warnings`, one line each: a flag that replaces part of the spec,
 * and (unless flags->remote) a field accepted but not honoured locally.  On error the message names
 * the source: the flag (`--hp`), or `FILE:LINE:COL: JSON.Path`.  Nothing is created on disk. */
int job_build(const struct job_flags *flags, struct job *ret, struct strv *warnings,
	      struct sr_error *err);

/* Parse a Create<Kind>Job request of `kind` (text, at most 1 MiB) into `job`, whose kind it
 * becomes: fields present replace those in `job` (start from a zeroed one); no defaults, no
 * paths resolved.  Each value is
 * checked against the service's rules where it stands, so errors read
 * `ORIGIN:LINE:COL: Json.Path: what is expected`; unknown fields are errors, fields sagerun
 * cannot honour add one warning each.  `origin` names the file in messages.  On error `job`
 * may be partly filled: job_release() it. */
int job_spec_parse(const struct job_kind *kind, const char *text, size_t len, const char *origin,
		   struct job *job, struct strv *warnings, struct sr_error *err);

/* Validate as Create<Kind>Job does: what every job has, then the kind's own rules. */
int job_validate(const struct job *job, struct sr_error *err);

/* The request JSON (Create<Kind>Job shape, API field names) for describe output.
 * Returns a new reference. */
struct json_t *job_request_json(const struct job *job);
/* The same request as the service gets it: the Environment's values as given (engines that
 * submit the job).  New reference. */
struct json_t *job_api_request_json(const struct job *job);

/* A processing job's /opt/ml/config/processingjobconfig.json: the request as the service
 * echoes it into every host, with ProcessingJobArn and the Environment's values (the host
 * needs them).  New reference. */
struct json_t *job_processing_config_json(const struct job *job);

/* "<base>-YYYYMMDD-HHMMSS-<4 random>" with base cleaned to the name pattern. */
char *job_default_name(const char *base, int64_t wall_ms);

/* True when `name` matches [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}. */
bool job_name_valid(const char *name);

void job_release(struct job *job);

#endif
