/* jobs.c - job rows: insert, update at every transition, list and get. */
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/kind.h"
#include "job/status.h"
#include "store/internal.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char *describe_text(const struct job *job, const struct job_status *st)
{
	_cleanup_json_ json_t *d = job_describe_json(job, st);

	return json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
}

static const char *host_state(const struct job_host_status *h)
{
	return h->exited ? "Exited" : h->started ? "Running" : "Pending";
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Run a prepared statement that returns no rows, then finalize it. */
static int step_done(struct store *s, sqlite3_stmt *st, const char *what, struct sr_error *err)
{
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? 0 : store_sql_error(s, rc, what, err);

	sqlite3_finalize(st);
	return r;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, struct sr_error *err)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : store_sql_error(s, rc, "prepare", err);
}

/* Hosts and transitions are few (<= 256, ~10): replaced whole at each update. */
static int write_children(struct store *s, const struct job *job, const struct job_status *st,
			  struct sr_error *err)
{
	const char *name = job->name;
	sqlite3_stmt *q = NULL;
	int r;

	r = prepare(s, "DELETE FROM hosts WHERE job = ?1", &q, err);
	if (r < 0)
		return r;
	bind_text(q, 1, name);
	r = step_done(s, q, "clear hosts", err);
	for (size_t i = 0; r >= 0 && i < st->n_hosts; i++) {
		const struct job_host_status *h = &st->hosts[i];

		r = prepare(
		    s,
		    "INSERT INTO hosts (job, idx, name, state, exit_code, signal, start_ms, "
		    "end_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		    &q, err);
		if (r < 0)
			return r;
		bind_text(q, 1, name);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
		bind_text(q, 3, h->name);
		bind_text(q, 4, host_state(h));
		if (h->exited && !h->signal)
			sqlite3_bind_int(q, 5, h->exit_code);
		if (h->exited && h->signal)
			sqlite3_bind_int(q, 6, h->signal);
		sqlite3_bind_int64(q, 7, h->start_ms);
		sqlite3_bind_int64(q, 8, h->end_ms);
		r = step_done(s, q, "record a host", err);
	}
	if (r < 0)
		return r;
	r = prepare(s, "DELETE FROM transitions WHERE job = ?1", &q, err);
	if (r < 0)
		return r;
	bind_text(q, 1, name);
	r = step_done(s, q, "clear transitions", err);
	for (size_t i = 0; r >= 0 && i < st->n_transitions; i++) {
		const struct job_transition *t = &st->transitions[i];

		r = prepare(
		    s,
		    "INSERT INTO transitions (job, seq, secondary, message, start_ms, end_ms) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		    &q, err);
		if (r < 0)
			return r;
		bind_text(q, 1, name);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
		bind_text(q, 3, job_secondary_name(job->kind, t->status));
		bind_text(q, 4, t->message);
		sqlite3_bind_int64(q, 5, t->start_ms);
		sqlite3_bind_int64(q, 6, t->end_ms);
		r = step_done(s, q, "record a transition", err);
	}
	return r;
}

int store_job_insert(struct store *s, const struct store_job_rec *rec, const struct job *job,
		     const struct job_status *st, struct sr_error *err)
{
	_cleanup_free_ char *describe = describe_text(job, st);
	sqlite3_stmt *q = NULL;
	int r;

	if (!describe)
		return sr_err(err, -ENOMEM, "job store: format the job '%s'", rec->name);
	r = store_begin(s, err);
	if (r < 0)
		return r;
	r = prepare(
	    s,
	    "INSERT INTO jobs (name, type, status, secondary, failure_reason, hosts, backend, "
	    "folder, created_ms, start_ms, end_ms, modified_ms, describe, engine) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	    &q, err);
	if (r >= 0) {
		bind_text(q, 1, rec->name);
		bind_text(q, 2, job->kind->name);
		bind_text(q, 3, job_state_name(st->state));
		bind_text(q, 4, job_secondary_name(job->kind, st->secondary));
		bind_text(q, 5, st->failure_reason);
		sqlite3_bind_int64(q, 6, (sqlite3_int64)st->n_hosts);
		bind_text(q, 7, rec->backend);
		bind_text(q, 8, rec->folder);
		sqlite3_bind_int64(q, 9, st->creation_ms);
		sqlite3_bind_int64(q, 10, st->start_ms);
		sqlite3_bind_int64(q, 11, st->end_ms);
		sqlite3_bind_int64(q, 12, st->last_modified_ms);
		bind_text(q, 13, describe);
		bind_text(q, 14, rec->engine ? rec->engine : "local");
		r = step_done(s, q, "record the job", err);
		if (r == -EEXIST) {
			sr_err_clear(err);
			sr_err(err, -EEXIST, "a job named '%s' is already recorded", rec->name);
			sr_err_hint(err,
				    "choose another --name, or remove the old job with "
				    "'sagerun rm %s'",
				    rec->name);
		}
	}
	if (r >= 0)
		r = write_children(s, job, st, err);
	if (r >= 0)
		r = store_commit(s, err);
	if (r < 0)
		store_rollback(s);
	return r;
}

int store_job_update(struct store *s, const struct job *job, const struct job_status *st,
		     struct sr_error *err)
{
	_cleanup_free_ char *describe = describe_text(job, st);
	sqlite3_stmt *q = NULL;
	int r;

	if (!describe)
		return sr_err(err, -ENOMEM, "job store: format the job '%s'", job->name);
	r = store_begin(s, err);
	if (r < 0)
		return r;
	r = prepare(
	    s,
	    "UPDATE jobs SET status = ?2, secondary = ?3, failure_reason = ?4, start_ms = ?5, "
	    "end_ms = ?6, modified_ms = ?7, describe = ?8 WHERE name = ?1",
	    &q, err);
	if (r >= 0) {
		bind_text(q, 1, job->name);
		bind_text(q, 2, job_state_name(st->state));
		bind_text(q, 3, job_secondary_name(job->kind, st->secondary));
		bind_text(q, 4, st->failure_reason);
		sqlite3_bind_int64(q, 5, st->start_ms);
		sqlite3_bind_int64(q, 6, st->end_ms);
		sqlite3_bind_int64(q, 7, st->last_modified_ms);
		bind_text(q, 8, describe);
		r = step_done(s, q, "update the job", err);
	}
	if (r >= 0 && sqlite3_changes(s->db) == 0)
		r = sr_err(err, -ENOENT, "job store: no job '%s' to update", job->name);
	if (r >= 0)
		r = write_children(s, job, st, err);
	if (r >= 0)
		r = store_commit(s, err);
	if (r < 0)
		store_rollback(s);
	return r;
}

int store_job_set_remote(struct store *s, const char *name, const struct store_remote_status *u,
			 struct sr_error *err)
{
	sqlite3_stmt *q = NULL;
	int r =
	    prepare(s,
		    "UPDATE jobs SET status = ?2, secondary = ?3, failure_reason = ?4, "
		    "start_ms = ?5, end_ms = ?6, modified_ms = ?7, describe = ?8 WHERE name = ?1",
		    &q, err);

	if (r < 0)
		return r;
	bind_text(q, 1, name);
	bind_text(q, 2, u->status);
	bind_text(q, 3, u->secondary ? u->secondary : u->status);
	bind_text(q, 4, u->failure_reason);
	sqlite3_bind_int64(q, 5, u->start_ms);
	sqlite3_bind_int64(q, 6, u->end_ms);
	sqlite3_bind_int64(q, 7, u->modified_ms);
	bind_text(q, 8, u->describe);
	r = step_done(s, q, "update the job", err);
	if (r >= 0 && sqlite3_changes(s->db) == 0)
		r = sr_err(err, -ENOENT, "job store: no job '%s' to update", name);
	return r;
}

void store_job_row_release(struct store_job_row *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->type);
	free(r->status);
	free(r->secondary);
	free(r->engine);
	free(r->backend);
	free(r->folder);
	free(r->failure_reason);
	memset(r, 0, sizeof(*r));
}

static char *col_str(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? xstrdup((const char *)t) : NULL;
}

#define ROW_COLUMNS                                                                                \
	"name, type, status, secondary, backend, folder, failure_reason, hosts, created_ms, "      \
	"start_ms, end_ms, engine"

static void row_read(sqlite3_stmt *q, struct store_job_row *r)
{
	r->name = col_str(q, 0);
	r->type = col_str(q, 1);
	r->status = col_str(q, 2);
	r->secondary = col_str(q, 3);
	r->backend = col_str(q, 4);
	r->folder = col_str(q, 5);
	r->failure_reason = col_str(q, 6);
	r->hosts = sqlite3_column_int(q, 7);
	r->created_ms = sqlite3_column_int64(q, 8);
	r->start_ms = sqlite3_column_int64(q, 9);
	r->end_ms = sqlite3_column_int64(q, 10);
	r->engine = col_str(q, 11);
}

int store_job_list(struct store *s, bool all, struct store_job_row **ret, size_t *ret_n,
		   struct sr_error *err)
{
	sqlite3_stmt *q = NULL;
	struct store_job_row *rows = NULL;
	size_t n = 0, cap = 0;
	int rc, r;

	r = prepare(s,
		    all ? "SELECT " ROW_COLUMNS " FROM jobs ORDER BY created_ms DESC, name"
			: "SELECT " ROW_COLUMNS " FROM jobs WHERE status IN ('InProgress', "
			  "'Stopping') ORDER BY created_ms DESC, name",
		    &q, err);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		xgrow(&rows, &cap, n + 1, sizeof(*rows));
		memset(&rows[n], 0, sizeof(rows[n]));
		row_read(q, &rows[n++]);
	}
	if (rc != SQLITE_DONE) {
		r = store_sql_error(s, rc, "list jobs", err);
		for (size_t i = 0; i < n; i++)
			store_job_row_release(&rows[i]);
		free(rows);
		sqlite3_finalize(q);
		return r;
	}
	sqlite3_finalize(q);
	*ret = rows;
	*ret_n = n;
	return 0;
}

int store_job_get(struct store *s, const char *name, struct store_job_row *row, char **ret_describe,
		  struct sr_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	r = prepare(s, "SELECT " ROW_COLUMNS ", describe FROM jobs WHERE name = ?1", &q, err);
	if (r < 0)
		return r;
	bind_text(q, 1, name);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		if (row)
			row_read(q, row);
		if (ret_describe)
			*ret_describe = col_str(q, 12);
		r = 0;
	} else if (rc == SQLITE_DONE) {
		sr_err(err, -ENOENT, "no job named '%s'", name);
		r = sr_err_hint(err, "'sagerun ps -a' lists the recorded jobs");
	} else {
		r = store_sql_error(s, rc, "read a job", err);
	}
	sqlite3_finalize(q);
	return r;
}

