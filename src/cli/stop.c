/* stop.c - `sagerun stop JOB`: as StopTrainingJob: Stopping, the stop grace, Stopped.  The
 * supervisor gets SIGTERM, exactly as from Ctrl-C; this returns when the job has ended. */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/error.h"

static const char stop_usage[] = "sagerun stop JOB...";

static int stop_one(const char *name)
{
	struct store_job_row row = {0}, final = {0};
	struct sr_error err = {0};
	struct store *s = NULL;
	int r;

	if (cli_store_open(&s) < 0)
		return EXIT_FAILED;
	r = store_job_get(s, name, &row, NULL, &err);
	store_close(s);
	if (r < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	if (strcmp(row.status, "InProgress") && strcmp(row.status, "Stopping")) {
		fprintf(stderr, "sagerun: %s: already ended: %s\n", name, row.status);
		store_job_row_release(&row);
		return 0;
	}
	r = store_lease_signal(row.folder, SIGTERM, &err);
	store_job_row_release(&row);
	/* -ESRCH: it ended (or died) between the read and the signal; the wait tells which. */
	if (r < 0 && r != -ESRCH) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	if (r == 0)
		fprintf(stderr, "sagerun: %s: Stopping\n", name);
	if (cli_job_wait(name, &final) < 0)
		return EXIT_FAILED;
	fprintf(stderr, "sagerun: %s: %s\n", name, final.status);
	store_job_row_release(&final);
	return 0;
}

int cmd_stop(int argc, char **argv, struct sr_ctx *ctx)
{
	int code = 0;

	(void)ctx;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s\n\nStop running jobs as StopTrainingJob does: the hosts get "
		       "SIGTERM, then SIGKILL after the job's stop grace; the job ends Stopped.  "
		       "Returns when every job has ended.\n",
		       stop_usage);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error(stop_usage, "which job?");
	for (int i = 1; i < argc; i++)
		if (stop_one(argv[i]) != 0)
			code = EXIT_FAILED;
	return code;
}
