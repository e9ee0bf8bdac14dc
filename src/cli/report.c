/* report.c - how a job's progress looks on stderr (job/report.h's callbacks for cli/), and the
 * one printer of errors:
 *
 *   sagerun: <job>: Training - Training in progress. (Downloading took 0.012 s)
 *   sagerun: note: ...      sagerun: warning: ...      sagerun: error: ...
 *   hint: ...
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "job/job.h"
#include "job/report.h"
#include "job/status.h"
#include "util/error.h"

static void print_hint(const char *hint)
{
	if (hint && *hint)
		fprintf(stderr, "hint: %s\n", hint);
}

/* Each line of the message its own error (a spec's problems come together, one a line), but
 * a line that is a hint. */
void cli_print_error(const struct sr_error *err)
{
	const char *p = err->msg[0] ? err->msg : "unknown error";

	while (*p) {
		const char *nl = strchrnul(p, '\n');
		int n = (int)(nl - p);

		if (!strncmp(p, "hint: ", 6))
			fprintf(stderr, "%.*s\n", n, p);
		else
			fprintf(stderr, "sagerun: error: %.*s\n", n, p);
		p = *nl ? nl + 1 : nl;
	}
	print_hint(err->hint);
}

static void say(void *ctx, enum job_say level, const char *job, const char *msg, const char *hint)
{
	static const char *const words[] = {
	    [JOB_SAY_NOTE] = "note", [JOB_SAY_WARNING] = "warning", [JOB_SAY_ERROR] = "error"};

	(void)ctx;
	if (level == JOB_SAY_INFO && job)
		fprintf(stderr, "sagerun: %s: %s\n", job, msg);
	else if (level == JOB_SAY_INFO)
		fprintf(stderr, "sagerun: %s\n", msg);
	else
		fprintf(stderr, "sagerun: %s: %s\n", words[level], msg);
	print_hint(hint);
}

/* One line per transition, with how long the previous one took; the final status in colour
 * on a terminal. */
static void status(void *ctx, const struct job *job, const struct job_status *st)
{
	static const char *const colors[] = {
	    [JOB_COMPLETED] = "\033[32m", [JOB_FAILED] = "\033[31m", [JOB_STOPPED] = "\033[33m"};
	const struct sr_ctx *c = ctx;
	const struct job_transition *t = &st->transitions[st->n_transitions - 1];
	const struct job_transition *prev =
	    st->n_transitions > 1 ? &st->transitions[st->n_transitions - 2] : NULL;
	bool final =
	    st->state == JOB_COMPLETED || st->state == JOB_FAILED || st->state == JOB_STOPPED;
	const char *color = final && c->color && colors[st->state] ? colors[st->state] : "";

	fprintf(stderr, "sagerun: %s: %s%s%s", job->name, color,
		job_secondary_name(job->kind, t->status), *color ? "\033[0m" : "");
	if (t->message && *t->message)
		fprintf(stderr, " - %s", t->message);
	if (prev)
		fprintf(stderr, " (%s took %.3f s)", job_secondary_name(job->kind, prev->status),
			(double)(prev->end_ms - prev->start_ms) / 1000.0);
	fputc('\n', stderr);
}

struct job_report cli_report(struct sr_ctx *ctx)
{
	return (struct job_report){.ctx = ctx, .say = say, .status = status};
}
