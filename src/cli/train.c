/* train.c - `sagerun train`: parse flags into struct job_flags, build the job, run it. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"
#include "job/job.h"
#include "util/error.h"

static const char train_usage[] =
    "sagerun train [-d] [--spec FILE] [options] [--entry-point FILE [--source-dir DIR]] "
    "[-- COMMAND ARGS...]";

#define JOB_OPTIONS_HELP                                                                           \
	"Job:\n"                                                                                   \
	"  --spec FILE              a CreateTrainingJob request JSON (as for\n"                    \
	"                           aws sagemaker create-training-job --cli-input-json)\n"         \
	"  --name NAME              TrainingJobName (default: <entry>-YYYYMMDD-HHMMSS-xxxx)\n"     \
	"  --hosts N                InstanceCount (default 1)\n"                                   \
	"  --instance-type TYPE     InstanceType (default ml.m5.large)\n"                          \
	"  --hp KEY=VALUE           a hyperparameter (repeatable)\n"                               \
	"  --channel NAME=PATH      an input channel: a local folder, file:// or s3:// URI "       \
	"(repeatable)\n"                                                                           \
	"                           options: "                                                     \
	"NAME=s3://...,distribution=sharded,compression=gzip,\n"                                   \
	"                           type=manifest (see docs/cli.md)\n"                             \
	"  --output URI             S3OutputPath: a local folder or s3:// URI\n"                   \
	"                           (default ./sagerun-output)\n"                                  \
	"  --checkpoints URI        CheckpointConfig.S3Uri: each host's /opt/ml/checkpoints\n"     \
	"                           restored from it before Training and saved to it after\n"      \
	"                           (s3:// or a local folder)\n"                                   \
	"  --env KEY=VALUE          an Environment variable (repeatable)\n"                        \
	"  --max-run SECONDS        MaxRuntimeInSeconds (default 86400)\n"                         \
	"  --stop-grace SECONDS     SIGTERM-to-SIGKILL window on stop or failure (default 120)\n"  \
	"  --entry-point FILE       script mode: the program to run (.py, .sh or executable)\n"    \
	"  --source-dir DIR         script mode: the folder holding the entry point\n"             \
	"  --distribution torch     K processes per host with torchrun's environment\n"            \
	"                           (MASTER_ADDR, RANK, WORLD_SIZE, ...), without torchrun\n"      \
	"  --distribution mpi       the first host runs mpirun across all, through sagerun's\n"    \
	"                           agent instead of sshd\n"                                       \
	"  --processes-per-host K   processes per host for --distribution (default 1)\n"           \
	"  --mpi-launcher ssh       the training toolkit's way instead: sshd on every host and\n"  \
	"                           mpirun over ssh (container hosts; the image needs sshd)\n"     \
	"  -- COMMAND ARGS...       run COMMAND instead (ContainerEntrypoint + "                   \
	"ContainerArguments)\n"

static const char train_help[] =
    "Run a SageMaker training job on N emulated hosts on this machine.\n"
    "\n" JOB_OPTIONS_HELP "\n"
    "Hosts:\n"
    "  --backend NAME           auto (default: ns when namespaces can be made, else process),\n"
    "                           ns (hostname, /opt/ml, network and processes of its own per\n"
    "                           host) or process (plain process groups)\n"
    "  --network MODE           private (default: hosts reach each other and nothing else)\n"
    "                           or host (share this machine's network; ns backend)\n"
    "  --subnet CIDR            the private network's subnet (default 10.0.0.0/24)\n"
    "  --backend docker         each host a container of --image on the local Docker\n"
    "                           engine (its Unix socket, or DOCKER_HOST=unix://PATH)\n"
    "  --image IMAGE            the image (default: the spec's TrainingImage); given on\n"
    "                           the command line, it makes --backend auto pick docker\n"
    "  --toolkit builtin        mount a static sagerun as the entrypoint (`sagerun\n"
    "                           container train`), for images without a training toolkit;\n"
    "                           default: the image's own entrypoint gets `train`\n"
    "  --gpus-per-host N|all    GPUs per container (the engine's DeviceRequests)\n"
    "  --shm-size SIZE          /dev/shm of each container: bytes, or with k, m, g\n"
    "\n"
    "  -d, --detach             print the job's name and return; the job runs on (see\n"
    "                           sagerun ps, logs -f, stop, wait)\n"
    "\n"
    "Exit status: 0 Completed, 1 Failed, 2 usage error, 130 Stopped.\n";

enum {
	OPT_SPEC = 256,
	OPT_NAME,
	OPT_HOSTS,
	OPT_INSTANCE_TYPE,
	OPT_HP,
	OPT_CHANNEL,
	OPT_OUTPUT,
	OPT_CHECKPOINTS,
	OPT_DISTRIBUTION,
	OPT_PPH,
	OPT_MPI_LAUNCHER,
	OPT_ENV,
	OPT_MAX_RUN,
	OPT_STOP_GRACE,
	OPT_ENTRY_POINT,
	OPT_SOURCE_DIR,
	OPT_BACKEND,
	OPT_NETWORK,
	OPT_SUBNET,
	OPT_IMAGE,
	OPT_TOOLKIT,
	OPT_GPUS,
	OPT_SHM_SIZE,
};

static const struct option train_options[] = {
    {"backend", required_argument, NULL, OPT_BACKEND},
    {"detach", no_argument, NULL, 'd'},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"entry-point", required_argument, NULL, OPT_ENTRY_POINT},
    {"env", required_argument, NULL, OPT_ENV},
    {"help", no_argument, NULL, 'h'},
    {"hosts", required_argument, NULL, OPT_HOSTS},
    {"hp", required_argument, NULL, OPT_HP},
    {"instance-type", required_argument, NULL, OPT_INSTANCE_TYPE},
    {"max-run", required_argument, NULL, OPT_MAX_RUN},
    {"name", required_argument, NULL, OPT_NAME},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"checkpoints", required_argument, NULL, OPT_CHECKPOINTS},
    {"distribution", required_argument, NULL, OPT_DISTRIBUTION},
    {"processes-per-host", required_argument, NULL, OPT_PPH},
    {"mpi-launcher", required_argument, NULL, OPT_MPI_LAUNCHER},
    {"source-dir", required_argument, NULL, OPT_SOURCE_DIR},
    {"spec", required_argument, NULL, OPT_SPEC},
    {"stop-grace", required_argument, NULL, OPT_STOP_GRACE},
    {"subnet", required_argument, NULL, OPT_SUBNET},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"toolkit", required_argument, NULL, OPT_TOOLKIT},
    {"gpus-per-host", required_argument, NULL, OPT_GPUS},
    {"shm-size", required_argument, NULL, OPT_SHM_SIZE},
    {NULL, 0, NULL, 0},
};

/* A non-negative decimal integer no larger than `max`, or -1. */
static int64_t parse_count(const char *s, int64_t max)
{
	char *end;
	long long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	return v;
}

