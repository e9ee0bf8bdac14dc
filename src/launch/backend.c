/* backend.c - which host backend runs a job: --backend, or for `auto` the first of the table
 * that can make hosts here (docker when --image is given), checked against the options the
 * user gave and what the job asks; and the container settings that go with an image. */
#include "launch/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "hosts/hosts.h"
#include "job/job.h"
#include "job/kind.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

/* --toolkit builtin: the static sagerun to mount as each container's entrypoint, which must
 * run whatever the image's libc: $SAGERUN_STATIC_BINARY, this binary when it is static (no
 * dynamic loader was mapped for it), or build-static/sagerun of this build tree. */
static char *find_static_sagerun(struct sr_error *err)
{
	const char *env = getenv("SAGERUN_STATIC_BINARY");
	char self[4096];
	ssize_t n;
	char *p;

	if (env && *env) {
		p = realpath(env, NULL);
		if (!p)
			sr_err_errno(err, errno, "SAGERUN_STATIC_BINARY=%s", env);
		return p;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if (getauxval(AT_BASE) == 0)
			return xstrdup(self);
		p = strrchr(self, '/');
		if (p) {
			_cleanup_free_ char *cand = NULL;

			*p = '\0';
			cand = xasprintf("%s/../build-static/sagerun", self);
			p = realpath(cand, NULL);
			if (p)
				return p;
		}
	}
	sr_err(err, -ENOENT, "--toolkit builtin: no static sagerun found");
	sr_err_hint(err, "build one with `make static` (build-static/sagerun), or name it in "
			 "SAGERUN_STATIC_BINARY");
	return NULL;
}

/* --backend auto: an image given on the command line means containers, and so does a job that
 * has nothing else to run.  (A spec's image beside local code does not: real specs name ECR
 * images that are not on this machine.)  Else the first backend of the table whose probe says
 * it can make hosts here; the one line why each that could not is passed over. */
static int pick_auto(struct local_job *L, struct sr_error *err)
{
	bool containers = L->host_opts.image_given || L->kind->image_only(L->job);
	const char *why = NULL, *passed = NULL;
	const struct host_backend *over = NULL;

	for (size_t i = 0; host_backend_at(i); i++) {
		const struct host_backend *b = host_backend_at(i);

		if (!!(b->flags & HOST_BACKEND_F_CONTAINER) != containers)
			continue;
		L->group.backend = b;
		if (host_group_probe(&L->group, &why)) {
			L->backend = b;
			break;
		}
		host_group_teardown(&L->group);
		if (!passed) {
			passed = why;
			over = b;
		}
	}
	if (!L->backend)
		return sr_err(err, -ENOSYS, "no host backend can run here: %s",
			      passed ? passed : "none is built in");
	if (passed)
		job_say(L->rep, JOB_SAY_NOTE, NULL,
			"hosts run on the %s backend (%s); the %s backend: %s", L->backend->name,
			L->backend->summary, over->name, passed);
	return 0;
}

static int pick_named(struct local_job *L, const char *name, struct sr_error *err)
{
	const char *why = NULL;

	L->backend = host_backend_find(name);
	if (!L->backend) {
		sr_err(err, -EINVAL, "--backend: unknown backend '%s'", name);
		return sr_err_hint(err,
				   "sagerun train --help (or process --help) lists the backends");
	}
	L->group.backend = L->backend;
	if (!host_group_probe(&L->group, &why)) {
		sr_err(err, -ENOSYS, "--backend %s: %s", name, why ? why : "not available here");
		return sr_err_hint(err, "use --backend process (no hostnames, shared network)");
	}
	return 0;
}

/* What the job asks of its hosts beyond the options: its image's own entry point needs
 * containers, and so does the ssh way of MPI (sshd, /etc and /root/.ssh of the host's own). */
