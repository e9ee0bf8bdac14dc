/* record.c - the job as others see it while it runs: its record in the store (the truth for
 * ps, describe, wait) and describe.json in its folder (the users' copy), both brought up to
 * date at every status transition, which is also reported to the user. */
#include "launch/internal.h"

#include <errno.h>
#include <stdbool.h>

#include "job/job.h"
#include "job/report.h"
#include "job/status.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

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
		/* The final record must land: without it the job would pass for one whose
		 * supervisor was lost once our lease goes. */
		for (int tries = final ? 3 : 1; tries > 0; tries--) {
			if (store_job_update(L->store, L->job, st, &err) >= 0)
				break;
			job_say_error(L->rep, JOB_SAY_WARNING, NULL, &err);
			sr_err_clear(&err);
		}
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
