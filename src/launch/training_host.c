/* training_host.c - one host of a training job laid out before it starts, as the service
 * lays out a training instance: its tree and config files, the agent's config, its channels,
 * the environment (the toolkit's SM_* variables) and the argv of its first process
 * (training_host_prepare, for run and compose). */
#include "launch/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract/contract.h"
#include "contract/framework.h"
#include "data/channels.h"
#include "data/pipe.h"
#include "hosts/hosts.h"
#include "job/job.h"
#include "runtime/agent.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* The environment a host's first process gets: what the backend starts it from (this
 * machine's environment, or the image's) without anything that steers the toolkit (SM_*,
 * SAGEMAKER_*, TRAINING_JOB_* left over from an outer job or the user's shell), then the job's
 * Environment (as the service passes it), the toolkit's SM_* variables computed from that, and
 * the platform's TRAINING_JOB_NAME / TRAINING_JOB_ARN.  What the backend adds itself (how
 * hosts reach each other) comes last, once the argv is known (host_env_finish). */
static int host_env(const struct local_job *L, const struct contract_config *cfg, struct host *h,
		    struct strv *env, struct sr_error *err)
{
	const struct job *job = L->job;
	struct contract_env_opts eo = {
	    .base_dir = host_opt_ml_seen(h),
	    .job_name = job->name,
	    .num_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN),
	    .num_gpus = L->container.gpus > 0 ? L->container.gpus : 0,
	    .num_neurons = 0,
	    .proc_env = env,
	};
	bool image = L->backend->flags & HOST_BACKEND_F_CONTAINER;
	int r;

	host_env_base(h, env);
	strv_env_unset_prefix(env, "SM_");
	strv_env_unset_prefix(env, "SAGEMAKER_");
	strv_env_unset_prefix(env, "TRAINING_JOB_");
	/* --framework: what the framework's image sets in its own environment (unless the job
	 * sets it itself). */
	if (job->framework && contract_framework_find(job->framework))
		strv_env_set(env, "SAGEMAKER_TRAINING_MODULE",
			     contract_framework_find(job->framework)->module);
	for (size_t i = 0; i < job->environment.n; i++)
		strv_env_set(env, job->environment.items[i].key, job->environment.items[i].value);
	eo.framework_module = strv_env_get(env, "SAGEMAKER_TRAINING_MODULE");
	/* boto3's default region, which the toolkit reads: not AWS_REGION (runtime/train.c). */
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
	 * ContainerEntrypoint, or an image with its own toolkit, replaces sagerun's runtime, and
	 * sagerun gives it the same variables. */
	if (job->entrypoint.n || image) {
		r = contract_env(cfg, &eo, env, err);
		if (r < 0)
			return r;
	} else if (strcmp(eo.base_dir, CONTRACT_BASE_DIR)) {
		strv_env_set(env, "SAGEMAKER_BASE_DIR", eo.base_dir);
	}
	strv_env_set(env, "TRAINING_JOB_NAME", job->name);
	strv_env_set(env, "TRAINING_JOB_ARN", job->arn);
	/* The image's own PYTHONPATH stays, unless the job sets one: the toolkit in the image
	 * adds the code folder itself. */
	if (image && !job_map_get(&job->environment, "PYTHONPATH"))
		strv_env_unset_prefix(env, "PYTHONPATH=");
	return 0;
}

/* What the host runs: ContainerEntrypoint + ContainerArguments as given (argv, never a
 * shell), or in script mode sagerun's runtime, `sagerun container train`, which runs the entry
 * point as the toolkit does (runtime/train.h).  The code is staged here first, so that the
 * runtime finds its folder full (and a source folder under /tmp, which an ns host does not
 * see, still reaches it); the entry point is looked up here too, for an error before any
 * host starts. */
