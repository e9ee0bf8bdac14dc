/* test_supervise.c - the supervisor with real hosts (process backend), real signals, timers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hosts/hosts.h"
#include "job/kind.h"
#include "job/status.h"
#include "supervise/internal.h"
#include "supervise/supervise.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define MAX_HOSTS 10
#define MARKER	  SUP_SPLIT_MARKER

struct fixture {
	char dir[PATH_MAX];
	char *log_dir;
	char *out_path;
	char *err_path;
	int out_fd;
	int err_fd;
	size_t n;
	struct host hosts[MAX_HOSTS];
	pid_t pgids[MAX_HOSTS];
	struct job_status st;
	struct sup_config cfg;
	int status_calls;
	int64_t elapsed_ms;
	int fds_before;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The supervisor's events, named as launch/ names them for a training job. */
static void on_event(void *ctx, enum job_event ev)
{
	struct fixture *fx = ctx;
	const struct job_status *st = &fx->st;

	job_status_event(&fx->st, &job_kind_training, ev, clock_wall_ms());
	fx->status_calls++;
	/* Every host was started by now: remember the groups to check none is left. */
	if (st->secondary == SEC_RUNNING)
		for (size_t i = 0; i < fx->n; i++)
			fx->pgids[i] = fx->hosts[i].pid;
}

static void fx_init(struct fixture *fx, size_t n)
{
	struct sr_error err = {0};

	memset(fx, 0, sizeof(*fx));
	fx->fds_before = count_fds();
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sr-test-supervise-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->n = n;
	fx->log_dir = xasprintf("%s/logs", fx->dir);
	fx->out_path = xasprintf("%s/out.txt", fx->dir);
	fx->err_path = xasprintf("%s/err.txt", fx->dir);
	fx->out_fd = open(fx->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	fx->err_fd = open(fx->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	assert_true(fx->out_fd >= 0 && fx->err_fd >= 0);
	for (size_t i = 0; i < n; i++) {
		struct host *h = &fx->hosts[i];
		char *out;

		host_init(h, i, host_backend_find("process"));
		h->opt_ml = xasprintf("%s/%s/opt_ml", fx->dir, h->name);
		out = xasprintf("%s/output", h->opt_ml);
		assert_int_equal(fs_mkdir_p(out, 0755, &err), 0);
		free(out);
		h->cwd = xstrdup(fx->dir);
		strv_env_set(&h->env, "PATH", "/usr/bin:/bin");
		strv_env_set(&h->env, "OPT_ML", h->opt_ml);
		strv_env_set(&h->env, "DIR", fx->dir);
		strv_env_set(&h->env, "NAME", h->name);
	}
	job_status_init(&fx->st, &job_kind_training, n, clock_wall_ms());
	fx->cfg = (struct sup_config){
	    .hosts = fx->hosts,
	    .n_hosts = n,
	    .log_dir = fx->log_dir,
	    .out_fd = fx->out_fd,
	    .err_fd = fx->err_fd,
	    .color = false,
	    .max_run_s = 0,
	    .stop_grace_s = 30,
	    .status = &fx->st,
	    .on_event = on_event,
	    .ctx = fx,
	};
}

static void fx_sh(struct fixture *fx, size_t i, const char *script)
{
	strv_release(&fx->hosts[i].argv);
	strv_push(&fx->hosts[i].argv, "/bin/sh");
	strv_push(&fx->hosts[i].argv, "-c");
	strv_push(&fx->hosts[i].argv, script);
}

static enum sup_outcome fx_run(struct fixture *fx)
{
	struct sr_error err = {0};
	enum sup_outcome outcome = SUP_OUTCOME_MAX;
	int64_t t0 = clock_mono_ms();
	int r;

	r = sup_run(&fx->cfg, &outcome, &err);
	fx->elapsed_ms = clock_mono_ms() - t0;
	if (r < 0)
		fail_msg("sup_run: %s", err.msg);
	return outcome;
}

/* Nothing of any host is left: grandchildren orphaned to us (subreaper) are reaped here, and
 * every host's process group must be empty within 5 s. */
static void assert_nothing_left(struct fixture *fx)
{
	int64_t deadline = clock_mono_ms() + 5000;
	siginfo_t si;

	for (size_t i = 0; i < fx->n; i++) {
		if (!fx->pgids[i])
			continue;
		for (;;) {
			memset(&si, 0, sizeof(si));
			while (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
				memset(&si, 0, sizeof(si));
			if (kill(-fx->pgids[i], 0) < 0 && errno == ESRCH)
				break;
			if (clock_mono_ms() > deadline)
				fail_msg("process group %d of %s is still alive", (int)fx->pgids[i],
					 fx->hosts[i].name);
			usleep(10000);
		}
	}
	/* Every process the hosts made is our child now (subreaper): all must end. */
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0) {
			assert_int_equal(errno, ECHILD);
			break;
		}
		if (!si.si_pid && clock_mono_ms() > deadline)
			fail_msg("a process of the hosts is still alive");
		if (!si.si_pid)
			usleep(10000);
	}
}

static void fx_release(struct fixture *fx)
{
	for (size_t i = 0; i < fx->n; i++) {
		/* sup_run tore every host down: only memory is left to free. */
		assert_int_equal(fx->hosts[i].pidfd, -1);
		assert_int_equal(fx->hosts[i].out_fd, -1);
		assert_null(fx->hosts[i].priv);
		host_release(&fx->hosts[i]);
	}
	assert_nothing_left(fx);
	job_status_release(&fx->st);
	close(fx->out_fd);
	close(fx->err_fd);
	assert_int_equal(count_fds(), fx->fds_before);
	assert_int_equal(fs_rm_rf(fx->dir, NULL), 0);
	free(fx->log_dir);
	free(fx->out_path);
	free(fx->err_path);
}

static char *slurp(const char *path)
{
	struct sr_error err = {0};
	char *data = NULL;

	assert_int_equal(fs_read_file(path, 64 << 20, &data, NULL, &err), 0);
	return data;
}

static void assert_transitions(const struct job_status *st, size_t n, ...)
{
	va_list ap;

	assert_int_equal(st->n_transitions, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		enum job_secondary want = va_arg(ap, enum job_secondary);

		assert_string_equal(
		    job_secondary_name(&job_kind_training, st->transitions[i].status),
		    job_secondary_name(&job_kind_training, want));
	}
	va_end(ap);
}

/* A helper process that sends `sig` to us, `count` times, once `ready` exists (or at once),
 * after `delay_ms`. */
static pid_t signal_later(const char *ready, int sig, int count, int delay_ms)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (ready)
			while (access(ready, F_OK) < 0)
				usleep(5000);
		for (int i = 0; i < count; i++) {
			usleep((useconds_t)delay_ms * 1000);
			kill(parent, sig);
		}
		_exit(0);
	}
	return pid;
}

