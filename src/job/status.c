#include "job/status.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
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

static const char *const secondary_names[SEC_MAX] = {
    [SEC_STARTING] = "Starting",
    [SEC_DOWNLOADING] = "Downloading",
    [SEC_TRAINING] = "Training",
    [SEC_UPLOADING] = "Uploading",
    [SEC_STOPPING] = "Stopping",
    [SEC_STOPPED] = "Stopped",
    [SEC_MAX_RUNTIME_EXCEEDED] = "MaxRuntimeExceeded",
    [SEC_COMPLETED] = "Completed",
    [SEC_FAILED] = "Failed",
    [SEC_RESTARTING] = "Restarting",
};

const char *job_state_name(enum job_state s)
{
	return s < JOB_STATE_MAX ? state_names[s] : "Unknown";
}

const char *job_secondary_name(enum job_secondary s)
{
	return s < SEC_MAX ? secondary_names[s] : "Unknown";
}

void job_status_init(struct job_status *st, size_t n_hosts, int64_t now_ms)
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
	job_status_set(st, JOB_IN_PROGRESS, SEC_STARTING, "Starting the training job", now_ms);
}

void job_status_release(struct job_status *st)
{
	for (size_t i = 0; i < st->n_transitions; i++)
		free(st->transitions[i].message);
	free(st->transitions);
	free(st->failure_reason);
	free(st->hosts);
	free(st->model_artifacts);
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
	if (secondary == SEC_TRAINING && !st->training_start_ms)
		st->training_start_ms = now_ms;
	if (state == JOB_COMPLETED || state == JOB_FAILED || state == JOB_STOPPED) {
		st->training_end_ms = now_ms;
		/* A final status has no duration of its own: it ends where it starts. */
		st->transitions[st->n_transitions - 1].end_ms = now_ms;
	}
}

void job_status_set_failure(struct job_status *st, const char *reason)
{
	free(st->failure_reason);
	st->failure_reason =
	    utf8_clean(reason, FAILURE_REASON_MAX); /* characters, as the service */
}

static json_t *time_json(int64_t ms)
{
	char buf[48];

	return json_string(clock_iso8601(ms, buf, sizeof(buf)));
}

static json_t *hosts_json(const struct job_status *st)
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
			json_object_set_new(o, "StartTime", time_json(h->start_ms));
		if (h->end_ms)
			json_object_set_new(o, "EndTime", time_json(h->end_ms));
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *job_describe_json(const struct job *job, const struct job_status *st)
{
	json_t *d = job_request_json(job);
	json_t *transitions = json_array();

	json_object_set_new(d, "TrainingJobArn", json_string(job->arn));
	json_object_set_new(d, "TrainingJobStatus", json_string(job_state_name(st->state)));
	json_object_set_new(d, "SecondaryStatus", json_string(job_secondary_name(st->secondary)));
	if (st->failure_reason)
		json_object_set_new(d, "FailureReason", json_string(st->failure_reason));
	json_object_set_new(
	    d, "ModelArtifacts",
	    json_pack("{s:s}", "S3ModelArtifacts", st->model_artifacts ? st->model_artifacts : ""));
	json_object_set_new(d, "CreationTime", time_json(st->creation_ms));
	if (st->training_start_ms)
		json_object_set_new(d, "TrainingStartTime", time_json(st->training_start_ms));
	if (st->training_end_ms) {
		json_object_set_new(d, "TrainingEndTime", time_json(st->training_end_ms));
		if (st->training_start_ms) {
			int64_t secs = (st->training_end_ms - st->training_start_ms + 999) / 1000;

			json_object_set_new(d, "TrainingTimeInSeconds", json_integer(secs));
			json_object_set_new(d, "BillableTimeInSeconds", json_integer(secs));
		}
	}
	json_object_set_new(d, "LastModifiedTime", time_json(st->last_modified_ms));
	for (size_t i = 0; i < st->n_transitions; i++) {
		const struct job_transition *t = &st->transitions[i];
		json_t *o = json_pack("{s:s, s:o}", "Status", job_secondary_name(t->status),
				      "StartTime", time_json(t->start_ms));

		if (t->end_ms)
			json_object_set_new(o, "EndTime", time_json(t->end_ms));
		if (t->message && *t->message)
			json_object_set_new(o, "StatusMessage", json_string(t->message));
		json_array_append_new(transitions, o);
	}
	json_object_set_new(d, "SecondaryStatusTransitions", transitions);
	json_object_set_new(d, "Hosts", hosts_json(st));
	return d;
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
		return fs_write_replace(path, withnl, strlen(withnl), 0644, err);
	return fs_write_atomic(path, withnl, strlen(withnl), 0644, err);
}
