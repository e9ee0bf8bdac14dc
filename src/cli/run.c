/* run.c - `sagerun train` and `sagerun process`: the job from its flags, run by its engine,
 * the exit status from how it ended.  The two differ only in the kind of job their flags
 * make (cli_job_options). */
#include "cli/cli.h"
#include "cli/job_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/engine.h"
#include "job/job.h"
#include "job/kind.h"
#include "job/report.h"
#include "util/error.h"

static const char *const engine_names[] = {"local", "sagemaker", NULL};

/* The Engine: rows; how many. */
static size_t engine_options(struct cli_option *o, const char **engine, struct engine_options *eo)
{
	const struct cli_option rows[] = {
	    CLI_GROUP("Engine:"),
	    CLI_CHOICE(0, "engine", engine, "local|sagemaker", engine_names,
		       "where the job runs: local (default): N hosts on this\n"
		       "machine, made by a --backend; sagemaker: on Amazon\n"
		       "SageMaker itself (see docs/engines.md)"),
	    CLI_STRING(0, "role", &eo->role, "ARN",
		       "sagemaker: RoleArn, the role the job runs as (default:\n"
		       "the spec's, else $SAGERUN_ROLE_ARN)"),
	    CLI_BOOL(0, "dry-run", &eo->dry_run,
		     "sagemaker: print the request that would be sent, and\n"
		     "what would be uploaded; send nothing"),
	    CLI_BOOL(0, "download", &eo->download,
		     "sagemaker: once the job completes, download its outputs\n"
		     "into the local output folder"),
	};
	memcpy(o, rows, sizeof(rows));
	return sizeof(rows) / sizeof(rows[0]);
}

/* The sagemaker engine's flags without it: a usage error, not silence. */
static int check_engine_flags(const char *engine, const struct engine_options *eo)
{
	const char *flag = eo->dry_run	  ? "--dry-run"
			   : eo->download ? "--download"
			   : eo->role	  ? "--role"
					  : NULL;

	if (!flag || strcmp(engine, "local"))
		return 0;
	fprintf(stderr, "sagerun: error: %s is for --engine sagemaker\n", flag);
	return EXIT_USAGE;
}

/* The local engine's job flags on another engine: a usage error that says why and what to
 * do, not silence (the host flags are the engine's own to refuse: engines/sagemaker.c). */
static int check_local_job_flags(const char *engine, const struct cli_job_vars *jv)
{
	const char *flag = NULL, *why = NULL, *hint = NULL;
	struct sr_error err = {0};

	if (!strcmp(engine, "local"))
		return 0;
	if (jv->stop_grace >= 0) {
		flag = "--stop-grace";
		why = "how long its hosts get between the stop signal and SIGKILL; the service "
		      "gives 120 seconds, and no request field changes that";
		hint = "drop --stop-grace: a job that saves its state on SIGTERM must do it "
		       "within those 120 seconds";
	} else if (jv->flags.mpi_launcher) {
		flag = "--mpi-launcher";
		why = "how it starts mpirun; on the service the image's training toolkit always "
		      "runs mpirun over ssh";
		hint = "drop --mpi-launcher (--distribution mpi is what the service reads)";
	}
	if (!flag)
		return 0;
	sr_err(&err, -EINVAL, "%s: the local engine's option: %s", flag, why);
	sr_err_hint(&err, "%s", hint);
	cli_print_error(&err);
	return EXIT_USAGE;
}

static int run_job(int argc, char **argv, struct sr_ctx *ctx, const struct job_kind *kind,
		   const struct cli_command *proto)
{
	struct cli_option opts[2 * CLI_JOB_OPTIONS_MAX + 12];
	const char *engine = "local";
	struct cli_command cmd = *proto;
	struct cli_job_vars jv;
	struct cli_host_vars hv;
	struct engine_options eo = {0};
	struct launch_result res;
	struct sr_error err = {0};
	struct cli_args args;
	struct job job = {0};
	struct sr_ctx quiet = *ctx;
	struct job_report rep;
	size_t n;
	int code;

	cmd.options = opts;
	cmd.rest = true;
	cli_job_vars_init(&jv);
	cli_host_vars_init(&hv, ctx);
	n = cli_job_options(&jv, opts, kind);
	n += cli_host_options(&hv, opts + n, false, kind);
	n += engine_options(opts + n, &engine, &eo);
	opts[n++] = (struct cli_option)CLI_GROUP("");
	opts[n++] =
	    (struct cli_option)CLI_BOOL('d', "detach", &eo.detach,
					"print the job's name and return; the job runs on (see\n"
					"sagerun ps, logs -f, stop, wait)");
	opts[n] = (struct cli_option)CLI_END();

	if (!cli_parse(argc, argv, &cmd, &args, &code)) {
		cli_job_vars_release(&jv);
		return code;
	}
	cli_job_vars_finish(&jv, &args);
	code = check_engine_flags(engine, &eo);
	if (code == 0)
		code = check_local_job_flags(engine, &jv);
	if (code == 0) {
		jv.flags.remote = strcmp(engine, "local") != 0;
		cli_host_vars_finish(&hv);
		jv.flags.image = hv.lo.hosts.image;
		/* -d: the status lines go to the job folder's log, never in colour. */
		quiet.color = ctx->color && !eo.detach;
		hv.lo.color = quiet.color;
		eo.local = hv.lo;
		rep = cli_report(&quiet);
		code = cli_job_build(&jv.flags, &job, &rep);
	}
	if (code == 0) {
		if (engine_find(engine)->submit(&job, &eo, &rep, &res, &err) < 0) {
			cli_print_error(&err);
			code = res.usage ? EXIT_USAGE : EXIT_FAILED;
		} else if (res.request) {
			printf("%s\n", res.request);
			free(res.request);
		} else if (res.detached) {
			printf("%s\n", job.name);
		} else if (!res.quiet) {
			code = cli_exit_for_state(res.state);
		}
		job_release(&job);
	}
	cli_job_vars_release(&jv);
	return code;
}

int cmd_train(int argc, char **argv, struct sr_ctx *ctx)
{
	static const struct cli_command cmd = {
	    .usage = "sagerun train [-d] [--spec FILE] [options] [--entry-point FILE "
		     "[--source-dir DIR]] [-- COMMAND ARGS...]",
	    .summary = "Run a SageMaker training job on N emulated hosts on this machine.",
	    .epilog = "Exit status: 0 Completed, 1 Failed, 2 usage error, 130 Stopped.\n",
	};

	return run_job(argc, argv, ctx, &job_kind_training, &cmd);
}

int cmd_process(int argc, char **argv, struct sr_ctx *ctx)
{
	static const struct cli_command cmd = {
	    .usage = "sagerun process [-d] [--spec FILE] [options] [--input NAME=SOURCE]... "
		     "[--output NAME=DEST]... [--code FILE | --source-dir DIR --entry-point FILE] "
		     "[-- COMMAND ARGS...]",
	    .summary = "Run a SageMaker processing job on N emulated hosts on this machine: each\n"
		       "input at its /opt/ml/processing/ folder in every host, each output\n"
		       "uploaded from every host when the job ends (or as files are closed,\n"
		       "with upload=continuous).",
	    .epilog = "Exit status: 0 Completed, 1 Failed, 2 usage error, 130 Stopped.\n",
	};

	return run_job(argc, argv, ctx, &job_kind_processing, &cmd);
}
