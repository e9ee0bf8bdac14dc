/* run.c - one training job from flags to exit code.
 *
 *   job_build -> job folder -> per host: contract config + /opt/ml tree, channels, code,
 *   environment, argv -> sup_run (Training) -> artifacts (Uploading) -> final status.
 *
 * The job folder ($SAGERUN_HOME/jobs/<name>) keeps each host's tree (hosts/algo-N/opt/ml),
 * its log (logs/algo-N.log) and describe.json, rewritten atomically at every transition so
 * another process can watch the job.
 *
 * Its parts, shared with compose.c through run_internal.h: backend_pick.c (which backend),
 * host_layout.c (one host's tree, environment and argv), package.c (the tarballs).
 */
#include "cli/run.h"
#include "cli/run_internal.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "data/checkpoints.h"
#include "data/s3_artifacts.h"
#include "data/s3_channel.h"
#include "hosts/hosts.h"
#include "job/job.h"
#include "job/status.h"
#include "runtime/agent.h"
#include "store/store.h"
#include "supervise/supervise.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

char *run_home_dir(void)
{
	const char *home = getenv("SAGERUN_HOME");
	const char *xdg = getenv("XDG_DATA_HOME");

	if (home && *home)
		return fs_abspath(home);
	if (xdg && *xdg)
		return xasprintf("%s/sagerun", xdg);
	home = getenv("HOME");
	return xasprintf("%s/.local/share/sagerun", home && *home ? home : "/root");
}

#define RUN_FDS_BASE	 64
#define RUN_FDS_PER_HOST 10

/* Print each transition once, with how long the previous one took, and keep describe.json
 * current for anyone watching. */
static void on_status(void *ctx, const struct job_status *st)
{
	struct run *run = ctx;
	static const char *const colors[] = {
	    [JOB_COMPLETED] = "\033[32m", [JOB_FAILED] = "\033[31m", [JOB_STOPPED] = "\033[33m"};
	struct sr_error err = {0};
	const struct job_transition *t;

	if (!st->n_transitions)
		return;
	t = &st->transitions[st->n_transitions - 1];
	if (t->start_ms != 0 && run->printed != st->n_transitions) {
		const struct job_transition *prev =
		    st->n_transitions > 1 ? &st->transitions[st->n_transitions - 2] : NULL;
		bool final = st->state == JOB_COMPLETED || st->state == JOB_FAILED ||
			     st->state == JOB_STOPPED;
		const char *c = final && run->color && colors[st->state] ? colors[st->state] : "";

		fprintf(stderr, "sagerun: %s: %s%s%s", run->job.name, c,
			job_secondary_name(t->status), *c ? "\033[0m" : "");
		if (t->message && *t->message)
			fprintf(stderr, " - %s", t->message);
		if (prev)
			fprintf(stderr, " (%s took %.3f s)", job_secondary_name(prev->status),
				(double)(prev->end_ms - prev->start_ms) / 1000.0);
		fputc('\n', stderr);
		run->printed = st->n_transitions;
	}
	if (run->recorded) {
		bool final = st->state == JOB_COMPLETED || st->state == JOB_FAILED ||
			     st->state == JOB_STOPPED;
		/* The final record must land: without it the job would pass for one whose
		 * supervisor was lost once our lease goes. */
		for (int tries = final ? 3 : 1; tries > 0; tries--) {
			if (store_job_update(run->store, &run->job, st, &err) >= 0)
				break;
			fprintf(stderr, "sagerun: warning: %s\n", err.msg);
			sr_err_clear(&err);
		}
	}
	/* describe.json is the users' copy of the store's record: rewritten when the job starts
	 * training, starts stopping and ends, not at every step (each rewrite is a new file). */
	if (run->describe_path &&
	    (t->status == SEC_TRAINING || t->status == SEC_STOPPING || st->state == JOB_COMPLETED ||
	     st->state == JOB_FAILED || st->state == JOB_STOPPED || run->printed <= 1)) {
		if (job_describe_write(&run->job, st, run->describe_path, &err) < 0)
			fprintf(stderr, "sagerun: warning: %s\n", err.msg);
	}
}

