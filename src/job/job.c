/* job.c - freeing a job: the one place that knows every allocation struct job owns. */
#include "job/job.h"

#include <stdlib.h>
#include <string.h>

#include "job/rules.h"

void job_channel_release(struct job_channel *c)
{
	free(c->name);
	free(c->uri);
	free(c->local_path);
	free(c->content_type);
	free(c->compression);
	free(c->record_wrapper);
	free(c->input_mode);
	free(c->s3_data_type);
	free(c->distribution);
	memset(c, 0, sizeof(*c));
}

void job_release(struct job *job)
{
	if (!job)
		return;
	free(job->name);
	free(job->arn);
	free(job->role_arn);
	free(job->image);
	free(job->input_mode);
	strv_release(&job->entrypoint);
	strv_release(&job->arguments);
	job_map_release(&job->hyperparameters);
	job_map_release(&job->environment);
	for (size_t i = 0; i < job->n_channels; i++)
		job_channel_release(&job->channels[i]);
	free(job->channels);
	free(job->output_path);
	free(job->output_local);
	free(job->output_compression);
	free(job->instance_type);
	free(job->checkpoint_s3_uri);
	free(job->checkpoint_local_path);
	free(job->spec_path);
	memset(job, 0, sizeof(*job));
}
