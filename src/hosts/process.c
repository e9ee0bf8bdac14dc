/* process.c - the `process` backend: each host is a process group on this machine.
 *
 * The first process of a host leads its own process group, so the host can be signalled as a
 * whole with kill(-pgid).  It gets PR_SET_PDEATHSIG(SIGKILL), so hosts die with sagerun even
 * when sagerun itself is SIGKILLed (PDEATHSIG fires when the *thread* that started the host
 * exits: start hosts from the thread that supervises them, as sup_run does).
 *
 * A process group does not hold a host: a process that leaves it (setsid, setpgid, a double
 * fork, nohup and daemon(3) alike) escapes the group kill, and after a SIGKILL of sagerun only
 * the first process has PDEATHSIG.  So everything a host started is ended with it (collect,
 * teardown), and by the next sagerun command when its supervisor was lost (cleanup_leftovers),
 * in one of two ways:
 *  - a cgroup2 group per host, where sagerun may make one (process_cgroup.c): the first
 *    process is born in it (CLONE_INTO_CGROUP) and cgroup.kill ends all it ever started;
 *  - else the sweep (process_leftovers.c): every process whose environment carries the host's
 *    PROC_HOST_ENV marker is killed, then the job's at the group's teardown.
 * Each file says what its way misses.
 *
 * Spawning follows libuv (src/unix/process.c): everything the child needs is prepared before
 * the clone, the child only makes async-signal-safe calls, and reports a failed step (errno)
 * over a CLOEXEC pipe whose EOF means exec succeeded.  The pieces shared with the ns backend
 * are in spawn.c.
 */
#include "hosts/hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contract/contract.h"
#include "hosts/internal.h"
#include "hosts/spawn.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/signame.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct proc_priv {
	pid_t pgid;
	bool reaped;  /* the leader is reaped: its pid and pgid may belong to someone else now */
	char *cgroup; /* the host's cgroup2 group (owned); NULL: the sweep holds the host */
	bool swept;   /* the sweep ran once the leader ended */
};

/* What the job's hosts share. */
struct proc_group {
	char *cgroup; /* the job's cgroup2 group (owned); NULL: none can be made here */
};

/* The step of the child's set-up that failed, reported to the parent with its errno. */
enum child_step {
	STEP_PDEATHSIG = 1,
	STEP_FDS,
	STEP_SETPGID,
	STEP_CHDIR,
	STEP_EXEC,
};

struct child_report {
	int32_t step;
	int32_t err;
};

/* Everything the child needs, prepared before the clone: the child may not allocate. */
struct child_plan {
	char *const *argv;
	char *const *envp;
	char *const *candidates; /* paths to execve in turn, NULL-terminated */
	const char *cwd;	 /* NULL: stay where we are */
	int null_fd;
	int out_fd;
	int err_fd;
	int report_fd;
	pid_t parent;
};

static _Noreturn void child_fail(int report_fd, enum child_step step, int e)
{
	struct child_report r = {.step = step, .err = e};

	/* Nothing to do if this fails: the parent then sees EOF and a dead child. */
	(void)!write(report_fd, &r, sizeof(r));
	_exit(127);
}

/* Between clone and exec: async-signal-safe calls only, _exit never exit. */
static _Noreturn void child_run(const struct child_plan *p)
{
	int report = p->report_fd, e;

	/* Die with sagerun; the getppid() check closes the race with a parent that died before
	 * the prctl (we would then be orphaned and never get the signal). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(report, STEP_PDEATHSIG, errno);
	if (getppid() != p->parent)
		_exit(127);

	report = spawn_child_move_up(report);
	if (report < 0)
		_exit(127);
	e = spawn_child_stdio(p->null_fd, p->out_fd, p->err_fd);
	if (e)
		child_fail(report, STEP_FDS, e);

	/* Whatever sagerun inherited without CLOEXEC (a CI runner's or a shell's fds) must not
	 * reach the host: a stray pipe end could keep someone waiting forever.  Marking instead
	 * of closing keeps `report` until the exec.  Best effort: ENOSYS before Linux 5.11. */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	/* Its own process group, so the host can be signalled as a whole. */
	if (setpgid(0, 0) < 0)
		child_fail(report, STEP_SETPGID, errno);
	if (p->cwd && chdir(p->cwd) < 0)
		child_fail(report, STEP_CHDIR, errno);

	spawn_child_reset_signals();
	e = spawn_child_exec(p->candidates, p->argv, p->envp);
	child_fail(report, STEP_EXEC, e);
}

