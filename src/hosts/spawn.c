/* spawn.c - pieces of host spawning shared by the process and ns backends. */
#include "hosts/spawn.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hosts/hosts.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

/* struct clone_args up to its cgroup (CLONE_ARGS_SIZE_VER2); <linux/sched.h> clashes with
 * <sched.h> on some libc versions.  A kernel that knows a shorter struct takes this one as long
 * as the fields it does not know are zero (E2BIG otherwise). */
struct sr_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

int spawn_stdio_open(struct spawn_stdio *s, const char *name, struct sr_error *err)
{
	int p[2];

	*s = (struct spawn_stdio){-1, -1, -1, -1, -1};
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail_pipe;
	s->out_r = p[0];
	s->out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail_pipe;
	s->err_r = p[0];
	s->err_w = p[1];
	/* Only our read ends are non-blocking: O_NONBLOCK belongs to the open file description,
	 * and the host's write ends are separate descriptions that must stay blocking. */
	if (fcntl(s->out_r, F_SETFL, O_NONBLOCK) < 0 || fcntl(s->err_r, F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;

		spawn_stdio_close(s);
		return sr_err_errno(err, e, "%s: set pipe non-blocking", name);
	}
	s->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (s->null_fd < 0) {
		int e = errno;

		spawn_stdio_close(s);
		return sr_err_errno(err, e, "%s: open '/dev/null'", name);
	}
	return 0;

fail_pipe:;
	int e = errno;
	const char *which = s->out_r < 0 ? "stdout" : "stderr";

	spawn_stdio_close(s);
	return sr_err_errno(err, e, "%s: create %s pipe", name, which);
}

void spawn_stdio_close_child(struct spawn_stdio *s)
{
	s->out_w = sr_close(s->out_w);
	s->err_w = sr_close(s->err_w);
	s->null_fd = sr_close(s->null_fd);
}

void spawn_stdio_close(struct spawn_stdio *s)
{
	spawn_stdio_close_child(s);
	s->out_r = sr_close(s->out_r);
	s->err_r = sr_close(s->err_r);
}

void spawn_exec_candidates(const struct host *h, struct strv *out)
{
	const char *file = h->argv.v[0];
	const char *path = strv_env_get(&h->env, "PATH");

	if (h->run_self) { /* this very binary, even if rebuilt meanwhile */
		strv_push(out, "/proc/self/exe");
		return;
	}

	if (strchr(file, '/')) {
		strv_push(out, file);
		return;
	}
	if (!path)
		path = SPAWN_DEFAULT_PATH;
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

pid_t spawn_clone(uint64_t flags, int *ret_pidfd)
{
	return spawn_clone_into(flags, -1, ret_pidfd);
}

pid_t spawn_clone_into(uint64_t flags, int cgroup_fd, int *ret_pidfd)
{
	struct sr_clone_args args = {
	    .flags = CLONE_PIDFD | flags | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
	    .pidfd = (uint64_t)(uintptr_t)ret_pidfd,
	    .exit_signal = SIGCHLD,
	    .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
	};
	pid_t pid;
	int e;

	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0)
		return pid;
	/* Only clone3 starts a child in a group, and whether another group would do is the
	 * caller's to decide (before Linux 5.7 the answer is E2BIG). */
	if (cgroup_fd >= 0)
		return -1;
	/* FIXME: drop when kernel 5.3 is baseline.  Seccomp profiles of older container runtimes
	 * also answer ENOSYS or EPERM for clone3.  The raw clone() is fork() with namespace flags
	 * (glibc's fork is the same system call).  The child is ours and unreaped until we wait
	 * for it (SIGCHLD is not ignored), so pidfd_open cannot pick up a recycled pid. */
	if (errno != ENOSYS && errno != EPERM && errno != E2BIG)
		return -1;
	pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
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

int spawn_wait(int pidfd, siginfo_t *si, int flags)
{
	memset(si, 0, sizeof(*si));
	while (waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | flags) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int spawn_status_from_siginfo(const siginfo_t *si)
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

int spawn_exec_error(const struct host *h, int e, struct sr_error *err)
{
	const char *path = strv_env_get(&h->env, "PATH");

	sr_err_errno(err, e, "%s: cannot run '%s'", h->name, h->argv.v[0]);
	if (e == ENOENT && !strchr(h->argv.v[0], '/'))
		sr_err_hint(err, "'%s' is not in the host's PATH (%s)", h->argv.v[0],
			    path ? path : SPAWN_DEFAULT_PATH);
	else if (e == ENOEXEC)
		sr_err_hint(err, "a script needs a '#!' first line");
	return -e;
}

int spawn_child_move_up(int fd)
{
	return fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int spawn_child_stdio(int in, int out, int errfd)
{
	in = spawn_child_move_up(in);
	out = spawn_child_move_up(out);
	errfd = spawn_child_move_up(errfd);
	if (in < 0 || out < 0 || errfd < 0)
		return errno;
	/* dup2 clears FD_CLOEXEC on the copy; every other fd is CLOEXEC and goes at exec. */
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		return errno;
	return 0;
}

void spawn_child_reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	/* The parent blocked every signal around the clone, so no handler of sagerun's can run
	 * here; reset dispositions first, then unblock.  Errors (SIGKILL, SIGSTOP, glibc's
	 * internal signals) are expected and harmless. */
	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static bool exec_try_next(int e)
{
	/* As execvp: these mean "not here", keep searching PATH. */
	return e == ENOENT || e == ENOTDIR || e == ESTALE || e == ENODEV || e == ETIMEDOUT ||
	       e == EACCES;
}

int spawn_child_exec(char *const *candidates, char *const *argv, char *const *envp)
{
	bool eacces = false;
	int e = ENOENT;

	for (char *const *c = candidates; *c; c++) {
		execve(*c, argv, envp);
		e = errno;
		if (e == EACCES)
			eacces = true;
		if (!exec_try_next(e))
			break;
	}
	if (eacces && exec_try_next(e))
		e = EACCES;
	return e;
}
