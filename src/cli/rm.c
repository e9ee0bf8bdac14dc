/* rm.c - `sagerun rm JOB...`: forget ended jobs here (their records and folders); their outputs
 * (model.tar.gz) stay where they were written. */
#include "cli/cli.h"
#include "cli/options.h"

#include <errno.h>
#include <stdio.h>

#include "engines/engine.h"
#include "store/store.h"
#include "util/error.h"
#include "util/xalloc.h"

/* Remove one job through its engine; 0 or < 0 (printed). */
static int remove_one(struct store *s, const char *name, const struct job_report *rep)
{
	struct store_job_row row = {0};
	struct sr_error err = {0};
	const struct engine *e;
	int r;

	/* Without a record (a folder a lost supervisor left before recording it), the local
	 * engine's, whose folders those are. */
	if (store_job_get(s, name, &row, NULL, NULL) < 0)
		row.name = xstrdup(name);
	e = engine_of(&row, &err);
	r = e ? e->remove(s, &row, rep, &err) : -ENOSYS;
	store_job_row_release(&row);
	if (r < 0)
		cli_print_error(&err);
	return r;
}

int cmd_rm(int argc, char **argv, struct sr_ctx *ctx)
{
	const struct cli_option opts[] = {CLI_END()};
	const struct cli_command cmd = {
	    .usage = "sagerun rm JOB...",
	    .summary = "Remove jobs that have ended: their record and their job folder (hosts' "
		       "trees, logs).\nOutputs (model.tar.gz) stay where they were written.  A "
		       "running job is refused.",
	    .options = opts,
	    .min_args = 1,
	    .max_args = -1,
	    .what = "job",
	};
	struct job_report rep = cli_report(ctx);
	struct sr_error err = {0};
	struct store *s = NULL;
	struct cli_args args;
	int code;

	if (!cli_parse(argc, argv, &cmd, &args, &code))
		return code;
	if (engine_store_open(&s, &rep, &err) < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	for (int i = 0; i < args.n; i++) {
		if (remove_one(s, args.v[i], &rep) < 0)
			code = EXIT_FAILED;
		else
			printf("%s\n", args.v[i]);
	}
	store_close(s);
	return code;
}