static void reap_helper(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
}

/* ---- policy -------------------------------------------------------------------------------- */

static void test_complete(void **state)
{
	struct fixture fx;
	char *out;

	(void)state;
	fx_init(&fx, 3);
	for (size_t i = 0; i < 3; i++)
		fx_sh(&fx, i, "echo \"hello from $NAME\"; exit 0");
	assert_int_equal(fx_run(&fx), SUP_COMPLETED);
	assert_transitions(&fx.st, 3, SEC_STARTING, SEC_RUNNING, SEC_UPLOADING);
	assert_string_equal(fx.st.transitions[1].message, "Training in progress.");
	assert_string_equal(fx.st.transitions[2].message, "Uploading generated training model");
	assert_int_equal(fx.st.state, JOB_IN_PROGRESS);
	assert_int_equal(fx.status_calls, 2);
	assert_null(fx.st.failure_reason);
	assert_true(fx.st.start_ms > 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(fx.st.hosts[i].started, 1);
		assert_int_equal(fx.st.hosts[i].exited, 1);
		assert_int_equal(fx.st.hosts[i].exit_code, 0);
		assert_int_equal(fx.st.hosts[i].signal, 0);
		assert_true(fx.st.hosts[i].start_ms > 0);
		assert_true(fx.st.hosts[i].end_ms >= fx.st.hosts[i].start_ms);
	}
	out = slurp(fx.out_path);
	assert_non_null(strstr(out, "algo-1 | hello from algo-1\n"));
	assert_non_null(strstr(out, "algo-2 | hello from algo-2\n"));
	assert_non_null(strstr(out, "algo-3 | hello from algo-3\n"));
	free(out);
	fx_release(&fx);
}

static void test_failure_file(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, 3);
	/* The sleepers stop nicely on SIGTERM; algo-2 fails once both are ready for it. */
	fx_sh(&fx, 0, "trap 'exit 0' TERM; touch \"$DIR/ready-$NAME\"; sleep 30 & wait");
	fx_sh(&fx, 1,
	      "while [ ! -e \"$DIR/ready-algo-1\" ] || [ ! -e \"$DIR/ready-algo-3\" ]; do "
	      "sleep 0.01; done; echo 'about to fail'; "
	      "printf 'ValueError: the data is wrong\\nsee line 3' > \"$OPT_ML/output/failure\"; "
	      "exit 3");
	fx_sh(&fx, 2, "trap 'exit 0' TERM; touch \"$DIR/ready-$NAME\"; sleep 30 & wait");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_string_equal(fx.st.failure_reason, "ValueError: the data is wrong\nsee line 3");
	/* The secondary status stays Training until the end; no Stopping for a failure. */
	assert_transitions(&fx.st, 3, SEC_STARTING, SEC_RUNNING, SEC_UPLOADING);
	assert_int_equal(fx.st.state, JOB_IN_PROGRESS);
	assert_int_equal(fx.st.hosts[1].exit_code, 3);
	/* SIGTERM reached the sleepers: their trap made them exit 0, long before 30 s. */
	assert_int_equal(fx.st.hosts[0].exit_code, 0);
	assert_int_equal(fx.st.hosts[2].exit_code, 0);
	assert_true(fx.elapsed_ms < 5000);
	fx_release(&fx);
}

static void test_term_ignored_then_killed(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, 2);
	fx.cfg.stop_grace_s = 1;
	fx_sh(&fx, 0, "trap '' TERM; touch \"$DIR/ready\"; sleep 30 & wait");
	fx_sh(&fx, 1, "while [ ! -e \"$DIR/ready\" ]; do sleep 0.01; done; exit 1");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_int_equal(fx.st.hosts[0].signal, SIGKILL);
	assert_int_equal(fx.st.hosts[0].exit_code, 137);
	assert_true(fx.elapsed_ms >= 1000);
	assert_true(fx.elapsed_ms < 5000);
	/* algo-1's SIGKILL does not change the reason: algo-2 failed first. */
	assert_non_null(strstr(fx.st.failure_reason, "AlgorithmError: algo-2 exited with code 1"));
	fx_release(&fx);
}

