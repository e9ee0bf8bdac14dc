#include "runtime/ssh.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/child.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/membuf.h"
#include "util/secret.h"
#include "util/tcp.h"
#include "util/xalloc.h"

#define BANNER_MS 2000 /* for the banner once connected; sshd sends it at once */
#define RETRY_MS  200

/* One try: connected and read "SSH-". */
static bool banner_once(const struct addrinfo *ai, int *ret_errno)
{
	int fd = tcp_connect_until(ai, clock_mono_ms() + BANNER_MS, ret_errno);
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	char buf[8];
	ssize_t n = 0;

	if (fd < 0)
		return false;
	if (poll(&pf, 1, BANNER_MS) > 0)
		n = read(fd, buf, sizeof(buf));
	close(fd);
	*ret_errno = n > 0 ? EPROTO : ETIMEDOUT;
	return n >= 4 && !memcmp(buf, "SSH-", 4);
}

static int exited(pid_t pid, const char *path, struct sr_error *err)
{
	int status;

	if (waitpid(pid, &status, WNOHANG) != pid)
		return 0;
	sr_err(err, -EIO, "%s -D exited at once (%s %d; its lines above say why)", path,
	       WIFEXITED(status) ? "code" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return sr_err_hint(err, "%s", RT_SSH_IMAGE_HINT);
}

pid_t rt_sshd_start(const char *sshd_path, int wait_ms, int log_fd, struct sr_error *err)
{
	const char *path = sshd_path ? sshd_path : RT_SSHD_PATH;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST},
			*ai = NULL;
	int64_t deadline = clock_mono_ms() + wait_ms;
	char port[16];
	pid_t pid;
	int e = 0;

	if (access(path, X_OK) < 0) {
		sr_err(err, -ENOENT, "the MPI runner's ssh way needs %s, which this host lacks",
		       path);
		return sr_err_hint(err, "%s", RT_SSH_IMAGE_HINT);
	}
	pid = fork();
	if (pid < 0)
		return sr_err_errno(err, errno, "sshd: fork");
	if (pid == 0) {
		char *argv[] = {(char *)path, "-D", "-e", NULL};

		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		rt_child_default_signals();
		if (log_fd >= 0 && log_fd != STDERR_FILENO)
			(void)dup2(log_fd, STDERR_FILENO);
		execv(path, argv);
		dprintf(STDERR_FILENO, "sagerun: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	/* Up once it greets us on this host's loopback, or still running after wait_ms (it may
	 * listen on other addresses only).  One that exits first (a bad config, no host keys,
	 * port 22 taken) fails here, its own words on stderr, instead of leaving every other
	 * host to wait an hour for it. */
	snprintf(port, sizeof(port), "%d", RT_SSH_PORT);
	if (getaddrinfo("127.0.0.1", port, &hints, &ai) != 0)
		ai = NULL;
	for (;;) {
		int r = exited(pid, path, err);

		if (r < 0) {
			if (ai)
				freeaddrinfo(ai);
			return r;
		}
		if ((ai && banner_once(ai, &e)) || clock_mono_ms() >= deadline)
			break;
		(void)poll(NULL, 0, 50);
	}
	if (ai)
		freeaddrinfo(ai);
	return pid;
}

void rt_sshd_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	(void)kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

bool rt_ssh_host_ok(const char *host)
{
	if (!host || !*host || *host == '-')
		return false;
	for (const char *c = host; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
			    *c))
			return false;
	return true;
}

int rt_ssh_wait_banner(const char *host, int port, int timeout_s, struct sr_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int64_t deadline = clock_mono_ms() + (int64_t)timeout_s * 1000;
	char ps[16];
	int e = 0, g;

	snprintf(ps, sizeof(ps), "%d", port);
	for (;;) {
		g = getaddrinfo(host, ps, &hints, &ai);
		/* A name may resolve only once its container runs (Docker's DNS): every
		 * lookup failure is retried, as the toolkit retries every failure. */
		if (g == 0) {
			bool ok = banner_once(ai, &e);

			freeaddrinfo(ai);
			if (ok && !rt_child_stop_signal())
				return 0;
		}
		if (rt_child_stop_signal())
			return sr_err(err, -EINTR, "stopped while waiting for %s's sshd", host);
		if (clock_mono_ms() + RETRY_MS > deadline)
			break;
		(void)poll(NULL, 0, RETRY_MS);
	}
	sr_err(err, -ETIMEDOUT, "%s's sshd did not answer on port %d within %d s (last: %s)", host,
	       port, timeout_s, g ? gai_strerror(g) : strerror(e));
	if (g)
		return sr_err_hint(err, "is '%s' one of the job's hosts (SM_HOSTS)?", host);
	return sr_err_hint(err, "every host of an ssh-way MPI job starts sshd; see %s's log", host);
}

int rt_ssh_run(const char *host, char *const *cmd, char *const *envp, int err_fd, int *ret_status,
	       char **ret_tail, struct sr_error *err)
{
	struct strv argv = STRV_INIT;
	struct rt_tail *tail = xcalloc(1, sizeof(*tail));
	int r;

	strv_push(&argv, "ssh");
	strv_push(&argv, "-o");
	strv_push(&argv, "BatchMode=yes");
	strv_push(&argv, "-o");
	strv_push(&argv, "ConnectTimeout=10");
	strv_push(&argv, "--");
	strv_push(&argv, host);
	for (size_t i = 0; cmd[i]; i++)
		strv_push(&argv, cmd[i]);
	r = rt_child_run(argv.v, envp, "/", err_fd, tail, ret_status, err);
	if (ret_tail)
		*ret_tail = r < 0 ? NULL : rt_tail_text(tail);
	free(tail);
	strv_release(&argv);
	return r;
}

int rt_ssh_check_login(const char *host, char *const *envp, int err_fd, struct sr_error *err)
{
	char *cmd[] = {"true", NULL};
	_cleanup_free_ char *tail = NULL;
	int status = 0, r;

	r = rt_ssh_run(host, cmd, envp, err_fd, &status, &tail, err);
	if (r < 0)
		return r;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	sr_err(err, -EACCES, "ssh to %s as root failed (exit %d)%s%s", host,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       tail && *tail ? ": " : "", tail ? tail : "");
	return sr_err_hint(err, "%s", RT_SSH_IMAGE_HINT);
}

static bool is_credential(const char *kv)
{
	_cleanup_free_ char *name = xstrndup(kv, strcspn(kv, "="));

	return sr_name_is_credential(name);
}

int rt_ssh_write_environment(const char *path, const struct strv *env, struct sr_error *err)
{
	_cleanup_free_ char *old = NULL;
	size_t old_len = 0;
	struct membuf b = {.max = (size_t)-1};
	int r;

	r = fs_read_file(path, 1 << 20, &old, &old_len, NULL);
	if (r < 0 && r != -ENOENT)
		return sr_err_errno(err, -r, "read '%s'", path);
	if (r >= 0) {
		membuf_add(&b, old, old_len);
		if (old_len && old[old_len - 1] != '\n')
			membuf_add(&b, "\n", 1);
	}
	for (size_t i = 0; i < env->n; i++) {
		const char *kv = env->v[i];

		if (!strchr(kv, '=') || strchr(kv, '\n') || is_credential(kv))
			continue;
		membuf_add(&b, kv, strlen(kv));
		membuf_add(&b, "\n", 1);
	}
	r = fs_write_atomic(path, b.data ? b.data : "", b.len, 0644, err);
	free(b.data);
	return r;
}
