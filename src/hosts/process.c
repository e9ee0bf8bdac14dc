/* process.c - the `process` backend: each host is a process group on this machine.
 *
 * The first process of a host leads its own process group, so the host can be signalled as a
 * whole with kill(-pgid).  It gets PR_SET_PDEATHSIG(SIGKILL), so hosts die with sagerun even
 * when sagerun itself is SIGKILLed.  Limits, by design of this backend (the `ns` backend puts
 * each host in a PID namespace and has neither):
 *  - PDEATHSIG covers the first process only; its children (grandchildren of sagerun) in the
 *    group are killed by the group kill in collect() / teardown(), not by PDEATHSIG, so after a
 *    SIGKILL of sagerun itself they may survive;
 *  - a process that leaves the group (setsid, setpgid) escapes the group kill;
 *  - PDEATHSIG fires when the *thread* that started the host exits: start hosts from the
 *    thread that supervises them (sup_run does).
 *
 * Spawning follows libuv (src/unix/process.c): everything the child needs is prepared before
 * the clone, the child only makes async-signal-safe calls, and reports a failed step (errno)
 * over a CLOEXEC pipe whose EOF means exec succeeded.
 */
#include "hosts/hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hosts/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/signame.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* What docker gives a container whose image sets no PATH. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct proc_priv {
	pid_t pgid;
	bool reaped; /* the leader is reaped: its pid and pgid may belong to someone else now */
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

/* The subset of struct clone_args we use (CLONE_ARGS_SIZE_VER0); <linux/sched.h> clashes with
 * <sched.h> on some libc versions. */
struct sr_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
};

static _Noreturn void child_fail(int report_fd, enum child_step step, int e)
{
	struct child_report r = {.step = step, .err = e};

	/* Nothing to do if this fails: the parent then sees EOF and a dead child. */
	(void)!write(report_fd, &r, sizeof(r));
	_exit(127);
}

/* Move `fd` above 0-2 so the dup2()s onto 0, 1, 2 below cannot clobber it (sagerun's own
 * 0-2 are open, but a caller may have closed them anyway). */
static int child_move_up(int fd)
{
	return fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static bool exec_try_next(int e)
{
	/* As execvp: these mean "not here", keep searching PATH. */
	return e == ENOENT || e == ENOTDIR || e == ESTALE || e == ENODEV || e == ETIMEDOUT ||
	       e == EACCES;
}

/* Between clone and exec: async-signal-safe calls only, _exit never exit. */
static _Noreturn void child_run(const struct child_plan *p)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	int report = p->report_fd, in, out, errfd, e = ENOENT;
	bool eacces = false;
	sigset_t none;

	/* Die with sagerun; the getppid() check closes the race with a parent that died before
	 * the prctl (we would then be orphaned and never get the signal). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(report, STEP_PDEATHSIG, errno);
	if (getppid() != p->parent)
		_exit(127);

	report = child_move_up(report);
	if (report < 0)
		_exit(127);
	in = child_move_up(p->null_fd);
	out = child_move_up(p->out_fd);
	errfd = child_move_up(p->err_fd);
	if (in < 0 || out < 0 || errfd < 0)
		child_fail(report, STEP_FDS, errno);
	/* dup2 clears FD_CLOEXEC on the copy; every other fd is CLOEXEC and goes at exec. */
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		child_fail(report, STEP_FDS, errno);

	/* Whatever sagerun inherited without CLOEXEC (a CI runner's or a shell's fds) must not
	 * reach the host: a stray pipe end could keep someone waiting forever.  Marking instead
	 * of closing keeps `report` until the exec.  Best effort: ENOSYS before Linux 5.11. */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	/* Its own process group, so the host can be signalled as a whole. */
	if (setpgid(0, 0) < 0)
		child_fail(report, STEP_SETPGID, errno);
	if (p->cwd && chdir(p->cwd) < 0)
		child_fail(report, STEP_CHDIR, errno);

	/* The parent blocked every signal around the clone, so no handler of sagerun's can run
	 * here; reset dispositions first, then unblock.  Errors (SIGKILL, SIGSTOP, glibc's
	 * internal signals) are expected and harmless. */
	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	for (char *const *c = p->candidates; *c; c++) {
		execve(*c, p->argv, p->envp);
		e = errno;
		if (e == EACCES)
			eacces = true;
		if (!exec_try_next(e))
			break;
	}
	if (eacces && exec_try_next(e))
		e = EACCES;
	child_fail(report, STEP_EXEC, e);
}