static void test_failure_without_file(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, 1);
	fx_sh(&fx, 0, "echo first; echo 'Traceback: last words' >&2; exit 5");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_true(!strncmp(fx.st.failure_reason,
			     "AlgorithmError: algo-1 exited with code 5; last log lines:\n", 59));
	assert_non_null(strstr(fx.st.failure_reason, "Traceback: last words"));
	assert_non_null(strstr(fx.st.failure_reason, "first"));
	fx_release(&fx);

	/* Only the last SUP_TAIL_LINES lines. */
	fx_init(&fx, 1);
	fx_sh(&fx, 0, "i=0; while [ $i -lt 30 ]; do echo line-$i; i=$((i+1)); done; exit 2");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_string_equal(fx.st.failure_reason,
			    "AlgorithmError: algo-1 exited with code 2; last log lines:\n"
			    "line-20\nline-21\nline-22\nline-23\nline-24\nline-25\nline-26\n"
			    "line-27\nline-28\nline-29");
	fx_release(&fx);

	/* Killed by a signal, nothing printed; an empty failure file does not count. */
	fx_init(&fx, 1);
	fx_sh(&fx, 0, ": > \"$OPT_ML/output/failure\"; kill -KILL $$");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_string_equal(fx.st.failure_reason,
			    "AlgorithmError: algo-1 was killed by signal SIGKILL");
	assert_int_equal(fx.st.hosts[0].signal, SIGKILL);
	fx_release(&fx);

	/* A real-time signal is named as `kill -l` does (glibc's SIGRTMIN is 34). */
	fx_init(&fx, 1);
	{
		char *script = xasprintf("kill -%d $$", SIGRTMIN + 1);

		fx_sh(&fx, 0, script);
		free(script);
	}
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_string_equal(fx.st.failure_reason,
			    "AlgorithmError: algo-1 was killed by signal SIGRTMIN+1");
	fx_release(&fx);

	/* A long failure file: its first 1024 characters. */
	fx_init(&fx, 1);
	fx_sh(&fx, 0, "head -c 5000 /dev/zero | tr '\\0' e > \"$OPT_ML/output/failure\"; exit 1");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_int_equal(strlen(fx.st.failure_reason), 1024);
	assert_int_equal(strspn(fx.st.failure_reason, "e"), 1024);
	fx_release(&fx);

	/* FailureReason goes into JSON: valid UTF-8, and 1024 characters, not bytes. */
	fx_init(&fx, 1);
	fx_sh(&fx, 0,
	      "i=0; while [ $i -lt 1100 ]; do printf '\303\251'; i=$((i+1)); done > "
	      "\"$OPT_ML/output/failure\"; exit 1");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_int_equal(strlen(fx.st.failure_reason), 2 * 1024);
	assert_true(!memcmp(fx.st.failure_reason + 2044, "\303\251\303\251", 4));
	fx_release(&fx);

	/* A character cut by the end of the read is not half kept. */
	fx_init(&fx, 1);
	fx_sh(&fx, 0,
	      "i=0; while [ $i -lt 1400 ]; do printf '\360\237\230\200'; i=$((i+1)); done > "
	      "\"$OPT_ML/output/failure\"; exit 1");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_int_equal(strlen(fx.st.failure_reason), 4 * 1024);
	fx_release(&fx);
	fx_init(&fx, 1);
	fx_sh(&fx, 0, "printf 'bad \377\376 bytes\n\300\257' >&2; exit 1");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_string_equal(fx.st.failure_reason, "AlgorithmError: algo-1 exited with code 1; "
						  "last log lines:\nbad ?? bytes\n??");
	fx_release(&fx);

	/* A failure file that is a symlink is not followed. */
	fx_init(&fx, 1);
	fx_sh(&fx, 0, "ln -s /etc/passwd \"$OPT_ML/output/failure\"; exit 4");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_string_equal(fx.st.failure_reason, "AlgorithmError: algo-1 exited with code 4");
	fx_release(&fx);
}

static void test_start_failure(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, 3);
	fx_sh(&fx, 0, "sleep 30");
	strv_push(&fx.hosts[1].argv, "/nonexistent/train");
	fx_sh(&fx, 2, "exit 0");
	assert_int_equal(fx_run(&fx), SUP_FAILED);
	assert_string_equal(fx.st.failure_reason,
			    "algo-2: cannot run '/nonexistent/train': No such file or directory");
	assert_transitions(&fx.st, 2, SEC_STARTING, SEC_UPLOADING);
	assert_int_equal(fx.st.hosts[0].started, 1);
	assert_int_equal(fx.st.hosts[0].signal, SIGTERM);
	assert_int_equal(fx.st.hosts[1].started, 0);
	assert_int_equal(fx.st.hosts[2].started, 0);
	assert_true(fx.elapsed_ms < 5000);
	fx_release(&fx);
}

static void test_max_runtime(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, 2);
	fx.cfg.max_run_s = 1;
	fx_sh(&fx, 0, "sleep 30");
	fx_sh(&fx, 1, "sleep 30");
	assert_int_equal(fx_run(&fx), SUP_MAX_RUNTIME);
	/* Stopping: the caller records the final MaxRuntimeExceeded, once. */
	assert_transitions(&fx.st, 4, SEC_STARTING, SEC_RUNNING, SEC_STOPPING, SEC_UPLOADING);
	assert_string_equal(fx.st.transitions[2].message,
			    "Training job exceeded MaxRuntimeInSeconds; stopping");
	assert_int_equal(fx.st.state, JOB_STOPPING);
	assert_null(fx.st.failure_reason);
	assert_int_equal(fx.st.hosts[0].signal, SIGTERM);
	assert_true(fx.elapsed_ms >= 1000);
	assert_true(fx.elapsed_ms < 5000);
	fx_release(&fx);
}

