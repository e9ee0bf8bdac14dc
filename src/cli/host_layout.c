/* host_layout.c - one host of a job laid out before it starts: its tree and config files,
 * the agent's config, its channels, the environment and the argv of its first process
 * (run_prepare_host, for train and compose). */
#include "cli/run_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract/contract.h"
#include "data/channels.h"
#include "hosts/hosts.h"
#include "job/job.h"
#include "runtime/agent.h"
#include "runtime/train.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern char **environ;

/* The environment a host's first process gets: this shell's environment without anything
 * that steers the toolkit (SM_*, SAGEMAKER_*, TRAINING_JOB_* left over from an outer job or
 * the user's shell), then the job's Environment (as the service passes it), the toolkit's SM_*
 * variables computed from that, the platform's TRAINING_JOB_NAME / TRAINING_JOB_ARN, and, when
 * the hosts share this machine's network (process backend), MASTER_ADDR=127.0.0.1 since algo-1
 * does not resolve there.  `base_dir` is the host's /opt/ml as the host sees it. */
static int host_env(const struct run *run, const struct contract_config *cfg, const char *base_dir,
		    struct strv *env, struct sr_error *err)
{
	const struct job *job = &run->job;
	struct contract_env_opts eo = {
	    .base_dir = base_dir,
	    .job_name = job->name,
	    .num_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN),
	    .num_gpus = run->container.gpus > 0 ? run->container.gpus : 0,
	    .num_neurons = 0,
	    .proc_env = env,
	};
	int r;

	/* A container starts from its image's environment, not this machine's. */
	if (!(run->backend->flags & HOST_BACKEND_F_CONTAINER))
		for (char **e = environ; *e; e++)
			strv_push(env, *e);
	strv_env_unset_prefix(env, "SM_");
	strv_env_unset_prefix(env, "SAGEMAKER_");
	strv_env_unset_prefix(env, "TRAINING_JOB_");
	for (size_t i = 0; i < job->environment.n; i++)
		strv_env_set(env, job->environment.items[i].key, job->environment.items[i].value);
	eo.framework_module = strv_env_get(env, "SAGEMAKER_TRAINING_MODULE");
	eo.region = strv_env_get(env, "AWS_REGION");
	if (!eo.region)
		eo.region = strv_env_get(env, "AWS_DEFAULT_REGION");
	eo.pythonpath_tail = strv_env_get(env, "PYTHONPATH");
	/* contract_env reads from and writes to the same list: copy what it borrows. */
	_cleanup_free_ char *fm = xstrdup_or_null(eo.framework_module);
	_cleanup_free_ char *region = xstrdup_or_null(eo.region);
	_cleanup_free_ char *pp = xstrdup_or_null(eo.pythonpath_tail);
	eo.framework_module = fm;
	eo.region = region;
	eo.pythonpath_tail = pp;
	/* Script mode: the host's runtime (`sagerun container train`) computes the toolkit's
	 * environment itself, from the host's config files, as in a real container; a
	 * ContainerEntrypoint replaces the toolkit, and sagerun gives it the same variables. */
	if (job->entrypoint.n || (run->backend->flags & HOST_BACKEND_F_CONTAINER)) {
		r = contract_env(cfg, &eo, env, err);
		if (r < 0)
			return r;
	} else if (strcmp(base_dir, CONTRACT_BASE_DIR)) {
		strv_env_set(env, "SAGEMAKER_BASE_DIR", base_dir);
	}
	/* An ns host's init serves the rsh agent; in a container the MPI runner does. */
	if ((run->backend->flags & HOST_BACKEND_F_OPT_ML) &&
	    !(run->backend->flags & HOST_BACKEND_F_CONTAINER))
		strv_env_set(env, RT_AGENT_SERVED_ENV, "init");
	/* A process-backend host is one process group that the supervisor signals whole. */
	if (!job->entrypoint.n && !(run->backend->flags & HOST_BACKEND_F_OPT_ML))
		strv_env_set(env, RT_TRAIN_GROUP_ENV, "host");
	strv_env_set(env, "TRAINING_JOB_NAME", job->name);
	strv_env_set(env, "TRAINING_JOB_ARN", job->arn);
	if (run->backend->flags & HOST_BACKEND_F_SHARED_NETWORK)
		strv_env_set(env, "MASTER_ADDR", "127.0.0.1");
	/* What the hand-written compose files of SageMaker users set (GraphStorm's generator:
	 * seed-systems.md), so their programs run unchanged; a runner sets its own. */
	if (run->backend->flags & HOST_BACKEND_F_CONTAINER) {
		char n[24];

		snprintf(n, sizeof(n), "%zu", run->n_hosts);
		if (!strv_env_get(env, "MASTER_ADDR"))
			strv_env_set(env, "MASTER_ADDR", run->hosts[0].name);
		if (!strv_env_get(env, "WORLD_SIZE"))
			strv_env_set(env, "WORLD_SIZE", n);
		/* The image's own PYTHONPATH stays, unless the job sets one: the toolkit in the
		 * image adds the code folder itself. */
		if (!job_map_get(&job->environment, "PYTHONPATH"))
			strv_env_unset_prefix(env, "PYTHONPATH=");
	}
	return 0;
}

