#include "runtime/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
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

int rt_child_run(char *const argv[], char *const envp[], const char *cwd, int err_fd,
		 struct rt_tail *tail, int *ret_status, struct sr_error *err)
{
	sigset_t mask, old;
	int pfd[2], sfd, status = 0, r = 0;
	bool open_err = true, exited = false;
	pid_t pid;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return sr_err(err, -errno, "pipe: %s", strerror(errno));
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		r = sr_err(err, -errno, "signalfd: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = sr_err(err, -errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Its own group, as the toolkit's subprocess under a job-control shell: a stop
		 * reaches every process the program started. */
		setpgid(0, 0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		dup2(pfd[1], STDERR_FILENO);
		if (chdir(cwd) < 0) {
			dprintf(STDERR_FILENO, "sagerun: cd '%s': %s\n", cwd, strerror(errno));
			_exit(127);
		}
		execvpe(argv[0], argv, envp);
		dprintf(STDERR_FILENO, "sagerun: run '%s': %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	setpgid(pid, pid); /* both sides: whichever runs first */
	close(pfd[1]);
	pfd[1] = -1;
	while (!exited || open_err) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
				      {.fd = open_err ? pfd[0] : -1, .events = POLLIN}};

		/* Once it exited, its stderr gets a second more: a daemon it left holding the
		 * pipe must not keep the host running. */
		int n = poll(p, 2, exited ? 1000 : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (p[1].revents) {
			char buf[65536];
			ssize_t got = read(pfd[0], buf, sizeof(buf));

			if (got > 0) {
				(void)fs_write_all(err_fd, buf, (size_t)got);
				if (tail)
					tail_feed(tail, buf, (size_t)got);
			} else if (got == 0 || errno != EINTR) {
				open_err = false;
				if (tail && tail->cur_len)
					tail_push_line(tail);
			}
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				if (!exited && waitpid(pid, &status, WNOHANG) == pid)
					exited = true;
			} else if (!exited) {
				kill(-pid, (int)si.ssi_signo);
			}
		}
	}
	if (!exited)
		waitpid(pid, &status, 0);
	*ret_status = status;
out:
	if (sfd >= 0)
		close(sfd);
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