/* Limits so large that seconds * 1000 overflows int64_t are clamped, not wrapped round to a
 * short timer (18446744073709552 * 1000 wraps to 384 ms). */
static void test_huge_limits(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, 1);
	fx.cfg.max_run_s = 18446744073709552LL;
	fx_sh(&fx, 0, "sleep 1; exit 0");
	assert_int_equal(fx_run(&fx), SUP_COMPLETED);
	assert_transitions(&fx.st, 3, SEC_STARTING, SEC_RUNNING, SEC_UPLOADING);
	fx_release(&fx);

	/* The stop grace: the host ignores SIGTERM and ends by itself, long before a year. */
	fx_init(&fx, 1);
	fx.cfg.max_run_s = 1;
	fx.cfg.stop_grace_s = 18446744073709552LL;
	fx_sh(&fx, 0, "trap '' TERM; sleep 3; exit 0");
	assert_int_equal(fx_run(&fx), SUP_MAX_RUNTIME);
	assert_int_equal(fx.st.hosts[0].signal, 0);
	assert_int_equal(fx.st.hosts[0].exit_code, 0);
	assert_true(fx.elapsed_ms >= 2500);
	fx_release(&fx);
}

static void test_own_error(void **state)
{
	struct sr_error err = {0};
	enum sup_outcome outcome = SUP_OUTCOME_MAX;
	struct fixture fx;

	(void)state;
	fx_init(&fx, 1);
	fx_sh(&fx, 0, "exit 0");
	free(fx.log_dir);
	fx.log_dir = xasprintf("%s/logs", fx.out_path); /* under a file */
	fx.cfg.log_dir = fx.log_dir;
	assert_int_equal(sup_run(&fx.cfg, &outcome, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "logs"));
	assert_int_equal(outcome, SUP_OUTCOME_MAX);
	assert_false(fx.hosts[0].started);
	assert_transitions(&fx.st, 1, SEC_STARTING);
	fx_release(&fx);
}

static void assert_term_unblocked(void)
{
	sigset_t cur, pending;

	sigprocmask(SIG_SETMASK, NULL, &cur);
	assert_false(sigismember(&cur, SIGTERM));
	assert_false(sigismember(&cur, SIGINT));
	assert_false(sigismember(&cur, SIGCHLD));
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGTERM));
}

static void test_stop_by_signal(void **state)
{
	struct fixture fx;
	pid_t helper;
	char *ready;

	(void)state;
	fx_init(&fx, 2);
	ready = xasprintf("%s/ready", fx.dir);
	fx_sh(&fx, 0, "sleep 30");
	/* The last host to start says when it is up: sup_run blocked SIGTERM before any start,
	 * so the signal cannot reach the test binary's default action. */
	fx_sh(&fx, 1, "trap 'echo got TERM; exit 0' TERM; touch \"$DIR/ready\"; sleep 30 & wait");
	helper = signal_later(ready, SIGTERM, 1, 0);
	assert_int_equal(fx_run(&fx), SUP_STOPPED);
	reap_helper(helper);
	free(ready);
	assert_transitions(&fx.st, 4, SEC_STARTING, SEC_RUNNING, SEC_STOPPING, SEC_UPLOADING);
	assert_string_equal(fx.st.transitions[2].message, "Stopping the training job");
	assert_int_equal(fx.st.state, JOB_STOPPING);
	assert_null(fx.st.failure_reason);
	assert_true(fx.elapsed_ms < 5000);
	assert_term_unblocked();
	fx_release(&fx);
}

static void test_second_signal_kills(void **state)
{
	struct fixture fx;
	pid_t helper;
	char *ready;

	(void)state;
	fx_init(&fx, 1);
	ready = xasprintf("%s/ready", fx.dir);
	fx_sh(&fx, 0, "trap '' TERM INT; touch \"$DIR/ready\"; sleep 30 & wait");
	helper = signal_later(ready, SIGINT, 2, 200);
	assert_int_equal(fx_run(&fx), SUP_STOPPED);
	reap_helper(helper);
	assert_int_equal(fx.st.hosts[0].signal, SIGKILL);
	assert_true(fx.elapsed_ms < 5000);
	assert_term_unblocked();
	free(ready);
	fx_release(&fx);
}

/* A second SIGTERM (sagerun stop again, a service manager) keeps the stop grace: the host that
 * takes 0.6 s to finish on SIGTERM exits on its own, not by SIGKILL. */
static void test_second_term_keeps_grace(void **state)
{
	struct fixture fx;
	pid_t helper;
	char *ready;

	(void)state;
	fx_init(&fx, 1);
	ready = xasprintf("%s/ready", fx.dir);
	fx_sh(&fx, 0,
	      "trap 'sleep 0.6; exit 7' TERM; touch \"$DIR/ready\"; while :; do sleep 0.05; done");
	helper = signal_later(ready, SIGTERM, 2, 200);
	assert_int_equal(fx_run(&fx), SUP_STOPPED);
	reap_helper(helper);
	assert_int_equal(fx.st.hosts[0].signal, 0);
	assert_int_equal(fx.st.hosts[0].exit_code, 7);
	assert_term_unblocked();
	free(ready);
	fx_release(&fx);
}

