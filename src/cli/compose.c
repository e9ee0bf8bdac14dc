/* compose.c - `sagerun compose [train|process]`: the job of `sagerun train` (or of `sagerun
 * process`), written as a docker-compose.yml. */
#include "cli/cli.h"
#include "cli/job_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/kind.h"
#include "job/report.h"
#include "launch/launch.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char compose_usage[] =
    "sagerun compose [train] [--spec FILE] [options] --image IMAGE [-o FILE] "
    "[--entry-point FILE [--source-dir DIR]] [-- COMMAND ARGS...]\n"
    "sagerun compose process [--spec FILE] [options] --image IMAGE [-o FILE] "
    "[--input ...] [--output ...] [-- COMMAND ARGS...]";

static const char compose_summary[] =
    "Lay out each host's /opt/ml on disk and write a docker-compose.yml that runs the job's\n"
    "hosts as containers: services algo-1..algo-N on one network, each with its hostname,\n"
    "the contract's environment (SM_TRAINING_ENV, SM_HOSTS, ..., WORLD_SIZE, MASTER_ADDR),\n"
    "its /opt/ml and channels mounted, and the command: the same containers as\n"
    "`sagerun train --backend docker` (`sagerun process --backend docker` with the word\n"
    "process first).  Credentials in the job's environment are written by name only:\n"
    "docker-compose takes their values from its own environment.";

/* The file, its hosts' trees beside it, and how to run it. */
static void say_written(const char *path, const struct strv *by_name)
{
	printf("%s\n", path);
	if (by_name->n) {
		_cleanup_free_ char *names = strv_join(by_name->v, " ");

		fprintf(stderr,
			"sagerun: credentials pass by name from the environment of docker-compose: "
			"export %s\n",
			names);
	}
	fprintf(stderr, "sagerun: run it: docker-compose -f %s up\n", path);
}

int cmd_compose(int argc, char **argv, struct sr_ctx *ctx)
{
	struct cli_option opts[2 * CLI_JOB_OPTIONS_MAX + 2];
	struct cli_command cmd = {
	    .usage = compose_usage, .summary = compose_summary, .options = opts, .rest = true};
	const char *out = NULL;
	struct cli_job_vars jv;
	struct cli_host_vars hv;
	struct launch_result res;
	struct strv by_name = STRV_INIT;
	struct sr_error err = {0};
	struct sr_ctx plain = *ctx;
	struct job_report rep;
	struct cli_args args;
	struct job job = {0};
	_cleanup_free_ char *path = NULL;
	const struct job_kind *kind = &job_kind_training;
	size_t n = 0;
	int code;

	/* The kind of job, as a word before the options. */
	if (argc > 1 && (!strcmp(argv[1], "process") || !strcmp(argv[1], "train"))) {
		if (!strcmp(argv[1], "process"))
			kind = &job_kind_processing;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	cli_job_vars_init(&jv);
	cli_host_vars_init(&hv, ctx);
	opts[n++] = (struct cli_option)CLI_STRING(
	    'o', NULL, &out, "FILE",
	    "the compose file (default\n"
	    "./docker-compose-<job>-<N>workers.yaml); the hosts' trees go\n"
	    "to sagerun-<job>/ beside it");
	n += cli_host_options(&hv, opts + n, true, kind);
	n += cli_job_options(&jv, opts + n, kind);
	opts[n] = (struct cli_option)CLI_END();

	if (!cli_parse(argc, argv, &cmd, &args, &code)) {
		cli_job_vars_release(&jv);
		return code;
	}
	cli_job_vars_finish(&jv, &args);
	plain.color = false;
	rep = cli_report(&plain);
	if (code == 0) {
		cli_host_vars_finish(&hv);
		jv.flags.image = hv.lo.hosts.image;
		code = cli_job_build(&jv.flags, &job, &rep);
	}
	if (code == 0) {
		if (out) {
			path = fs_abspath(out);
		} else {
			_cleanup_free_ char *name = xasprintf("docker-compose-%s-%dworkers.yaml",
							      job.name, job.instance_count);

			path = fs_abspath(name);
		}
		if (launch_compose(&job, &hv.lo, path, &rep, &by_name, &res, &err) < 0) {
			cli_print_error(&err);
			code = res.usage ? EXIT_USAGE : EXIT_FAILED;
		} else {
			say_written(path, &by_name);
		}
		job_release(&job);
	}
	strv_release(&by_name);
	cli_job_vars_release(&jv);
	return code;
}
