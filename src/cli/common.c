/* common.c - what several commands share: the usage error, exit statuses, `version`. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

#ifndef SAGERUN_VERSION
#define SAGERUN_VERSION "0.1.0"
#endif

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	struct sr_error err = {.code = -EINVAL};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	cli_print_error(&err);
	fprintf(stderr, "usage: %s\n", usage);
	return EXIT_USAGE;
}

int cli_exit_for_state(enum job_state state)
{
	return state == JOB_COMPLETED ? EXIT_COMPLETED
	       : state == JOB_STOPPED ? EXIT_STOPPED
				      : EXIT_FAILED;
}

int cli_exit_for_status(const char *status)
{
	if (!strcmp(status, "Completed"))
		return EXIT_COMPLETED;
	if (!strcmp(status, "Stopped"))
		return EXIT_STOPPED;
	return EXIT_FAILED;
}

int cmd_version(int argc, char **argv, struct sr_ctx *ctx)
{
	(void)argc;
	(void)argv;
	(void)ctx;
	printf("sagerun %s\n", SAGERUN_VERSION);
	return 0;
}