/* ---- logs ---------------------------------------------------------------------------------- */

/* Split `text` into lines (without '\n'); returns the count. */
static size_t split_lines(char *text, char ***ret)
{
	size_t n = 0, cap = 0;
	char **v = NULL;

	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');

		assert_non_null(nl); /* every line ends with '\n' */
		*nl = '\0';
		xgrow(&v, &cap, n + 1, sizeof(*v));
		v[n++] = p;
		p = nl + 1;
	}
	*ret = v;
	return n;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Check the pieces of the long line, from lines[first] on, rebuild it, compare. */
static size_t check_long_line(char **lines, size_t n, size_t first, const char *prefix,
			      const char *original)
{
	size_t plen = strlen(prefix), mlen = strlen(MARKER), pieces = 0;
	char *joined = xstrdup("");
	size_t i = first;

	for (; i < n; i++) {
		char *body;

		assert_true(!strncmp(lines[i], prefix, plen));
		body = lines[i] + plen;
		if (ends_with(body, MARKER)) {
			assert_int_equal(strlen(body) - mlen, SUP_LINE_MAX);
			body[strlen(body) - mlen] = '\0';
			pieces++;
		}
		joined = xrealloc(joined, strlen(joined) + strlen(body) + 1);
		strcat(joined, body);
		if (strlen(joined) >= strlen(original))
			break;
	}
	assert_int_equal(pieces, 200000 / SUP_LINE_MAX);
	assert_string_equal(joined, original);
	free(joined);
	return i + 1;
}

static void test_log_capture(void **state)
{
	struct sr_error err = {0};
	struct fixture fx;
	char *long_line, *path, *out, *errs, *log, **lines;
	size_t n, i;

	(void)state;
	fx_init(&fx, 1);
	long_line = xmalloc(200001);
	for (i = 0; i < 200000; i++)
		long_line[i] = (char)('!' + (i * 7 + i / 13) % 90);
	long_line[200000] = '\n';
	path = xasprintf("%s/long.txt", fx.dir);
	assert_int_equal(fs_write_atomic(path, long_line, 200001, 0644, &err), 0);
	long_line[200000] = '\0';
	fx_sh(&fx, 0, "echo hello; echo warn >&2; cat \"$DIR/long.txt\"; printf 'no-newline'");
	assert_int_equal(fx_run(&fx), SUP_COMPLETED);

	out = slurp(fx.out_path);
	n = split_lines(out, &lines);
	assert_true(n >= 6);
	assert_string_equal(lines[0], "algo-1 | hello");
	i = check_long_line(lines, n, 1, "algo-1 | ", long_line);
	assert_int_equal(i, n - 1);
	assert_string_equal(lines[n - 1], "algo-1 | no-newline");
	free(lines);
	free(out);

	errs = slurp(fx.err_path);
	assert_string_equal(errs, "algo-1 | warn\n");
	free(errs);

	/* The log file: the same lines without prefix; stderr's line may be anywhere. */
	free(path);
	path = xasprintf("%s/algo-1.log", fx.log_dir);
	log = slurp(path);
	n = split_lines(log, &lines);
	for (i = 0; i < n; i++)
		if (!strcmp(lines[i], "warn"))
			break;
	assert_true(i < n);
	memmove(&lines[i], &lines[i + 1], (n - i - 1) * sizeof(*lines));
	n--;
	assert_string_equal(lines[0], "hello");
	i = check_long_line(lines, n, 1, "", long_line);
	assert_int_equal(i, n - 1);
	assert_string_equal(lines[n - 1], "no-newline");
	free(lines);
	free(log);
	free(path);
	free(long_line);
	fx_release(&fx);
}

static void test_no_interleaving(void **state)
{
	struct fixture fx;
	char *out, **lines;
	size_t n;
	int next[3] = {0, 0, 0};
	regex_t re;
	regmatch_t m[3];

	(void)state;
	fx_init(&fx, 3);
	for (size_t i = 0; i < 3; i++)
		fx_sh(&fx, i, "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done");
	assert_int_equal(fx_run(&fx), SUP_COMPLETED);
	assert_int_equal(regcomp(&re, "^algo-([123]) \\| line-([0-9]+)$", REG_EXTENDED), 0);
	out = slurp(fx.out_path);
	n = split_lines(out, &lines);
	assert_int_equal(n, 6000);
	for (size_t i = 0; i < n; i++) {
		int host, num;

		if (regexec(&re, lines[i], 3, m, 0) != 0)
			fail_msg("line %zu interleaved: '%s'", i, lines[i]);
		host = lines[i][m[1].rm_so] - '1';
		num = atoi(lines[i] + m[2].rm_so);
		assert_int_equal(num, next[host]);
		next[host]++;
	}
	regfree(&re);
	free(lines);
	free(out);
	fx_release(&fx);
}

static void test_prefix_colour_and_width(void **state)
{
	struct fixture fx;
	char *out;

	(void)state;
	fx_init(&fx, 10);
	for (size_t i = 0; i < 10; i++)
		fx_sh(&fx, i, "echo hi");
	assert_int_equal(fx_run(&fx), SUP_COMPLETED);
	out = slurp(fx.out_path);
	assert_non_null(strstr(out, "algo-1  | hi\n"));
	assert_non_null(strstr(out, "algo-10 | hi\n"));
	free(out);
	fx_release(&fx);

	fx_init(&fx, 2);
	fx.cfg.color = true;
	fx_sh(&fx, 0, "echo hi");
	fx_sh(&fx, 1, "echo hi");
	assert_int_equal(fx_run(&fx), SUP_COMPLETED);
	out = slurp(fx.out_path);
	assert_non_null(strstr(out, "\033[36malgo-1 |\033[0m hi\n"));
	assert_non_null(strstr(out, "\033[33malgo-2 |\033[0m hi\n"));
	free(out);
	/* No colour in the log file. */
	{
		char *path = xasprintf("%s/algo-2.log", fx.log_dir);
		char *log = slurp(path);

		assert_string_equal(log, "hi\n");
		free(log);
		free(path);
	}
	fx_release(&fx);
}

