/* run.c - one job on this machine from a built struct job to its final status.
 *
 *   pick the backend -> (-d: fork) -> job folder -> record -> attempts (attempt.c), retried as
 *   RetryStrategy says -> checkpoints saved and artifacts packaged -> the final status.
 *
 * The job folder ($SAGERUN_HOME/jobs/<name>) keeps each host's tree (hosts/algo-N/opt/ml),
 * its log (logs/algo-N.log) and describe.json, rewritten atomically at every transition so
 * another process can watch the job.
 */
#include "launch/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/job.h"
#include "job/report.h"
#include "runtime/agent.h"
#include "store/store.h"
#include "supervise/supervise.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* The supervisor holds about 8 fds per host at the peak (its pidfd, status pipe, report
 * socket, stdout and stderr pipes, log and time index files, the ns backend's network
 * namespace): 256 hosts need more than the usual soft limit of 1024. */
#define RUN_FDS_BASE	 64
#define RUN_FDS_PER_HOST 10

/* What each kind of job does here. */
static const struct launch_kind *const kinds[] = {
    &launch_kind_training,
    &launch_kind_processing,
};

static const struct launch_kind *kind_of(const struct job *job)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->job_kind == job->kind)
			return kinds[i];
	return NULL;
}

void launch_init(struct local_job *L, struct job *job, const struct launch_options *o,
		 const struct job_report *rep)
{
	memset(L, 0, sizeof(*L));
	L->job = job;
	L->kind = kind_of(job);
	L->opts = o;
	L->rep = rep;
	L->home = launch_home_dir();
	L->lease_fd = -1;
	L->detach_fd = -1;
}

void launch_hosts_init(struct local_job *L)
{
	L->n_hosts = (size_t)L->job->instance_count;
	job_status_init(&L->status, L->job->kind, L->n_hosts, clock_wall_ms());
	L->hosts = xcalloc(L->n_hosts, sizeof(*L->hosts));
	for (size_t i = 0; i < L->n_hosts; i++)
		host_init(&L->hosts[i], i, L->backend);
	/* The probe may have made the group's state already: keep it. */
	L->group.hosts = L->hosts;
	L->group.n = L->n_hosts;
	L->group.backend = L->backend;
	L->group.job_dir = L->job_dir;
	if (L->backend->flags & HOST_BACKEND_F_CONTAINER)
		launch_container_bind(L);
}

void launch_release(struct local_job *L)
{
	host_group_teardown(&L->group);
	if (L->kind && L->kind->hosts_gone)
		L->kind->hosts_gone(L);
	for (size_t i = 0; L->hosts && i < L->n_hosts; i++)
		host_release(&L->hosts[i]);
	free(L->hosts);
	free(L->home);
	free(L->job_dir);
	free(L->log_dir);
	free(L->toolkit_binary);
	free(L->describe_path);
	launch_reserve_give(L);
	store_close(L->store);
	L->detach_fd = sr_close(L->detach_fd);
	L->lease_fd = sr_close(L->lease_fd); /* last: the job is final in the store first */
	job_status_release(&L->status);
}

/* sagerun's own failures, as opposed to the user's: what RetryStrategy retries.  A program
 * or a path of the job's that is missing, not executable or not valid is the user's. */
static bool error_is_internal(int code)
{
	switch (-code) {
	case ENOENT:
	case EACCES:
	case ENOEXEC:
	case ENOTDIR:
	case EISDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EINVAL:
	case EEXIST:
		return false;
	default:
		return true;
	}
}

/* Everything before the first attempt: the folder, the hosts (what they share is started in
 * the background, the ns backend's network, while the job is recorded and laid out), the
 * record.  Nothing of the job is left when it fails. */