int store_job_remove(struct store *s, const char *name, struct sr_error *err)
{
	struct store_job_row row = {0};
	_cleanup_free_ char *expected = NULL;
	sqlite3_stmt *q = NULL;
	int r = store_job_get(s, name, &row, NULL, err);

	if (r == -ENOENT && job_name_valid(name)) {
		/* A folder without a record: its supervisor died before recording the job.
		 * Nobody holds it, so it is only in the way of the name. */
		expected = xasprintf("%s/jobs/%s", s->home, name);
		if (fs_is_dir(expected) && !store_lease_held(expected)) {
			sr_err_clear(err);
			return fs_rm_rf(expected, err);
		}
	}
	if (r < 0)
		return r;
	if (!strcmp(row.status, "InProgress") || !strcmp(row.status, "Stopping") ||
	    store_lease_held(row.folder)) {
		r = sr_err(err, -EBUSY, "job '%s' is running (%s)", name, row.status);
		sr_err_hint(err, "stop it first: sagerun stop %s", name);
		goto out;
	}
	/* Only ever the folder sagerun made for this job, whatever the database says. */
	free(expected);
	expected = xasprintf("%s/jobs/%s", s->home, name);
	if (strcmp(row.folder, expected)) {
		r = sr_err(err, -EINVAL,
			   "job '%s': its recorded folder '%s' is not '%s'; not removed", name,
			   row.folder, expected);
		goto out;
	}
	r = fs_rm_rf(row.folder, err);
	if (r < 0) {
		sr_err_wrap(err, "remove job '%s'", name);
		goto out;
	}
	r = prepare(s, "DELETE FROM jobs WHERE name = ?1", &q, err);
	if (r >= 0) {
		bind_text(q, 1, name);
		r = step_done(s, q, "remove the job", err);
	}
out:
	store_job_row_release(&row);
	return r;
}