/* ---- a sink that does not keep up ---------------------------------------------------------- */

static void on_alarm(int sig)
{
	static const char msg[] = "sup_run blocked on a sink nobody reads\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(99);
}

/* Everything in the read end `fd` until EOF (all write ends closed). */
static char *read_all(int fd, size_t *ret_len)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		xgrow(&buf, &cap, len + 65536 + 1, 1);
		n = read(fd, buf + len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

/* `sagerun train ... | (sleep 12)`: the terminal's pipe is full and nobody reads it.  The
 * supervisor must still see MaxRuntime (and signals, and the grace) on time: sup_run returns
 * before the test reads a single byte.  Both streams go to the same pipe (`2>&1`). */
static void test_slow_sink_does_not_block(void **state)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old_sa;
	struct fixture fx;
	char *text, **lines, *path, *log, pad[1001];
	size_t len, n, nlog;
	long last[2] = {0, 0};
	regex_t re;
	regmatch_t m[3];
	int p[2];

	(void)state;
	fx_init(&fx, 2);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fx.cfg.out_fd = p[1];
	fx.cfg.err_fd = p[1];
	fx.cfg.max_run_s = 2; /* the hosts are done printing long before */
	fx.cfg.stop_grace_s = 1;
	/* 10 MB of lines: more than the pipe and the queue together hold. */
	memset(pad, 'x', 1000);
	pad[1000] = '\0';
	for (size_t i = 0; i < 2; i++)
		strv_env_set(&fx.hosts[i].env, "PAD", pad);
	fx_sh(&fx, 0, "seq 100000 104999 | sed \"s/\\$/ $PAD/\"; sleep 30");
	fx_sh(&fx, 1, "seq 100000 104999 | sed \"s/\\$/ $PAD/\" >&2; sleep 30");
	sigaction(SIGALRM, &sa, &old_sa);
	alarm(20);
	assert_int_equal(fx_run(&fx), SUP_MAX_RUNTIME);
	alarm(0);
	sigaction(SIGALRM, &old_sa, NULL);
	/* The shell's description of the terminal was not made non-blocking. */
	assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);

	/* sup_run closed its own description: EOF once ours is closed. */
	close(p[1]);
	text = read_all(p[0], &len);
	close(p[0]);
	assert_true(len > 0);
	n = split_lines(text, &lines); /* also: the last line ends with '\n' */
	assert_true(n > 0);
	assert_int_equal(regcomp(&re, "^algo-([12]) \\| ([0-9]{6}) x{1000}$", REG_EXTENDED), 0);
	for (size_t i = 0; i < n; i++) {
		long num;
		int host;

		if (!strncmp(lines[i], "sagerun: ", 9))
			continue;
		if (regexec(&re, lines[i], 3, m, 0) != 0)
			fail_msg("line %zu is not whole: '%.80s'", i, lines[i]);
		host = lines[i][m[1].rm_so] - '1';
		num = atol(lines[i] + m[2].rm_so);
		assert_true(num > last[host]); /* in order; gaps are dropped lines */
		last[host] = num;
	}
	regfree(&re);
	free(lines);
	free(text);

	/* The log files have every line, whatever the terminal missed. */
	for (int h = 0; h < 2; h++) {
		path = xasprintf("%s/algo-%d.log", fx.log_dir, h + 1);
		log = slurp(path);
		nlog = split_lines(log, &lines);
		assert_int_equal(nlog, 5000);
		for (size_t i = 0; i < nlog; i++) {
			assert_int_equal(atol(lines[i]), 100000 + (long)i);
			assert_string_equal(lines[i] + 7, pad);
		}
		free(lines);
		free(log);
		free(path);
	}
	fx_release(&fx);
}

static int on_quit_timer(struct sup_loop *loop, struct sup_watch *w, uint32_t events,
			 struct sr_error *err)
{
	(void)events;
	(void)err;
	(void)sup_timer_ack(w->fd);
	loop->quit = true;
	return 0;
}

/* Run the loop for `ms`. */
static void loop_for(struct sup_loop *loop, int ms)
{
	struct sr_error err = {0};
	struct sup_watch w;
	int fd;

	assert_int_equal(sup_timer_open(&fd, &err), 0);
	assert_int_equal(sup_watch_add(loop, &w, fd, EPOLLIN, on_quit_timer, NULL, &err), 0);
	assert_int_equal(sup_timer_arm(fd, ms, &err), 0);
	loop->quit = false;
	assert_int_equal(sup_loop_run(loop, &err), 0);
	sup_watch_remove(loop, &w);
	close(fd);
}

/* The line the sink test writes as number i: long ones (over PIPE_BUF) are written in part. */
static size_t sink_line(size_t i, char *buf)
{
	size_t len = i % 7 == 0 ? 20000 : 1000;

	memset(buf, 'a' + (int)(i % 26), len);
	snprintf(buf, 8, "%06zu", i);
	buf[6] = ' ';
	return len;
}

