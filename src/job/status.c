#include "job/status.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/kind.h"
#include "util/clock.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/signame.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define FAILURE_REASON_MAX 1024

static const char *const state_names[JOB_STATE_MAX] = {
    [JOB_IN_PROGRESS] = "InProgress", [JOB_COMPLETED] = "Completed", [JOB_FAILED] = "Failed",
    [JOB_STOPPING] = "Stopping",      [JOB_STOPPED] = "Stopped",
};

const char *job_state_name(enum job_state s)
{
	return s < JOB_STATE_MAX ? state_names[s] : "Unknown";
}

const char *job_secondary_name(const struct job_kind *k, enum job_secondary s)
{
	return s < SEC_MAX && k->secondary_names[s] ? k->secondary_names[s] : "Unknown";
}

void job_status_init(struct job_status *st, const struct job_kind *k, size_t n_hosts,
		     int64_t now_ms)
{
	memset(st, 0, sizeof(*st));
	st->state = JOB_IN_PROGRESS;
	st->creation_ms = now_ms;
	st->last_modified_ms = now_ms;
	st->n_hosts = n_hosts;
	st->hosts = xcalloc(n_hosts, sizeof(*st->hosts));
	for (size_t i = 0; i < n_hosts; i++)
		snprintf(st->hosts[i].name, sizeof(st->hosts[i].name), "algo-%u",
			 (unsigned)(i + 1) % 1000000u);
	job_status_to(st, k, JOB_IN_PROGRESS, SEC_STARTING, now_ms);
}

void job_status_release(struct job_status *st)
{
	for (size_t i = 0; i < st->n_transitions; i++)
		free(st->transitions[i].message);
	free(st->transitions);
	free(st->failure_reason);
	free(st->hosts);
	free(st->model_artifacts);
	free(st->exit_message);
	memset(st, 0, sizeof(*st));
}

void job_status_set(struct job_status *st, enum job_state state, enum job_secondary secondary,
		    const char *message, int64_t now_ms)
{
	struct job_transition *cur =
	    st->n_transitions ? &st->transitions[st->n_transitions - 1] : NULL;

	st->state = state;
	st->last_modified_ms = now_ms;
	if (cur && cur->status == secondary)
		return;
	if (cur)
		cur->end_ms = now_ms;
	xgrow(&st->transitions, &st->cap_transitions, st->n_transitions + 1,
	      sizeof(*st->transitions));
	st->transitions[st->n_transitions++] = (struct job_transition){
	    .status = secondary,
	    .start_ms = now_ms,
	    .message = xstrdup(message ? message : ""),
	};
	st->secondary = secondary;
	if (secondary == SEC_RUNNING && !st->start_ms)
		st->start_ms = now_ms;
	if (state == JOB_COMPLETED || state == JOB_FAILED || state == JOB_STOPPED) {
		st->end_ms = now_ms;
		/* A final status has no duration of its own: it ends where it starts. */
		st->transitions[st->n_transitions - 1].end_ms = now_ms;
	}
}

void job_status_to(struct job_status *st, const struct job_kind *k, enum job_state state,
		   enum job_secondary secondary, int64_t now_ms)
{
	job_status_set(st, state, secondary, k->messages[secondary], now_ms);
}

void job_status_event(struct job_status *st, const struct job_kind *k, enum job_event ev,
		      int64_t now_ms)
{
	switch (ev) {
	case JOB_EV_HOSTS_STARTED:
		job_status_to(st, k, JOB_IN_PROGRESS, SEC_RUNNING, now_ms);
		break;
	case JOB_EV_STOP_ASKED:
		job_status_to(st, k, JOB_STOPPING, SEC_STOPPING, now_ms);
		break;
	case JOB_EV_MAX_RUNTIME:
		/* Stopping, as for a stop request: MaxRuntimeExceeded comes once the artifacts
		 * are saved, so a status appears once in the transitions. */
		job_status_set(st, JOB_STOPPING, SEC_STOPPING, k->max_runtime_stopping, now_ms);
		break;
	case JOB_EV_HOSTS_ENDED:
		job_status_to(st, k, st->state == JOB_STOPPING ? JOB_STOPPING : JOB_IN_PROGRESS,
			      SEC_UPLOADING, now_ms);
		break;
	}
}

void job_status_set_failure(struct job_status *st, const char *reason)
{
	free(st->failure_reason);
	st->failure_reason =
	    utf8_clean(reason, FAILURE_REASON_MAX); /* characters, as the service */
}

json_t *job_time_json(int64_t ms)
{
	char buf[48];

	return json_string(clock_iso8601(ms, buf, sizeof(buf)));
}

json_t *job_hosts_json(const struct job_status *st)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < st->n_hosts; i++) {
		const struct job_host_status *h = &st->hosts[i];
		const char *state = !h->started ? "Pending" : !h->exited ? "Running" : "Exited";
		json_t *o = json_pack("{s:s, s:s}", "Name", h->name, "State", state);

		if (h->exited && h->signal) {
			char name[32];

			json_object_set_new(o, "Signal", json_string(sr_signame(h->signal, name)));
		} else if (h->exited) {
			json_object_set_new(o, "ExitCode", json_integer(h->exit_code));
		}
		if (h->start_ms)
			json_object_set_new(o, "StartTime", job_time_json(h->start_ms));
		if (h->end_ms)
			json_object_set_new(o, "EndTime", job_time_json(h->end_ms));
		json_array_append_new(arr, o);
	}
	return arr;
}

void job_hosts_json_lost(json_t *d, int64_t now_ms)
{
	json_t *hosts = json_object_get(d, "Hosts"), *h;
	size_t i;

	json_array_foreach (hosts, i, h) {
		if (json_is_object(h) && !json_object_get(h, "EndTime")) {
			json_object_set_new(h, "State", json_string("Lost"));
			json_object_set_new(h, "EndTime", job_time_json(now_ms));
		}
	}
}

json_t *job_describe_json(const struct job *job, const struct job_status *st)
{
	return job->kind->describe_json(job, st);
}

int job_describe_write(const struct job *job, const struct job_status *st, const char *path,
		       struct sr_error *err)
{
	_cleanup_json_ json_t *d = job_describe_json(job, st);
	_cleanup_free_ char *text = json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	_cleanup_free_ char *withnl = NULL;

	if (!text)
		return sr_err(err, -ENOMEM, "format '%s'", path);
	withnl = xasprintf("%s\n", text);
	/* Only the final record must survive a crash of the machine; the ones in between are
	 * replaced within the second, and an fsync each is a good part of a short job. */
	if (st->state == JOB_IN_PROGRESS || st->state == JOB_STOPPING)
		return fs_write_replace(path, withnl, strlen(withnl), 0600, err);
	return fs_write_atomic(path, withnl, strlen(withnl), 0600, err);
}
