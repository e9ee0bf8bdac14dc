/* job_options.h - the Job: and Hosts: flags train, process and compose share (job_options.c). */
#ifndef SR_CLI_JOB_OPTIONS_H
#define SR_CLI_JOB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/options.h"
#include "job/job.h"
#include "launch/launch.h"

struct job_kind;
struct job_report;
struct sr_ctx;

/* Room for either group's rows. */
#define CLI_JOB_OPTIONS_MAX 24

struct cli_job_vars {
	struct job_flags flags;
	int64_t hosts, max_run, stop_grace, pph; /* -1 / 0: not given */
};

void cli_job_vars_init(struct cli_job_vars *v);
void cli_job_vars_release(struct cli_job_vars *v);
/* The Job: rows of a job of `kind` into `o` (CLI_JOB_OPTIONS_MAX of room); how many.  The
 * flags make a job of that kind. */
size_t cli_job_options(struct cli_job_vars *v, struct cli_option *o, const struct job_kind *kind);
/* The numbers into the flags, the command after "--". */
void cli_job_vars_finish(struct cli_job_vars *v, const struct cli_args *args);

struct cli_host_vars {
	struct launch_options lo;
	const char *network, *toolkit;
	char backend_help[1024];
};

void cli_host_vars_init(struct cli_host_vars *v, const struct sr_ctx *ctx);
/* The Hosts: rows (compose: only those a compose file has); how many. */
size_t cli_host_options(struct cli_host_vars *v, struct cli_option *o, bool compose,
			const struct job_kind *kind);
void cli_host_vars_finish(struct cli_host_vars *v);

/* job_build with its warnings said through `rep` and its error printed: 0, or the exit
 * status of a usage error (the job released). */
int cli_job_build(const struct job_flags *flags, struct job *job, const struct job_report *rep);

#endif