/* The queue directly: bounded, whole lines dropped once full, one note when it drains, whole
 * lines throughout (also those written in part), through a pipe and through a socket. */
static void test_sink_queue(void **state)
{
	enum { N = 2000, AFTER = 10 };
	struct sr_error err = {0};
	char *line = xmalloc(20001);

	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		struct sup_loop loop = {.epfd = -1};
		struct sup_sink sink;
		struct sup_log lg;
		size_t got = 0, cap = 0, pos, expect;
		char *text = NULL, *note;
		int p[2];

		if (kind == 0)
			assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		else
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
		assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
		assert_int_equal(sup_loop_init(&loop, &err), 0);
		sup_sink_init(&sink, p[1], -1, "/the/logs");
		sink.loop = &loop;
		sink.queue_max = 256 << 10;
		assert_true(sink.out[SUP_STDOUT].queued);
		if (kind == 0) {
			/* A private non-blocking description; the caller's stays as it was. */
			assert_true(sink.out[SUP_STDOUT].own_fd >= 0);
			assert_true(fcntl(sink.out[SUP_STDOUT].fd, F_GETFL) & O_NONBLOCK);
			assert_true(fcntl(sink.out[SUP_STDOUT].fd, F_GETFD) & FD_CLOEXEC);
		} else {
			assert_true(sink.out[SUP_STDOUT].use_send);
		}
		assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);
		assert_int_equal(sup_log_open(&lg, &sink, "algo-1", 6, 0, false, NULL, &err), 0);

		/* Nobody reads: the pipe fills, then the queue, then lines are dropped. */
		for (size_t i = 0; i < N; i++)
			sup_log_line(&lg, SUP_STDOUT, line, sink_line(i, line), false);
		assert_true(sink.out[SUP_STDOUT].dropped > 0);
		assert_true(sink.out[SUP_STDOUT].q_len <= sink.queue_max + 20000 + 16);
		assert_true(sink.out[SUP_STDOUT].w.active); /* EPOLLOUT armed */

		/* The reader catches up: the loop writes the queue as the pipe takes it. */
		for (int rounds = 0; rounds < 2000; rounds++) {
			ssize_t n;

			do {
				xgrow(&text, &cap, got + 65536 + 1, 1);
				n = read(p[0], text + got, 65536);
				if (n > 0)
					got += (size_t)n;
			} while (n > 0);
			assert_true(n < 0 && errno == EAGAIN);
			if (!sink.out[SUP_STDOUT].q_len)
				break;
			loop_for(&loop, 5);
		}
		assert_int_equal(sink.out[SUP_STDOUT].q_len, 0);
		assert_false(sink.out[SUP_STDOUT].w.active);
		assert_int_equal(sink.out[SUP_STDOUT].dropped, 0);

		/* Lines go through again after the note. */
		for (size_t i = N; i < N + AFTER; i++)
			sup_log_line(&lg, SUP_STDOUT, line, sink_line(i, line), false);
		sup_sink_flush(&sink, 1000);
		for (ssize_t n = 1; n > 0;) {
			xgrow(&text, &cap, got + 65536 + 1, 1);
			n = read(p[0], text + got, 65536);
			if (n > 0)
				got += (size_t)n;
		}
		text[got] = '\0';

		/* Lines 0..k-1 whole and in order, the note for N-k lines, then the rest. */
		pos = 0;
		expect = 0;
		while (strncmp(text + pos, "sagerun: ", 9) != 0) {
			size_t len = sink_line(expect, line);

			assert_true(pos + 9 + len + 1 <= got);
			assert_memory_equal(text + pos, "algo-1 | ", 9);
			assert_memory_equal(text + pos + 9, line, len);
			assert_int_equal(text[pos + 9 + len], '\n');
			pos += 9 + len + 1;
			expect++;
		}
		assert_true(expect > 0 && expect < N);
		note = xasprintf("sagerun: output is not being read fast enough; dropped %zu lines "
				 "(the full logs are in /the/logs)\n",
				 (size_t)N - expect);
		assert_true(!strncmp(text + pos, note, strlen(note)));
		pos += strlen(note);
		free(note);
		for (size_t i = N; i < N + AFTER; i++) {
			size_t len = sink_line(i, line);

			assert_true(pos + 9 + len + 1 <= got);
			assert_memory_equal(text + pos + 9, line, len);
			pos += 9 + len + 1;
		}
		assert_int_equal(pos, got);

		sup_log_close(&lg);
		sup_sink_release(&sink);
		sup_loop_release(&loop);
		close(p[0]);
		close(p[1]);
		free(text);
	}
	free(line);
}

/* sup_run's final flush waits, but only so long, for a sink nobody reads. */
static void test_sink_flush_gives_up(void **state)
{
	struct sup_sink sink;
	struct sup_log lg;
	struct sr_error err = {0};
	char line[1000];
	int64_t t0;
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	sup_sink_init(&sink, p[1], p[1], NULL);
	/* The same pipe on both streams: one queue keeps them in order. */
	assert_int_equal(sink.route[SUP_STDERR], SUP_STDOUT);
	assert_int_equal(sup_log_open(&lg, &sink, "algo-1", 6, 0, false, NULL, &err), 0);
	memset(line, 'x', sizeof(line));
	for (int i = 0; i < 200; i++)
		sup_log_line(&lg, i % 2 ? SUP_STDERR : SUP_STDOUT, line, sizeof(line), false);
	assert_true(sink.out[SUP_STDOUT].q_len > 0);
	t0 = clock_mono_ms();
	sup_sink_flush(&sink, 300);
	assert_true(clock_mono_ms() - t0 >= 300);
	assert_true(clock_mono_ms() - t0 < 5000);
	assert_true(sink.out[SUP_STDOUT].q_len > 0);
	sup_log_close(&lg);
	sup_sink_release(&sink);
	close(p[0]);
	close(p[1]);
}

