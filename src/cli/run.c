/* run.c - `sagerun train` and `sagerun process`: the job from its flags, run by its engine,
 * the exit status from how it ended.  The two differ only in the kind of job their flags
 * make (cli_job_options). */
#include "cli/cli.h"
#include "cli/job_options.h"

#include <stdio.h>

#include "engines/engine.h"
#include "job/job.h"
#include "job/kind.h"
#include "job/report.h"
#include "util/error.h"

static int run_job(int argc, char **argv, struct sr_ctx *ctx, const struct job_kind *kind,
		   const struct cli_command *proto)
{
	struct cli_option opts[2 * CLI_JOB_OPTIONS_MAX + 4];
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
	if (code == 0) {
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
		if (engine_find("local")->submit(&job, &eo, &rep, &res, &err) < 0) {
			cli_print_error(&err);
			code = res.usage ? EXIT_USAGE : EXIT_FAILED;
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
