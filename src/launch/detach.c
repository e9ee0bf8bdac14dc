/* detach.c - -d: the supervisor forks into a session of its own (so the launching shell's
 * exit or hangup cannot reach it), moves its stdio to the job folder, records the job, and only
 * then lets the launcher go, which prints the name and returns.  A failure before the job is
 * recorded (a taken name, ...) travels back over the same pipe and becomes the launcher's own
 * error, so the user sees it where they typed the command, once.
 *
 *   launcher                         detached supervisor
 *   pipe, fork  ───────────────────> setsid; stdio to <job>/sagerun.log; record the job
 *   read ...    <─── "ok" ────────── (the job runs on)
 *               <─── "E" + error ─── (nothing of the job is left)
 */
#include "launch/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* What a failed supervisor sends after "E". */
struct detach_error {
	struct sr_error err;
	int usage;
};

/* Everything the supervisor sent, up to its EOF. */
static ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int launch_detach(struct local_job *L, struct sr_error *err)
{
	struct {
		char tag;
		struct detach_error e;
	} msg;
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return sr_err_errno(err, errno, "detach");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return sr_err_errno(err, errno, "detach: fork");
	}
	if (pid == 0) {
		close(p[0]);
		(void)setsid();
		L->detach_fd = p[1];
		return 0;
	}
	close(p[1]);
	memset(&msg, 0, sizeof(msg));
	n = read_all(p[0], &msg, sizeof(msg));
	close(p[0]);
	if (n >= 2 && !memcmp(&msg, "ok", 2))
		return 1; /* it runs on; its own child from now on */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(msg) && msg.tag == 'E') {
		msg.e.err.msg[sizeof(msg.e.err.msg) - 1] = '\0';
		msg.e.err.hint[sizeof(msg.e.err.hint) - 1] = '\0';
		if (err)
			*err = msg.e.err;
		L->usage = msg.e.usage;
		return msg.e.err.code < 0 ? msg.e.err.code : -EIO;
	}
	return sr_err(err, -EIO, "detach: the job's supervisor ended before recording it (%s)",
		      WIFSIGNALED(status) ? "killed by a signal" : "no word from it");
}

int launch_detach_stdio(struct local_job *L, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/sagerun.log", L->job_dir);
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (null < 0 || log < 0)
		return sr_err_errno(err, errno, "detach: open '%s'", null < 0 ? "/dev/null" : path);
	fflush(stdout);
	fflush(stderr);
	/* stdin from /dev/null, stdout (the hosts' prefixed lines, which the per-host logs hold
	 * anyway) to /dev/null, stderr (status transitions, errors) to the job's sagerun.log. */
	if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
	    dup2(log, STDERR_FILENO) < 0)
		return sr_err_errno(err, errno, "detach");
	return 0;
}

void launch_detach_release(struct local_job *L, const struct sr_error *err)
{
	if (L->detach_fd < 0)
		return;
	if (!err) {
		/* A launcher that is gone (killed) changes nothing: the job is recorded. */
		(void)fs_write_all(L->detach_fd, "ok", 2);
	} else {
		struct {
			char tag;
			struct detach_error e;
		} msg;

		memset(&msg, 0, sizeof(msg));
		msg.tag = 'E';
		msg.e.err = *err;
		msg.e.usage = L->usage;
		(void)fs_write_all(L->detach_fd, &msg, sizeof(msg));
	}
	L->detach_fd = sr_close(L->detach_fd);
}
