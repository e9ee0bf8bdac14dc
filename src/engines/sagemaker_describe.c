/* sagemaker_describe.c - a Describe<Kind>Job answer read as the store's and the report's job
 * status (its state, secondary status and transitions, FailureReason and times), and
 * recorded in the store with credentials' values redacted.  The watch, `logs` and `ps` all
 * read the service through it.
 */
#include "engines/sagemaker_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/kind.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/secret.h"
#include "util/xalloc.h"

json_t *sm_name_request(const struct job_kind *kind, const char *name)
{
	_cleanup_free_ char *field = xasprintf("%sName", kind->api);

	return json_pack("{s:s}", field, name);
}

/* The service's times are seconds since the epoch, with fractions. */
static int64_t time_ms(json_t *v)
{
	return json_is_number(v) ? (int64_t)(json_number_value(v) * 1000.0 + 0.5) : 0;
}

static enum job_state state_of(const char *s)
{
	static const char *const names[] = {[JOB_IN_PROGRESS] = "InProgress",
					    [JOB_COMPLETED] = "Completed",
					    [JOB_FAILED] = "Failed",
					    [JOB_STOPPING] = "Stopping",
					    [JOB_STOPPED] = "Stopped"};

	for (int i = 0; s && i < JOB_STATE_MAX; i++)
		if (!strcmp(s, names[i]))
			return (enum job_state)i;
	return JOB_IN_PROGRESS;
}

/* A secondary status the service names, as sagerun's: its own names, and the service's others
 * (reference §5.3) on the nearest of them. */
static enum job_secondary secondary_of(const struct job_kind *kind, const char *s)
{
	static const struct {
		const char *name;
		enum job_secondary sec;
	} more[] = {
	    {"Pending", SEC_STARTING},
	    {"LaunchingMLInstances", SEC_STARTING},
	    {"PreparingTrainingStack", SEC_STARTING},
	    {"DownloadingTrainingImage", SEC_DOWNLOADING},
	    {"Interrupted", SEC_RESTARTING},
	    {"Updating", SEC_RUNNING},
	    {"MaxWaitTimeExceeded", SEC_MAX_RUNTIME_EXCEEDED},
	};

	for (int i = 0; s && i < SEC_MAX; i++)
		if (kind->secondary_names[i] && !strcmp(s, kind->secondary_names[i]))
			return (enum job_secondary)i;
	for (size_t i = 0; s && i < sizeof(more) / sizeof(*more); i++)
		if (!strcmp(s, more[i].name))
			return more[i].sec;
	return SEC_STARTING;
}

void sm_add_transition(struct job_status *st, enum job_secondary sec, int64_t start, int64_t end,
		       const char *msg)
{
	struct job_transition *t;

	xgrow(&st->transitions, &st->cap_transitions, st->n_transitions + 1,
	      sizeof(*st->transitions));
	t = &st->transitions[st->n_transitions++];
	t->status = sec;
	t->start_ms = start;
	t->end_ms = end;
	t->message = msg ? xstrdup(msg) : NULL;
}

/* A processing job has no SecondaryStatus: its status, read as the local engine names its
 * steps (Processing once ProcessingStartTime is there). */
static enum job_secondary processing_secondary(enum job_state state, json_t *d)
{
	switch (state) {
	case JOB_COMPLETED:
		return SEC_COMPLETED;
	case JOB_FAILED:
		return SEC_FAILED;
	case JOB_STOPPING:
		return SEC_STOPPING;
	case JOB_STOPPED:
		return SEC_STOPPED;
	default:
		return json_object_get(d, "ProcessingStartTime") ? SEC_RUNNING : SEC_STARTING;
	}
}

void sm_describe_status(const struct job_kind *kind, json_t *d, struct job_status *st)
{
	_cleanup_free_ char *sf = xasprintf("%sStatus", kind->api);
	_cleanup_free_ char *startf = xasprintf(
	    "%sStartTime", kind->api == job_kind_training.api ? "Training" : "Processing");
	_cleanup_free_ char *endf =
	    xasprintf("%sEndTime", kind->api == job_kind_training.api ? "Training" : "Processing");
	const char *reason = json_string_value(json_object_get(d, "FailureReason"));
	json_t *tr = json_object_get(d, "SecondaryStatusTransitions"), *t;
	size_t i;

	memset(st, 0, sizeof(*st));
	st->state = state_of(json_string_value(json_object_get(d, sf)));
	st->creation_ms = time_ms(json_object_get(d, "CreationTime"));
	st->last_modified_ms = time_ms(json_object_get(d, "LastModifiedTime"));
	st->start_ms = time_ms(json_object_get(d, startf));
	st->end_ms = time_ms(json_object_get(d, endf));
	st->failure_reason = reason ? xstrdup(reason) : NULL;
	json_array_foreach (tr, i, t) {
		sm_add_transition(
		    st, secondary_of(kind, json_string_value(json_object_get(t, "Status"))),
		    time_ms(json_object_get(t, "StartTime")),
		    time_ms(json_object_get(t, "EndTime")),
		    json_string_value(json_object_get(t, "StatusMessage")));
	}
	if (json_is_array(tr))
		st->secondary =
		    secondary_of(kind, json_string_value(json_object_get(d, "SecondaryStatus")));
	else
		st->secondary = processing_secondary(st->state, d);
}

/* Credentials' values out of the answer's Environment, as describe shows a local job's. */
static void redact(json_t *d)
{
	json_t *env = json_object_get(d, "Environment"), *v;
	const char *k;

	json_object_foreach (env, k, v) {
		if (sr_name_is_credential(k))
			json_object_set_new(env, k, json_string("(redacted)"));
	}
}

int sm_record(struct store *s, const char *name, const struct job_kind *kind, json_t *d,
	      struct sr_error *err)
{
	struct job_status st;
	_cleanup_free_ char *text = NULL;
	const char *sec = json_string_value(json_object_get(d, "SecondaryStatus"));
	struct store_remote_status u;
	int r;

	redact(d);
	text = json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	sm_describe_status(kind, d, &st);
	u = (struct store_remote_status){
	    .status = job_state_name(st.state),
	    .secondary = sec ? sec : job_secondary_name(kind, st.secondary),
	    .failure_reason = st.failure_reason,
	    .start_ms = st.start_ms,
	    .end_ms = st.end_ms,
	    .modified_ms = st.last_modified_ms ? st.last_modified_ms : clock_wall_ms(),
	    .describe = text,
	};
	r = text ? store_job_set_remote(s, name, &u, err)
		 : sr_err(err, -ENOMEM, "format the state of '%s'", name);
	job_status_release(&st);
	return r;
}