static int job_start(struct local_job *L, struct sr_error *err)
{
	int r = launch_job_dir_make(L, err);

	if (r < 0)
		return r;
	r = rt_agent_secret_new(L->agent_secret, err);
	if (r >= 0)
		r = launch_reserve_take(L, err);
	/* -d: stdio moves to the job folder before the job is recorded, so a job that is
	 * recorded never fails for want of it. */
	if (r >= 0 && L->detach_fd >= 0)
		r = launch_detach_stdio(L, err);
	if (r >= 0) {
		launch_hosts_init(L);
		host_group_begin(&L->group);
		r = launch_record(L, err);
	}
	if (r < 0) {
		L->lease_fd = sr_close(L->lease_fd);
		(void)fs_rm_rf(L->job_dir, NULL);
		return r;
	}
	launch_detach_release(L, NULL);
	L->describe_path = xasprintf("%s/describe.json", L->job_dir);
	L->log_dir = xasprintf("%s/logs", L->job_dir);
	launch_status_changed(L, &L->status);
	return 0;
}

/* A failed attempt: the service's InternalServerError when the failure is sagerun's own,
 * which RetryStrategy retries.  True when another attempt follows (Restarting said). */
static bool attempt_failed(struct local_job *L, int attempt, int r, struct sr_error *aerr)
{
	bool internal = error_is_internal(r);
	_cleanup_free_ char *reason =
	    xasprintf("%s%s", internal ? "InternalServerError: " : "", aerr->msg);
	_cleanup_free_ char *msg = NULL;
	struct sr_error err = {0};

	job_status_set_failure(&L->status, reason);
	job_say_error(L->rep, JOB_SAY_ERROR, NULL, aerr);
	if (!internal || attempt > L->kind->retries(L->job))
		return false;
	/* The next attempt resumes from what this one saved. */
	r = L->kind->save_progress ? L->kind->save_progress(L, &err) : 0;
	if (r >= 0)
		r = launch_hosts_reset(L, &err);
	if (r < 0) {
		job_say_error(L->rep, JOB_SAY_ERROR, NULL, &err);
		return false;
	}
	free(L->status.failure_reason);
	L->status.failure_reason = NULL;
	msg = xasprintf(L->job->kind->messages[SEC_RESTARTING], attempt + 1,
			L->kind->retries(L->job) + 1);
	launch_set_status(L, JOB_IN_PROGRESS, SEC_RESTARTING, msg);
	return true;
}

/* Attempts until one ends (completed, failed by the user's code, stopped) or RetryStrategy
 * gives up; the supervisor's outcome. */
static enum sup_outcome attempts(struct local_job *L)
{
	enum sup_outcome outcome = SUP_FAILED;
	bool stopped = false;

	for (int attempt = 1;; attempt++) {
		struct sr_error err = {0};
		int start_error = 0;
		int r = launch_attempt(L, &outcome, &stopped, &start_error, &err);

		if (L->kind->hosts_gone)
			L->kind->hosts_gone(L);
		if (r >= 0 && start_error < 0 && error_is_internal(start_error)) {
			/* A host that could not be started for a reason of ours. */
			r = start_error;
			sr_err(&err, r, "%s",
			       L->status.failure_reason ? L->status.failure_reason : strerror(-r));
		}
		if (r >= 0 || stopped)
			return outcome;
		if (!attempt_failed(L, attempt, r, &err)) {
			launch_status_to(L, JOB_IN_PROGRESS, SEC_UPLOADING);
			return SUP_FAILED;
		}
	}
}

/* The kind's outputs are exported whatever the outcome, as the service does; a failure to
 * export fails a job that completed. */
static enum sup_outcome export(struct local_job *L, enum sup_outcome outcome) {
	struct sr_error err = {0};

	if (L->kind->export(L, &err) >= 0) return outcome;
	job_say_error(L->rep, JOB_SAY_ERROR, NULL, &err); if (outcome == SUP_COMPLETED){
	    job_status_set_failure(&L->status, err.msg); return SUP_FAILED;}
return outcome;
}

/* A training instance reaches the internet unless EnableNetworkIsolation; hosts with an
 * address of their own here reach each other and nothing else, unless --network host.  A
 * failed install of requirements.txt then most likely wanted an index: say so. */