static int check_job(struct local_job *L, struct sr_error *err)
{
	const char *launcher = job_map_get(&L->job->environment, JOB_MPI_LAUNCHER_ENV);

	if (L->kind->image_only(L->job) && !(L->backend->flags & HOST_BACKEND_F_CONTAINER)) {
		if (L->job->arguments.n)
			sr_err(err, -EINVAL,
			       "ContainerArguments without a ContainerEntrypoint go to the entry "
			       "point "
			       "of the image '%s', which runs in containers, not on the %s backend",
			       L->job->image, L->backend->name);
		else
			sr_err(
			    err, -EINVAL,
			    "nothing to run on the %s backend: the job names only its image '%s', "
			    "whose own entry point runs in containers",
			    L->backend->name, L->job->image);
		return sr_err_hint(err,
				   "use --backend docker (the image on this machine's Docker "
				   "engine), or give --entry-point FILE or -- COMMAND [ARGS...]");
	}
	if (L->kind->image_only(L->job) && L->host_opts.toolkit_builtin) {
		sr_err(err, -EINVAL,
		       "--toolkit builtin: the job names no program for sagerun's toolkit to run "
		       "(no sagemaker_program hyperparameter)");
		return sr_err_hint(err,
				   "leave out --toolkit to run the image's own entry point, or "
				   "give --entry-point FILE");
	}
	/* The runtime refuses it too (runtime/ssh.h); here it is said before anything starts. */
	if (launcher && !strcmp(launcher, "ssh") &&
	    !(L->backend->flags & HOST_BACKEND_F_CONTAINER)) {
		sr_err(err, -EINVAL,
		       "--mpi-launcher ssh: the %s backend's hosts share this machine's sshd, /etc "
		       "and /root/.ssh; the ssh way needs containers",
		       L->backend->name);
		return sr_err_hint(err, "add --backend docker --image IMAGE (an image with sshd), "
					"or leave out --mpi-launcher");
	}
	return 0;
}

/* Container hosts: the image, and the toolkit it runs with. */
static int container_settings(struct local_job *L, struct sr_error *err)
{
	if (!(L->backend->flags & HOST_BACKEND_F_CONTAINER))
		return 0;
	L->container.image = L->host_opts.image;
	if (L->host_opts.toolkit_builtin) {
		L->toolkit_binary = find_static_sagerun(err);
		if (!L->toolkit_binary)
			return -ENOENT;
	}
	return 0;
}

int launch_backend_pick(struct local_job *L, struct sr_error *err)
{
	const char *name = L->opts->backend;
	int r;

	L->host_opts = L->opts->hosts;
	L->host_opts.image_given = L->host_opts.image != NULL;
	if (!L->host_opts.image)
		L->host_opts.image = L->job->image;
	L->host_opts.network_isolation = L->job->network_isolation;
	L->group.hosts = NULL;
	L->group.n = (size_t)L->job->instance_count;
	L->group.network_host = L->host_opts.network_host;
	L->group.subnet = L->host_opts.subnet;
	L->group.privileged = L->host_opts.privileged;
	L->group.keep_layers = L->host_opts.keep_layers;

	r = !name || !strcmp(name, "auto") ? pick_auto(L, err) : pick_named(L, name, err);
	/* What the job needs first: an option warning is noise when the job cannot run. */
	if (r >= 0)
		r = check_job(L, err);
	if (r >= 0)
		r = host_options_check(L->backend, &L->host_opts, L->group.n, L->rep, err);
	if (r >= 0)
		r = container_settings(L, err);
	if (r < 0)
		L->usage = true;
	return r;
}

const char *launch_backend_name(size_t i, const char **ret_summary)
{
	const struct host_backend *b = host_backend_at(i);

	if (b && ret_summary)
		*ret_summary = b->summary;
	return b ? b->name : NULL;
}

bool launch_backend_known(const char *name)
{
	return !strcmp(name, "auto") || host_backend_find(name);
}

void launch_container_bind(struct local_job *L)
{
	L->container.job_name = L->job->name;
	L->container.job_kind = L->job->kind->name;
	L->container.job_dir = L->job_dir;
	L->container.toolkit_binary = L->toolkit_binary;
	L->container.gpus = L->host_opts.gpus;
	L->container.shm_bytes = L->host_opts.shm_bytes;
	L->group.container = &L->container;
}