/* -d, in the detached supervisor once the job is recorded: stdin from /dev/null, stdout (the
 * hosts' prefixed lines, which the per-host logs hold anyway) to /dev/null, stderr (status
 * transitions, errors) to <job folder>/sagerun.log; then tell the launcher, which prints
 * the name and returns. */
static int detach_stdio(struct run *run, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/sagerun.log", run->job_dir);
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (null < 0 || log < 0)
		return sr_err_errno(err, errno, "detach: open '%s'", null < 0 ? "/dev/null" : path);
	fflush(stdout);
	fflush(stderr);
	/* The launcher's stderr, kept until the job is recorded: an error before that is its. */
	run->saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (run->saved_stderr < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(null, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0)
		return sr_err_errno(err, errno, "detach");
	return 0;
}

/* Tell the launcher the job is recorded: it prints the name and returns. */
static void detach_release(struct run *run)
{
	run->saved_stderr = sr_close(run->saved_stderr);
	if (write(run->detach_fd, "ok", 2) != 2) {
		/* The launcher is gone (killed): carry on, the job is recorded. */
	}
	run->detach_fd = sr_close(run->detach_fd);
}

/* The job folder is ours (mkdir won): take its lease, then record the job.  A name the store
 * already holds (its folder was removed by hand) is refused like a folder that exists. */
static int record_job(struct run *run, struct sr_error *err)
{
	struct store_job_rec rec = {
	    .name = run->job.name,
	    .type = "training",
	    .backend = run->backend->name,
	    .folder = run->job_dir,
	};
	int r = store_lease_take(run->job_dir, &run->lease_fd, err);

	if (r >= 0)
		r = cli_store_open_err(&run->store, err);
	if (r >= 0)
		r = store_job_insert(run->store, &rec, &run->job, &run->status, err);
	if (r < 0)
		return r;
	run->recorded = true;
	return 0;
}

static void set_status(struct run *run, enum job_state state, enum job_secondary sec,
		       const char *msg)
{
	job_status_set(&run->status, state, sec, msg, clock_wall_ms());
	on_status(run, &run->status);
}

/* A Ctrl-C or SIGTERM that arrived while the stop signals are held (before the hosts start). */
static bool stop_requested(void)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return false;
	return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
}

static bool stop_asked(void *ctx)
{
	(void)ctx;
	return stop_requested();
}

static int exit_code_for(enum job_state state)
{
	return state == JOB_COMPLETED ? EXIT_COMPLETED
	       : state == JOB_STOPPED ? EXIT_STOPPED
				      : EXIT_FAILED;
}

/* sagerun's own failures, as opposed to the user's: what RetryStrategy retries.  A program
 * or a path of the job's that is missing, not executable or not valid is the user's. */
static bool error_is_internal(int code)
{
	switch (-code) {
	case ENOENT:
	case EACCES:
	case ENOEXEC:
	case ENOTDIR:
	case EISDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EINVAL:
	case EEXIST:
		return false;
	default:
		return true;
	}
}

/* S3 channels: every object into the cache (only what it lacks), and the channel's folder of
 * links under <job folder>/channels/<name>, before any host is laid out. */
int run_stage_s3_channels(struct run *run, struct sr_error *err)
{
	_cleanup_free_ char *home = run_home_dir();
	_cleanup_free_ char *cache = xasprintf("%s/cache/s3", home);
	struct strv report = STRV_INIT;
	int r = s3_channels_stage(&run->job, run->job_dir, cache, run->n_hosts, stop_asked, NULL,
				  &report, err);

	for (size_t i = 0; i < report.n; i++)
		fprintf(stderr, "sagerun: %s: %s\n", run->job.name, report.v[i]);
	strv_release(&report);
	return r;
}

/* Each prepared host's checkpoint folder (CheckpointConfig.LocalPath in its tree; validation
 * made sure it is under /opt/ml). */
static void checkpoint_dirs(const struct run *run, struct strv *dirs)
{
	for (size_t i = 0; i < run->n_hosts; i++) {
		const struct host *h = &run->hosts[i];
		char *d;

		if (!h->opt_ml)
			continue;
		d = checkpoints_host_dir(h->opt_ml, run->job.checkpoint_local_path);
		if (d)
			strv_push_take(dirs, d);
		else
			fprintf(stderr,
				"sagerun: warning: %s: the checkpoint folder is a symbolic link "
				"(or passes through one): not followed, not synced\n",
				h->name);
	}
}