static int report_error(const struct host *h, const struct child_report *rep, struct sr_error *err)
{
	int e = rep->err > 0 ? rep->err : EPROTO;

	switch (rep->step) {
	case STEP_EXEC:
		return spawn_exec_error(h, e, err);
	case STEP_CHDIR:
		return sr_err_errno(err, e, "%s: cannot change to folder '%s'", h->name, h->cwd);
	case STEP_SETPGID:
		return sr_err_errno(err, e, "%s: cannot create a process group", h->name);
	case STEP_PDEATHSIG:
		return sr_err_errno(err, e, "%s: cannot set the parent-death signal", h->name);
	default:
		return sr_err_errno(err, e, "%s: cannot set up stdin/stdout/stderr", h->name);
	}
}

static int proc_start(struct host *h, struct sr_error *err)
{
	static char *const empty_env[] = {NULL};
	_cleanup_close_ int rep_r = -1, rep_w = -1, pidfd = -1;
	struct spawn_stdio io;
	struct strv cand = STRV_INIT;
	struct child_report rep;
	struct child_plan plan;
	sigset_t all, old;
	siginfo_t si;
	int p[2], r = 0;
	ssize_t n;
	pid_t pid;
	const struct proc_group *g = h->group ? h->group->priv : NULL;
	_cleanup_free_ char *cgroup = NULL;
	_cleanup_close_ int cgroup_fd = -1;

	r = spawn_stdio_open(&io, h->name, err);
	if (r < 0)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		spawn_stdio_close(&io);
		return sr_err_errno(err, -r, "%s: create pipe", h->name);
	}
	/* Without a group of its own (-errno) the host is held by the sweep. */
	if (g && g->cgroup)
		cgroup_fd = proc_cgroup_host_make(g->cgroup, h->name, &cgroup);
	rep_r = p[0];
	rep_w = p[1];

	spawn_exec_candidates(h, &cand);
	plan = (struct child_plan){
	    .argv = h->argv.v,
	    .envp = h->env.v ? h->env.v : empty_env,
	    .candidates = cand.v,
	    .cwd = h->cwd,
	    .null_fd = io.null_fd,
	    .out_fd = io.out_w,
	    .err_fd = io.err_w,
	    .report_fd = rep_w,
	    .parent = getpid(),
	};

	/* Block everything around the clone (as posix_spawn does) so no handler of ours runs
	 * in the child before it resets the dispositions. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = spawn_clone_into(0, cgroup_fd, &pidfd);
	/* Not in its group (no clone3 or CLONE_INTO_CGROUP before Linux 5.7, a seccomp profile
	 * that refuses clone3, a group that takes no process): then the sweep holds it. */
	if (pid < 0 && cgroup_fd >= 0) {
		cgroup_fd = sr_close(cgroup_fd);
		pid = spawn_clone(0, &pidfd);
	}
	if (pid == 0)
		child_run(&plan);
	r = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	strv_release(&cand);
	spawn_stdio_close_child(&io);
	rep_w = sr_close(rep_w);
	if (cgroup && cgroup_fd < 0) {
		(void)rmdir(cgroup);
		free(TAKE_PTR(cgroup));
	}
	if (r < 0) {
		spawn_stdio_close(&io);
		if (cgroup)
			(void)rmdir(cgroup);
		return sr_err_errno(err, -r, "%s: cannot start a process", h->name);
	}

	/* Also set the group from this side, so it exists whatever the child has reached when
	 * clone returns; EACCES once the child has exec'd is fine (it did it itself). */
	(void)setpgid(pid, pid);

	do
		n = read(rep_r, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		int e = errno;

		/* The child is at _exit(127) (or died): reap it so no zombie is left.  Only our
		 * code ran in its group: it is empty then. */
		(void)spawn_wait(pidfd, &si, 0);
		spawn_stdio_close(&io);
		if (cgroup)
			(void)rmdir(cgroup);
		if (n < 0)
			return sr_err_errno(err, e, "%s: read child status", h->name);
		if (n != (ssize_t)sizeof(rep))
			return sr_err(err, -EPROTO, "%s: child set-up failed", h->name);
		return report_error(h, &rep, err);
	}

	struct proc_priv *priv = xcalloc(1, sizeof(*priv));
	priv->pgid = pid;
	priv->cgroup = TAKE_PTR(cgroup);
	h->priv = priv;
	h->pid = pid;
	h->pidfd = TAKE_FD(pidfd);
	h->out_fd = TAKE_FD(io.out_r);
	h->err_fd = TAKE_FD(io.err_r);
	return 0;
}

