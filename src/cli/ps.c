/* ps.c - `sagerun ps`: the recorded jobs as a table (running ones unless -a), or JSON. */
#include "cli/cli.h"
#include "cli/options.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/engine.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/strv.h"

/* "1h02m", "3m05s", "12.3s": a duration as people read it. */
static void fmt_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, (s % 3600) / 60);
}

/* "12 seconds ago", as docker ps. */
static void fmt_ago(int64_t then_ms, int64_t now_ms, char *buf, size_t len)
{
	int64_t s = (now_ms - then_ms) / 1000;

	if (s < 1)
		snprintf(buf, len, "just now");
	else if (s < 120)
		snprintf(buf, len, "%" PRId64 " seconds ago", s);
	else if (s < 7200)
		snprintf(buf, len, "%" PRId64 " minutes ago", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%" PRId64 " hours ago", s / 3600);
	else
		snprintf(buf, len, "%" PRId64 " days ago", s / 86400);
}

static int64_t duration_ms(const struct store_job_row *r, int64_t now)
{
	int64_t from = r->created_ms;

	return (r->end_ms ? r->end_ms : now) - from;
}

static void print_table(const struct store_job_row *rows, size_t n)
{
	int64_t now = clock_wall_ms();
	int w = 4;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(rows[i].name) > w)
			w = (int)strlen(rows[i].name);
	printf("%-*s  %-10s  %-10s  %-18s  %5s  %-16s  %s\n", w, "NAME", "TYPE", "STATUS",
	       "SECONDARY", "HOSTS", "CREATED", "DURATION");
	for (size_t i = 0; i < n; i++) {
		char ago[32], dur[32];

		fmt_ago(rows[i].created_ms, now, ago, sizeof(ago));
		fmt_duration(duration_ms(&rows[i], now), dur, sizeof(dur));
		printf("%-*s  %-10s  %-10s  %-18s  %5d  %-16s  %s\n", w, rows[i].name, rows[i].type,
		       rows[i].status, rows[i].secondary, rows[i].hosts, ago, dur);
	}
}

static int print_json(const struct store_job_row *rows, size_t n)
{
	_cleanup_json_ json_t *arr = json_array();
	int64_t now = clock_wall_ms();
	_cleanup_free_ char *text = NULL;

	for (size_t i = 0; i < n; i++) {
		char created[48];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I}", "Name",
				      rows[i].name, "Type", rows[i].type, "Status", rows[i].status,
				      "SecondaryStatus", rows[i].secondary, "Hosts", rows[i].hosts,
				      "Backend", rows[i].backend, "CreationTime",
				      clock_iso8601(rows[i].created_ms, created, sizeof(created)),
				      "DurationMs", (json_int_t)duration_ms(&rows[i], now));

		json_object_set_new(o, "Engine",
				    json_string(rows[i].engine ? rows[i].engine : "local"));
		if (rows[i].failure_reason)
			json_object_set_new(o, "FailureReason",
					    json_string(rows[i].failure_reason));
		json_array_append_new(arr, o);
	}
	text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return EXIT_FAILED;
	printf("%s\n", text);
	return 0;
}

int cmd_ps(int argc, char **argv, struct sr_ctx *ctx)
{
	static const char *const formats[] = {"table", "json", NULL};
	bool all = false;
	const char *format = "table";
	const struct cli_option opts[] = {
	    CLI_BOOL('a', "all", &all, "every job, newest first"),
	    CLI_CHOICE(0, "output", &format, "table|json", formats,
		       "a table (default) or a JSON array for scripts"),
	    CLI_END(),
	};
	const struct cli_command cmd = {
	    .usage = "sagerun ps [-a|--all] [--output table|json]",
	    .summary = "List jobs: running ones, or every recorded job with -a.",
	    .options = opts,
	};
	struct job_report rep = cli_report(ctx);
	struct store *s = NULL;
	struct store_job_row *rows = NULL;
	struct sr_error err = {0};
	struct cli_args args;
	size_t n = 0;
	int code;

	if (!cli_parse(argc, argv, &cmd, &args, &code))
		return code;
	if (engine_store_open(&s, &rep, &err) >= 0)
		engine_jobs_refresh(s, &rep); /* jobs that run elsewhere, as they are now */
	if (!s || store_job_list(s, all, &rows, &n, &err) < 0) {
		cli_print_error(&err);
		store_close(s);
		return EXIT_FAILED;
	}
	if (!strcmp(format, "json"))
		code = print_json(rows, n);
	else
		print_table(rows, n);
	for (size_t i = 0; i < n; i++)
		store_job_row_release(&rows[i]);
	free(rows);
	store_close(s);
	return code;
}