/* ---- the line splitter and the tail, directly ---------------------------------------------- */

struct captured {
	char *text; /* lines joined with '\n', split pieces marked with '+' instead */
	size_t len;
	int lines;
	int pieces;
};

static void capture(void *ctx, const char *line, size_t len, bool split)
{
	struct captured *c = ctx;

	c->text = xrealloc(c->text, c->len + len + 2);
	memcpy(c->text + c->len, line, len);
	c->len += len;
	c->text[c->len++] = split ? '+' : '\n';
	c->text[c->len] = '\0';
	if (split)
		c->pieces++;
	else
		c->lines++;
}

static void test_lines_boundaries(void **state)
{
	struct sup_lines sl;
	struct captured c = {0};
	char *big = xmalloc(SUP_LINE_MAX + 2);
	size_t chunks[] = {1, 7, 4096, SUP_LINE_MAX + 2};

	(void)state;
	memset(big, 'a', SUP_LINE_MAX + 1);
	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		/* Exactly SUP_LINE_MAX bytes: one line, not split. */
		sup_lines_init(&sl, capture, &c);
		big[SUP_LINE_MAX] = '\n';
		for (size_t off = 0; off < SUP_LINE_MAX + 1; off += chunks[k]) {
			size_t take =
			    SUP_LINE_MAX + 1 - off < chunks[k] ? SUP_LINE_MAX + 1 - off : chunks[k];

			sup_lines_feed(&sl, big + off, take);
		}
		sup_lines_flush(&sl);
		assert_int_equal(c.lines, 1);
		assert_int_equal(c.pieces, 0);
		assert_int_equal(c.len, SUP_LINE_MAX + 1);
		free(c.text);
		memset(&c, 0, sizeof(c));
		sup_lines_release(&sl);
	}

	/* One byte more: a piece of SUP_LINE_MAX, then the rest. */
	sup_lines_init(&sl, capture, &c);
	big[SUP_LINE_MAX] = 'b';
	big[SUP_LINE_MAX + 1] = '\n';
	sup_lines_feed(&sl, big, SUP_LINE_MAX + 2);
	assert_int_equal(c.pieces, 1);
	assert_int_equal(c.lines, 1);
	assert_string_equal(c.text + SUP_LINE_MAX, "+b\n");
	free(c.text);
	memset(&c, 0, sizeof(c));

	/* Empty lines stay, "\r" is data, the last partial line comes at flush. */
	sup_lines_feed(&sl, "\n\nx\r\ny", 6);
	assert_string_equal(c.text, "\n\nx\r\n");
	sup_lines_flush(&sl);
	assert_string_equal(c.text, "\n\nx\r\ny\n");
	sup_lines_flush(&sl);
	assert_int_equal(c.lines, 4);
	free(c.text);
	sup_lines_release(&sl);
	free(big);
}

static void test_tail(void **state)
{
	struct sr_error err = {0};
	struct sup_sink sink;
	struct sup_log lg;
	char *t;

	(void)state;
	sup_sink_init(&sink, -1, -1, NULL);
	assert_int_equal(sup_log_open(&lg, &sink, "algo-1", 6, 0, false, NULL, &err), 0);
	assert_null(sup_log_tail(&lg, 100));
	for (int i = 0; i < 15; i++) {
		char line[16];

		snprintf(line, sizeof(line), "l%d", i);
		sup_log_line(&lg, SUP_STDOUT, line, strlen(line), false);
	}
	t = sup_log_tail(&lg, 1000);
	assert_string_equal(t, "l5\nl6\nl7\nl8\nl9\nl10\nl11\nl12\nl13\nl14");
	free(t);
	t = sup_log_tail(&lg, 8);
	assert_string_equal(t, "l13\nl14");
	free(t);
	t = sup_log_tail(&lg, 2);
	assert_string_equal(t, "l1");
	free(t);
	sup_log_close(&lg);
	sup_sink_release(&sink);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_boundaries),
	    cmocka_unit_test(test_tail),
	    cmocka_unit_test(test_complete),
	    cmocka_unit_test(test_failure_file),
	    cmocka_unit_test(test_term_ignored_then_killed),
	    cmocka_unit_test(test_failure_without_file),
	    cmocka_unit_test(test_start_failure),
	    cmocka_unit_test(test_own_error),
	    cmocka_unit_test(test_max_runtime),
	    cmocka_unit_test(test_stop_by_signal),
	    cmocka_unit_test(test_second_signal_kills),
	    cmocka_unit_test(test_second_term_keeps_grace),
	    cmocka_unit_test(test_log_capture),
	    cmocka_unit_test(test_no_interleaving),
	    cmocka_unit_test(test_prefix_colour_and_width),
	    cmocka_unit_test(test_huge_limits),
	    cmocka_unit_test(test_slow_sink_does_not_block),
	    cmocka_unit_test(test_sink_queue),
	    cmocka_unit_test(test_sink_flush_gives_up),
	};

	/* Orphaned grandchildren come to us, so the tests can reap them and check that no
	 * process of any host is left. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
