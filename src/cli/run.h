/* run.h - run one job on this machine: stage, lay out hosts, supervise, package. */
#ifndef SR_CLI_RUN_H
#define SR_CLI_RUN_H

#include <stdbool.h>

struct job_flags;

struct run_opts {
	bool color;
	const char *backend; /* "auto", "ns", "process" or "docker" */
	bool network_host;   /* --network host */
	const char *subnet;  /* --subnet CIDR, NULL = the default */
	bool detach;	     /* -d: return once the job is recorded; it runs on detached */
	/* Container hosts (--backend docker, sagerun compose). */
	const char *image;    /* --image; NULL: the spec's TrainingImage */
	bool toolkit_builtin; /* --toolkit builtin: a static sagerun is the entrypoint */
	int gpus_per_host;    /* --gpus-per-host: 0 none, -1 all */
	long long shm_bytes;  /* --shm-size; 0: the engine's default */
};

/* Build the job from flags, run it to the end and return sagerun's exit code (0 Completed,
 * 1 Failed, 2 usage error, 130 Stopped).  Prints status transitions and errors itself. */
int run_training_job(const struct job_flags *flags, const struct run_opts *opts);

/* $SAGERUN_HOME, else $XDG_DATA_HOME/sagerun, else ~/.local/share/sagerun (caller frees). */
char *run_home_dir(void);

#endif
