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

/* Send the stop; 1 when a wait should follow, 0 when the job had ended, < 0 on error. */
static int stop_send(const char *name)
{
	struct store_job_row row = {0};
	struct sr_error err = {0};
	int r = cli_job_get(name, &row, NULL);

	if (r < 0)
		return r;
	if (!strcmp(row.status, "Stopping")) {
		/* Already on its way (Ctrl-C, another stop): a second SIGTERM changes nothing. */
		store_job_row_release(&row);
		return 1;
	}
	if (strcmp(row.status, "InProgress")) {
		fprintf(stderr, "sagerun: %s: already ended: %s\n", name, row.status);
		store_job_row_release(&row);
		return 0;
	}
	r = store_lease_signal(row.folder, SIGTERM, &err);
	store_job_row_release(&row);
	/* -ESRCH: it ended (or died) between the read and the signal; the wait tells which. */
	if (r < 0 && r != -ESRCH) {
		cli_print_error(&err);
		return r;
	}
	if (r == 0)
		fprintf(stderr, "sagerun: %s: Stopping\n", name);
	return 1;
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
	/* Every job first, so they stop together, then wait for each. */
	int *pending = calloc((size_t)argc, sizeof(*pending));

	if (!pending)
		return EXIT_FAILED;
	for (int i = 1; i < argc; i++) {
		int r = stop_send(argv[i]);

		pending[i] = r > 0;
		if (r < 0)
			code = EXIT_FAILED;
	}
	for (int i = 1; i < argc; i++) {
		struct store_job_row final = {0};

		if (!pending[i])
			continue;
		if (cli_job_wait(argv[i], &final) < 0) {
			code = EXIT_FAILED;
			continue;
		}
		fprintf(stderr, "sagerun: %s: %s\n", argv[i], final.status);
		store_job_row_release(&final);
	}
	free(pending);
	return code;
}