/* CheckpointConfig: restore before Training, save after (and before a retry). */
static int sync_checkpoints(struct run *run, bool save, struct sr_error *err)
{
	struct strv report = STRV_INIT, dirs = STRV_INIT;
	int r;

	if (!run->job.checkpoint_s3_uri)
		return 0;
	checkpoint_dirs(run, &dirs);
	if (!dirs.n)
		return 0; /* no host was laid out: nothing to restore into or save */
	r = save ? checkpoints_save(run->job.checkpoint_s3_uri, dirs.v, dirs.n, &report, err)
		 : checkpoints_restore(run->job.checkpoint_s3_uri, dirs.v, dirs.n, stop_asked, NULL,
				       &report, err);
	for (size_t i = 0; i < report.n; i++)
		fprintf(stderr, "sagerun: %s: %s\n", run->job.name, report.v[i]);
	strv_release(&report);
	strv_release(&dirs);
	return r;
}

/* Script mode with an S3 output: the local code goes up as sourcedir.tar.gz next to the
 * output and sagemaker_submit_directory points at it, as the SageMaker SDK does it, so the
 * hosts fetch their code the way they would on the service. */
static int upload_source(struct run *run, struct sr_error *err)
{
	struct job *job = &run->job;
	const char *hp = job_map_get(&job->hyperparameters, "sagemaker_submit_directory");
	_cleanup_json_ json_t *v = hp ? json_loads(hp, JSON_DECODE_ANY, NULL) : NULL;
	_cleanup_free_ char *uri = NULL, *quoted = NULL;
	const char *local;
	json_t *s;
	int r;

	if (run->source_uploaded || job->output_local || !json_is_string(v))
		return 0;
	/* job_build made local code locations file:///absolute. */
	local = json_string_value(v);
	if (!strncmp(local, "file://", 7))
		local += 7;
	if (local[0] != '/')
		return 0; /* already s3:// */
	r = s3_sourcedir_upload(job->output_path, job->name, local, run->job_dir, &uri, err);
	if (r < 0)
		return r;
	s = json_string(uri);
	quoted = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	job_map_set(&job->hyperparameters, "sagemaker_submit_directory", quoted);
	run->source_uploaded = true;
	fprintf(stderr, "sagerun: %s: source: %s\n", job->name, uri);
	return 0;
}

/* Point each S3 channel at the folder host `index` sees (ShardedByS3Key: its own). */
void run_set_s3_channel_paths(struct run *run, size_t index)
{
	for (size_t i = 0; i < run->job.n_channels; i++) {
		struct job_channel *c = &run->job.channels[i];
		_cleanup_free_ char *dest = NULL;

		if (strncmp(c->uri, "s3://", 5))
			continue;
		dest = xasprintf("%s/channels/%s", run->job_dir, c->name);
		free(c->local_path);
		c->local_path = s3_channel_host_dir(c, dest, index);
	}
}

/* One attempt: lay out and start the hosts, supervise them.  Returns < 0 for a failure
 * before or around the hosts (the caller decides about retries); *start_error is a host that
 * could not be started. */
static int run_attempt(struct run *run, const struct run_opts *opts, const char *log_dir,
		       enum sup_outcome *outcome, bool *stopped, int *start_error,
		       struct sr_error *err)
{
	int r = 0;

