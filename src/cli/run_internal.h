/* run_internal.h - what run.c (train) shares with compose.c: one job's state and the steps
 * both take to build it and lay out its hosts.  cli/ only. */
#ifndef SR_CLI_RUN_INTERNAL_H
#define SR_CLI_RUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "hosts/hosts.h"
#include "job/job.h"
#include "job/status.h"

struct run_opts;
struct sr_error;
struct store;

struct run {
	struct job job;
	struct job_status status;
	char *job_dir;
	char *describe_path;
	struct host *hosts;
	size_t n_hosts;
	size_t printed;			    /* transitions already printed */
	const struct host_backend *backend; /* borrowed */
	struct host_group group;
	struct host_container container; /* container backends: what group.container points at */
	char *toolkit_binary;		 /* --toolkit builtin: the static sagerun (owned) */
	char agent_secret[65];		 /* the job's rsh agent secret, hex; never printed */
	bool color;
	struct store *store; /* the job is recorded there once inserted */
	bool recorded;
	int lease_fd;	  /* our lease on the job folder (store.h), held until we exit */
	int detach_fd;	  /* -d: tells the launching process the job is recorded, -1 otherwise */
	int saved_stderr; /* -d: the launcher's stderr until then */
	bool source_uploaded;
	pid_t ns_probe; /* the ns probe's child, to reap (hosts.h: host_ns_available) */
};

/* job_build with its warnings and error printed; < 0 when the job cannot be built. */
int run_build_job(struct job *job, const struct job_flags *flags);

/* The backend (--backend auto picks ns when namespaces can be made here, else process;
 * docker when --image is given), checked against the job's other options: the exit code of
 * a usage error (printed), or 0.  backend_pick.c. */
int run_pick_backend(struct run *run, const struct run_opts *opts);
/* Container backends: the image (--image or the spec's) and the toolkit binary; the exit
 * code of a usage error (printed), or 0. */
int run_container_options(struct run *run, const struct run_opts *opts);
/* Point run->group at run->container, filled for this job (its name and folder known). */
void run_container_bind(struct run *run, const struct run_opts *opts);

/* S3 channels into the cache and the job folder, before any host is laid out. */
int run_stage_s3_channels(struct run *run, struct sr_error *err);
/* Point each S3 channel at the folder host `index` sees. */
void run_set_s3_channel_paths(struct run *run, size_t index);
/* Where host `h`'s tree goes: root and opt_ml under the job folder unless set (nothing is
 * made yet). */
void run_host_paths(struct run *run, struct host *h);
/* Lay out one host: its tree, config files, agent config, channels, environment, argv
 * (host_layout.c). */
int run_prepare_host(struct run *run, struct host *h, struct sr_error *err);
/* model.tar.gz and output.tar.gz under <output>/<job>/output/ from every host (package.c),
 * uploaded when the output is on S3; run->status.model_artifacts says where. */
int run_package(struct run *run, struct sr_error *err);

#endif
