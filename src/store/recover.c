/* recover.c - jobs whose supervisor died (SIGKILL, OOM, reboot); the lease is lease.c's.
 *
 * Every command that opens the store looks at the jobs recorded as running.  A job whose lease
 * (an flock on <folder>/supervisor.lock) is free has no supervisor any more: it is marked
 * Failed with STORE_LOST_REASON and its describe.json rewritten.  What its hosts left behind
 * is the business of their backend, which the caller asks (launch_store_open).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "job/kind.h"
#include "job/status.h"
#include "store/internal.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* The stored Describe*Job JSON, as the service would show a job of `kind` that failed now. */
static char *describe_failed(const struct job_kind *kind, const char *text, int64_t now)
{
	_cleanup_json_ json_t *d = json_loads(text ? text : "{}", 0, NULL);

	if (!d || !json_is_object(d) || !kind)
		return NULL;
	kind->describe_lost(d, STORE_LOST_REASON, now);
	return json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
}

static int mark_lost(struct store *s, struct store_job_row *row, struct sr_error *err)
{
	const struct job_kind *kind = job_kind_find(row->type);
	const char *name = row->name, *folder = row->folder;
	_cleanup_free_ char *failed_msg = NULL;
	int64_t now = clock_wall_ms();
	sqlite3_stmt *q = NULL;
	_cleanup_free_ char *old = NULL, *describe = NULL;
	int rc, r, seq = 0;
	bool running = false;

	r = store_begin(s, err);
	if (r < 0)
		return r;
	/* Still running?  Another command may have recovered it meanwhile. */
	rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT status IN ('InProgress', 'Stopping'), describe, (SELECT "
	    "COUNT(*) FROM transitions WHERE job = ?1) FROM jobs WHERE name = ?1",
	    -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(q) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(q, 1);

			running = sqlite3_column_int(q, 0);
			old = t ? xstrdup((const char *)t) : NULL;
			seq = sqlite3_column_int(q, 2);
		}
	}
	sqlite3_finalize(q);
	if (!running) {
		store_rollback(s);
		return 0;
	}
	describe = describe_failed(kind, old, now);
	failed_msg = xasprintf("%s: %s", kind ? kind->messages[SEC_FAILED] : "Job failed",
			       STORE_LOST_REASON);

#define RUN(sql, ...)                                                                              \
	do {                                                                                       \
		q = NULL;                                                                          \
		rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);                                 \
		if (rc == SQLITE_OK) {                                                             \
			__VA_ARGS__;                                                               \
			rc = sqlite3_step(q);                                                      \
		}                                                                                  \
		sqlite3_finalize(q);                                                               \
		if (rc != SQLITE_DONE && rc != SQLITE_OK) {                                        \
			r = store_sql_error(s, rc, "recover a lost job", err);                     \
			store_rollback(s);                                                         \
			return r;                                                                  \
		}                                                                                  \
	} while (0)

	RUN("UPDATE jobs SET status = 'Failed', secondary = 'Failed', failure_reason = ?2, "
	    "end_ms = ?3, modified_ms = ?3, describe = COALESCE(?4, describe) WHERE name = ?1",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT),
	    sqlite3_bind_text(q, 2, STORE_LOST_REASON, -1, SQLITE_STATIC),
	    sqlite3_bind_int64(q, 3, now),
	    describe ? sqlite3_bind_text(q, 4, describe, -1, SQLITE_TRANSIENT)
		     : sqlite3_bind_null(q, 4));
	RUN("UPDATE transitions SET end_ms = ?2 WHERE job = ?1 AND end_ms = 0",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int64(q, 2, now));
	RUN("INSERT INTO transitions (job, seq, secondary, message, start_ms, end_ms) VALUES (?1, "
	    "?2, 'Failed', ?4, ?3, ?3)",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int(q, 2, seq),
	    sqlite3_bind_int64(q, 3, now),
	    sqlite3_bind_text(q, 4, failed_msg, -1, SQLITE_TRANSIENT));
	RUN("UPDATE hosts SET state = 'Lost', end_ms = ?2 WHERE job = ?1 AND state != 'Exited'",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int64(q, 2, now));
	RUN("INSERT INTO events (job, time_ms, kind, message) VALUES (?1, ?2, 'recovered', "
	    "'supervisor lost; marked Failed by process ' || ?3)",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int64(q, 2, now),
	    sqlite3_bind_int(q, 3, (int)getpid()));
