#include "runtime/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/signame.h"
#include "util/strv.h"
#include "util/xalloc.h"

static void tail_push_line(struct rt_tail *t)
{
	size_t last = (t->first + t->n + RT_TAIL_LINES - 1) % RT_TAIL_LINES;

	t->cur[t->cur_len] = '\0';
	t->cur_len = 0;
	if (!t->cur[0] || (t->n && !strcmp(t->lines[last], t->cur)))
		return;
	if (t->n == RT_TAIL_LINES) {
		t->first = (t->first + 1) % RT_TAIL_LINES;
		t->n--;
	}
	memcpy(t->lines[(t->first + t->n) % RT_TAIL_LINES], t->cur, sizeof(t->cur));
	t->n++;
}

static void tail_feed(struct rt_tail *t, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n') {
			tail_push_line(t);
		} else if (t->cur_len < RT_TAIL_LINE_MAX - 1) {
			t->cur[t->cur_len++] = p[i];
		}
	}
}

char *rt_tail_text(const struct rt_tail *t)
{
	size_t len = 0;
	char *s, *o;

	for (size_t i = 0; i < t->n; i++)
		len += strlen(t->lines[(t->first + i) % RT_TAIL_LINES]) + 1;
	s = o = xmalloc(len + 1);
	for (size_t i = 0; i < t->n; i++)
		o += sprintf(o, "%s%s", i ? "\n" : "", t->lines[(t->first + i) % RT_TAIL_LINES]);
	*o = '\0';
	return s;
}

/* rt_child_stay_in_group(), and the first stop signal forwarded (rt_child_stop_signal()). */
static bool stay_in_group;
static volatile sig_atomic_t stop_signal;

void rt_child_stay_in_group(bool stay)
{
	stay_in_group = stay;
}

static void note_stop(int sig)
{
	if (!stop_signal)
		stop_signal = sig;
}

