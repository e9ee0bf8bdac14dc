/* wait.c - `sagerun wait JOB`: block until the job ends; exit as `train` would. */
#include "cli/cli.h"
#include "cli/options.h"

#include <stdio.h>

#include "engines/engine.h"
#include "store/store.h"
#include "util/error.h"

int cmd_wait(int argc, char **argv, struct sr_ctx *ctx)
{
	const struct cli_option opts[] = {CLI_END()};
	const struct cli_command cmd = {
	    .usage = "sagerun wait JOB",
	    .summary = "Block until the job ends.  Exit status as sagerun train: 0 Completed, 1 "
		       "Failed, 130 Stopped.",
	    .options = opts,
	    .min_args = 1,
	    .max_args = 1,
	    .what = "job",
	};
	struct job_report rep = cli_report(ctx);
	struct store_job_row row = {0};
	struct sr_error err = {0};
	struct cli_args args;
	int code;

	if (!cli_parse(argc, argv, &cmd, &args, &code))
		return code;
	if (engine_job_wait(args.v[0], &row, &rep, &err) < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	fprintf(stderr, "sagerun: %s: %s\n", row.name, row.status);
	if (row.failure_reason)
		fprintf(stderr, "sagerun: %s: FailureReason: %s\n", row.name, row.failure_reason);
	code = cli_exit_for_status(row.status);
	store_job_row_release(&row);
	return code;
}
