/* local.c - the local engine: jobs run on this machine by launch/, watched through the store
 * and the lease their supervisor holds on the job folder (store.h), stopped with a SIGTERM to
 * that supervisor (as Ctrl-C), their logs read from the job folder (local_logs.c). */
#include "engines/engine.h"
#include "engines/internal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "job/report.h"
#include "store/store.h"
#include "util/error.h"

static int local_submit(struct job *job, const struct engine_options *o,
			const struct job_report *rep, struct launch_result *res,
			struct sr_error *err)
{
	struct launch_options lo = o->local;

	lo.detach = o->detach;
	return launch_run(job, &lo, rep, res, err);
}

static int local_watch(const struct store_job_row *row, const struct job_report *rep,
		       struct sr_error *err)
{
	(void)rep;
	return store_lease_wait(row->folder, err);
}

static int local_stop(const struct store_job_row *row, const struct job_report *rep,
		      struct sr_error *err)
{
	int r;

	/* Already on its way (Ctrl-C, another stop): a second SIGTERM changes nothing. */
	if (!strcmp(row->status, "Stopping"))
		return 1;
	if (strcmp(row->status, "InProgress")) {
		job_say(rep, JOB_SAY_INFO, row->name, "already ended: %s", row->status);
		return 0;
	}
	r = store_lease_signal(row->folder, SIGTERM, err);
	/* -ESRCH: it ended (or died) between the read and the signal; the wait tells which. */
	if (r == -ESRCH)
		return 1;
	if (r < 0)
		return r;
	job_say(rep, JOB_SAY_INFO, row->name, "Stopping");
	return 1;
}

/* The store keeps the DescribeTrainingJob JSON of every transition. */
static int local_status(const struct store_job_row *row, const struct job_report *rep,
			char **ret_json, struct sr_error *err)
{
	return engine_job_get(row->name, NULL, ret_json, rep, err);
}

static int local_remove(struct store *s, const struct store_job_row *row,
			const struct job_report *rep, struct sr_error *err)
{
	return launch_job_remove(s, row->name, rep, err);
}

const struct engine engine_local = {
    .name = "local",
    .summary = "this machine: N hosts made by a host backend (--backend)",
    .submit = local_submit,
    .watch = local_watch,
    .stop = local_stop,
    .logs = local_logs,
    .status = local_status,
    .remove = local_remove,
};
