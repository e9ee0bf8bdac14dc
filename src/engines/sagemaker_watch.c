/* sagemaker_watch.c - a job on the service, followed through Describe<Kind>Job: polled with
 * backoff (a quarter second after a change, doubling to 5 s while nothing moves), each new
 * SecondaryStatusTransition said as the local engine says its own, each answer recorded in
 * the store, the hosts' output shown as it comes (sagemaker_logs.c).  A Ctrl-C (SIGINT, or
 * SIGTERM) sends Stop<Kind>Job and the watch goes on to Stopped; a second one leaves the job
 * running on the service.
 *
 * Signals come through a signalfd, which is also how the watch sleeps between polls: a
 * Ctrl-C wakes it at once, with no handler and no global.
 */
#include "engines/sagemaker_internal.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "engines/engine.h"
#include "job/job.h"
#include "job/kind.h"
#include "job/report.h"
#include "s3/awsjson.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xalloc.h"

#define POLL_FIRST_MS 250
#define POLL_MAX_MS   5000

static bool final(enum job_state s)
{
	return s == JOB_COMPLETED || s == JOB_FAILED || s == JOB_STOPPED;
}

/* What the watcher has said so far, and says next. */
struct watch {
	struct aws_json_client *sm;
	struct job *job;
	const struct job_report *rep;
	struct job_status said; /* the transitions already said */
};

/* Say what is new in `now` (a training job's transitions; a processing job's status, made a
 * transition of ours when it changes); true when anything was. */
static bool say_new(struct watch *w, struct job_status *now)
{
	const struct job_kind *kind = w->job->kind;
	bool changed = false;

	if (kind != &job_kind_training) {
		/* The service keeps no transitions for processing: ours are our readings. */
		if (!w->said.n_transitions || w->said.secondary != now->secondary) {
			int64_t at = now->secondary == SEC_RUNNING && now->start_ms ? now->start_ms
				     : final(now->state) && now->end_ms		    ? now->end_ms
									: clock_wall_ms();

			if (w->said.n_transitions)
				w->said.transitions[w->said.n_transitions - 1].end_ms = at;
			sm_add_transition(&w->said, now->secondary, at, 0,
					  kind->messages[now->secondary]);
			w->said.secondary = now->secondary;
			changed = true;
		}
		w->said.state = now->state;
		if (changed && w->rep && w->rep->status)
			w->rep->status(w->rep->ctx, w->job, &w->said);
		return changed;
	}
	for (size_t i = w->said.n_transitions; i < now->n_transitions; i++) {
		struct job_status view = *now;

		/* Each line as it would have been said when it came: the one before it ended. */
		view.n_transitions = i + 1;
		view.state = i + 1 == now->n_transitions ? now->state : JOB_IN_PROGRESS;
		if (w->rep && w->rep->status)
			w->rep->status(w->rep->ctx, w->job, &view);
		changed = true;
	}
	if (changed) {
		job_status_release(&w->said);
		w->said = *now;
		memset(now, 0, sizeof(*now));
	}
	return changed;
}

static int describe(struct watch *w, json_t **ret, struct sr_error *err)
{
	_cleanup_json_ json_t *req = sm_name_request(w->job->kind, w->job->name);
	_cleanup_free_ char *op = xasprintf("Describe%s", w->job->kind->api);

	return aws_json_call(w->sm, op, req, ret, err);
}

static int send_stop(struct watch *w, struct sr_error *err)
{
	_cleanup_json_ json_t *req = sm_name_request(w->job->kind, w->job->name);
	_cleanup_free_ char *op = xasprintf("Stop%s", w->job->kind->api);
	json_t *ans = NULL;
	int r = aws_json_call(w->sm, op, req, &ans, err);

	json_decref(ans);
	return r;
}

/* Sleep up to `ms`, woken by a signal of `sfd`: 1 when one came. */
static int nap(int sfd, int ms)
{
	struct pollfd p = {.fd = sfd, .events = POLLIN};
	struct signalfd_siginfo si;

	if (sfd < 0) {
		(void)poll(NULL, 0, ms);
		return 0;
	}
	if (poll(&p, 1, ms) <= 0)
		return 0;
	return read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si);
}

static int nap_ctx(void *ctx, int ms)
{
	return nap(*(const int *)ctx, ms);
}

int sm_watch(struct aws_json_client *sm, struct job *job, bool logs, bool interrupt,
	     const struct job_report *rep, struct sm_watch_result *res, struct sr_error *err)
{
	struct watch w = {.sm = sm, .job = job, .rep = rep};
	struct sm_logs *lg = NULL;
	struct store *s = NULL;
	sigset_t mask, old;
	int sfd = -1, ctrl_c = 0, delay = POLL_FIRST_MS, r;
	int64_t end_ms = 0;

	memset(res, 0, sizeof(*res));
	if (interrupt) {
		sigemptyset(&mask);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigprocmask(SIG_BLOCK, &mask, &old);
		sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	r = engine_store_open(&s, rep, err);
	if (r >= 0 && logs)
		r = sm_logs_new(job->kind, job->name, NULL, false, 0, &lg, err);
	while (r >= 0) {
		json_t *d = NULL;
		struct job_status now;
		bool changed;
		struct sr_error rerr = {0};

		r = describe(&w, &d, err);
		if (r < 0)
			break;
		sm_describe_status(job->kind, d, &now);
		if (sm_record(s, job->name, job->kind, d, &rerr) < 0)
			job_say_error(rep, JOB_SAY_WARNING, job->name, &rerr);
		json_decref(d);
		changed = say_new(&w, &now);
		res->state = now.state;
		end_ms = now.end_ms;
		if (final(now.state) && now.failure_reason)
			job_say(rep, JOB_SAY_ERROR, job->name, "FailureReason: %s",
				now.failure_reason);
		job_status_release(&now);
		if (lg && sm_logs_poll(lg, &rerr) < 0) {
			job_say_error(rep, JOB_SAY_WARNING, job->name, &rerr);
			sr_err_clear(&rerr);
		}
		if (final(res->state)) {
			/* The hosts' last lines may be on their way (a Ctrl-C stops the wait). */
			if (lg && sm_logs_settle(lg, end_ms, nap_ctx, &sfd, &rerr) < 0)
				job_say_error(rep, JOB_SAY_WARNING, job->name, &rerr);
			break;
		}
		delay = changed ? POLL_FIRST_MS : delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : delay * 2;
		if (!nap(sfd, delay))
			continue;
		if (++ctrl_c >= 2) {
			job_say(rep, JOB_SAY_NOTE, job->name,
				"left running on SageMaker: 'sagerun stop %s' stops it, 'sagerun "
				"logs -f %s' follows it",
				job->name, job->name);
			res->left_running = true;
			break;
		}
		r = send_stop(&w, err);
		if (r == -EINVAL) /* it ended meanwhile: the next answer says how */
			sr_err_clear(err), r = 0;
		job_say(rep, JOB_SAY_NOTE, job->name,
			"stopping the job on SageMaker (Ctrl-C again to leave it running there)");
		delay = POLL_FIRST_MS;
	}
	job_status_release(&w.said);
	sm_logs_free(lg);
	store_close(s);
	if (sfd >= 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	return r;
}
