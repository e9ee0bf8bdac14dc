/* compose.c - `sagerun compose`: the job of `sagerun train`, written as a docker-compose.yml. */
#include "cli/cli.h"

#include <stdio.h>

#include "cli/run.h"
#include "job/job.h"

static const char compose_usage[] =
    "sagerun compose [--spec FILE] [options] --image IMAGE [-o FILE] "
    "[--entry-point FILE [--source-dir DIR]] [-- COMMAND ARGS...]";

static const char compose_help_head[] =
    "Lay out each host's /opt/ml on disk and write a docker-compose.yml that runs the job's\n"
    "hosts as containers: services algo-1..algo-N on one network, each with its hostname,\n"
    "the contract's environment (SM_TRAINING_ENV, SM_HOSTS, ..., WORLD_SIZE, MASTER_ADDR),\n"
    "its /opt/ml and channels mounted, and the command: the same containers as\n"
    "`sagerun train --backend docker`.  Credentials in the job's environment are written by\n"
    "name only: docker-compose takes their values from its own environment.\n"
    "\n"
    "  -o FILE                  the compose file (default\n"
    "                           ./docker-compose-<job>-<N>workers.yaml); the hosts' trees go\n"
    "                           to sagerun-<job>/ beside it\n"
    "  --image IMAGE            the image (default: the spec's TrainingImage)\n"
    "  --toolkit builtin        a static sagerun mounted as the entrypoint\n"
    "  --gpus-per-host N|all    GPUs per service (deploy.resources.reservations.devices)\n"
    "  --shm-size SIZE          shm_size of each service\n"
    "  --network host           a network that is not internal\n"
    "\n";

int cmd_compose(int argc, char **argv, struct sr_ctx *ctx)
{
	const char *out = NULL;
	char help[8192];
	struct cli_train_cmd cmd = {
	    .usage = compose_usage, .help = help, .compose = true, .compose_out = &out};
	struct job_flags flags;
	struct run_opts ropts = {.color = false, .backend = "docker"};
	int r;

	(void)ctx;
	snprintf(help, sizeof(help), "%s%s", compose_help_head, cli_job_options_help);
	job_flags_init(&flags);
	r = cli_train_parse(argc, argv, &cmd, &flags, &ropts);
	if (r)
		return r == CLI_TRAIN_HELP ? 0 : r;
	r = run_compose_job(&flags, &ropts, out);
	job_flags_release(&flags);
	return r;
}
