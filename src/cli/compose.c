/* compose.c - `sagerun compose`: the job of `sagerun train`, written as a docker-compose.yml. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/run.h"
#include "cli/run_internal.h"
#include "hosts/hosts.h"
#include "job/job.h"
#include "runtime/agent.h"
#include "util/clock.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char compose_usage[] =
    "sagerun compose [--spec FILE] [options] --image IMAGE [-o FILE] "
    "[--entry-point FILE [--source-dir DIR]] [-- COMMAND ARGS...]";

static const char compose_help_head[] =
    "Lay out each host's /opt/ml on disk and write a docker-compose.yml that runs the job's\n"
    "hosts as containers: services algo-1..algo-N on one network, each with its hostname,\n"
    "the contract's environment (SM_TRAINING_ENV, SM_HOSTS, ..., WORLD_SIZE, MASTER_ADDR),\n"
    "its /opt/ml and channels mounted, and the command: the same containers as\n"
    "`sagerun train --backend docker`.  Credentials in the job's environment are written by\n"
    "name only: docker-compose takes their values from its own environment.\n"
    "\n"
    "  -o FILE                  the compose file (default\n"
    "                           ./docker-compose-<job>-<N>workers.yaml); the hosts' trees go\n"
    "                           to sagerun-<job>/ beside it\n"
    "  --image IMAGE            the image (default: the spec's TrainingImage)\n"
    "  --toolkit builtin        a static sagerun mounted as the entrypoint\n"
    "  --gpus-per-host N|all    GPUs per service (deploy.resources.reservations.devices)\n"
    "  --shm-size SIZE          shm_size of each service\n"
    "  --network host           a network that is not internal\n"
    "\n";

/* The job folder of `sagerun compose`: <folder of the compose file>/sagerun-<job>, made here
 * (mkdir: a second compose of the same name cannot take it over). */
static int compose_job_dir(struct run *run, const char *path, struct sr_error *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');

	*slash = '\0';
	run->job_dir = xasprintf("%s/sagerun-%s", *dir ? dir : "", run->job.name);
	if (mkdir(run->job_dir, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return sr_err_errno(err, errno, "create '%s'", run->job_dir);
	sr_err(err, -EEXIST, "'%s' already exists: the hosts of an earlier compose of job '%s'",
	       run->job_dir, run->job.name);
	return sr_err_hint(err, "choose another --name, or remove it (after docker-compose down)");
}

static int compose_prepare(struct run *run, const struct run_opts *opts, const char *path,
			   struct strv *by_name, struct sr_error *err)
{
	int r = compose_job_dir(run, path, err);

	if (r < 0)
		return r;
	r = rt_agent_secret_new(run->agent_secret, err);
	if (r < 0)
		return r;
	run->n_hosts = (size_t)run->job.instance_count;
	job_status_init(&run->status, run->n_hosts, clock_wall_ms());
	run->hosts = xcalloc(run->n_hosts, sizeof(*run->hosts));
	for (size_t i = 0; i < run->n_hosts; i++)
		host_init(&run->hosts[i], i, run->backend);
	run->group = (struct host_group){
	    .hosts = run->hosts,
	    .n = run->n_hosts,
	    .network_host = opts->network_host,
	    .backend = run->backend,
	};
	run_container_bind(run, opts);
	r = run_stage_s3_channels(run, err);
	for (size_t i = 0; r >= 0 && i < run->n_hosts; i++) {
		run_set_s3_channel_paths(run, i);
		r = run_prepare_host(run, &run->hosts[i], err);
	}
	if (r >= 0)
		r = host_compose_write(&run->group, path, by_name, err);
	return r;
}

static int run_compose_job(const struct job_flags *flags, const struct run_opts *opts,
			   const char *out)
{
	struct run run = {.lease_fd = -1, .detach_fd = -1, .saved_stderr = -1};
	struct strv by_name = STRV_INIT;
	struct sr_error err = {0};
	_cleanup_free_ char *path = NULL;
	int code = EXIT_COMPLETED;

	if (run_build_job(&run.job, flags) < 0)
		return EXIT_USAGE;
	run.backend = host_backend_find("docker");
	code = run_container_options(&run, opts);
	if (code == 0) {
		if (out) {
			path = fs_abspath(out);
		} else {
			_cleanup_free_ char *name = xasprintf("docker-compose-%s-%dworkers.yaml",
							      run.job.name, run.job.instance_count);

			path = fs_abspath(name);
		}
		if (run.job.checkpoint_s3_uri)
			fprintf(stderr, "sagerun: warning: CheckpointConfig: a compose file has no "
					"step before or after the containers; not synced\n");
		if (compose_prepare(&run, opts, path, &by_name, &err) < 0) {
			cli_print_error(&err);
			if (run.job_dir && err.code != -EEXIST)
				(void)fs_rm_rf(run.job_dir, NULL);
			code = EXIT_FAILED;
		}
	}
	if (code == 0) {
		printf("%s\n", path);
		fprintf(stderr,
			"sagerun: %s: %d hosts; their /opt/ml trees are under %s/hosts (the model "
			"and output stay there: compose packs no tarballs)\n",
			run.job.name, run.job.instance_count, run.job_dir);
		if (by_name.n) {
			_cleanup_free_ char *names = strv_join(by_name.v, " ");

			fprintf(stderr,
				"sagerun: credentials pass by name from the environment of "
				"docker-compose: export %s\n",
				names);
		}
		fprintf(stderr, "sagerun: run it: docker-compose -f %s up\n", path);
	}
	strv_release(&by_name);
	for (size_t i = 0; run.hosts && i < run.n_hosts; i++)
		host_release(&run.hosts[i]);
	free(run.hosts);
	free(run.job_dir);
	free(run.toolkit_binary);
	job_status_release(&run.status);
	job_release(&run.job);
	return code;
}

int cmd_compose(int argc, char **argv, struct sr_ctx *ctx)
{
	const char *out = NULL;
	char help[8192];
	struct cli_train_cmd cmd = {
	    .usage = compose_usage, .help = help, .compose = true, .compose_out = &out};
	struct job_flags flags;
	struct run_opts ropts = {.color = false, .backend = "docker"};
	int r;

	(void)ctx;
	snprintf(help, sizeof(help), "%s%s", compose_help_head, cli_job_options_help);
	job_flags_init(&flags);
	r = cli_train_parse(argc, argv, &cmd, &flags, &ropts);
	if (r)
		return r == CLI_TRAIN_HELP ? 0 : r;
	r = run_compose_job(&flags, &ropts, out);
	job_flags_release(&flags);
	return r;
}
