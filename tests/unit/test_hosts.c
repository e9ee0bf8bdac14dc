/* test_hosts.c - the `process` host backend against real processes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "contract/contract.h"
#include "hosts/hosts.h"
#include "hosts/internal.h"
#include "hosts/spawn.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/signame.h"
#include "util/strv.h"
#include "util/xalloc.h"

static char tmpdir[PATH_MAX];

static void host_setup(struct host *h, size_t index, ...)
{
	va_list ap;
	const char *a;

	host_init(h, index, host_backend_find("process"));
	assert_non_null(h->backend);
	va_start(ap, index);
	while ((a = va_arg(ap, const char *)))
		strv_push(&h->argv, a);
	va_end(ap);
	strv_env_set(&h->env, "PATH", "/usr/bin:/bin");
}

/* Read both pipes to EOF (10 s at most), so the host can never block on a full pipe. */
static void read_pipes(struct host *h, char **ret_out, char **ret_err)
{
	char *bufs[2] = {xstrdup(""), xstrdup("")};
	size_t lens[2] = {0, 0};
	int fds[2] = {h->out_fd, h->err_fd};
	bool open_[2] = {true, true};

	while (open_[0] || open_[1]) {
		struct pollfd p[2];
		int np = 0, map[2];

		for (int i = 0; i < 2; i++) {
			if (!open_[i])
				continue;
			p[np] = (struct pollfd){.fd = fds[i], .events = POLLIN};
			map[np++] = i;
		}
		assert_true(poll(p, (nfds_t)np, 10000) > 0);
		for (int k = 0; k < np; k++) {
			int i = map[k];
			char chunk[4096];
			ssize_t n;

			if (!p[k].revents)
				continue;
			n = read(fds[i], chunk, sizeof(chunk));
			if (n < 0 && errno == EAGAIN)
				continue;
			assert_true(n >= 0);
			if (n == 0) {
				open_[i] = false;
				continue;
			}
			bufs[i] = xrealloc(bufs[i], lens[i] + (size_t)n + 1);
			memcpy(bufs[i] + lens[i], chunk, (size_t)n);
			lens[i] += (size_t)n;
			bufs[i][lens[i]] = '\0';
		}
	}
	*ret_out = bufs[0];
	*ret_err = bufs[1];
}

static void wait_exit(struct host *h)
{
	struct pollfd p = {.fd = h->pidfd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 10000), 1);
}

