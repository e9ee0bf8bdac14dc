/* training.c - the training kind (kind.h): CreateTrainingJob and DescribeTrainingJob, the
 * SecondaryStatus names and messages the service gives a training job (reference §5.3). */
#include "job/kind.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>

#include "job/build_internal.h"
#include "job/internal.h"
#include "job/job.h"
#include "job/rules.h"
#include "job/spec_internal.h"
#include "job/status.h"

static json_t *training_describe_json(const struct job *job, const struct job_status *st)
{
	const struct job_kind *k = job->kind;
	json_t *d = training_request_json(job, true);
	json_t *transitions = json_array();

	json_object_set_new(d, "TrainingJobArn", json_string(job->arn));
	json_object_set_new(d, "TrainingJobStatus", json_string(job_state_name(st->state)));
	json_object_set_new(d, "SecondaryStatus",
			    json_string(job_secondary_name(k, st->secondary)));
	if (st->failure_reason)
		json_object_set_new(d, "FailureReason", json_string(st->failure_reason));
	json_object_set_new(
	    d, "ModelArtifacts",
	    json_pack("{s:s}", "S3ModelArtifacts", st->model_artifacts ? st->model_artifacts : ""));
	json_object_set_new(d, "CreationTime", job_time_json(st->creation_ms));
	if (st->start_ms)
		json_object_set_new(d, "TrainingStartTime", job_time_json(st->start_ms));
	if (st->end_ms) {
		json_object_set_new(d, "TrainingEndTime", job_time_json(st->end_ms));
		if (st->start_ms) {
			int64_t secs = (st->end_ms - st->start_ms + 999) / 1000;

			json_object_set_new(d, "TrainingTimeInSeconds", json_integer(secs));
			json_object_set_new(d, "BillableTimeInSeconds", json_integer(secs));
		}
	}
	json_object_set_new(d, "LastModifiedTime", job_time_json(st->last_modified_ms));
	for (size_t i = 0; i < st->n_transitions; i++) {
		const struct job_transition *t = &st->transitions[i];
		json_t *o = json_pack("{s:s, s:o}", "Status", job_secondary_name(k, t->status),
				      "StartTime", job_time_json(t->start_ms));

		if (t->end_ms)
			json_object_set_new(o, "EndTime", job_time_json(t->end_ms));
		if (t->message && *t->message)
			json_object_set_new(o, "StatusMessage", json_string(t->message));
		json_array_append_new(transitions, o);
	}
	json_object_set_new(d, "SecondaryStatusTransitions", transitions);
	json_object_set_new(d, "Hosts", job_hosts_json(st));
	return d;
}

/* As the service would show the job failed now: every host still running Lost, the last
 * transition ended, a Failed one after it. */
static void training_describe_lost(json_t *d, const char *reason, int64_t now_ms)
{
	json_t *tr, *h;
	char *msg;

	job_hosts_json_lost(d, now_ms);
	json_object_set_new(d, "TrainingJobStatus", json_string("Failed"));
	json_object_set_new(d, "SecondaryStatus", json_string("Failed"));
	json_object_set_new(d, "FailureReason", json_string(reason));
	json_object_set_new(d, "TrainingEndTime", job_time_json(now_ms));
	json_object_set_new(d, "LastModifiedTime", job_time_json(now_ms));
	tr = json_object_get(d, "SecondaryStatusTransitions");
	if (!json_is_array(tr))
		return;
	h = json_array_get(tr, json_array_size(tr) - 1);
	if (json_is_object(h) && !json_object_get(h, "EndTime"))
		json_object_set_new(h, "EndTime", job_time_json(now_ms));
	if (asprintf(&msg, "%s: %s", job_kind_training.messages[SEC_FAILED], reason) < 0)
		msg = NULL;
	json_array_append_new(tr, json_pack("{s:s, s:o, s:o, s:s}", "Status", "Failed", "StartTime",
					    job_time_json(now_ms), "EndTime", job_time_json(now_ms),
					    "StatusMessage", msg ? msg : reason));
	free(msg);
}

static void training_release(struct job *job)
{
	struct job_training *t = &job->train;

	free(t->input_mode);
	job_map_release(&t->hyperparameters);
	strv_release(&t->hp_flag_keys);
	for (size_t i = 0; i < t->n_channels; i++)
		job_channel_release(&t->channels[i]);
	free(t->channels);
	free(t->output_path);
	free(t->output_local);
	free(t->output_compression);
	free(t->checkpoint_s3_uri);
	free(t->checkpoint_local_path);
}

const struct job_kind job_kind_training = {
    .name = "training",
    .api = "TrainingJob",
    .arn_type = "training-job",
    .secondary_names =
	{
	    [SEC_STARTING] = "Starting",
	    [SEC_DOWNLOADING] = "Downloading",
	    [SEC_RUNNING] = "Training",
	    [SEC_UPLOADING] = "Uploading",
	    [SEC_STOPPING] = "Stopping",
	    [SEC_STOPPED] = "Stopped",
	    [SEC_MAX_RUNTIME_EXCEEDED] = "MaxRuntimeExceeded",
	    [SEC_COMPLETED] = "Completed",
	    [SEC_FAILED] = "Failed",
	    [SEC_RESTARTING] = "Restarting",
	},
    .messages =
	{
	    [SEC_STARTING] = "Starting the training job",
	    [SEC_DOWNLOADING] = "Downloading input data",
	    [SEC_RUNNING] = "Training in progress.",
	    [SEC_UPLOADING] = "Uploading generated training model",
	    [SEC_STOPPING] = "Stopping the training job",
	    [SEC_STOPPED] = "Training job stopped",
	    [SEC_MAX_RUNTIME_EXCEEDED] = "Training job exceeded MaxRuntimeInSeconds",
	    [SEC_COMPLETED] = "Training job completed",
	    [SEC_FAILED] = "Training job failed",
	    [SEC_RESTARTING] = "Restarting the training job: attempt %d of %d (RetryStrategy)",
	},
    .max_runtime_stopping = "Training job exceeded MaxRuntimeInSeconds; stopping",
    .stop_signal = SIGTERM,
    .build = training_build,
    .spec_fields = training_spec_fields,
    .spec_nested_home = training_spec_nested_home,
    .validate = training_validate,
    .request_json = training_request_json,
    .describe_json = training_describe_json,
    .describe_lost = training_describe_lost,
    .release = training_release,
};