static int host_argv(const struct local_job *L, const struct contract_config *cfg, struct host *h,
		     struct sr_error *err)
{
	const struct job *job = L->job;
	const char *opt_ml = h->opt_ml;
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
	if (L->kind->image_only(job)) {
		/* The image's own entry point gets `train`, as `docker run IMAGE train` on the
		 * service, or the ContainerArguments instead (hosts/container.c); nothing of ours
		 * to stage or look up. */
		for (size_t i = 0; i < job->arguments.n; i++)
			strv_push(&h->argv, job->arguments.v[i]);
		if (!job->arguments.n)
			strv_push(&h->argv, "train");
		h->image_entry = true;
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
			return sr_err_wrap(err, "%s", h->name);
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
	h->cwd = xasprintf("%s/code", host_opt_ml_seen(h));
	return 0;
}

/* The feeders of a job's Pipe-mode channels, one per host and channel (data/pipe.h). */
struct pipes {
	struct pipe_feed **feeds;
	size_t n, cap;
};

static bool is_pipe(const struct job_channel *c)
{
	return c->input_mode && !strcmp(c->input_mode, "Pipe");
}

/* A Pipe-mode channel: <channel>_0, _1, ... in the host's input/data, fed while it runs. */
static int pipe_start(struct local_job *L, struct host *h, const struct job_channel *c,
		      struct sr_error *err)
{
	struct pipes *p = L->kind_state ? L->kind_state : (L->kind_state = xcalloc(1, sizeof(*p)));
	_cleanup_free_ char *dir = xasprintf("%s/input/data", h->opt_ml);
	struct pipe_feed_opts o = {
	    .dir = dir,
	    .name = c->name,
	    .src = c->local_path,
	    .recordio = c->record_wrapper && !strcmp(c->record_wrapper, "RecordIO"),
	};
	struct pipe_feed *f = NULL;
	int r = fs_mkdir_p(dir, 0755, err);

	if (r >= 0)
		r = pipe_feed_start(&o, &f, err);
	if (r < 0)
		return r;
	xgrow(&p->feeds, &p->cap, p->n + 1, sizeof(*p->feeds));
	p->feeds[p->n++] = f;
	return 0;
}

void training_pipes_stop(struct local_job *L)
{
	struct pipes *p = L->kind_state;

	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		pipe_feed_stop(p->feeds[i]);
	free(p->feeds);
	free(p);
	L->kind_state = NULL;
}

/* Channels: each host's own, writable, as on the service, where a File-mode channel is the
 * instance's copy (GraphStorm writes its ip_list.txt there); the user's folder and the S3
 * cache are never changed and no host sees another's writes.  Where the backend mounts, an
 * overlay (nothing is copied); elsewhere a copy in the host's tree. */
static int stage_channels(struct local_job *L, struct host *h, struct sr_error *err)
{
	const struct job *job = L->job;

	if (!host_mounts_folders(h)) {
		for (size_t i = 0; i < job->train.n_channels; i++) {
			const struct job_channel *c = &job->train.channels[i];
			int r = is_pipe(c) ? pipe_start(L, h, c, err)
					   : chan_stage_copy(c, 1, h->opt_ml, err);

			if (r < 0)
				return r;
		}
		return 0;
	}
	for (size_t i = 0; i < job->train.n_channels; i++) {
		const struct job_channel *c = &job->train.channels[i];
		_cleanup_free_ char *rel = xasprintf("input/data/%s", c->name);
		int r = is_pipe(c) ? pipe_start(L, h, c, err)
				   : host_bind_folder(h, c->local_path, rel,
						      HOST_FOLDER_COPY_ON_WRITE, err);

		if (r < 0)
			return sr_err_wrap(err, "%s: channel '%s'", h->name, c->name);
	}
	return 0;
}

int training_host_prepare(struct local_job *L, struct host *h, struct sr_error *err)
{
	struct contract_config cfg = {0};
	int r;

	launch_host_paths(L, h);
	r = contract_config_from_job(L->job, h->name, &cfg, err);
	if (r >= 0)
		r = contract_training_layout(h->opt_ml, &cfg, err);
	/* Every host with an address of its own gets an rsh agent (mpirun's launch agent instead
	 * of sshd), which knows the job's secret through its config folder, never through a
	 * command line. */
	if (r >= 0 && (L->backend->flags & HOST_BACKEND_F_OWN_ADDRESS)) {
		r = rt_agent_config_write(h->opt_ml, RT_AGENT_PORT, L->agent_secret, err);
		h->agent_port = RT_AGENT_PORT;
	}
	if (r >= 0)
		r = stage_channels(L, h, err);
	if (r >= 0)
		r = host_env(L, &cfg, h, &h->env, err);
	if (r >= 0)
		r = host_argv(L, &cfg, h, err);
	/* A command that runs mpirun itself (`-- mpirun ...`, GraphStorm's launch_train) reaches
	 * the other hosts as a processing job's does; the toolkit's MPI runner names its agent
	 * on its own command line, which wins over this. */
	if (r >= 0)
		launch_host_mpi_env(L, h, &h->env);
	if (r >= 0)
		host_env_finish(h, &h->env);
	contract_config_release(&cfg);
	return r;
}
