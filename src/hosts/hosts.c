/* hosts.c - the backend table and the host_*() wrappers.
 *
 * Callers never call a backend's function pointers themselves: the wrappers check the host's
 * state (never started, already reaped) in one place so backends can assume a sane order.
 */
#include "hosts/hosts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract/contract.h"
#include "hosts/internal.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const struct host_backend *const backends[] = {
    &host_backend_ns,
    &host_backend_process,
    &host_backend_docker,
};

const struct host_backend *host_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (name && !strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const struct host_backend *host_backend_at(size_t i)
{
	return i < sizeof(backends) / sizeof(backends[0]) ? backends[i] : NULL;
}

int host_check_not_container(const char *backend, const struct host_options *o,
			     const struct job_report *rep, struct sr_error *err)
{
	const char *flag = o->image_given	? "--image"
			   : o->toolkit_builtin ? "--toolkit"
			   : o->gpus		? "--gpus-per-host"
			   : o->shm_bytes	? "--shm-size"
						: NULL;

	if (flag) {
		sr_err(err, -EINVAL,
		       "%s: the %s backend runs this machine's programs, not an image", flag,
		       backend);
		return sr_err_hint(err,
				   "%s is for container hosts: add --backend docker --image "
				   "IMAGE",
				   flag);
	}
	if (o->image)
		job_say(rep, JOB_SAY_WARNING, NULL,
			"the job's image '%s' does not run here: the %s backend's hosts run this "
			"machine's programs (--backend docker runs it)",
			o->image, backend);
	return 0;
}

bool host_group_probe(struct host_group *g, const char **ret_why)
{
	if (!g->backend)
		return false;
	return !g->backend->probe || g->backend->probe(g, ret_why);
}

int host_options_check(const struct host_backend *b, const struct host_options *o, size_t n_hosts,
		       const struct job_report *rep, struct sr_error *err)
{
	return b->check_options ? b->check_options(o, n_hosts, rep, err) : 0;
}

void host_leftovers_cleanup(const char *backend, const char *job_dir, struct strv *warnings)
{
	const struct host_backend *b = host_backend_find(backend);

	if (b && b->cleanup_leftovers && job_dir)
		b->cleanup_leftovers(job_dir, warnings);
}

void host_env_base(const struct host *h, struct strv *env)
{
	extern char **environ;

	/* A container starts from its image's environment, not this machine's. */
	if (h->backend && (h->backend->flags & HOST_BACKEND_F_CONTAINER))
		return;
	for (char **e = environ; *e; e++)
		strv_push(env, *e);
	/* What a backend gave an outer job's host (sagerun run from inside one) is not this
	 * host's: its own backend sets them anew. */
	strv_env_unset_prefix(env, PROC_HOST_ENV "=");
	strv_env_unset_prefix(env, CONTRACT_AGENT_SERVED_ENV "=");
	strv_env_unset_prefix(env, CONTRACT_HOST_GROUP_ENV "=");
}

void host_env_finish(const struct host *h, struct strv *env)
{
	if (h->backend && h->backend->host_env)
		h->backend->host_env(h, env);
}

const char *host_opt_ml_seen(const struct host *h)
{
	return h->backend && (h->backend->flags & HOST_BACKEND_F_OPT_ML) ? CONTRACT_BASE_DIR
									 : h->opt_ml;
}

char *host_self_exe_seen(const struct host *h)
{
	char exe[4096];
	ssize_t n;

	if (h->backend && h->backend->self_exe)
		return xstrdup(h->backend->self_exe);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	return n > 0 ? xstrndup(exe, (size_t)n) : NULL;
}

bool host_mounts_folders(const struct host *h)
{
	return h->backend && (h->backend->flags & HOST_BACKEND_F_BINDS);
}

int host_bind_folder(struct host *h, const char *src, const char *rel, enum host_folder how,
		     struct sr_error *err)
{
	_cleanup_free_ char *at = xasprintf("%s/%s", h->opt_ml, rel);
	_cleanup_free_ char *upper = NULL;
	int r;

	if (!host_mounts_folders(h))
		return sr_err(err, -EOPNOTSUPP, "%s: the %s backend mounts no folders", h->name,
			      h->backend ? h->backend->name : "(none)");
	/* The mount point, so that the tree on disk shows where the folder goes. */
	r = fs_mkdir_p(at, 0755, err);
	if (r < 0)
		return r;
	if (how == HOST_FOLDER_COPY_ON_WRITE) {
		_cleanup_free_ char *data = NULL, *work = NULL;

		/* Beside the host's /opt/ml, not in it: the host never sees the layer itself. */
		upper = xasprintf("%s/cow/%zu", h->root, h->n_binds);
		data = xasprintf("%s/data", upper);
		work = xasprintf("%s/work", upper);
		r = fs_mkdir_p(data, 0755, err);
		if (r >= 0)
			r = fs_mkdir_p(work, 0755, err);
		if (r < 0)
			return r;
	}
	xgrow(&h->binds, &h->cap_binds, h->n_binds + 1, sizeof(*h->binds));
	h->binds[h->n_binds++] = (struct host_bind){
	    .src = xstrdup(src),
	    .dst = xasprintf("%s/%s", CONTRACT_BASE_DIR, rel),
	    .readonly = true,
	    .upper = TAKE_PTR(upper),
	};
	return 0;
}

void host_init(struct host *h, size_t index, const struct host_backend *b)
{
	char *name = contract_host_name(index); /* the one place that spells "algo-N" */

	memset(h, 0, sizeof(*h));
	h->index = index;
	/* Fits up to index 10^10 - 1; jobs have at most JOB_HOSTS_MAX hosts. */
	snprintf(h->name, sizeof(h->name), "%s", name);
	free(name);
	h->pid = 0;
	h->pidfd = -1;
	h->out_fd = -1;
	h->err_fd = -1;
	h->backend = b;
}

int host_launch(struct host *h, struct sr_error *err)
{
	int r;

	if (!h->backend)
		return sr_err(err, -EINVAL, "%s: no host backend", h->name);
	if (h->started || h->launched)
		return sr_err(err, -EALREADY, "%s: already started", h->name);
	/* An image's own entry point runs with no words after it (its CMD): a processing
	 * job without ContainerEntrypoint and ContainerArguments. */
	if (!h->image_entry && (!h->argv.n || !h->argv.v[0][0]))
		return sr_err(err, -EINVAL, "%s: nothing to run (empty command)", h->name);
	r = h->backend->launch ? h->backend->launch(h, err) : h->backend->start(h, err);
	if (r < 0)
		return r;
	h->launched = true;
	h->started = !h->backend->launch;
	return 0;
}

int host_launch_wait(struct host *h, struct sr_error *err)
{
	int r;

	if (!h->launched)
		return sr_err(err, -EINVAL, "%s: not launched", h->name);
	if (h->started)
		return 0;
	r = h->backend->launch_wait(h, err);
	if (r < 0) {
		h->launched = false;
		return r;
	}
	h->started = true;
	return 0;
}

int host_start(struct host *h, struct sr_error *err)
{
	int r = host_launch(h, err);

	return r < 0 ? r : host_launch_wait(h, err);
}

int host_signal(struct host *h, int sig, struct sr_error *err)
{
	/* A reaped host's pid (and process group id) may already belong to someone else. */
	if (!h->started || h->exited || !h->backend)
		return 0;
	return h->backend->signal(h, sig, err);
}

int host_collect(struct host *h, int *ret_status, struct sr_error *err)
{
	int r;

	if (!h->started || !h->backend)
		return sr_err(err, -ECHILD, "%s: not started", h->name);
	if (h->exited)
		return sr_err(err, -ECHILD, "%s: already collected", h->name);
	r = h->backend->collect(h, ret_status, err);
	if (r < 0)
		return r;
	h->exited = true;
	return 0;
}

void host_teardown(struct host *h)
{
	if (h->backend && h->backend->teardown)
		h->backend->teardown(h);
}

void host_release(struct host *h)
{
	host_teardown(h);
	free(h->opt_ml);
	h->opt_ml = NULL;
	free(h->cwd);
	h->cwd = NULL;
	free(h->root);
	h->root = NULL;
	for (size_t i = 0; i < h->n_binds; i++) {
		free(h->binds[i].src);
		free(h->binds[i].dst);
		free(h->binds[i].upper);
	}
	free(h->binds);
	h->binds = NULL;
	h->n_binds = 0;
	strv_release(&h->argv);
	strv_release(&h->env);
}

void host_group_begin(struct host_group *g)
{
	if (g->backend && g->backend->group_begin)
		g->backend->group_begin(g);
}

int host_group_prepare(struct host_group *g, struct sr_error *err)
{
	if (!g->backend || !g->backend->group_prepare)
		return 0;
	return g->backend->group_prepare(g, err);
}

void host_group_teardown(struct host_group *g)
{
	if (g->backend && g->backend->group_teardown)
		g->backend->group_teardown(g);
}
