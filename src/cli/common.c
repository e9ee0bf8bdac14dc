#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli/run.h"
#include "hosts/hosts.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

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
	for (size_t i = 0; i < recovered.n; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/jobs/%s", home, recovered.v[i]);

		fprintf(stderr, "sagerun: note: job '%s' lost its supervisor; marked Failed (%s)\n",
			recovered.v[i], STORE_LOST_REASON);
		/* Its containers and network, if it ran on the docker backend. */
		host_docker_cleanup(dir);
	}
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

/* "512m", "1g", "1048576": bytes, with docker's binary suffixes. */
static long long parse_size(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -1;
	if (v > (LLONG_MAX >> 30))
		return -1;
	switch (*end) {
	case '\0':
		return v;
	case 'b':
	case 'B':
		break;
	case 'k':
	case 'K':
		v <<= 10;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		break;
	default:
		return -1;
	}
	return end[1] ? -1 : v;
}

int cli_container_option(int which, const char *arg, struct run_opts *o, const char *usage)
{
	char *end;
	long n;

	switch (which) {
	case CLI_CTR_IMAGE:
		if (!*arg)
			return cli_usage_error(usage, "--image: empty image name");
		o->image = arg;
		return 0;
	case CLI_CTR_TOOLKIT:
		if (strcmp(arg, "builtin") && strcmp(arg, "image"))
			return cli_usage_error(
			    usage, "--toolkit: expected builtin or image, got '%s'", arg);
		o->toolkit_builtin = !strcmp(arg, "builtin");
		return 0;
	case CLI_CTR_GPUS:
		if (!strcmp(arg, "all")) {
			o->gpus_per_host = -1;
			return 0;
		}
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || end == arg || *end || n < 0 || n > 1024)
			return cli_usage_error(
			    usage, "--gpus-per-host: expected a number or all, got '%s'", arg);
		o->gpus_per_host = (int)n;
		return 0;
	default:
		o->shm_bytes = parse_size(arg);
		if (o->shm_bytes < 0)
			return cli_usage_error(
			    usage, "--shm-size: expected bytes or a size like 512m or 2g, got '%s'",
			    arg);
		return 0;
	}
}
