/* backend_pick.c - which host backend runs a job (--backend, --image, what this machine
 * allows) and the container settings that go with it. */
#include "cli/run.h"
#include "cli/run_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hosts/hosts.h"
#include "job/job.h"
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

/* --backend docker: an image, and the toolkit it runs with. */
int run_container_options(struct run *run, const struct run_opts *opts)
{
	struct sr_error err = {0};
	const char *image = opts->image ? opts->image : run->job.image;

	if (!image) {
		fprintf(stderr, "sagerun: error: --backend %s needs an image\n",
			run->backend->name);
		fprintf(stderr, "hint: add --image IMAGE (or AlgorithmSpecification.TrainingImage "
				"in the spec)\n");
		return EXIT_USAGE;
	}
	run->container.image = image;
	if (opts->toolkit_builtin) {
		run->toolkit_binary = find_static_sagerun(&err);
		if (!run->toolkit_binary) {
			cli_print_error(&err);
			return EXIT_USAGE;
		}
	}
	if (opts->network_host)
		fprintf(stderr, "sagerun: note: --network host: the containers' network is not "
				"internal (they reach this machine's networks through the engine's "
				"bridge)\n");
	return 0;
}

void run_container_bind(struct run *run, const struct run_opts *opts)
{
	run->container.job_name = run->job.name;
	run->container.job_dir = run->job_dir;
	run->container.toolkit_binary = run->toolkit_binary;
	run->container.gpus = opts->gpus_per_host;
	run->container.shm_bytes = opts->shm_bytes;
	run->group.container = &run->container;
}

/* --backend auto (the default) takes namespaces whenever they can be made here, and says
 * in one line why not when it falls back to plain processes. */
int run_pick_backend(struct run *run, const struct run_opts *opts)
{
	const char *why = NULL;
	bool auto_docker = !strcmp(opts->backend, "auto") && opts->image;
	/* The probe forks a child into new namespaces: only when ns may be picked. */
	bool ns_ok = strcmp(opts->backend, "process") && strcmp(opts->backend, "docker") &&
		     !auto_docker && host_backend_find("ns") &&
		     host_ns_available(&why, &run->ns_probe);

	if (auto_docker) {
		/* An image given on the command line means containers.  (A spec's TrainingImage
		 * alone does not: real specs name ECR images that are not on this machine.) */
		run->backend = host_backend_find("docker");
	} else if (!strcmp(opts->backend, "auto")) {
		run->backend = host_backend_find(ns_ok ? "ns" : "process");
		if (!ns_ok)
			fprintf(stderr, "sagerun: note: hosts run as plain processes: %s\n",
				why ? why : "the ns backend is not built in");
	} else {
		run->backend = host_backend_find(opts->backend);
		if (run->backend && !strcmp(opts->backend, "ns") && !ns_ok) {
			fprintf(stderr, "sagerun: error: --backend ns: %s\n",
				why ? why : "not built in");
			fprintf(stderr,
				"hint: use --backend process (no hostnames, shared network)\n");
			return EXIT_USAGE;
		}
	}
	if (!run->backend) {
		fprintf(stderr, "sagerun: error: --backend: unknown backend '%s'\n", opts->backend);
		return EXIT_USAGE;
	}
	/* The runtime refuses it too (runtime/ssh.h); here it is said before anything starts. */
	const char *launcher = job_map_get(&run->job.environment, JOB_MPI_LAUNCHER_ENV);

	if (launcher && !strcmp(launcher, "ssh") &&
	    !(run->backend->flags & HOST_BACKEND_F_CONTAINER)) {
		fprintf(stderr,
			"sagerun: error: --mpi-launcher ssh: the %s backend's hosts share this "
			"machine's sshd, /etc and /root/.ssh; the ssh way needs containers\n",
			run->backend->name);
		fprintf(stderr, "hint: add --backend docker --image IMAGE (an image with sshd), or "
				"leave out --mpi-launcher\n");
		return EXIT_USAGE;
	}
	if (run->backend->flags & HOST_BACKEND_F_CONTAINER)
		return run_container_options(run, opts);
	if (opts->toolkit_builtin || opts->gpus_per_host || opts->shm_bytes || opts->image) {
		fprintf(stderr,
			"sagerun: error: --image, --toolkit, --gpus-per-host and --shm-size "
			"are for container hosts\n");
		fprintf(stderr, "hint: add --backend docker --image IMAGE\n");
		return EXIT_USAGE;
	}
	if (opts->network_host && !(run->backend->flags & HOST_BACKEND_F_BINDS))
		fprintf(stderr,
			"sagerun: note: --network host: the %s backend always shares this "
			"machine's network\n",
			run->backend->name);
	return 0;
}
