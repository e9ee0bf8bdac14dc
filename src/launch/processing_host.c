/* processing_host.c - one host of a processing job laid out before it starts, as the service
 * lays out a processing instance (reference §4): its tree and the two config files, every
 * input at its LocalPath, every output's LocalPath empty, the environment (the job's
 * Environment and nothing of a toolkit: no SM_* variables) and the argv of its first process
 * (ContainerEntrypoint + ContainerArguments, or the image's own entry point). */
#include "launch/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract/contract.h"
#include "hosts/hosts.h"
#include "job/job.h"
#include "runtime/agent.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* The region of the job's ARN (arn:aws:sagemaker:<region>:...), which the service's
 * containers find in AWS_REGION. */
static char *arn_region(const char *arn)
{
	const char *p = arn;

	for (int i = 0; i < 3 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	return p && strchr(p, ':') ? xstrndup(p, (size_t)(strchr(p, ':') - p)) : NULL;
}

/* What the host's first process gets: what the backend starts it from, less what steers a
 * toolkit (a processing container has none), then the job's Environment, then what the
 * platform adds: AWS_REGION; where the backend shows the host its tree elsewhere than at
 * /opt/ml, SAGEMAKER_BASE_DIR says where; with an rsh agent, mpirun's launch agent; as
 * root, mpirun's leave to run so. */
static void host_env(const struct local_job *L, struct host *h, struct strv *env)
{
	const struct job *job = L->job;
	_cleanup_free_ char *region = arn_region(job->arn);

	host_env_base(h, env);
	strv_env_unset_prefix(env, "SM_");
	strv_env_unset_prefix(env, "SAGEMAKER_");
	strv_env_unset_prefix(env, "TRAINING_JOB_");
	if (region)
		strv_env_set(env, "AWS_REGION", region);
	for (size_t i = 0; i < job->environment.n; i++)
		strv_env_set(env, job->environment.items[i].key, job->environment.items[i].value);
	if (strcmp(host_opt_ml_seen(h), CONTRACT_BASE_DIR))
		strv_env_set(env, "SAGEMAKER_BASE_DIR", host_opt_ml_seen(h));
	/* mpirun across the hosts without sshd: its launch agent, and leave to run as root. */
	launch_host_mpi_env(L, h, env);
}

/* One word of the argv: where the backend shows the host its tree elsewhere than at /opt/ml
 * (the process backend), a path in it is the tree's (the SDK's entry points name
 * /opt/ml/processing/input/code/...); everything else as given. */
static void push_word(struct strv *argv, const char *w, const char *seen)
{
	size_t n = strlen(CONTRACT_BASE_DIR);

	if (strcmp(seen, CONTRACT_BASE_DIR) && !strncmp(w, CONTRACT_BASE_DIR, n) &&
	    (w[n] == '/' || !w[n]))
		strv_pushf(argv, "%s%s", seen, w + n);
	else
		strv_push(argv, w);
}

/* ContainerEntrypoint + ContainerArguments as given (argv, never a shell), run where the
 * user started sagerun so that relative paths work; without an entry point, the image's own
 * gets the arguments (a container host). */
static void host_argv(const struct local_job *L, struct host *h)
{
	const struct job *job = L->job;
	const char *seen = host_opt_ml_seen(h);
	char cwd[4096];

	if (!job->entrypoint.n) {
		for (size_t i = 0; i < job->arguments.n; i++)
			strv_push(&h->argv, job->arguments.v[i]);
		h->image_entry = true;
		return;
	}
	for (size_t i = 0; i < job->entrypoint.n; i++)
		push_word(&h->argv, job->entrypoint.v[i], seen);
	for (size_t i = 0; i < job->arguments.n; i++)
		push_word(&h->argv, job->arguments.v[i], seen);
	h->cwd = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : "/");
}

/* The inputs in the order they go into a host: a folder before the inputs inside it (the
 * SDK's code at /opt/ml/processing/input/code inside data at /opt/ml/processing/input), so
 * the inner one lands over the outer, as on the service, where both are downloaded there. */
static int by_depth(const void *a, const void *b)
{
	const struct job_channel *ca = *(const struct job_channel *const *)a;
	const struct job_channel *cb = *(const struct job_channel *const *)b;
	size_t na = strlen(ca->dest), nb = strlen(cb->dest);

	return na < nb ? -1 : na > nb;
}

/* Each input at its LocalPath: the host's own writable view of it, as on the service, where
 * an input is the instance's copy; the user's folder and the S3 cache never change.  Where the
 * backend mounts, an overlay; elsewhere a copy into the host's tree. */
static int stage_inputs(struct local_job *L, struct host *h, struct sr_error *err)
{
	const struct job_processing *p = &L->job->proc;
	_cleanup_free_ const struct job_channel **order = xcalloc(p->n_inputs + 1, sizeof(*order));

	for (size_t i = 0; i < p->n_inputs; i++)
		order[i] = &p->inputs[i];
	qsort(order, p->n_inputs, sizeof(*order), by_depth);
	for (size_t k = 0; k < p->n_inputs; k++) {
		const struct job_channel *c = order[k];
		size_t i = (size_t)(c - p->inputs);
		_cleanup_free_ char *src = processing_input_dir(L, i, h->index);
		const char *rel = c->dest + strlen(CONTRACT_BASE_DIR "/");
		int r;

		if (host_mounts_folders(h)) {
			r = host_bind_folder(h, src, rel, HOST_FOLDER_COPY_ON_WRITE, err);
		} else {
			_cleanup_free_ char *dst = xasprintf("%s/%s", h->opt_ml, rel);

			r = fs_rm_rf(dst, err);
			if (r >= 0)
				r = fs_mkdir_p(dst, 0755, err);
			if (r >= 0)
				r = fs_copy_tree(src, dst, err);
		}
		if (r < 0)
			return sr_err_wrap(err, "%s: input '%s'", h->name, c->name);
	}
	return 0;
}

int processing_host_prepare(struct local_job *L, struct host *h, struct sr_error *err)
{
	int r;

	launch_host_paths(L, h);
	r = contract_processing_layout(h->opt_ml, L->job, h->name, err);
	/* A host with an address of its own serves an rsh agent (mpirun's launch agent instead
	 * of sshd), which knows the job's secret through its config folder, never through a
	 * command line.  A container has nothing to serve it: its image runs as it is. */
	if (r >= 0 && (L->backend->flags & HOST_BACKEND_F_OWN_ADDRESS) &&
	    !(L->backend->flags & HOST_BACKEND_F_CONTAINER)) {
		r = rt_agent_config_write(h->opt_ml, RT_AGENT_PORT, L->agent_secret, err);
		h->agent_port = RT_AGENT_PORT;
	}
	if (r >= 0)
		r = stage_inputs(L, h, err);
	if (r >= 0) {
		host_env(L, h, &h->env);
		host_argv(L, h);
		host_env_finish(h, &h->env);
	}
	return r;
}