static int proc_signal(struct host *h, int sig, struct sr_error *err)
{
	struct proc_priv *p = h->priv;
	char sb[32];

	if (!p || p->reaped)
		return 0;
	/* The leader reached through its pidfd even if it left the group (setsid). */
	if (pidfd_send_signal(h->pidfd, sig, NULL, 0) < 0 && errno != ESRCH) {
		int e = errno;

		return sr_err_errno(err, e, "%s: send %s", h->name, sr_signame(sig, sb));
	}
	/* ESRCH: nothing is left of the group, which is what we wanted. */
	if (kill(-p->pgid, sig) < 0 && errno != ESRCH) {
		int e = errno;

		return sr_err_errno(err, e, "%s: send %s to process group %d", h->name,
				    sr_signame(sig, sb), (int)p->pgid);
	}
	return 0;
}

/* Whatever of the host is still alive besides its leader, which is not reaped yet (its pgid
 * cannot be anyone else's): the group kill misses those that left the process group. */
static void kill_the_rest(struct host *h, struct proc_priv *p)
{
	/* Failure (EPERM: a straggler changed its uid) cannot be helped here and must not stop
	 * the reaping that follows. */
	(void)kill(-p->pgid, SIGKILL);
	if (p->cgroup) {
		(void)proc_cgroup_kill(p->cgroup);
	} else if (h->root && !p->swept) {
		_cleanup_free_ char *marker = xasprintf("%s=%s", PROC_HOST_ENV, h->root);

		(void)proc_sweep(marker, false);
		p->swept = true;
	}
}

static int proc_collect(struct host *h, int *ret_status, struct sr_error *err)
{
	struct proc_priv *p = h->priv;
	siginfo_t si;
	int r;

	if (!p || p->reaped)
		return sr_err(err, -ECHILD, "%s: nothing to collect", h->name);
	/* Look without reaping: the zombie leader keeps its pgid from being reused, so the group
	 * kill below cannot hit a stranger's processes. */
	r = spawn_wait(h->pidfd, &si, WNOWAIT);
	if (r < 0)
		return sr_err_errno(err, -r, "%s: wait", h->name);
	/* The host ends with its first process, as a container ends with its PID 1. */
	kill_the_rest(h, p);
	r = spawn_wait(h->pidfd, &si, 0);
	if (r < 0)
		return sr_err_errno(err, -r, "%s: wait", h->name);
	p->reaped = true;
	*ret_status = spawn_status_from_siginfo(&si);
	return 0;
}

static void proc_teardown(struct host *h)
{
	struct proc_priv *p = h->priv;
	siginfo_t si;

	if (p && !p->reaped && h->pidfd >= 0) {
		(void)pidfd_send_signal(h->pidfd, SIGKILL, NULL, 0);
		kill_the_rest(h, p);
		(void)spawn_wait(h->pidfd, &si, 0);
		p->reaped = true;
		h->exited = true;
	}
	/* Nothing to report to: a group that cannot be removed stays recorded in the job's
	 * folder, and the group's teardown tries the job's whole group again. */
	if (p && p->cgroup)
		(void)proc_cgroup_remove(p->cgroup, NULL);
	h->pidfd = sr_close(h->pidfd);
	h->out_fd = sr_close(h->out_fd);
	h->err_fd = sr_close(h->err_fd);
	if (p)
		free(p->cgroup);
	free(p);
	h->priv = NULL;
	h->pid = 0;
}