	r = upload_source(run, err);
	set_status(run, JOB_IN_PROGRESS, SEC_DOWNLOADING, "Downloading input data");
	if (r >= 0)
		r = run_stage_s3_channels(run, err);
	if (r == -ECANCELED) {
		r = 0; /* stopped between two objects */
		*stopped = true;
	}
	/* What the hosts share first (the ns backend makes the private network meanwhile, in a
	 * thread; docker checks the image before any tree is made), then each host's tree. */
	if (r >= 0 && !*stopped && !stop_requested()) {
		for (size_t i = 0; i < run->n_hosts; i++)
			run_host_paths(run, &run->hosts[i]);
		r = host_group_prepare(&run->group, err);
	}
	for (size_t i = 0; r >= 0 && !*stopped && i < run->n_hosts; i++) {
		*stopped = stop_requested();
		if (!*stopped) {
			run_set_s3_channel_paths(run, i);
			r = run_prepare_host(run, &run->hosts[i], err);
		}
	}
	if (r >= 0 && !*stopped && !stop_requested()) {
		r = sync_checkpoints(run, false, err);
		if (r == -ECANCELED) {
			r = 0;
			*stopped = true;
		}
	}
	/* The ns probe's child is gone by now, most likely: no zombie of ours for the job's
	 * length (else it is reaped after the job). */
	host_ns_probe_reap(&run->ns_probe, false);
	if (r >= 0 && (*stopped || stop_requested())) {
		/* Stopped while Downloading: no host ever runs user code. */
		*stopped = true;
		*outcome = SUP_STOPPED;
		set_status(run, JOB_STOPPING, SEC_STOPPING, "Stopping the training job");
		set_status(run, JOB_STOPPING, SEC_UPLOADING, "Uploading generated training model");
	} else if (r >= 0) {
		struct sup_config sc = {
		    .job = &run->job,
		    .hosts = run->hosts,
		    .n_hosts = run->n_hosts,
		    .log_dir = log_dir,
		    .out_fd = STDOUT_FILENO,
		    .err_fd = STDERR_FILENO,
		    .color = opts->color,
		    .max_run_s = run->job.max_run_s,
		    .stop_grace_s = run->job.stop_grace_s,
		    .status = &run->status,
		    .on_status = on_status,
		    .ctx = run,
		    .start_error = start_error,
		};
		r = sup_run(&sc, outcome, err);
	}
	return r;
}

/* Before a retry: every host gone, its tree laid out anew. */
static int reset_hosts(struct run *run, struct sr_error *err)
{
	_cleanup_free_ char *trees = xasprintf("%s/hosts", run->job_dir);

	host_group_teardown(&run->group);
	for (size_t i = 0; i < run->n_hosts; i++) {
		host_release(&run->hosts[i]);
		host_init(&run->hosts[i], i, run->backend);
	}
	for (size_t i = 0; i < run->status.n_hosts; i++) {
		struct job_host_status *h = &run->status.hosts[i];

		h->started = h->exited = 0;
		h->exit_code = h->signal = 0;
		h->start_ms = h->end_ms = 0;
	}
	return fs_rm_rf(trees, err);
}