/* clone3(CLONE_PIDFD) gives the pidfd atomically with the child.  Returns the pid (0 in the
 * child) or -1 with errno set. */
static pid_t spawn(int *ret_pidfd)
{
	struct sr_clone_args args = {
	    .flags = CLONE_PIDFD,
	    .pidfd = (uint64_t)(uintptr_t)ret_pidfd,
	    .exit_signal = SIGCHLD,
	};
	pid_t pid;
	int e;

	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0)
		return pid;
	/* FIXME: drop when kernel 5.3 is baseline.  Seccomp profiles of older container runtimes
	 * also answer ENOSYS or EPERM for clone3.  The child is ours and unreaped until we wait
	 * for it (SIGCHLD is not ignored), so pidfd_open cannot pick up a recycled pid. */
	if (errno != ENOSYS && errno != EPERM && errno != E2BIG)
		return -1;
	pid = fork();
	if (pid <= 0)
		return pid;
	*ret_pidfd = pidfd_open(pid, 0);
	if (*ret_pidfd < 0) {
		e = errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = e;
		return -1;
	}
	return pid;
}

/* Where execve should look for argv[0]: itself when it has a '/', else each folder of the
 * host's PATH (not sagerun's: the host's environment is what a container would see). */
static void exec_candidates(const struct host *h, struct strv *out)
{
	const char *file = h->argv.v[0];
	const char *path = strv_env_get(&h->env, "PATH");

	if (strchr(file, '/')) {
		strv_push(out, file);
		return;
	}
	if (!path)
		path = DEFAULT_PATH;
	for (const char *p = path;;) {
		const char *e = strchrnul(p, ':');

		/* An empty entry means the working folder (POSIX). */
		if (e == p)
			strv_push(out, file);
		else
			strv_pushf(out, "%.*s/%s", (int)(e - p), p, file);
		if (!*e)
			break;
		p = e + 1;
	}
}

static int wait_reap(int pidfd, siginfo_t *si, int flags)
{
	memset(si, 0, sizeof(*si));
	while (waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | flags) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int report_error(const struct host *h, const struct child_report *rep, struct sr_error *err)
{
	int e = rep->err > 0 ? rep->err : EPROTO;

	switch (rep->step) {
	case STEP_EXEC:
		sr_err(err, -e, "%s: cannot run '%s': %s", h->name, h->argv.v[0], strerror(e));
		if (e == ENOENT && !strchr(h->argv.v[0], '/'))
			sr_err_hint(err, "'%s' is not in the host's PATH (%s)", h->argv.v[0],
				    strv_env_get(&h->env, "PATH") ? strv_env_get(&h->env, "PATH")
								  : DEFAULT_PATH);
		else if (e == ENOEXEC)
			sr_err_hint(err, "a script needs a '#!' first line");
		return -e;
	case STEP_CHDIR:
		return sr_err(err, -e, "%s: cannot change to folder '%s': %s", h->name, h->cwd,
			      strerror(e));
	case STEP_SETPGID:
		return sr_err(err, -e, "%s: cannot create a process group: %s", h->name,
			      strerror(e));
	case STEP_PDEATHSIG:
		return sr_err(err, -e, "%s: cannot set the parent-death signal: %s", h->name,
			      strerror(e));
	default:
		return sr_err(err, -e, "%s: cannot set up stdin/stdout/stderr: %s", h->name,
			      strerror(e));
	}
}

static int proc_start(struct host *h, struct sr_error *err)
{
	static char *const empty_env[] = {NULL};
	_cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	_cleanup_close_ int rep_r = -1, rep_w = -1, null_fd = -1, pidfd = -1;
	struct strv cand = STRV_INIT;
	struct child_report rep;
	struct child_plan plan;
	sigset_t all, old;
	siginfo_t si;
	int p[2], r = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return sr_err(err, -errno, "%s: create stdout pipe: %s", h->name, strerror(errno));
	out_r = p[0];
	out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sr_err(err, -errno, "%s: create stderr pipe: %s", h->name, strerror(errno));
	err_r = p[0];
	err_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sr_err(err, -errno, "%s: create pipe: %s", h->name, strerror(errno));
	rep_r = p[0];
	rep_w = p[1];
	/* Only our read ends are non-blocking: O_NONBLOCK belongs to the open file description,
	 * and the host's write ends are separate descriptions that must stay blocking. */
	if (fcntl(out_r, F_SETFL, O_NONBLOCK) < 0 || fcntl(err_r, F_SETFL, O_NONBLOCK) < 0)
		return sr_err(err, -errno, "%s: set pipe non-blocking: %s", h->name,
			      strerror(errno));
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0)
		return sr_err(err, -errno, "%s: open '/dev/null': %s", h->name, strerror(errno));

	exec_candidates(h, &cand);
	plan = (struct child_plan){
	    .argv = h->argv.v,
	    .envp = h->env.v ? h->env.v : empty_env,
	    .candidates = cand.v,
	    .cwd = h->cwd,
	    .null_fd = null_fd,
	    .out_fd = out_w,
	    .err_fd = err_w,
	    .report_fd = rep_w,
	    .parent = getpid(),
	};

	/* Block everything around the clone (as posix_spawn does) so no handler of ours runs
	 * in the child before it resets the dispositions. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = spawn(&pidfd);
	if (pid == 0)
		child_run(&plan);
	r = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	strv_release(&cand);
	if (r < 0)
		return sr_err(err, r, "%s: cannot start a process: %s", h->name, strerror(-r));

	/* Also set the group from this side, so it exists whatever the child has reached when
	 * clone returns; EACCES once the child has exec'd is fine (it did it itself). */
	(void)setpgid(pid, pid);
	sr_closep(&out_w);
	out_w = -1;
	sr_closep(&err_w);
	err_w = -1;
	sr_closep(&rep_w);
	rep_w = -1;

	do
		n = read(rep_r, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		/* The child is at _exit(127) (or died): reap it so no zombie is left. */
		(void)wait_reap(pidfd, &si, 0);
		if (n < 0)
			return sr_err(err, -errno, "%s: read child status: %s", h->name,
				      strerror(errno));
		if (n != (ssize_t)sizeof(rep))
			return sr_err(err, -EPROTO, "%s: child set-up failed", h->name);
		return report_error(h, &rep, err);
	}

	struct proc_priv *priv = xcalloc(1, sizeof(*priv));
	priv->pgid = pid;
	h->priv = priv;
	h->pid = pid;
	h->pidfd = TAKE_FD(pidfd);
	h->out_fd = TAKE_FD(out_r);
	h->err_fd = TAKE_FD(err_r);
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

		return sr_err(err, -e, "%s: send %s: %s", h->name, sr_signame(sig, sb),
			      strerror(e));
	}
	/* ESRCH: nothing is left of the group, which is what we wanted. */
	if (kill(-p->pgid, sig) < 0 && errno != ESRCH) {
		int e = errno;

		return sr_err(err, -e, "%s: send %s to process group %d: %s", h->name,
			      sr_signame(sig, sb), (int)p->pgid, strerror(e));
	}
	return 0;
}

