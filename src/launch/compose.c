/* compose.c - `sagerun compose`: the hosts of a job laid out as for `sagerun train --backend
 * docker`, written as a docker-compose.yml instead of run.  Nothing is recorded in the store:
 * docker-compose runs the job. */
#include "launch/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hosts/docker.h"
#include "job/job.h"
#include "job/report.h"
#include "runtime/agent.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* The job folder of `sagerun compose`: <folder of the compose file>/sagerun-<job>, made here
 * (mkdir: a second compose of the same name cannot take it over). */
static int compose_job_dir(struct local_job *L, const char *path, struct sr_error *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	char *job_dir;

	if (slash)
		*slash = '\0';
	job_dir = xasprintf("%s/sagerun-%s", slash ? dir : ".", L->job->name);
	if (mkdir(job_dir, 0755) == 0) {
		L->job_dir = job_dir;
		return 0;
	}
	if (errno != EEXIST) {
		int r = sr_err_errno(err, errno, "create '%s'", job_dir);

		free(job_dir);
		return r;
	}
	L->usage = true;
	sr_err(err, -EEXIST, "'%s' already exists: the hosts of an earlier compose of job '%s'",
	       job_dir, L->job->name);
	free(job_dir);
	return sr_err_hint(err, "choose another --name, or remove it (after docker-compose down)");
}

static int compose_layout(struct local_job *L, const char *out, struct strv *by_name,
			  struct sr_error *err)
{
	int r = compose_job_dir(L, out, err);

	if (r < 0)
		return r;
	r = rt_agent_secret_new(L->agent_secret, err);
	if (r < 0)
		return r;
	launch_hosts_init(L);
	r = L->kind->upload ? L->kind->upload(L, err) : 0;
	if (r >= 0)
		r = L->kind->stage_inputs(L, err);
	for (size_t i = 0; r >= 0 && i < L->n_hosts; i++)
		r = L->kind->host_prepare(L, &L->hosts[i], err);
	if (r >= 0)
		r = host_compose_write(&L->group, out, by_name, err);
	if (r >= 0)
		job_say(
		    L->rep, JOB_SAY_INFO, L->job->name,
		    "%zu hosts; their /opt/ml trees are under %s/hosts (what the job leaves there "
		    "stays there: compose runs nothing after the containers)",
		    L->n_hosts, L->job_dir);
	return r;
}

int launch_compose(struct job *job, const struct launch_options *o, const char *out,
		   const struct job_report *rep, struct strv *by_name, struct launch_result *res,
		   struct sr_error *err)
{
	struct launch_options co = *o;
	struct local_job L;
	int r;

	memset(res, 0, sizeof(*res));
	co.backend = "docker"; /* the containers docker-compose runs are the docker backend's */
	launch_init(&L, job, &co, rep);
	r = launch_backend_pick(&L, err);
	if (r >= 0 && L.kind->compose_lacks && L.kind->compose_lacks(job))
		job_say(rep, JOB_SAY_WARNING, NULL, "%s", L.kind->compose_lacks(job));
	if (r >= 0) {
		r = compose_layout(&L, out, by_name, err);
		/* A folder that was there already is someone else's. */
		if (r < 0 && L.job_dir)
			(void)fs_rm_rf(L.job_dir, NULL);
	}
	res->usage = L.usage;
	if (r >= 0)
		res->state = JOB_COMPLETED;
	launch_release(&L);
	return r;
}