/* No child of ours is left, not even a zombie. */
static void assert_no_children(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_backend_find(void **state)
{
	(void)state;
	assert_non_null(host_backend_find("process"));
	assert_string_equal(host_backend_find("process")->name, "process");
	assert_null(host_backend_find("nope"));
	assert_null(host_backend_find(NULL));
}

static void test_exit_code_and_pipes(void **state)
{
	struct sr_error err = {0};
	struct host h;
	char *out, *errs;
	int status = -1;

	(void)state;
	host_setup(&h, 1, "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL);
	assert_string_equal(h.name, "algo-2");
	assert_int_equal(host_start(&h, &err), 0);
	assert_true(h.started);
	assert_true(h.pid > 0);
	assert_true(h.pidfd >= 0 && h.out_fd >= 0 && h.err_fd >= 0);
	assert_true(fcntl(h.out_fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(h.err_fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(getpgid(h.pid), h.pid);
	read_pipes(&h, &out, &errs);
	assert_string_equal(out, "out\n");
	assert_string_equal(errs, "err\n");
	wait_exit(&h);
	assert_int_equal(host_collect(&h, &status, &err), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_true(h.exited);
	/* Reaped: signalling is a no-op, collecting again an error. */
	assert_int_equal(host_signal(&h, SIGKILL, &err), 0);
	assert_true(host_collect(&h, &status, &err) < 0);
	host_release(&h);
	assert_int_equal(h.pidfd, -1);
	assert_int_equal(h.out_fd, -1);
	free(out);
	free(errs);
	assert_no_children();
}

static void test_exec_failure(void **state)
{
	struct sr_error err = {0};
	struct host h;

	(void)state;
	host_setup(&h, 1, "/nonexistent/x", "arg", NULL);
	assert_int_equal(host_start(&h, &err), -ENOENT);
	assert_string_equal(err.msg,
			    "algo-2: cannot run '/nonexistent/x': No such file or directory");
	assert_false(h.started);
	assert_int_equal(h.pidfd, -1);
	assert_int_equal(h.out_fd, -1);
	assert_int_equal(host_signal(&h, SIGTERM, &err), 0);
	host_release(&h);
	assert_no_children();

	/* A bare name is looked up in the host's PATH, and the hint says so. */
	host_setup(&h, 0, "sagerun-no-such-command", NULL);
	assert_int_equal(host_start(&h, &err), -ENOENT);
	assert_string_equal(
	    err.msg, "algo-1: cannot run 'sagerun-no-such-command': No such file or directory");
	assert_non_null(strstr(err.hint, "PATH (/usr/bin:/bin)"));
	host_release(&h);
	assert_no_children();

	/* A file that is not executable, and one that is but has no '#!'. */
	{
		char *plain = xasprintf("%s/plain", tmpdir);
		char *want = xasprintf("algo-1: cannot run '%s': Permission denied", plain);

		assert_int_equal(fs_write_atomic(plain, "echo hi\n", 8, 0644, &err), 0);
		host_setup(&h, 0, plain, NULL);
		assert_int_equal(host_start(&h, &err), -EACCES);
		assert_string_equal(err.msg, want);
		host_release(&h);
		assert_no_children();

		assert_int_equal(chmod(plain, 0755), 0);
		host_setup(&h, 0, plain, NULL);
		assert_int_equal(host_start(&h, &err), -ENOEXEC);
		assert_non_null(strstr(err.hint, "#!"));
		host_release(&h);
		assert_no_children();
		free(want);
		free(plain);
	}

	/* A missing working folder. */
	host_setup(&h, 0, "/bin/true", NULL);
	h.cwd = xstrdup("/nonexistent-dir");
	assert_int_equal(host_start(&h, &err), -ENOENT);
	assert_string_equal(err.msg, "algo-1: cannot change to folder '/nonexistent-dir': No "
				     "such file or directory");
	host_release(&h);
	assert_no_children();

	/* Nothing to run. */
	host_init(&h, 0, host_backend_find("process"));
	assert_int_equal(host_start(&h, &err), -EINVAL);
	host_release(&h);
}

/* Read the first line (a pid) the host prints. */
static pid_t read_pid_line(struct host *h)
{
	char buf[64];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = {.fd = h->out_fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, 10000), 1);
		n = read(h->out_fd, buf + len, 1);
		if (n < 0 && errno == EAGAIN)
			continue;
		assert_int_equal(n, 1);
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return (pid_t)atoi(buf);
}

/* The grandchild is reparented to us (PR_SET_CHILD_SUBREAPER in main): wait until it is dead
 * and reap it, then its pid must be gone. */
static void assert_grandchild_dies(pid_t pid)
{
	int fd = pidfd_open(pid, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	siginfo_t si;

	assert_true(fd >= 0);
	assert_int_equal(poll(&p, 1, 10000), 1);
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PIDFD, (id_t)fd, &si, WEXITED), 0);
	assert_true(si.si_code == CLD_KILLED);
	close(fd);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

static void test_signal_kills_group(void **state)
{
	struct sr_error err = {0};
	struct host h;
	int status = -1;
	pid_t gc;

	(void)state;
	host_setup(&h, 0, "/bin/sh", "-c", "sleep 1000 & echo $!; wait", NULL);
	assert_int_equal(host_start(&h, &err), 0);
	gc = read_pid_line(&h);
	assert_true(gc > 0);
	assert_int_equal(getpgid(gc), h.pid);
	assert_int_equal(host_signal(&h, SIGTERM, &err), 0);
	wait_exit(&h);
	assert_int_equal(host_collect(&h, &status, &err), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_grandchild_dies(gc);
	host_release(&h);
	assert_no_children();
}

/* Host names come from the contract module, the one place that spells "algo-N". */
static void test_host_names(void **state)
{
	static const size_t idx[] = {0, 1, 9, 255, 999999, 123456788};
	struct host h;

	(void)state;
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		char *want = contract_host_name(idx[i]);

		host_init(&h, idx[i], host_backend_find("process"));
		assert_string_equal(h.name, want);
		assert_int_equal(h.index, idx[i]);
		assert_int_equal(h.pidfd, -1);
		host_release(&h);
		free(want);
	}
}

/* Signals are named as everywhere else in sagerun ("SIGTERM"), unknown ones by number. */
static void test_signal_names(void **state)
{
	struct sr_error err = {0};
	struct host h;
	char b[32];
	int status = -1;

	(void)state;
	assert_string_equal(sr_signame(SIGTERM, b), "SIGTERM");
	assert_string_equal(sr_signame(SIGKILL, b), "SIGKILL");
	assert_string_equal(sr_signame(SIGRTMIN, b), "SIGRTMIN");
	assert_string_equal(sr_signame(SIGRTMIN + 3, b), "SIGRTMIN+3");
	assert_string_equal(sr_signame(99, b), "99");
	assert_string_equal(sr_signame(-1, b), "-1");

	/* The kernel refuses signal 99: the error names it as the other messages do. */
	/* No shell: one that forks `sleep` would leave it to us (subreaper) once killed. */
	host_setup(&h, 0, "sleep", "1000", NULL);
	assert_int_equal(host_start(&h, &err), 0);
	assert_int_equal(host_signal(&h, 99, &err), -EINVAL);
	assert_string_equal(err.msg, "algo-1: send 99: Invalid argument");
	assert_int_equal(host_signal(&h, SIGKILL, &err), 0);
	wait_exit(&h);
	assert_int_equal(host_collect(&h, &status, &err), 0);
	assert_true(WIFSIGNALED(status));
	host_release(&h);
	assert_no_children();
}

static void test_collect_kills_stragglers(void **state)
{
	struct sr_error err = {0};
	struct host h;
	int status = -1;
	pid_t gc;

	(void)state;
	/* The leader exits 0 and leaves a background process behind, which holds the pipes. */
	host_setup(&h, 0, "/bin/sh", "-c", "sleep 1000 & echo $!; exit 0", NULL);
	assert_int_equal(host_start(&h, &err), 0);
	gc = read_pid_line(&h);
	wait_exit(&h);
	assert_int_equal(host_collect(&h, &status, &err), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_grandchild_dies(gc);
	host_release(&h);
	assert_no_children();
}

static void run_capture(struct host *h, char **ret_out, int *ret_status)
{
	struct sr_error err = {0};
	char *errs;

	assert_int_equal(host_start(h, &err), 0);
	read_pipes(h, ret_out, &errs);
	assert_string_equal(errs, "");
	free(errs);
	wait_exit(h);
	assert_int_equal(host_collect(h, ret_status, &err), 0);
}

static void test_env_and_cwd(void **state)
{
	struct host h;
	char *out;
	int status;
	char real[PATH_MAX];

	(void)state;
	host_setup(&h, 0, "env", NULL);
	strv_env_set(&h.env, "SM_HOSTS", "[\"algo-1\",\"algo-2\"]");
	strv_env_set(&h.env, "WITH_SPACE", "a b  c");
	strv_env_set(&h.env, "EMPTY", "");
	run_capture(&h, &out, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, "PATH=/usr/bin:/bin\nSM_HOSTS=[\"algo-1\",\"algo-2\"]\n"
				 "WITH_SPACE=a b  c\nEMPTY=\n");
	free(out);
	host_release(&h);

	/* An empty environment is empty, not sagerun's. */
	host_init(&h, 0, host_backend_find("process"));
	strv_push(&h.argv, "/usr/bin/env");
	run_capture(&h, &out, &status);
	assert_string_equal(out, "");
	free(out);
	host_release(&h);

	assert_non_null(realpath(tmpdir, real));
	host_setup(&h, 0, "/bin/pwd", "-P", NULL);
	h.cwd = xstrdup(tmpdir);
	run_capture(&h, &out, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, strcat(real, "\n"));
	free(out);
	host_release(&h);
	assert_no_children();
}

static void test_path_is_the_hosts(void **state)
{
	char *bin = xasprintf("%s/bin", tmpdir);
	char *script = xasprintf("%s/hello-sagerun", bin);
	const char *text = "#!/bin/sh\necho \"hello $1\"\n";
	struct sr_error err = {0};
	struct host h;
	char *out;
	int status;

	(void)state;
	assert_int_equal(fs_mkdir_p(bin, 0755, &err), 0);
	assert_int_equal(fs_write_atomic(script, text, strlen(text), 0755, &err), 0);
	host_setup(&h, 0, "hello-sagerun", "world", NULL);
	{
		char *path = xasprintf("/nonexistent:%s:/bin", bin);

		strv_env_set(&h.env, "PATH", path);
		free(path);
	}
	run_capture(&h, &out, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, "hello world\n");
	free(out);
	host_release(&h);
	free(script);
	free(bin);
	assert_no_children();
}

static void test_stdio_and_fds(void **state)
{
	struct host h;
	char *out;
	int status;
	int stray = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */

	(void)state;
	assert_true(stray > 2);
	/* Only 0, 1, 2 (and ls's own directory fd) are open in the host. */
	host_setup(&h, 0, "/bin/ls", "/proc/self/fd", NULL);
	run_capture(&h, &out, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, "0\n1\n2\n3\n");
	free(out);
	host_release(&h);
	close(stray);

	/* stdin is /dev/null: cat ends at once. */
	host_setup(&h, 0, "/bin/cat", NULL);
	run_capture(&h, &out, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, "");
	free(out);
	host_release(&h);
	assert_no_children();
}

static void test_signals_reset(void **state)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int;
	sigset_t term, old_mask;
	struct host h;
	char *out;
	int status;

	(void)state;
	/* The supervisor blocks SIGTERM and may ignore others: the host must not inherit that. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old_mask);
	sigaction(SIGINT, &ign, &old_int);
	host_setup(&h, 0, "/bin/sh", "-c", "kill -INT $$; kill -TERM $$; echo survived", NULL);
	run_capture(&h, &out, &status);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_int, NULL);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGINT);
	assert_string_equal(out, "");
	free(out);
	host_release(&h);
	assert_no_children();
}

static void test_teardown(void **state)
{
	struct sr_error err = {0};
	struct host h;

	(void)state;
	/* Never started: nothing to do, twice. */
	host_setup(&h, 0, "/bin/true", NULL);
	host_teardown(&h);
	host_teardown(&h);
	host_release(&h);

	/* Running, with a grandchild: teardown kills and reaps everything, and is idempotent. */
	host_setup(&h, 0, "/bin/sh", "-c", "trap '' TERM; sleep 1000 & echo $!; wait", NULL);
	assert_int_equal(host_start(&h, &err), 0);
	pid_t gc = read_pid_line(&h);
	host_teardown(&h);
	assert_true(h.exited);
	assert_int_equal(h.pidfd, -1);
	assert_int_equal(host_signal(&h, SIGTERM, &err), 0);
	host_teardown(&h);
	assert_grandchild_dies(gc);
	host_release(&h);
	assert_no_children();
}

/* A host whose first process leaves a daemon in a session of its own (as `setsid` does) and
 * prints the daemon's pid once it runs there, then runs `then`.  Only builtins once the pid
 * is out: a child of the shell's still exiting when the test kills the host would be left to
 * us, a zombie.  So is the daemon's own mv: its pid is out only once it is sleep itself. */
static void host_setup_daemon(struct host *h, const char *then)
{
	_cleanup_free_ char *script =
	    xasprintf("f=%s/daemon.pid; rm -f $f; "
		      "setsid sh -c 'echo $$ >$0.tmp; mv $0.tmp $0; exec sleep 1000' $f & "
		      "while [ ! -e $f ]; do sleep 0.01; done; read p <$f; "
		      "until read c </proc/$p/comm && [ \"$c\" = sleep ]; do sleep 0.01; done; "
		      "echo $p; %s",
		      tmpdir, then);

	host_setup(h, 0, "/bin/sh", "-c", script, NULL);
}

/* Where no cgroup holds a host, its processes are found by the marker in their environment
 * when the first one ends: setsid does not hide them. */
static void test_sweep_kills_leavers(void **state)
{
	_cleanup_free_ char *root = xasprintf("%s/job/hosts/algo-1", tmpdir);
	struct sr_error err = {0};
	struct host h;
	int status = -1;
	pid_t gc;

	(void)state;
	host_setup_daemon(&h, "exit 0");
	h.root = xstrdup(root);
	host_env_finish(&h, &h.env); /* the marker */
	assert_non_null(strv_env_get(&h.env, PROC_HOST_ENV));
	assert_int_equal(host_start(&h, &err), 0);
	gc = read_pid_line(&h);
	assert_int_not_equal(getsid(gc), h.pid);
	wait_exit(&h);
	assert_int_equal(host_collect(&h, &status, &err), 0);
	assert_true(WIFEXITED(status));
	assert_grandchild_dies(gc);
	host_release(&h);
	assert_no_children();
}

/* The process backend's group of a job in tmpdir/job, and the path of its cgroup; NULL when
 * no cgroup2 group can be made here (the group is torn down again then). */
static char *cgroup_group(struct host_group *g, struct host *h)
{
	_cleanup_free_ char *job_dir = xasprintf("%s/job", tmpdir);
	_cleanup_free_ char *record = xasprintf("%s/job/hosts.cgroup", tmpdir);
	struct sr_error err = {0};
	char *path = NULL;
	size_t len = 0;

	assert_int_equal(fs_mkdir_p(job_dir, 0755, &err), 0);
	*g = (struct host_group){.hosts = h, .n = 1, .backend = host_backend_find("process")};
	g->job_dir = xstrdup(job_dir);
	assert_int_equal(host_group_prepare(g, &err), 0);
	if (fs_read_file(record, 4096, &path, &len, NULL) < 0) {
		host_group_teardown(g);
		free((char *)g->job_dir);
		return NULL;
	}
	assert_true(len > 1 && path[len - 1] == '\n');
	path[len - 1] = '\0';
	assert_true(fs_is_dir(path));
	return path;
}

/* Before anything is allocated: skip() does not return. */
static void cgroup_or_skip(void)
{
	struct host_group g;
	struct host h;
	char *path;

	host_init(&h, 0, host_backend_find("process"));
	path = cgroup_group(&g, &h);
	if (!path)
		skip(); /* no writable cgroup2 group here (a normal user): the sweep's tests run */
	host_group_teardown(&g);
	free((char *)g.job_dir);
	free(path);
}

static void cgroup_group_end(struct host_group *g, const char *job_cgroup)
{
	_cleanup_free_ char *record = xasprintf("%s/hosts.cgroup", g->job_dir);

	host_group_teardown(g);
	assert_false(fs_exists(job_cgroup));
	assert_false(fs_exists(record));
	free((char *)g->job_dir);
}

/* In a cgroup the host's processes need no marker: the group holds them all. */
static void test_cgroup_holds_host(void **state)
{
	_cleanup_free_ char *job_cgroup = NULL, *host_cgroup = NULL, *proc = NULL;
	_cleanup_free_ char *cg = NULL;
	struct sr_error err = {0};
	struct host_group g;
	struct host h;
	int status = -1;
	pid_t gc;

	(void)state;
	cgroup_or_skip();
	host_setup_daemon(&h, "exit 0"); /* no h.root: no marker, no sweep */
	job_cgroup = cgroup_group(&g, &h);
	h.group = &g;
	assert_int_equal(host_start(&h, &err), 0);
	gc = read_pid_line(&h);
	host_cgroup = xasprintf("%s/algo-1", job_cgroup);
	assert_true(fs_is_dir(host_cgroup));
	proc = xasprintf("/proc/%d/cgroup", (int)gc);
	assert_int_equal(fs_read_file(proc, 4096, &cg, NULL, NULL), 0);
	assert_non_null(strstr(cg, "/algo-1\n"));
	wait_exit(&h);
	assert_int_equal(host_collect(&h, &status, &err), 0);
	assert_true(WIFEXITED(status));
	assert_grandchild_dies(gc);
	host_teardown(&h);
	assert_false(fs_exists(host_cgroup));
	host_release(&h);
	cgroup_group_end(&g, job_cgroup);
	assert_no_children();
}

/* A host that leaves a daemon behind and runs on, in its group, until `end` (given the job's
 * group) kills both. */
static void cgroup_host_killed_by(void (*end)(struct host_group *g, const char *job_cgroup))
{
	_cleanup_free_ char *job_cgroup = NULL;
	struct sr_error err = {0};
	struct host_group g;
	struct host h;
	int status = -1;
	pid_t gc;

	cgroup_or_skip();
	host_setup_daemon(&h, "exec sleep 1000");
	job_cgroup = cgroup_group(&g, &h);
	h.group = &g;
	assert_int_equal(host_start(&h, &err), 0);
	gc = read_pid_line(&h);
	end(&g, job_cgroup);
	wait_exit(&h);
	assert_int_equal(host_collect(&h, &status, &err), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_grandchild_dies(gc);
	host_release(&h);
	cgroup_group_end(&g, job_cgroup);
	assert_no_children();
}

static void kill_each(struct host_group *g, const char *job_cgroup)
{
	_cleanup_free_ char *host_cgroup = xasprintf("%s/algo-1", job_cgroup);

	(void)g;
	proc_cgroup_kill_each(host_cgroup);
}

/* Before Linux 5.14 there is no cgroup.kill: each process is killed, frozen first. */
static void test_cgroup_kill_each(void **state)
{
	(void)state;
	cgroup_host_killed_by(kill_each);
}

static void cleanup_leftovers(struct host_group *g, const char *job_cgroup)
{
	struct strv warnings = STRV_INIT;

	proc_cleanup_leftovers(g->job_dir, &warnings);
	assert_int_equal(warnings.n, 0);
	assert_false(fs_exists(job_cgroup));
}

/* A lost supervisor's groups: the next command kills what is in them and removes them. */
static void test_cgroup_leftovers(void **state)
{
	(void)state;
	cgroup_host_killed_by(cleanup_leftovers);
}

/* In a child of the test (the filter stays there): clone3 answers ENOSYS, as on old kernels
 * and under the seccomp profiles of older container runtimes.  false when it cannot be set. */
static bool refuse_clone3(void)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return false;
	return syscall(__NR_clone3, NULL, 0) == -1 && errno == ENOSYS;
}

/* Old kernels and container seccomp profiles answer ENOSYS to clone3: fork + pidfd_open. */
static void test_fork_fallback(void **state)
{
	int status = -1;
	pid_t pid;

	(void)state;
	/* In a child of the test, so the filter stays there. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sr_error err = {0};
		struct host h;
		char *out, *errs;
		int st = -1;

		if (!refuse_clone3())
			_exit(10);
		host_setup(&h, 0, "/bin/sh", "-c", "echo fallback; exit 7", NULL);
		if (host_start(&h, &err) < 0)
			_exit(12);
		read_pipes(&h, &out, &errs);
		wait_exit(&h);
		if (host_collect(&h, &st, &err) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			_exit(13);
		if (strcmp(out, "fallback\n") != 0)
			_exit(14);
		free(out);
		free(errs);
		host_release(&h);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_no_children();
}

/* Where only clone3 could start a host in its group and it is refused (a container's seccomp
 * profile), the host starts all the same, and the sweep holds it. */
static void test_cgroup_without_clone3(void **state)
{
	int status = -1;
	siginfo_t si;
	pid_t pid;

	(void)state;
	cgroup_or_skip();
	/* In a child of the test, so the filter stays there. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		_cleanup_free_ char *root = xasprintf("%s/job/hosts/algo-1", tmpdir);
		_cleanup_free_ char *job_cgroup = NULL, *host_cgroup = NULL;
		struct sr_error err = {0};
		struct host_group g;
		struct host h;
		struct pollfd p;
		int st = -1;
		pid_t gc;

		host_setup_daemon(&h, "exit 0");
		h.root = xstrdup(root);
		host_env_finish(&h, &h.env);
		job_cgroup = cgroup_group(&g, &h);
		if (!job_cgroup)
			_exit(10);
		host_cgroup = xasprintf("%s/algo-1", job_cgroup);
		h.group = &g;
		if (!refuse_clone3())
			_exit(11);
		if (host_start(&h, &err) < 0)
			_exit(12);
		if (fs_exists(host_cgroup)) /* made, refused, removed */
			_exit(13);
		gc = read_pid_line(&h);
		p = (struct pollfd){.fd = pidfd_open(gc, 0), .events = POLLIN};
		if (p.fd < 0)
			_exit(14);
		wait_exit(&h);
		if (host_collect(&h, &st, &err) < 0 || !WIFEXITED(st))
			_exit(15);
		if (poll(&p, 1, 10000) != 1) /* the sweep killed it */
			_exit(16);
		host_release(&h);
		host_group_teardown(&g);
		free((char *)g.job_dir);
		_exit(fs_exists(job_cgroup) ? 17 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The daemon was orphaned to us (the subreaper): its zombie is ours to reap. */
	memset(&si, 0, sizeof(si));
	while (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
		memset(&si, 0, sizeof(si));
	assert_no_children();
}

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sr-test-hosts-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	return fs_rm_rf(tmpdir, NULL);
}

/* The contained host's filter, in a child: Docker's refusals refused, with the errno a C
 * library expects, and what a program needs still allowed. */
static void test_seccomp_filter(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		if (ns_seccomp_install() != 0)
			_exit(100);
		/* refused: EPERM, clone3 ENOSYS (the C library falls back to clone) */
		bad |= (syscall(SYS_mount, "t", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
		       << 0;
		bad |= (syscall(SYS_unshare, CLONE_NEWUSER) == 0 || errno != EPERM) << 1;
		bad |=
		    (syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0) >= 0 || errno != EPERM)
		    << 2;
		bad |= (syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS) << 3;
		bad |= (syscall(SYS_personality, 0x0040000) >= 0 || errno != EPERM) << 4;
		bad |= (syscall(SYS_clock_settime, 0, NULL) >= 0 || errno != EPERM) << 5;
		/* typing into a terminal: EPERM before the kernel's ENOTTY for /dev/null */
		{
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			char c = 'x';

			bad |= (ioctl(fd, TIOCSTI, &c) == 0 || errno != EPERM) << 10;
			bad |= (ioctl(fd, TIOCLINUX, &c) == 0 || errno != EPERM) << 11;
			bad |= (isatty(fd) || errno != ENOTTY) << 12; /* other ioctls pass */
			close(fd);
		}
		/* Docker's refusals of the keyring, BPF, io_uring, a socket to the hypervisor,
		 * and the calls that reach into another process (ptrace's, without its checks) */
		bad |= (syscall(SYS_keyctl, 0, 0, 0, 0, 0) >= 0 || errno != EPERM) << 13;
		bad |= (syscall(SYS_add_key, "user", "k", "v", 1, 0) >= 0 || errno != EPERM) << 14;
		bad |= (syscall(SYS_bpf, 0, NULL, 0) >= 0 || errno != EPERM) << 15;
		bad |= (syscall(SYS_io_uring_setup, 1, NULL) >= 0 || errno != EPERM) << 16;
		bad |= (socket(40 /* AF_VSOCK */, SOCK_STREAM, 0) >= 0 || errno != EPERM) << 17;
		bad |= (syscall(SYS_pidfd_getfd, 0, 0, 0) >= 0 || errno != EPERM) << 18;
		bad |= (syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0) >= 0 || errno != EPERM)
		       << 19;
		bad |= (syscall(SYS_process_madvise, 0, NULL, 0, 0, 0) >= 0 || errno != EPERM)
		       << 20;
#ifdef __x86_64__
		/* x32's numbers (bit 30) reach the same calls: refused */
		bad |= (syscall(0x40000000 | SYS_getpid) >= 0 || errno != EPERM) << 21;
		{
			/* A 32-bit entry (int 0x80, i386's getpid is 20): another architecture,
			 * ENOSYS (without the filter, the pid where the kernel runs 32-bit code) */
			long r = 20;

			__asm__ volatile("int $0x80" : "+a"(r) : : "memory");
			bad |= (r != -ENOSYS) << 22;
		}
#endif
		/* allowed */
		bad |= (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0) << 23;
		bad |= (syscall(SYS_personality, 0xffffffff) < 0) << 6;
		bad |= (getpid() <= 0) << 7;
		{
			pid_t c = fork(); /* clone without a namespace flag */

			if (c == 0)
				_exit(0);
			bad |= (c < 0 || waitpid(c, NULL, 0) != c) << 8;
		}
		bad |= (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) << 9;
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The pipes a host's output comes through: the child's ends closed after the clone, ours
 * later, each marked closed (-1) so a second close touches nothing (an fd number reused by
 * then would otherwise be closed under its new owner). */
static void test_spawn_stdio_close(void **state)
{
	struct spawn_stdio s;
	struct sr_error err = {0};
	int child[3], ours[2];

	(void)state;
	assert_int_equal(spawn_stdio_open(&s, "algo-1", &err), 0);
	child[0] = s.out_w, child[1] = s.err_w, child[2] = s.null_fd;
	ours[0] = s.out_r, ours[1] = s.err_r;
	spawn_stdio_close_child(&s);
	assert_int_equal(s.out_w, -1);
	assert_int_equal(s.err_w, -1);
	assert_int_equal(s.null_fd, -1);
	for (int i = 0; i < 3; i++)
		assert_true(fcntl(child[i], F_GETFD) < 0 && errno == EBADF);
	for (int i = 0; i < 2; i++)
		assert_true(fcntl(ours[i], F_GETFD) >= 0);
	errno = EINTR;
	spawn_stdio_close(&s);
	assert_int_equal(errno, EINTR); /* an errno being reported survives the cleanup */
	assert_int_equal(s.out_r, -1);
	assert_int_equal(s.err_r, -1);
	for (int i = 0; i < 2; i++)
		assert_true(fcntl(ours[i], F_GETFD) < 0 && errno == EBADF);
	spawn_stdio_close(&s); /* idempotent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backend_find),
	    cmocka_unit_test(test_exit_code_and_pipes),
	    cmocka_unit_test(test_exec_failure),
	    cmocka_unit_test(test_signal_kills_group),
	    cmocka_unit_test(test_host_names),
	    cmocka_unit_test(test_signal_names),
	    cmocka_unit_test(test_collect_kills_stragglers),
	    cmocka_unit_test(test_env_and_cwd),
	    cmocka_unit_test(test_path_is_the_hosts),
	    cmocka_unit_test(test_stdio_and_fds),
	    cmocka_unit_test(test_signals_reset),
	    cmocka_unit_test(test_spawn_stdio_close),
	    cmocka_unit_test(test_teardown),
	    cmocka_unit_test(test_fork_fallback),
	    cmocka_unit_test(test_sweep_kills_leavers),
	    cmocka_unit_test(test_cgroup_holds_host),
	    cmocka_unit_test(test_cgroup_kill_each),
	    cmocka_unit_test(test_cgroup_leftovers),
	    cmocka_unit_test(test_cgroup_without_clone3),
	    cmocka_unit_test(test_seccomp_filter),
	};

	/* Orphaned grandchildren come to us, so tests can check they died and reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
