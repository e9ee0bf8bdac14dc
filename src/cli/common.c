#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/run.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

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

int cli_store_open_err(struct store **ret, struct sr_error *err)
{
	_cleanup_free_ char *home = run_home_dir();
	struct strv recovered = STRV_INIT;
	struct sr_error rerr = {0};
	int r = store_open(home, ret, err);

	if (r < 0)
		return r;
	/* Recovery is every command's chore, never a reason to refuse its own work. */
	if (store_recover(*ret, &recovered, &rerr) < 0)
		fprintf(stderr, "sagerun: warning: recovering lost jobs: %s\n", rerr.msg);
	for (size_t i = 0; i < recovered.n; i++)
		fprintf(stderr, "sagerun: note: job '%s' lost its supervisor; marked Failed (%s)\n",
			recovered.v[i], STORE_LOST_REASON);
	strv_release(&recovered);
	return 0;
}

int cli_store_open(struct store **ret)
{
	struct sr_error err = {0};
	int r = cli_store_open_err(ret, &err);

	if (r < 0)
		cli_print_error(&err);
	return r;
}

int cli_job_get(const char *name, struct store_job_row *row, char **ret_describe)
{
	struct sr_error err = {0};
	struct store *s = NULL;
	int r = cli_store_open(&s);

	if (r < 0)
		return r;
	r = store_job_get(s, name, row, ret_describe, &err);
	store_close(s);
	if (r < 0)
		cli_print_error(&err);
	return r;
}