#undef RUN
	r = store_commit(s, err);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	/* The users' copy; the store already holds the truth if this fails. */
	if (describe && folder) {
		_cleanup_free_ char *path = xasprintf("%s/describe.json", folder);
		_cleanup_free_ char *withnl = xasprintf("%s\n", describe);

		if (fs_is_dir(folder))
			(void)fs_write_atomic(path, withnl, strlen(withnl), 0600, NULL);
	}
	free(row->status);
	row->status = xstrdup("Failed");
	free(row->failure_reason);
	row->failure_reason = xstrdup(STORE_LOST_REASON);
	return 1;
}

/* The job's own describe.json, when it says the job ended: its supervisor wrote the end there
 * and failed to write it here (a full disk), then went.  New reference, or NULL. */
static json_t *describe_final(const struct job_kind *kind, const char *folder)
{
	_cleanup_free_ char *path = folder ? xasprintf("%s/describe.json", folder) : NULL;
	_cleanup_free_ char *field = kind ? xasprintf("%sStatus", kind->api) : NULL;
	json_t *d = path && field ? json_load_file(path, 0, NULL) : NULL;
	const char *status = json_string_value(json_object_get(d, field));

	if (status && (!strcmp(status, "Completed") || !strcmp(status, "Failed") ||
		       !strcmp(status, "Stopped")))
		return d;
	json_decref(d);
	return NULL;
}

/* Record the end the job's describe.json says; 1 when recorded. */
static int mark_ended(struct store *s, struct store_job_row *row, json_t *d, struct sr_error *err)
{
	const struct job_kind *kind = job_kind_find(row->type);
	_cleanup_free_ char *field = xasprintf("%sStatus", kind->api);
	_cleanup_free_ char *text = json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	const char *status = json_string_value(json_object_get(d, field));
	const char *secondary = json_string_value(json_object_get(d, "SecondaryStatus"));
	const char *reason = json_string_value(json_object_get(d, "FailureReason"));
	int64_t now = clock_wall_ms();
	sqlite3_stmt *q = NULL;
	int rc, r = store_begin(s, err);

	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(s->db,
				"UPDATE jobs SET status = ?2, secondary = ?3, failure_reason = ?4, "
				"end_ms = ?5, modified_ms = ?5, describe = COALESCE(?6, describe) "
				"WHERE name = ?1 AND status IN ('InProgress', 'Stopping')",
				-1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, row->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 2, status, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 3, secondary ? secondary : status, -1, SQLITE_TRANSIENT);
		reason ? sqlite3_bind_text(q, 4, reason, -1, SQLITE_TRANSIENT)
		       : sqlite3_bind_null(q, 4);
		sqlite3_bind_int64(q, 5, now);
		text ? sqlite3_bind_text(q, 6, text, -1, SQLITE_TRANSIENT)
		     : sqlite3_bind_null(q, 6);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		r = store_sql_error(s, rc, "record a job's end from its describe.json", err);
		store_rollback(s);
		return r;
	}
	r = store_commit(s, err);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	free(row->status);
	row->status = xstrdup(status);
	free(row->failure_reason);
	row->failure_reason = xstrdup_or_null(reason);
	return 1;
}

int store_recover(struct store *s, struct store_job_row **ret, size_t *ret_n, struct sr_error *err)
{
	struct store_job_row *rows = NULL;
	size_t n = 0, kept = 0;
	int r = store_job_list(s, false, &rows, &n, err);

	*ret = NULL;
	*ret_n = 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int t = rows[i].folder ? store_lease_probe(rows[i].folder) : -ENOENT;

		/* A job of another engine runs on where it runs, watched or not. */
		if (rows[i].engine && strcmp(rows[i].engine, "local")) {
			store_job_row_release(&rows[i]);
			continue;
		}

		/* -EBUSY: its supervisor is alive.  Any error but a missing lock file (its
		 * folder removed by hand) says nothing about the supervisor: leave it. */
		if (r >= 0 && t != -EBUSY && (t >= 0 || t == -ENOENT)) {
			_cleanup_json_ json_t *d =
			    describe_final(job_kind_find(rows[i].type), rows[i].folder);

			r = d ? mark_ended(s, &rows[i], d, err) : mark_lost(s, &rows[i], err);
			if (r > 0) {
				rows[kept++] = rows[i]; /* recovered now: the caller's */
				r = 0;
				continue;
			}
		}
		store_job_row_release(&rows[i]);
	}
	if (kept) {
		*ret = rows;
		*ret_n = kept;
	} else {
		free(rows);
	}
	return r;
}