static int proc_group_prepare(struct host_group *g, struct sr_error *err)
{
	struct proc_group *pg;
	char *cgroup = NULL;

	if (g->priv)
		return 0;
	if (g->job_dir) {
		int r = proc_cgroup_job_make(g->job_dir, &cgroup, err);

		if (r < 0)
			return r;
	}
	pg = xcalloc(1, sizeof(*pg));
	pg->cgroup = cgroup;
	g->priv = pg;
	return 0;
}

static void proc_group_teardown(struct host_group *g)
{
	struct proc_group *pg = g->priv;

	if (!pg)
		return;
	if (pg->cgroup)
		(void)proc_cgroup_job_remove(g->job_dir, pg->cgroup, NULL);
	/* The job's whole sweep, also with a cgroup: a host that could not start in its group,
	 * or a process that left it, keeps the marker. */
	if (g->job_dir) {
		_cleanup_free_ char *trees = xasprintf("%s=%s/hosts/", PROC_HOST_ENV, g->job_dir);

		(void)proc_sweep(trees, true);
	}
	free(pg->cgroup);
	free(pg);
	g->priv = NULL;
}

/* Plain processes share this machine's network: there is no subnet and no isolation to
 * give them. */
static int proc_check_options(const struct host_options *o, size_t n_hosts,
			      const struct job_report *rep, struct sr_error *err)
{
	int r = host_check_not_container("process", o, rep, err);

	(void)n_hosts;
	if (r < 0)
		return r;
	if (o->subnet) {
		sr_err(err, -EINVAL,
		       "--subnet %s: the process backend's hosts share this machine's network; "
		       "there is no subnet to choose",
		       o->subnet);
		return sr_err_hint(err, "leave out --subnet, or use --backend ns (a private "
					"network per job)");
	}
	if (o->network_host)
		job_say(rep, JOB_SAY_NOTE, NULL,
			"--network host: the process backend always shares this machine's network");
	if (o->network_isolation)
		job_say(rep, JOB_SAY_WARNING, NULL,
			"EnableNetworkIsolation: the process backend's hosts reach whatever this "
			"machine reaches (--backend ns isolates them)");
	if (o->privileged || o->keep_layers)
		job_say(rep, JOB_SAY_NOTE, NULL,
			"%s: the process backend contains nothing and has no layer to keep",
			o->privileged ? "--privileged" : "--keep-layers");
	/* Once per job, what a host here is not, so that a program that connects to algo-1 or
	 * shares /tmp by mistake is no surprise. */
	job_say(rep, JOB_SAY_NOTE, NULL,
		"the process backend's hosts are plain processes: algo-N names do not resolve "
		"(peers meet at 127.0.0.1), /tmp, /opt/ml's path and this machine's network are "
		"shared, and nothing is contained (hosts run with your rights); --backend ns "
		"gives each host its name, network, /tmp and a container's limits");
	return 0;
}

/* algo-N does not resolve here: peers meet at this machine's loopback.  The host is one
 * process group that the supervisor signals whole; the runtime must stay in it.  And every
 * process of the host carries its folder, so a lost supervisor's leftovers can be found. */
static void proc_host_env(const struct host *h, struct strv *env)
{
	strv_env_set(env, "MASTER_ADDR", "127.0.0.1");
	if (h->run_self)
		strv_env_set(env, CONTRACT_HOST_GROUP_ENV, "host");
	if (h->root)
		strv_env_set(env, PROC_HOST_ENV, h->root);
}

const struct host_backend host_backend_process = {
    .name = "process",
    .summary = "plain process groups: no hostnames, this\n"
	       "machine's network and files",
    .flags = 0,
    .check_options = proc_check_options,
    .cleanup_leftovers = proc_cleanup_leftovers,
    .host_env = proc_host_env,
    .group_prepare = proc_group_prepare,
    .group_teardown = proc_group_teardown,
    .start = proc_start,
    .signal = proc_signal,
    .collect = proc_collect,
    .teardown = proc_teardown,
};
