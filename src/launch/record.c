/* record.c - the job as others see it while it runs: its record in the store (the truth for
 * ps, describe, wait) and describe.json in its folder (the users' copy), both brought up to
 * date at every status transition, which is also reported to the user. */
#include "launch/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "job/job.h"
#include "job/report.h"
#include "job/status.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xalloc.h"

/* What the final record (and describe.json, and the last lines of sagerun.log) need at most:
 * the store's pages for a 256-host job are well under this. */
#define RESERVE_BYTES (2 << 20)

int launch_reserve_take(struct local_job *L, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/.reserve", L->job_dir);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int e;

	if (fd < 0)
		return sr_err_errno(err, errno, "create '%s'", path);
	e = posix_fallocate(fd, 0, RESERVE_BYTES);
	if (e == 0) {
		L->reserve_path = TAKE_PTR(path);
		return 0;
	}
	(void)unlink(path);
	if (e == ENOSPC || e == EDQUOT) {
		sr_err_errno(err, e, "no room to start a job in '%s' (its record needs %d MiB)",
			     L->home, RESERVE_BYTES >> 20);
		return sr_err_hint(err, "free some space there (sagerun prune removes ended jobs), "
					"or set SAGERUN_HOME to a folder with room");
	}
	return sr_err_errno(err, e, "keep room for the job's record in '%s'", path);
}

void launch_reserve_give(struct local_job *L)
{
	if (L->reserve_path)
		(void)unlink(L->reserve_path);
	free(L->reserve_path);
	L->reserve_path = NULL;
}

int launch_record(struct local_job *L, struct sr_error *err)
{
	struct store_job_rec rec = {
	    .name = L->job->name,
	    .engine = "local",
	    .backend = L->backend->name,
	    .folder = L->job_dir,
	};
	int r = store_lease_take(L->job_dir, &L->lease_fd, err);

	if (r >= 0)
		r = launch_store_open(&L->store, L->rep, err);
	/* A name the store already holds (its folder was removed by hand) is refused like a
	 * folder that exists. */
	if (r >= 0)
		r = store_job_insert(L->store, &rec, L->job, &L->status, err);
	if (r == -EEXIST)
		L->usage = true;
	if (r < 0)
		return r;
	L->recorded = true;
	return 0;
}

static bool state_final(enum job_state s)
{
	return s == JOB_COMPLETED || s == JOB_FAILED || s == JOB_STOPPED;
}

void launch_status_changed(void *ctx, const struct job_status *st)
{
	struct local_job *L = ctx;
	struct sr_error err = {0};
	const struct job_transition *t;
	bool final = state_final(st->state);

	if (!st->n_transitions)
		return;
	t = &st->transitions[st->n_transitions - 1];
	/* The store first: whoever reads the line and asks `sagerun ps` finds it there. */
	if (L->recorded) {
		int r = -EIO;

		/* The final record must land: without it the job would pass for one whose
		 * supervisor was lost once our lease goes.  The room it needs was kept aside
		 * when the job started (launch_reserve_take): given back now. */
		if (final)
			launch_reserve_give(L);
		for (int tries = final ? 3 : 1; tries > 0 && r < 0; tries--) {
			sr_err_clear(&err);
			r = store_job_update(L->store, L->job, st, &err);
			if (r < 0 && !final)
				job_say_error(L->rep, JOB_SAY_WARNING, NULL, &err);
		}
		if (r < 0 && final) {
			L->record_lost = true;
			L->record_err = err;
		}
		sr_err_clear(&err);
	}
	if (t->start_ms != 0 && L->said != st->n_transitions) {
		if (L->rep && L->rep->status)
			L->rep->status(L->rep->ctx, L->job, st);
		L->said = st->n_transitions;
	}
	/* describe.json is the users' copy of the store's record: rewritten when the job starts
	 * training, starts stopping and ends, not at every step (each rewrite is a new file). */
	if (L->describe_path &&
	    (t->status == SEC_RUNNING || t->status == SEC_STOPPING || final || L->said <= 1)) {
		if (job_describe_write(L->job, st, L->describe_path, &err) < 0)
			job_say_error(L->rep, JOB_SAY_WARNING, NULL, &err);
	}
}

void launch_hosts_event(void *ctx, enum job_event ev)
{
	struct local_job *L = ctx;

	job_status_event(&L->status, L->job->kind, ev, clock_wall_ms());
	launch_status_changed(L, &L->status);
}

void launch_status_to(struct local_job *L, enum job_state state, enum job_secondary sec)
{
	job_status_to(&L->status, L->job->kind, state, sec, clock_wall_ms());
	launch_status_changed(L, &L->status);
}

void launch_set_status(struct local_job *L, enum job_state state, enum job_secondary sec,
		       const char *msg)
{
	job_status_set(&L->status, state, sec, msg, clock_wall_ms());
	launch_status_changed(L, &L->status);
}