static int run_job(struct run *run, const struct run_opts *opts)
{
	struct sr_error err = {0};
	_cleanup_free_ char *home = run_home_dir();
	_cleanup_free_ char *log_dir = NULL;
	_cleanup_free_ char *jobs_dir = NULL;
	bool stopped = false;
	const struct host_backend *backend = run->backend;
	enum sup_outcome outcome = SUP_FAILED;
	sigset_t stop_signals;
	int r;

	/* Ctrl-C before the hosts start must not leave a half-made job: hold the stop signals
	 * until the supervisor reads them from its signalfd (it stops the job at once). */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);

	/* mkdir, not "exists? then create": two runs with the same name cannot both win. */
	jobs_dir = xasprintf("%s/jobs", home);
	run->job_dir = xasprintf("%s/%s", jobs_dir, run->job.name);
	if (fs_mkdir_p(jobs_dir, 0755, &err) < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	if (mkdir(run->job_dir, 0755) < 0) {
		if (errno == EEXIST) {
			sr_err(&err, -EEXIST, "a job named '%s' already exists (%s)", run->job.name,
			       run->job_dir);
			sr_err_hint(&err, "choose another --name, or remove the job: sagerun rm %s",
				    run->job.name);
		} else {
			sr_err_errno(&err, errno, "create job folder '%s'", run->job_dir);
		}
		cli_print_error(&err);
		free(run->job_dir);
		run->job_dir = NULL;
		return err.code == -EEXIST ? EXIT_USAGE : EXIT_FAILED;
	}
	if (rt_agent_secret_new(run->agent_secret, &err) < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	run->n_hosts = (size_t)run->job.instance_count;
	/* The supervisor holds about 8 fds per host at the peak (its pidfd, status pipe, report
	 * socket, stdout and stderr pipes, log and time index files, the ns backend's network
	 * namespace): 256 hosts need more than the usual soft limit of 1024.  With a lower hard
	 * limit, a warning: the job may need fewer, and if it runs out, what could not be opened
	 * says so (an InternalServerError, retried as the service retries it). */
	if (fs_need_open_files(RUN_FDS_BASE + RUN_FDS_PER_HOST * run->n_hosts, &err) < 0) {
		fprintf(stderr, "sagerun: warning: %zu hosts: %s\n", run->n_hosts, err.msg);
		if (err.hint[0])
			fprintf(stderr, "hint: %s\n", err.hint);
		sr_err_clear(&err);
	}
	job_status_init(&run->status, run->n_hosts, clock_wall_ms());
	/* -d: stdio moves to the job folder before the job is recorded, so a job that is
	 * recorded never fails for want of it. */
	if (run->detach_fd >= 0 && detach_stdio(run, &err) < 0) {
		cli_print_error(&err);
		(void)fs_rm_rf(run->job_dir, NULL);
		return EXIT_FAILED;
	}
	/* The hosts, and what they share started in the background (the ns backend's network)
	 * while the job is recorded and laid out. */
	run->hosts = xcalloc(run->n_hosts, sizeof(*run->hosts));
	for (size_t i = 0; i < run->n_hosts; i++)
		host_init(&run->hosts[i], i, backend);
	run->group = (struct host_group){
	    .hosts = run->hosts,
	    .n = run->n_hosts,
	    .network_host = opts->network_host,
	    .subnet = opts->subnet,
	    .backend = backend,
	};
	host_group_begin(&run->group);
	if (record_job(run, &err) < 0) {
		if (run->saved_stderr >= 0)
			(void)dup2(run->saved_stderr, STDERR_FILENO);
		cli_print_error(&err);
		/* Nothing of a job that never started stays behind. */
		run->lease_fd = sr_close(run->lease_fd);
		(void)fs_rm_rf(run->job_dir, NULL);
		return err.code == -EEXIST ? EXIT_USAGE : EXIT_FAILED;
	}
	if (run->detach_fd >= 0)
		detach_release(run);
	run->describe_path = xasprintf("%s/describe.json", run->job_dir);
	log_dir = xasprintf("%s/logs", run->job_dir);
	on_status(run, &run->status);

	if (backend->flags & HOST_BACKEND_F_CONTAINER)
		run_container_bind(run, opts);

	for (int attempt = 1;; attempt++) {
		int start_error = 0;

		r = run_attempt(run, opts, log_dir, &outcome, &stopped, &start_error, &err);
		if (r >= 0 && start_error < 0 && error_is_internal(start_error)) {
			/* A host that could not be started for a reason of ours. */
			r = start_error;
			sr_err(&err, r, "%s",
			       run->status.failure_reason ? run->status.failure_reason
							  : strerror(-r));
		}
		if (r >= 0 || stopped)
			break;
		/* sagerun's own failure, or a host that could not be prepared: the service's
		 * InternalServerError when it is ours, which RetryStrategy retries. */
		bool internal = error_is_internal(r);
		_cleanup_free_ char *reason =
		    xasprintf("%s%s", internal ? "InternalServerError: " : "", err.msg);

		job_status_set_failure(&run->status, reason);
		outcome = SUP_FAILED;
		cli_print_error(&err);
		sr_err_clear(&err);
		if (!internal || attempt > run->job.max_retry_attempts) {
			set_status(run, JOB_IN_PROGRESS, SEC_UPLOADING,
				   "Uploading generated training model");
			break;
		}
		/* The next attempt resumes from what this one saved. */
		r = sync_checkpoints(run, true, &err);
		if (r >= 0)
			r = reset_hosts(run, &err);
		if (r < 0) {
			cli_print_error(&err);
			set_status(run, JOB_IN_PROGRESS, SEC_UPLOADING,
				   "Uploading generated training model");
			break;
		}
		free(run->status.failure_reason);
		run->status.failure_reason = NULL;
		_cleanup_free_ char *msg =
		    xasprintf("Restarting the training job: attempt %d of %d (RetryStrategy)",
			      attempt + 1, run->job.max_retry_attempts + 1);
		set_status(run, JOB_IN_PROGRESS, SEC_RESTARTING, msg);
	}

	host_group_teardown(&run->group);
	host_ns_probe_reap(&run->ns_probe, true); /* long gone by now */

	/* Checkpoints and artifacts are exported whatever the outcome, as the service does:
	 * both, even when one fails; the first failure is the one that fails the job. */
	{
		struct sr_error perr = {0};
		int rc = sync_checkpoints(run, true, &err);
		int rp = run_package(run, rc < 0 ? &perr : &err);

		if (rc < 0 && rp < 0)
			cli_print_error(&perr);
		if (rc < 0 || rp < 0) {
			cli_print_error(&err);
			if (outcome == SUP_COMPLETED) {
				outcome = SUP_FAILED;
				job_status_set_failure(&run->status, err.msg);
			}
		}
	}
	switch (outcome) {
	case SUP_COMPLETED:
		set_status(run, JOB_COMPLETED, SEC_COMPLETED, "Training job completed");
		break;
	case SUP_STOPPED:
		set_status(run, JOB_STOPPED, SEC_STOPPED, "Training job stopped");
		break;
	case SUP_MAX_RUNTIME:
		set_status(run, JOB_STOPPED, SEC_MAX_RUNTIME_EXCEEDED,
			   "Training job exceeded MaxRuntimeInSeconds");
		break;
	default:
		set_status(run, JOB_FAILED, SEC_FAILED, "Training job failed");
		if (run->status.failure_reason)
			fprintf(stderr, "sagerun: %s: FailureReason: %s\n", run->job.name,
				run->status.failure_reason);
		break;
	}
	if (run->status.model_artifacts)
		fprintf(stderr, "sagerun: %s: model artifacts: %s\n", run->job.name,
			run->status.model_artifacts);
	return exit_code_for(run->status.state);
}

/* What detach() returns in the launching process once the detached one took over. */
#define DETACHED (-1)

/* -d: fork the supervisor into a session of its own (so the launching shell's exit or
 * hangup cannot reach it) and wait until it has recorded the job: then print the name and
 * return.  An error before that (a taken name, ...) is printed by the child on our stderr
 * and becomes our exit status. */
static int detach(struct run *run)
{
	int p[2], status;
	char ok[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "sagerun: error: detach: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sagerun: error: detach: fork: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return EXIT_FAILED;
	}
	if (pid == 0) {
		close(p[0]);
		(void)setsid();
		run->detach_fd = p[1];
		run->ns_probe = 0; /* the launcher's child, not ours: the launcher reaps it */
		return 0;
	}
	close(p[1]);
	do
		n = read(p[0], ok, sizeof(ok));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == 2 && !memcmp(ok, "ok", 2)) {
		printf("%s\n", run->job.name);
		return DETACHED;
	}
	/* It failed before the job was recorded and said why; its status is ours. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILED;
}

/* job_build with its warnings and error printed; < 0 when the job cannot be built. */
int run_build_job(struct job *job, const struct job_flags *flags)
{
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	int r = job_build(flags, job, &warnings, &err);

	for (size_t i = 0; i < warnings.n; i++)
		fprintf(stderr, "sagerun: warning: %s\n", warnings.v[i]);
	strv_release(&warnings);
	if (r < 0) {
		cli_print_error(&err);
		job_release(job);
	}
	return r;
}

int run_training_job(const struct job_flags *flags, const struct run_opts *opts)
{
	struct run run = {
	    .color = opts->color, .lease_fd = -1, .detach_fd = -1, .saved_stderr = -1};
	int code;

	if (run_build_job(&run.job, flags) < 0)
		return EXIT_USAGE;
	code = run_pick_backend(&run, opts);
	if (code == 0 && opts->detach)
		code = detach(&run);
	if (code == 0)
		code = run_job(&run, opts);
	else if (code == DETACHED)
		code = 0;

	host_group_teardown(&run.group);
	host_ns_probe_reap(&run.ns_probe, true);
	for (size_t i = 0; run.hosts && i < run.n_hosts; i++)
		host_release(&run.hosts[i]);
	free(run.hosts);
	free(run.job_dir);
	free(run.toolkit_binary);
	free(run.describe_path);
	store_close(run.store);
	sr_closep(&run.lease_fd); /* last: the job is final in the store before the lease goes */
	job_status_release(&run.status);
	job_release(&run.job);
	return code;
}
