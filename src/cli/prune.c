/* prune.c - `sagerun prune [--older-than DURATION]`: remove every ended job (older than). */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

static const char prune_usage[] = "sagerun prune [--older-than DURATION]";

int cmd_prune(int argc, char **argv, struct sr_ctx *ctx)
{
	static const struct option opts[] = {
	    {"older-than", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct store_job_row *rows = NULL;
	struct sr_error err = {0};
	struct store *s = NULL;
	int64_t older_ms = 0, now = clock_wall_ms();
	size_t n = 0, removed = 0;
	int c, code = 0;

	(void)ctx;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (clock_parse_duration(optarg, &older_ms) < 0)
				return cli_usage_error(prune_usage,
						       "--older-than: expected a duration such as "
						       "30s, 5m, 2h or 7d, got '%s'",
						       optarg);
			break;
		case 'h':
			printf("usage: %s\n\nRemove every job that has ended (that ended longer "
			       "than DURATION ago), as sagerun rm does.  Running jobs are kept.\n",
			       prune_usage);
			return 0;
		default:
			return cli_usage_error(prune_usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(prune_usage, "unexpected argument '%s'", argv[optind]);
	if (cli_store_open(&s) < 0)
		return EXIT_FAILED;
	if (store_job_list(s, true, &rows, &n, &err) < 0) {
		cli_print_error(&err);
		store_close(s);
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_job_row *r = &rows[i];

		if (!strcmp(r->status, "InProgress") || !strcmp(r->status, "Stopping") ||
		    !r->end_ms || now - r->end_ms < older_ms)
			continue;
		sr_err_clear(&err);
		if (store_job_remove(s, r->name, &err) < 0) {
			cli_print_error(&err);
			code = EXIT_FAILED;
			continue;
		}
		printf("%s\n", r->name);
		removed++;
	}
	for (size_t i = 0; i < n; i++)
		store_job_row_release(&rows[i]);
	free(rows);
	store_close(s);
	fprintf(stderr, "sagerun: removed %zu job%s\n", removed, removed == 1 ? "" : "s");
	return code;
}
