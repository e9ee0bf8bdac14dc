/* job.c - freeing a job (its common part here, its kind's part by its kind), the kind table,
 * and what every kind's job answers through its kind. */
#include "job/job.h"

#include <stdlib.h>
#include <string.h>

#include "job/kind.h"
#include "job/rules.h"

static const struct job_kind *const kinds[] = {
    &job_kind_training,
    &job_kind_processing,
};

const struct job_kind *job_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (name && !strcmp(kinds[i]->name, name))
			return kinds[i];
	return NULL;
}

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
	free(c->dest);
	memset(c, 0, sizeof(*c));
}

void job_proc_output_release(struct job_proc_output *o)
{
	free(o->name);
	free(o->uri);
	free(o->local_path);
	free(o->dest);
	free(o->upload_mode);
	memset(o, 0, sizeof(*o));
}

struct json_t *job_request_json(const struct job *job)
{
	return job->kind->request_json(job, true);
}

struct json_t *job_api_request_json(const struct job *job)
{
	return job->kind->request_json(job, false);
}

void job_release(struct job *job)
{
	if (!job)
		return;
	/* Every kind's part: each is zeroed unless the job is of that kind, so a job whose kind
	 * was never set (a spec that failed early) frees whatever it got. */
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		kinds[i]->release(job);
	free(job->name);
	free(job->arn);
	free(job->role_arn);
	free(job->image);
	strv_release(&job->entrypoint);
	strv_release(&job->arguments);
	job_map_release(&job->environment);
	free(job->instance_type);
	free(job->spec_path);
	free(job->framework);
	free(job->framework_version);
	memset(job, 0, sizeof(*job));
}