int cli_train_parse(int argc, char **argv, const struct cli_train_cmd *cmd, struct job_flags *f,
		    struct run_opts *o)
{
	struct job_flags flags = *f;
	struct run_opts ropts = *o;
	int c, r;
	int64_t v;

	optind = 0; /* "+": stop at the first non-option; "--" ends the options */
	while ((c = getopt_long(argc, argv, cmd->compose ? "+ho:" : "+hd", train_options, NULL)) !=
	       -1) {
		switch (c) {
		case 'd':
			ropts.detach = true;
			ropts.color = false;
			break;
		case 'o':
			*cmd->compose_out = optarg;
			break;
		case 'h':
			printf("usage: %s\n\n%s", cmd->usage, cmd->help);
			job_flags_release(&flags);
			return CLI_TRAIN_HELP;
		case OPT_SPEC:
			flags.spec_path = optarg;
			break;
		case OPT_NAME:
			flags.name = optarg;
			break;
		case OPT_HOSTS:
			v = parse_count(optarg, 1000000);
			if (v < 0) {
				job_flags_release(&flags);
				return cli_usage_error(
				    cmd->usage, "--hosts: expected a whole number >= 1, got '%s'",
				    optarg);
			}
			flags.hosts = (int)v;
			break;
		case OPT_INSTANCE_TYPE:
			flags.instance_type = optarg;
			break;
		case OPT_HP:
			strv_push(&flags.hps, optarg);
			break;
		case OPT_CHANNEL:
			strv_push(&flags.channels, optarg);
			break;
		case OPT_OUTPUT:
			flags.output = optarg;
			break;
		case OPT_CHECKPOINTS:
			flags.checkpoints = optarg;
			break;
		case OPT_DISTRIBUTION:
			flags.distribution = optarg;
			break;
		case OPT_PPH: {
			char *end;
			long k;

			errno = 0;
			k = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || k < 1 || k > 1024)
				return cli_usage_error(cmd->usage,
						       "--processes-per-host needs a number "
						       "from 1 to 1024");
			flags.processes_per_host = (int)k;
			break;
		}
		case OPT_MPI_LAUNCHER:
			flags.mpi_launcher = optarg;
			break;
		case OPT_ENV:
			strv_push(&flags.envs, optarg);
			break;
		case OPT_MAX_RUN:
		case OPT_STOP_GRACE:
			v = parse_count(optarg, INT64_C(100) * 365 * 86400);
			if (v < 0) {
				job_flags_release(&flags);
				return cli_usage_error(
				    cmd->usage, "%s: expected a number of seconds, got '%s'",
				    c == OPT_MAX_RUN ? "--max-run" : "--stop-grace", optarg);
			}
			if (c == OPT_MAX_RUN)
				flags.max_run_s = v;
			else
				flags.stop_grace_s = v;
			break;
		case OPT_ENTRY_POINT:
			flags.entry_point = optarg;
			break;
		case OPT_SOURCE_DIR:
			flags.source_dir = optarg;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "process") && strcmp(optarg, "auto") &&
			    strcmp(optarg, "ns") && strcmp(optarg, "docker")) {
				job_flags_release(&flags);
				return cli_usage_error(
				    cmd->usage,
				    "--backend: unknown backend '%s' (expected auto, "
				    "ns, process or docker)",
				    optarg);
			}
			ropts.backend = optarg;
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "private") && strcmp(optarg, "host")) {
				job_flags_release(&flags);
				return cli_usage_error(
				    cmd->usage, "--network: expected private or host, got '%s'",
				    optarg);
			}
			ropts.network_host = !strcmp(optarg, "host");
			break;
		case OPT_SUBNET:
			ropts.subnet = optarg;
			break;
		case OPT_IMAGE:
		case OPT_TOOLKIT:
		case OPT_GPUS:
		case OPT_SHM_SIZE:
			r = cli_container_option(c - OPT_IMAGE, optarg, &ropts, cmd->usage);
			if (r) {
				job_flags_release(&flags);
				return r;
			}
			break;
		default:
			job_flags_release(&flags);
			fprintf(stderr, "usage: %s\n", cmd->usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--")) {
			r = cli_usage_error(cmd->usage,
					    "unexpected argument '%s': put a command after '--'",
					    argv[optind]);
			job_flags_release(&flags);
			return r;
		}
		flags.command = argv + optind;
		flags.n_command = argc - optind;
	}
	*f = flags;
	*o = ropts;
	return 0;
}

int cmd_train(int argc, char **argv, struct sr_ctx *ctx)
{
	static const struct cli_train_cmd cmd = {.usage = train_usage, .help = train_help};
	struct job_flags flags;
	struct run_opts ropts = {.color = ctx->color, .backend = "auto"};
	int r;

	job_flags_init(&flags);
	r = cli_train_parse(argc, argv, &cmd, &flags, &ropts);
	if (r)
		return r == CLI_TRAIN_HELP ? 0 : r;
	r = run_training_job(&flags, &ropts);
	job_flags_release(&flags);
	return r;
}

const char cli_job_options_help[] = JOB_OPTIONS_HELP;
