/* describe.c - `sagerun describe JOB`: the DescribeTrainingJob JSON of a recorded job. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/error.h"

static const char describe_usage[] = "sagerun describe JOB";

int cmd_describe(int argc, char **argv, struct sr_ctx *ctx)
{
	char *text = NULL;

	(void)ctx;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s\n\nPrint a job's DescribeTrainingJob response (JSON), with "
		       "each host's state, exit code or signal, and times under \"Hosts\".\n",
		       describe_usage);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error(describe_usage,
				       argc < 2 ? "which job?" : "expected one job name");
	if (cli_job_get(argv[1], NULL, &text) < 0)
		return EXIT_FAILED;
	printf("%s\n", text);
	free(text);
	return 0;
}