void rt_child_default_signals(void)
{
	/* sagerun ignores SIGPIPE, and rt_child_catch_stops() may have caught the stops: the
	 * program must inherit neither, nor miss a SIGTERM sent before its exec. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
}

void rt_child_catch_stops(void)
{
	struct sigaction sa = {.sa_handler = note_stop};

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
}

int rt_child_stop_signal(void)
{
	return stop_signal;
}

static void kill_all(struct rt_proc *p, size_t n, int sig)
{
	for (size_t i = 0; i < n; i++)
		if (!p[i].exited)
			kill(stay_in_group ? p[i].pid : -p[i].pid, sig);
}

static pid_t start_one(struct rt_proc *p, const char *cwd, const sigset_t *old,
		       struct sr_error *err)
{
	pid_t parent = getpid(), pid;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return sr_err_errno(err, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		return sr_err_errno(err, e, "fork");
	}
	if (pid == 0) {
		/* Its own group, as the toolkit's subprocess under a job-control shell: a stop
		 * reaches every process the program started.  And it does not outlive us. */
		if (!stay_in_group)
			setpgid(0, 0);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		rt_child_default_signals();
		sigprocmask(SIG_SETMASK, old, NULL);
		dup2(pfd[1], STDERR_FILENO);
		if (chdir(cwd) < 0) {
			dprintf(STDERR_FILENO, "sagerun: cd '%s': %s\n", cwd, strerror(errno));
			_exit(127);
		}
		execvpe(p->argv[0], p->argv, p->envp);
		dprintf(STDERR_FILENO, "sagerun: run '%s': %s\n", p->argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (!stay_in_group)
		setpgid(pid, pid); /* both sides: whichever runs first */
	close(pfd[1]);
	p->pid = pid;
	p->err_r = pfd[0];
	p->open_err = true;
	p->exited = false;
	return pid;
}

static void drain(struct rt_proc *p, int err_fd)
{
	char buf[65536];
	ssize_t got = read(p->err_r, buf, sizeof(buf));

	if (got > 0) {
		(void)fs_write_all(err_fd, buf, (size_t)got);
		tail_feed(&p->tail, buf, (size_t)got);
	} else if (got == 0 || errno != EINTR) {
		p->open_err = false;
		if (p->tail.cur_len)
			tail_push_line(&p->tail);
	}
}

int rt_procs_run(struct rt_proc *p, size_t n, const char *cwd, int err_fd, size_t *ret_failed,
		 struct sr_error *err)
{
	struct pollfd *pfds = xcalloc(n + 1, sizeof(*pfds));
	sigset_t mask, old;
	size_t failed = n, left = n, started = 0;
	int64_t kill_at = -1, exited_at = -1;
	int sfd, r = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		r = sr_err_errno(err, errno, "signalfd");
		goto out;
	}
	/* A stop caught before (rt_child_catch_stops) holds: nothing more starts. */
	if (stop_signal) {
		char sb[32];

		r = sr_err(err, -EINTR, "stopped (%s) before '%s' started",
			   sr_signame(stop_signal, sb), p[0].argv[0]);
		goto out;
	}
	for (; started < n; started++) {
		pid_t pid = start_one(&p[started], cwd, &old, err);

		if (pid < 0) {
			r = (int)pid;
			break;
		}
	}
	if (r < 0) { /* none is left: the ones started go at once */
		kill_all(p, started, SIGKILL);
		for (size_t i = 0; i < started; i++) {
			waitpid(p[i].pid, &p[i].status, 0);
			close(p[i].err_r);
		}
		goto out;
	}
	for (;;) {
		size_t np = 0;
		bool open = false;
		int64_t now = clock_mono_ms(), timeout = -1;

		pfds[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (size_t i = 0; i < n; i++) {
			pfds[np++] = (struct pollfd){.fd = p[i].open_err ? p[i].err_r : -1,
						     .events = POLLIN};
			open |= p[i].open_err;
		}
		if (!left && (!open || (exited_at >= 0 && now - exited_at >= 1000)))
			break;
		/* Once all exited, their stderr gets a second more: a daemon one left holding
		 * the pipe must not keep the host running. */
		if (!left)
			timeout = 1000 - (now - exited_at);
		if (kill_at >= 0 && left)
			timeout = kill_at > now ? kill_at - now : 0;
		if (poll(pfds, np, (int)timeout) < 0 && errno != EINTR)
			break;
		now = clock_mono_ms();
		if (kill_at >= 0 && now >= kill_at && left) {
			kill_all(p, n, SIGKILL);
			kill_at = -1;
		}
		for (size_t i = 0; i < n; i++)
			if (pfds[i + 1].revents)
				drain(&p[i], err_fd);
		if (pfds[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo != SIGCHLD) {
				if (!stop_signal)
					stop_signal = (int)si.ssi_signo;
				/* In the host's group the sender reached everyone already. */
				if (!stay_in_group)
					kill_all(p, n, (int)si.ssi_signo);
				continue;
			}
			for (size_t i = 0; i < n; i++) {
				if (p[i].exited ||
				    waitpid(p[i].pid, &p[i].status, WNOHANG) != p[i].pid)
					continue;
				p[i].exited = true;
				left--;
				if (!left)
					exited_at = clock_mono_ms();
				if (failed == n &&
				    !(WIFEXITED(p[i].status) && WEXITSTATUS(p[i].status) == 0)) {
					/* The first failure stops the others. */
					failed = i;
					if (left) {
						kill_all(p, n, SIGTERM);
						kill_at = clock_mono_ms() + RT_STOP_GRACE_MS;
					}
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!p[i].exited)
			waitpid(p[i].pid, &p[i].status, 0);
		close(p[i].err_r);
	}
	*ret_failed = failed;
out:
	if (sfd >= 0)
		close(sfd);
	free(pfds);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int rt_child_run(char *const argv[], char *const envp[], const char *cwd, int err_fd,
		 struct rt_tail *tail, int *ret_status, struct sr_error *err)
{
	struct rt_proc *p = xcalloc(1, sizeof(*p));
	size_t failed;
	int r;

	p->argv = argv;
	p->envp = envp;
	r = rt_procs_run(p, 1, cwd, err_fd, &failed, err);
	if (r >= 0) {
		*ret_status = p->status;
		if (tail)
			*tail = p->tail;
	}
	free(p);
	return r;
}

char *rt_exit_message(char *const *argv, int status, const struct rt_tail *tail,
		      const char *context)
{
	_cleanup_free_ char *cmd = strv_join(argv, " ");
	_cleanup_free_ char *text = rt_tail_text(tail);
	/* Python's returncode: the exit code, or minus the signal. */
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);

	return xasprintf("ExecuteUserScriptError:\nExitCode %d\nErrorMessage \"%s%s%s\"\n%sCommand "
			 "\"%s\"",
			 code, context ? context : "", context ? ": " : "", text,
			 code == 137 ? "ExtraInfo \"OutOfMemory: Process killed by SIGKILL "
				       "(signal 9)\"\n"
				     : "",
			 cmd);
}
