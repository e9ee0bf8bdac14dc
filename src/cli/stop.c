/* stop.c - `sagerun stop JOB...`: as StopTrainingJob: Stopping, the stop grace, Stopped.  Every
 * job's engine is asked first, so they stop together; this returns once each has ended. */
#include "cli/cli.h"
#include "cli/options.h"

#include <stdio.h>
#include <stdlib.h>

#include "engines/engine.h"
#include "store/store.h"
#include "util/error.h"

/* Ask the job's engine to stop it: 1 when a wait should follow, 0 when it had ended. */
static int stop_send(const char *name, const struct job_report *rep)
{
	struct store_job_row row = {0};
	struct sr_error err = {0};
	const struct engine *e;
	int r = engine_job_open(name, &row, &e, rep, &err);

	if (r >= 0) {
		r = e->stop(&row, rep, &err);
		store_job_row_release(&row);
	}
	if (r < 0) {
		cli_print_error(&err);
		return -1;
	}
	return r;
}

int cmd_stop(int argc, char **argv, struct sr_ctx *ctx)
{
	const struct cli_option opts[] = {CLI_END()};
	const struct cli_command cmd = {
	    .usage = "sagerun stop JOB...",
	    .summary = "Stop running jobs as StopTrainingJob does: the hosts get SIGTERM, then "
		       "SIGKILL after the\njob's stop grace; the job ends Stopped.  Returns when "
		       "every job has ended.",
	    .options = opts,
	    .min_args = 1,
	    .max_args = -1,
	    .what = "job",
	};
	struct job_report rep = cli_report(ctx);
	struct cli_args args;
	int code;
	int *pending;

	if (!cli_parse(argc, argv, &cmd, &args, &code))
		return code;
	pending = calloc((size_t)args.n, sizeof(*pending));
	if (!pending)
		return EXIT_FAILED;
	for (int i = 0; i < args.n; i++) {
		int r = stop_send(args.v[i], &rep);

		pending[i] = r > 0;
		if (r < 0)
			code = EXIT_FAILED;
	}
	for (int i = 0; i < args.n; i++) {
		struct store_job_row final = {0};
		struct sr_error err = {0};

		if (!pending[i])
			continue;
		if (engine_job_wait(args.v[i], &final, &rep, &err) < 0) {
			cli_print_error(&err);
			code = EXIT_FAILED;
			continue;
		}
		fprintf(stderr, "sagerun: %s: %s\n", args.v[i], final.status);
		store_job_row_release(&final);
	}
	free(pending);
	return code;
}
