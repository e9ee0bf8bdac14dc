/* processing.c - the processing kind (kind.h): CreateProcessingJob and DescribeProcessingJob
 * (reference §4, §5.4).  The service gives a processing job no SecondaryStatus; sagerun's
 * status lines still say where it is (Starting, Downloading, Processing, Uploading), in the
 * words of the SDK's local mode, and describe shows the API's shape. */
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

static json_t *processing_describe_json(const struct job *job, const struct job_status *st)
{
	json_t *d = processing_request_json(job, true);

	json_object_set_new(d, "ProcessingJobArn", json_string(job->arn));
	json_object_set_new(d, "ProcessingJobStatus", json_string(job_state_name(st->state)));
	if (st->exit_message)
		json_object_set_new(d, "ExitMessage", json_string(st->exit_message));
	if (st->failure_reason)
		json_object_set_new(d, "FailureReason", json_string(st->failure_reason));
	if (st->end_ms)
		json_object_set_new(d, "ProcessingEndTime", job_time_json(st->end_ms));
	if (st->start_ms)
		json_object_set_new(d, "ProcessingStartTime", job_time_json(st->start_ms));
	json_object_set_new(d, "LastModifiedTime", job_time_json(st->last_modified_ms));
	json_object_set_new(d, "CreationTime", job_time_json(st->creation_ms));
	json_object_set_new(d, "Hosts", job_hosts_json(st));
	return d;
}

static void processing_describe_lost(json_t *d, const char *reason, int64_t now_ms)
{
	job_hosts_json_lost(d, now_ms);
	json_object_set_new(d, "ProcessingJobStatus", json_string("Failed"));
	json_object_set_new(d, "FailureReason", json_string(reason));
	json_object_set_new(d, "ProcessingEndTime", job_time_json(now_ms));
	json_object_set_new(d, "LastModifiedTime", job_time_json(now_ms));
}

static void processing_release(struct job *job)
{
	struct job_processing *p = &job->proc;

	for (size_t i = 0; i < p->n_inputs; i++)
		job_channel_release(&p->inputs[i]);
	free(p->inputs);
	for (size_t i = 0; i < p->n_outputs; i++)
		job_proc_output_release(&p->outputs[i]);
	free(p->outputs);
	free(p->source_dir);
	free(p->entry_point);
	strv_release(&p->command);
}

const struct job_kind job_kind_processing = {
    .name = "processing",
    .api = "ProcessingJob",
    .arn_type = "processing-job",
    .secondary_names =
	{
	    [SEC_STARTING] = "Starting",
	    [SEC_DOWNLOADING] = "Downloading",
	    [SEC_RUNNING] = "Processing",
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
	    [SEC_STARTING] = "Starting the processing job",
	    [SEC_DOWNLOADING] = "Downloading input data",
	    [SEC_RUNNING] = "Processing job in progress",
	    [SEC_UPLOADING] = "Uploading processing outputs",
	    [SEC_STOPPING] = "Stopping the processing job",
	    [SEC_STOPPED] = "Processing job stopped",
	    [SEC_MAX_RUNTIME_EXCEEDED] = "Processing job exceeded MaxRuntimeInSeconds",
	    [SEC_COMPLETED] = "Processing job completed",
	    [SEC_FAILED] = "Processing job failed",
	    [SEC_RESTARTING] = "Restarting the processing job: attempt %d of %d",
	},
    .max_runtime_stopping = "Processing job exceeded MaxRuntimeInSeconds; stopping",
    /* StopProcessingJob: "SIGINT and SIGKILL signals" (the developer guide, reference §4). */
    .stop_signal = SIGINT,
    .build = processing_build,
    .spec_fields = processing_spec_fields,
    .spec_nested_home = processing_spec_nested_home,
    .validate = processing_validate,
    .request_json = processing_request_json,
    .describe_json = processing_describe_json,
    .describe_lost = processing_describe_lost,
    .release = processing_release,
};
