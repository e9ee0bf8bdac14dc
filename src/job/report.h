/* report.h - how the layers that run a job talk back to whoever shows it to the user.
 *
 * launch/ and engines/ print nothing (DESIGN.md): what a user should read while a job runs
 * (a status transition, a note, a warning, an error that does not end the job) goes through
 * these callbacks, and cli/ decides how it looks.  A test or another front end passes its
 * own.
 */
#ifndef SR_JOB_REPORT_H
#define SR_JOB_REPORT_H

struct job;
struct job_status;
struct sr_error;

enum job_say {
	JOB_SAY_INFO,	 /* about the job: "<job>: source: s3://..." */
	JOB_SAY_NOTE,	 /* a choice made for the user: "hosts run as plain processes: ..." */
	JOB_SAY_WARNING, /* something is not as asked, the job goes on */
	JOB_SAY_ERROR,	 /* a failure the job survives or ends with (an attempt failed) */
};

struct job_report {
	void *ctx;
	/* A line for the user; `job` names the job (NULL before it has a name), `hint` may be
	 * NULL. */
	void (*say)(void *ctx, enum job_say level, const char *job, const char *msg,
		    const char *hint);
	/* The job's status moved on: st's last transition is the new one. */
	void (*status)(void *ctx, const struct job *job, const struct job_status *st);
};

/* Helpers for callers: do nothing when `rep` or its callback is NULL. */
void job_say(const struct job_report *rep, enum job_say level, const char *job, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));
/* An error as a JOB_SAY_ERROR line with its hint (or a warning: `level`). */
void job_say_error(const struct job_report *rep, enum job_say level, const char *job,
		   const struct sr_error *err);

#endif