/* What the host runs: ContainerEntrypoint + ContainerArguments as given (argv, never a
 * shell), or in script mode sagerun's runtime, `sagerun container train`, which runs the entry
 * point as the toolkit does (runtime/train.h).  The code is staged here first, so that the
 * runtime finds its folder full (and a source folder under /tmp, which an ns host does not
 * see, still reaches it); the entry point is looked up here too, for an error before any
 * host starts. */
static int host_argv(const struct run *run, const struct contract_config *cfg, const char *opt_ml,
		     const char *base_dir, struct host *h, struct sr_error *err)
{
	const struct job *job = &run->job;
	_cleanup_free_ char *entry = NULL;
	_cleanup_free_ char *code_dir = xasprintf("%s/code", opt_ml);
	_cleanup_free_ char *module_dir = NULL;
	struct strv args = STRV_INIT;
	int r;

	if (job->entrypoint.n) {
		char cwd[4096];

		for (size_t i = 0; i < job->entrypoint.n; i++)
			strv_push(&h->argv, job->entrypoint.v[i]);
		for (size_t i = 0; i < job->arguments.n; i++)
			strv_push(&h->argv, job->arguments.v[i]);
		/* A command runs where the user started sagerun, so relative paths work. */
		h->cwd = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : "/");
		return 0;
	}
	entry = contract_user_entry_point(cfg, &h->env);
	if (!entry)
		return sr_err(err, -EINVAL,
			      "%s: nothing to run: no ContainerEntrypoint and no "
			      "sagemaker_program hyperparameter",
			      h->name);
	module_dir = contract_module_dir(cfg, opt_ml);
	if (strcmp(module_dir, code_dir)) {
		r = chan_stage_code(module_dir, code_dir, err);
		if (r < 0)
			return sr_err_wrap(err, "%s: stage code", h->name);
	}
	{
		struct strv probe = STRV_INIT;

		r = contract_cmd_args(cfg, &args, err);
		if (r >= 0)
			r = contract_entry_argv(code_dir, entry, &args, &probe, err);
		strv_release(&probe);
	}
	strv_release(&args);
	if (r < 0)
		return sr_err_wrap(err, "%s", h->name);
	strv_push(&h->argv, "sagerun");
	strv_push(&h->argv, "container");
	strv_push(&h->argv, "train");
	h->run_self = true;
	h->cwd = xasprintf("%s/code", base_dir);
	return 0;
}

/* Channels: bind-mounted read-only where the backend makes mounts, else linked into the
 * tree (process backend).  Never copied. */
static int stage_channels(const struct run *run, struct host *h, struct sr_error *err)
{
	const struct job *job = &run->job;

	if (!(run->backend->flags & HOST_BACKEND_F_BINDS))
		return chan_stage_local(job, h->opt_ml, err);
	h->binds = xcalloc(job->n_channels ? job->n_channels : 1, sizeof(*h->binds));
	for (size_t i = 0; i < job->n_channels; i++) {
		const struct job_channel *c = &job->channels[i];
		_cleanup_free_ char *mnt = xasprintf("%s/input/data/%s", h->opt_ml, c->name);
		int r = fs_mkdir_p(mnt, 0755, err);

		if (r < 0)
			return sr_err_wrap(err, "%s: channel '%s'", h->name, c->name);
		h->binds[h->n_binds++] = (struct host_bind){
		    .src = xstrdup(c->local_path),
		    .dst = xasprintf("%s/input/data/%s", CONTRACT_BASE_DIR, c->name),
		    .readonly = true,
		};
	}
	return 0;
}

/* Where the host's tree goes (nothing is made yet). */
void run_host_paths(struct run *run, struct host *h)
{
	if (!h->root)
		h->root = xasprintf("%s/hosts/%s", run->job_dir, h->name);
	if (!h->opt_ml)
		h->opt_ml = xasprintf("%s/opt/ml", h->root);
	h->group = &run->group;
}

int run_prepare_host(struct run *run, struct host *h, struct sr_error *err)
{
	struct contract_config cfg = {0};
	const char *base_dir;
	int r;

	run_host_paths(run, h);
	base_dir = run->backend->flags & HOST_BACKEND_F_OPT_ML ? CONTRACT_BASE_DIR : h->opt_ml;
	r = contract_config_from_job(&run->job, h->name, &cfg, err);
	if (r >= 0)
		r = contract_layout(h->opt_ml, &cfg, err);
	/* Every host's agent (mpirun's launch agent instead of sshd) knows the job's secret
	 * through its config folder, never through a command line. */
	if (r >= 0 && (run->backend->flags & HOST_BACKEND_F_OPT_ML)) {
		r = rt_agent_config_write(h->opt_ml, RT_AGENT_PORT, run->agent_secret, err);
		h->agent_port = RT_AGENT_PORT;
	}
	if (r >= 0)
		r = stage_channels(run, h, err);
	if (r >= 0)
		r = host_env(run, &cfg, base_dir, &h->env, err);
	if (r >= 0)
		r = host_argv(run, &cfg, h->opt_ml, base_dir, h, err);
	contract_config_release(&cfg);
	return r;
}
