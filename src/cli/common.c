#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

#ifndef SAGERUN_VERSION
#define SAGERUN_VERSION "0.1.0"
#endif

void cli_print_error(const struct sr_error *err)
{
	fprintf(stderr, "sagerun: error: %s\n", err->msg[0] ? err->msg : "unknown error");
	if (err->hint[0])
		fprintf(stderr, "hint: %s\n", err->hint);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("sagerun: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return EXIT_USAGE;
}

int cmd_version(int argc, char **argv, struct sr_ctx *ctx)
{
	(void)argc;
	(void)argv;
	(void)ctx;
	printf("sagerun %s\n", SAGERUN_VERSION);
	return 0;
}
