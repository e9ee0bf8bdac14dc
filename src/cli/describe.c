/* describe.c - `sagerun describe JOB`: the job's Describe*Job response, from its engine. */
#include "cli/cli.h"
#include "cli/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "engines/engine.h"
#include "store/store.h"
#include "util/error.h"

int cmd_describe(int argc, char **argv, struct sr_ctx *ctx)
{
	const struct cli_option opts[] = {CLI_END()};
	const struct cli_command cmd = {
	    .usage = "sagerun describe JOB",
	    .summary = "Print a job's DescribeTrainingJob response (JSON), with each host's state, "
		       "exit code or\nsignal, and times under \"Hosts\".",
	    .options = opts,
	    .min_args = 1,
	    .max_args = 1,
	    .what = "job",
	};
	struct job_report rep = cli_report(ctx);
	struct store_job_row row = {0};
	struct sr_error err = {0};
	const struct engine *e;
	char *text = NULL;
	struct cli_args args;
	int r;

	if (!cli_parse(argc, argv, &cmd, &args, &r))
		return r;
	r = engine_job_open(args.v[0], &row, &e, &rep, &err);
	if (r >= 0) {
		r = e->status(&row, &rep, &text, &err);
		store_job_row_release(&row);
	}
	if (r < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}
