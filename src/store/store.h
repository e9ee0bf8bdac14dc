/* store.h - the job store: SQLite at $SAGERUN_HOME/sagerun.db, the source of truth for `ps`,
 * `describe` and crash recovery (describe.json in each job folder is a copy for users).
 *
 *   store_open(home, &s, err)       WAL mode, schema migrated
 *   store_recover(s, &names, err)   jobs whose supervisor died marked Failed
 *   store_job_insert(s, &rec, err)  a new job; its name must be unused (as on the service)
 *   store_job_update(s, ...)        every status transition, in one transaction
 *   store_job_list / store_job_get  for ps and describe
 *
 * Liveness: a running job's supervisor holds an exclusive flock on <job folder>/supervisor.lock
 * for as long as it lives (store_lease_take; everybody else only probes it with a shared one).  The
 * kernel drops it when the process dies, however it dies, so a lock that can be taken means the
 * supervisor is gone; a pid is never trusted.
 */
#ifndef SR_STORE_STORE_H
#define SR_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct job;
struct job_status;
struct sr_error;
struct strv;

/* The schema this build writes; an older database is migrated up, a newer one refused. */
#define STORE_SCHEMA_VERSION 3
#define STORE_DB_NAME	     "sagerun.db"
#define STORE_LEASE_NAME     "supervisor.lock"
/* FailureReason of a job whose supervisor died (issue text and the service's error class). */
#define STORE_LOST_REASON "InternalServerError: supervisor lost"

struct store;

/* Open (creating `home` and the database when missing) and migrate. */
int store_open(const char *home, struct store **ret, struct sr_error *err);
void store_close(struct store *s);

/* Every job recorded as running whose supervisor's lease is free is marked Failed with
 * STORE_LOST_REASON and its describe.json rewritten, unless its describe.json says it ended
 * (its supervisor could write that and not the store: a full disk); that end is recorded.  *ret
 * gets the rows of the jobs recovered now, with the status now recorded (*ret_n of them; the caller
 * releases each and frees the array), whose backends have their leftovers to remove.  Every command
 * that opens the store calls it; an error here should not keep the command from its own work. */
struct store_job_row;
int store_recover(struct store *s, struct store_job_row **ret, size_t *ret_n, struct sr_error *err);

/* Open and migrate only up to `version` (tests of migrations). */
int store_open_at_version(const char *home, int version, struct store **ret, struct sr_error *err);

/* The schema version of the open database. */
int store_schema_version(struct store *s);

/* What a new job row holds.  Strings are borrowed. */
struct store_job_rec {
	const char *name; /* the job's (as in job->name): the record's key */
	/* where it runs: "local", "sagemaker" (engines/engine.h); its type is the job's kind.
	 * Only local jobs have a supervisor whose loss store_recover finds. */
	const char *engine;
	const char *backend; /* the local engine's host backend: "ns", "process", ... */
	const char *folder;  /* the job folder */
};

/* Insert a job with its first status.  -EEXIST when the name is taken (recorded or
 * running), with a message naming it and a hint. */
int store_job_insert(struct store *s, const struct store_job_rec *rec, const struct job *job,
		     const struct job_status *st, struct sr_error *err);

/* Replace the job's status, hosts, transitions and describe JSON in one transaction. */
int store_job_update(struct store *s, const struct job *job, const struct job_status *st,
		     struct sr_error *err);

/* What an engine that runs jobs elsewhere learnt of one (engines/sagemaker.c): its status in
 * the service's words and the service's own Describe answer (credentials' values already
 * redacted).  Strings are borrowed; NULL failure_reason: none. */
struct store_remote_status {
	const char *status;    /* "InProgress", "Completed", ... */
	const char *secondary; /* "Training", ... */
	const char *failure_reason;
	int64_t start_ms, end_ms, modified_ms; /* 0: not yet */
	const char *describe;
};
int store_job_set_remote(struct store *s, const char *name, const struct store_remote_status *u,
			 struct sr_error *err);

/* One row of `ps`.  Strings owned by the row (store_job_row_release). */
struct store_job_row {
	char *name;
	char *type;
	char *status;
	char *secondary;
	char *engine;
	char *backend;
	char *folder;
	char *failure_reason;
	int hosts;
	int64_t created_ms;
	int64_t start_ms; /* 0 until Training */
	int64_t end_ms;	  /* 0 while running */
};
void store_job_row_release(struct store_job_row *r);

/* Jobs newest first; only running ones (InProgress, Stopping) unless `all`.  *ret is an
 * array of *ret_n rows (caller releases each row and frees the array). */
int store_job_list(struct store *s, bool all, struct store_job_row **ret, size_t *ret_n,
		   struct sr_error *err);

/* The job's row and its DescribeTrainingJob JSON text (caller frees).  -ENOENT with a clear
 * message when there is no such job. */
int store_job_get(struct store *s, const char *name, struct store_job_row *row, char **ret_describe,
		  struct sr_error *err);

/* The supervisor's lease on its job folder: an fd holding an exclusive flock (O_CLOEXEC, so
 * host processes never inherit it).  Keep it open for the supervisor's whole life. */
int store_lease_take(const char *folder, int *ret_fd, struct sr_error *err);

/* True when a live process holds the lease of `folder`. */
bool store_lease_held(const char *folder);

/* Send `sig` to the live supervisor holding the lease of `folder` (never to a recycled pid).
 * -ESRCH when no supervisor holds it. */
int store_lease_signal(const char *folder, int sig, struct sr_error *err);

/* Block until no supervisor holds the lease of `folder` (at once when none does).  Open the
 * store after it returns, so a supervisor that died is recovered. */
int store_lease_wait(const char *folder, struct sr_error *err);

/* Remove a job that has ended: its folder, then its records.  -EBUSY (with the job's status
 * in the message) while it runs. */
int store_job_remove(struct store *s, const char *name, struct sr_error *err);

#endif
