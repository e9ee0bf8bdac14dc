/* wait.c - `sagerun wait JOB`: block until the job ends; exit as `train` would. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/error.h"

static const char wait_usage[] = "sagerun wait JOB";

int cli_exit_for_status(const char *status)
{
	if (!strcmp(status, "Completed"))
		return EXIT_COMPLETED;
	if (!strcmp(status, "Stopped"))
		return EXIT_STOPPED;
	return EXIT_FAILED;
}

int cli_job_wait(const char *name, struct store_job_row *final)
{
	struct store_job_row row = {0};
	struct sr_error err = {0};
	int r = cli_job_get(name, &row, NULL);

	if (r < 0)
		return r;
	r = store_lease_wait(row.folder, &err);
	if (r < 0) {
		cli_print_error(&err);
		store_job_row_release(&row);
		return r;
	}
	store_job_row_release(&row);
	/* Opened again after the supervisor let go: a supervisor that died is recovered here. */
	return cli_job_get(name, final, NULL);
}

int cmd_wait(int argc, char **argv, struct sr_ctx *ctx)
{
	struct store_job_row row = {0};
	int code;

	(void)ctx;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s\n\nBlock until the job ends.  Exit status as sagerun train: 0 "
		       "Completed, 1 Failed, 130 Stopped.\n",
		       wait_usage);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error(wait_usage,
				       argc < 2 ? "which job?" : "expected one job name");
	if (cli_job_wait(argv[1], &row) < 0)
		return EXIT_FAILED;
	fprintf(stderr, "sagerun: %s: %s\n", row.name, row.status);
	if (row.failure_reason)
		fprintf(stderr, "sagerun: %s: FailureReason: %s\n", row.name, row.failure_reason);
	code = cli_exit_for_status(row.status);
	store_job_row_release(&row);
	return code;
}
