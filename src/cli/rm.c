/* rm.c - `sagerun rm JOB...`: remove ended jobs' records and folders (not their outputs). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/run.h"
#include "hosts/hosts.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static const char rm_usage[] = "sagerun rm JOB...";

int cmd_rm(int argc, char **argv, struct sr_ctx *ctx)
{
	struct store *s = NULL;
	int code = 0;

	(void)ctx;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s\n\nRemove jobs that have ended: their record and their job "
		       "folder (hosts' trees, logs).  Outputs (model.tar.gz) stay where they "
		       "were written.  A running job is refused.\n",
		       rm_usage);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error(rm_usage, "which job?");
	if (cli_store_open(&s) < 0)
		return EXIT_FAILED;
	for (int i = 1; i < argc; i++) {
		struct sr_error err = {0};

		if (store_job_remove(s, argv[i], &err) < 0) {
			cli_print_error(&err);
			code = EXIT_FAILED;
			continue;
		}
		/* A docker job whose leftovers an engine that was down kept until now. */
		{
			_cleanup_free_ char *home = run_home_dir();
			_cleanup_free_ char *dir = xasprintf("%s/jobs/%s", home, argv[i]);

			host_docker_cleanup(dir);
		}
		printf("%s\n", argv[i]);
	}
	store_close(s);
	return code;
}
