/* prune.c - `sagerun prune [--older-than DURATION]`: remove every ended job (older than). */
#include "cli/cli.h"
#include "cli/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/engine.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

static const char *set_duration(const struct cli_option *opt, const char *arg, char *buf,
				size_t len)
{
	if (clock_parse_duration(arg, opt->value) < 0) {
		snprintf(buf, len, "expected a duration such as 30s, 5m, 2h or 7d, got '%s'", arg);
		return buf;
	}
	return NULL;
}

static bool prunable(const struct store_job_row *r, int64_t now, int64_t older_ms)
{
	return strcmp(r->status, "InProgress") && strcmp(r->status, "Stopping") && r->end_ms &&
	       now - r->end_ms >= older_ms;
}

int cmd_prune(int argc, char **argv, struct sr_ctx *ctx)
{
	int64_t older_ms = 0, now = clock_wall_ms();
	const struct cli_option opts[] = {
	    CLI_CALLBACK(0, "older-than", &older_ms, "DURATION", set_duration,
			 "only jobs that ended longer than DURATION ago (30s, 5m, 2h, 7d)"),
	    CLI_END(),
	};
	const struct cli_command cmd = {
	    .usage = "sagerun prune [--older-than DURATION]",
	    .summary = "Remove every job that has ended (that ended longer than DURATION ago), as "
		       "sagerun rm does.\nRunning jobs are kept.",
	    .options = opts,
	};
	struct job_report rep = cli_report(ctx);
	struct store_job_row *rows = NULL;
	struct sr_error err = {0};
	struct store *s = NULL;
	struct cli_args args;
	size_t n = 0, removed = 0;
	int code;

	if (!cli_parse(argc, argv, &cmd, &args, &code))
		return code;
	if (engine_store_open(&s, &rep, &err) < 0 || store_job_list(s, true, &rows, &n, &err) < 0) {
		cli_print_error(&err);
		store_close(s);
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		const struct engine *e = engine_of(&rows[i], &err);

		if (prunable(&rows[i], now, older_ms)) {
			sr_err_clear(&err);
			if (!e || e->remove(s, &rows[i], &rep, &err) < 0) {
				cli_print_error(&err);
				code = EXIT_FAILED;
			} else {
				printf("%s\n", rows[i].name);
				removed++;
			}
		}
		store_job_row_release(&rows[i]);
	}
	free(rows);
	store_close(s);
	fprintf(stderr, "sagerun: removed %zu job%s\n", removed, removed == 1 ? "" : "s");
	return code;
}
