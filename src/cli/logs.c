/* logs.c - `sagerun logs JOB`: the hosts' output, merged in time order; -f follows a running
 * job from any terminal and ends when the job ends.  The job's engine reads it. */
#include "cli/cli.h"
#include "cli/options.h"

#include <errno.h>
#include <stdio.h>

#include "engines/engine.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

static const char *set_since(const struct cli_option *opt, const char *arg, char *buf, size_t len)
{
	int64_t ms;

	if (clock_parse_duration(arg, &ms) < 0) {
		snprintf(buf, len, "expected a duration such as 30s, 5m, 2h or 1d, got '%s'", arg);
		return buf;
	}
	*(int64_t *)opt->value = clock_wall_ms() - ms;
	return NULL;
}

int cmd_logs(int argc, char **argv, struct sr_ctx *ctx)
{
	struct engine_logs_options lo = {.tail = -1};
	const struct cli_option opts[] = {
	    CLI_BOOL('f', "follow", &lo.follow, "keep printing new lines until the job ends"),
	    CLI_STRING(0, "host", &lo.host, "algo-N", "only this host (lines without the prefix)"),
	    CLI_INT(0, "tail", &lo.tail, "N", 0, INT64_MAX, "only the last N lines of each host"),
	    CLI_CALLBACK(0, "since", &lo.since_ms, "DURATION", set_since,
			 "only lines from the last DURATION (30s, 5m, 2h, 1d)"),
	    CLI_BOOL('t', "timestamps", &lo.timestamps,
		     "start each line with the time it was read"),
	    CLI_END(),
	};
	const struct cli_command cmd = {
	    .usage = "sagerun logs JOB [-f] [--host algo-N] [--tail N] [--since DURATION] "
		     "[--timestamps]",
	    .summary = "Print the output of a job's hosts, merged in time order, each line "
		       "prefixed with its host.",
	    .options = opts,
	    .min_args = 1,
	    .max_args = 1,
	    .what = "job",
	};
	struct job_report rep = cli_report(ctx);
	struct store_job_row row = {0};
	struct sr_error err = {0};
	const struct engine *e;
	struct cli_args args;
	int r;

	if (!cli_parse(argc, argv, &cmd, &args, &r))
		return r;
	r = engine_job_open(args.v[0], &row, &e, &rep, &err);
	if (r >= 0) {
		r = e->logs(&row, &lo, &err);
		store_job_row_release(&row);
	}
	if (r < 0) {
		cli_print_error(&err);
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
	}
	return 0;
}
