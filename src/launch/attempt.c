/* attempt.c - one attempt at a job, whatever its kind: its inputs staged (Downloading), every
 * host laid out, then the hosts started and supervised (Training, or the kind's word for it)
 * until the supervisor's outcome.  What is staged and laid out is the kind's (launch_kind);
 * a stop before the hosts start ends the attempt with no user code run. */
#include "launch/internal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "job/job.h"
#include "job/report.h"
#include "supervise/supervise.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

bool launch_stop_requested(void)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return false;
	return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
}

bool launch_stop_asked(void *ctx)
{
	(void)ctx;
	return launch_stop_requested();
}

void launch_say_report(struct local_job *L, struct strv *report)
{
	for (size_t i = 0; i < report->n; i++)
		job_say(L->rep, JOB_SAY_INFO, L->job->name, "%s", report->v[i]);
	strv_release(report);
}

/* An error that is a stop (between two objects) is no error: the attempt is stopped. */
static int stop_is_no_error(int r, bool *stopped)
{
	if (r != -ECANCELED)
		return r;
	*stopped = true;
	return 0;
}

/* Downloading: the kind's inputs, what the hosts share (the ns backend made its private
 * network meanwhile, in a thread; docker checks the image before any tree is made), each
 * host's tree, and what the kind restores into them. */
static int stage(struct local_job *L, bool *stopped, struct sr_error *err)
{
	const struct launch_kind *k = L->kind;
	int r = k->upload ? k->upload(L, err) : 0;

	launch_status_to(L, JOB_IN_PROGRESS, SEC_DOWNLOADING);
	if (r >= 0)
		r = stop_is_no_error(k->stage_inputs(L, err), stopped);
	if (r >= 0 && !*stopped && !launch_stop_requested()) {
		for (size_t i = 0; i < L->n_hosts; i++)
			launch_host_paths(L, &L->hosts[i]);
		r = host_group_prepare(&L->group, err);
	}
	for (size_t i = 0; r >= 0 && !*stopped && i < L->n_hosts; i++) {
		*stopped = launch_stop_requested();
		if (!*stopped)
			r = k->host_prepare(L, &L->hosts[i], err);
	}
	if (r >= 0 && !*stopped && !launch_stop_requested() && k->before_run)
		r = stop_is_no_error(k->before_run(L, err), stopped);
	return r;
}

static char *failure_reason(void *ctx, const struct host *h, int wstatus)
{
	struct local_job *L = ctx;

	return L->kind->failure_reason(L, h, wstatus);
}

int launch_attempt(struct local_job *L, enum sup_outcome *outcome, bool *stopped, int *start_error,
		   struct sr_error *err)
{
	int r = stage(L, stopped, err);

	if (r < 0)
		return r;
	if (*stopped || launch_stop_requested()) {
		/* Stopped while Downloading: no host ever runs user code. */
		*stopped = true;
		*outcome = SUP_STOPPED;
		launch_status_to(L, JOB_STOPPING, SEC_STOPPING);
		launch_status_to(L, JOB_STOPPING, SEC_UPLOADING);
		return 0;
	}
	struct sup_config sc = {
	    .hosts = L->hosts,
	    .n_hosts = L->n_hosts,
	    .log_dir = L->log_dir,
	    .out_fd = STDOUT_FILENO,
	    .err_fd = STDERR_FILENO,
	    .color = L->opts->color,
	    .max_run_s = L->job->max_run_s,
	    .stop_grace_s = L->job->stop_grace_s,
	    .status = &L->status,
	    .stop_signal = L->job->kind->stop_signal,
	    .failure_reason = L->kind->failure_reason ? failure_reason : NULL,
	    .on_event = launch_hosts_event,
	    .ctx = L,
	    .start_error = start_error,
	};
	return sup_run(&sc, outcome, err);
}

void launch_host_paths(struct local_job *L, struct host *h)
{
	if (!h->root)
		h->root = xasprintf("%s/hosts/%s", L->job_dir, h->name);
	if (!h->opt_ml)
		h->opt_ml = xasprintf("%s/opt/ml", h->root);
	h->group = &L->group;
}

int launch_hosts_reset(struct local_job *L, struct sr_error *err)
{
	_cleanup_free_ char *trees = xasprintf("%s/hosts", L->job_dir);

	host_group_teardown(&L->group);
	for (size_t i = 0; i < L->n_hosts; i++) {
		host_release(&L->hosts[i]);
		host_init(&L->hosts[i], i, L->backend);
	}
	for (size_t i = 0; i < L->status.n_hosts; i++) {
		struct job_host_status *h = &L->status.hosts[i];

		h->started = h->exited = 0;
		h->exit_code = h->signal = 0;
		h->start_ms = h->end_ms = 0;
	}
	return fs_rm_rf(trees, err);
}