static void say_private_network(const struct local_job *L)
{
	const char *why = L->status.failure_reason;

	if (!L->backend || !(L->backend->flags & HOST_BACKEND_F_OWN_ADDRESS) ||
	    L->host_opts.network_host || L->host_opts.network_isolation ||
	    (!strstr(why, "InstallRequirementsError") && !strstr(why, "InstallModuleError")))
		return;
	job_say(L->rep, JOB_SAY_NOTE, L->job->name,
		"the hosts' network is private: they reach each other and nothing else, so pip "
		"reaches no package index; --network host shares this machine's network, or put "
		"the packages (wheels) in the source folder");
}

static void finish(struct local_job *L, enum sup_outcome outcome)
{
	switch (outcome) {
	case SUP_COMPLETED:
		launch_status_to(L, JOB_COMPLETED, SEC_COMPLETED);
		break;
	case SUP_STOPPED:
		launch_status_to(L, JOB_STOPPED, SEC_STOPPED);
		break;
	case SUP_MAX_RUNTIME:
		launch_status_to(L, JOB_STOPPED, SEC_MAX_RUNTIME_EXCEEDED);
		break;
	default:
		launch_status_to(L, JOB_FAILED, SEC_FAILED);
		if (L->status.failure_reason) {
			job_say(L->rep, JOB_SAY_INFO, L->job->name, "FailureReason: %s",
				L->status.failure_reason);
			say_private_network(L);
		}
		break;
	}
	if (L->status.model_artifacts)
		job_say(L->rep, JOB_SAY_INFO, L->job->name, "model artifacts: %s",
			L->status.model_artifacts);
}

static int run_job(struct local_job *L, struct launch_result *res, struct sr_error *err)
{
	enum sup_outcome outcome;
	int r = job_start(L, err);

	if (r < 0)
		return r;
	outcome = attempts(L);
	host_group_teardown(&L->group);
	finish(L, export(L, outcome));
	res->state = L->status.state;
	if (L->record_lost) {
		/* The command must not pass for a clean end while the store says otherwise. */
		*err = L->record_err;
		sr_err_wrap(err, "job '%s' ended %s, but the store could not record it",
			    L->job->name, job_state_name(L->status.state));
		return sr_err_hint(err,
				   "free space in '%s'; the next sagerun command there records "
				   "the end from the job's describe.json",
				   L->home);
	}
	return 0;
}

/* More open files than a big job needs, or a warning when the hard limit is lower: the job
 * may need fewer, and if it runs out, what could not be opened says so (an
 * InternalServerError, retried as the service retries it). */
static void raise_fd_limit(struct local_job *L)
{
	struct sr_error err = {0};
	size_t n = (size_t)L->job->instance_count;

	if (fs_need_open_files(RUN_FDS_BASE + RUN_FDS_PER_HOST * n, &err) < 0) {
		sr_err_wrap(&err, "%zu hosts", n);
		job_say_error(L->rep, JOB_SAY_WARNING, NULL, &err);
	}
}

int launch_run(struct job *job, const struct launch_options *o, const struct job_report *rep,
	       struct launch_result *res, struct sr_error *err)
{
	struct local_job L;
	sigset_t stop_signals;
	int r;

	memset(res, 0, sizeof(*res));
	/* Ctrl-C before the hosts start must not leave a half-made job: hold the stop signals
	 * until the supervisor reads them from its signalfd (it stops the job at once). */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);

	launch_init(&L, job, o, rep);
	r = launch_backend_pick(&L, err);
	if (r >= 0 && L.kind->check && (r = L.kind->check(&L, err)) < 0)
		L.usage = true;
	if (r >= 0)
		raise_fd_limit(&L);
	if (r >= 0 && o->detach)
		r = launch_detach(&L, err);
	if (r == 0)
		r = run_job(&L, res, err);
	res->detached = r == 1;
	res->usage = L.usage;
	if (L.detach_fd >= 0) {
		/* The detached supervisor of a job that could not start: its launcher says
		 * why, once nothing of the job is left. */
		int fd = L.detach_fd;

		L.detach_fd = -1;
		launch_release(&L);
		L.detach_fd = fd;
		launch_detach_release(&L, err);
		res->quiet = true;
		return 0;
	}
	launch_release(&L);
	return r < 0 ? r : 0;
}