static int status_from_siginfo(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return W_EXITCODE(si->si_status & 0xff, 0);
	case CLD_DUMPED:
		return W_EXITCODE(0, si->si_status) | WCOREFLAG;
	default:
		return W_EXITCODE(0, si->si_status);
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
	r = wait_reap(h->pidfd, &si, WNOWAIT);
	if (r < 0)
		return sr_err(err, r, "%s: wait: %s", h->name, strerror(-r));
	/* The host ends with its first process, as a container ends with its PID 1.  Failure
	 * (EPERM: a straggler changed its uid) cannot be helped here and must not stop the
	 * reaping below. */
	(void)kill(-p->pgid, SIGKILL);
	r = wait_reap(h->pidfd, &si, 0);
	if (r < 0)
		return sr_err(err, r, "%s: wait: %s", h->name, strerror(-r));
	p->reaped = true;
	*ret_status = status_from_siginfo(&si);
	return 0;
}

static void proc_teardown(struct host *h)
{
	struct proc_priv *p = h->priv;
	siginfo_t si;

	if (p && !p->reaped && h->pidfd >= 0) {
		(void)pidfd_send_signal(h->pidfd, SIGKILL, NULL, 0);
		(void)kill(-p->pgid, SIGKILL);
		(void)wait_reap(h->pidfd, &si, 0);
		p->reaped = true;
		h->exited = true;
	}
	sr_closep(&h->pidfd);
	h->pidfd = -1;
	sr_closep(&h->out_fd);
	h->out_fd = -1;
	sr_closep(&h->err_fd);
	h->err_fd = -1;
	free(p);
	h->priv = NULL;
	h->pid = 0;
}

const struct host_backend host_backend_process = {
    .name = "process",
    .flags = HOST_BACKEND_F_SHARED_NETWORK,
    .start = proc_start,
    .signal = proc_signal,
    .collect = proc_collect,
    .teardown = proc_teardown,
};
