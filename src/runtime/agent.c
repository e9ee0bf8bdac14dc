/* agent.c - `sagerun container agent`: config, accept loop, one forked child per connection. */
#include "runtime/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/wire.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/xalloc.h"

extern char **environ;

/* ---- config ---- */

static int random_bytes(void *buf, size_t len, struct sr_error *err)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sr_err_errno(err, errno, "get random bytes");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rt_agent_secret_new(char hex[65], struct sr_error *err)
{
	unsigned char s[WIRE_SECRET_LEN];
	int r = random_bytes(s, sizeof(s), err);

	if (r < 0)
		return r;
	sr_hex_encode(s, sizeof(s), hex);
	explicit_bzero(s, sizeof(s));
	return 0;
}

int rt_agent_config_write(const char *opt_ml, int port, const char *secret_hex,
			  struct sr_error *err)
{
	unsigned char check[WIRE_SECRET_LEN];
	_cleanup_free_ char *dir = xasprintf("%s/input/config", opt_ml);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, RT_AGENT_CONFIG_NAME);
	char buf[160];
	int n, r;

	if (port < 1 || port > 65535)
		return sr_err(err, -EINVAL, "agent port %d is not in 1-65535", port);
	if (!secret_hex || !sr_hex_decode(secret_hex, check, sizeof(check)))
		return sr_err(err, -EINVAL, "agent secret is not 64 hex digits");
	explicit_bzero(check, sizeof(check));
	r = fs_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	n = snprintf(buf, sizeof(buf), "{\"port\": %d, \"secret\": \"%s\"}\n", port, secret_hex);
	r = fs_write_fresh(path, buf, (size_t)n, 0600, err);
	explicit_bzero(buf, sizeof(buf));
	return r;
}

char *rt_agent_config_path(const char *config_dir)
{
	const char *env = getenv(RT_AGENT_CONFIG_ENV);

	if (env && *env)
		return xstrdup(env);
	return xasprintf("%s/%s", config_dir ? config_dir : RT_AGENT_CONFIG_DIR,
			 RT_AGENT_CONFIG_NAME);
}

int rt_agent_config_read_file(const char *path, int *port, unsigned char secret[32],
			      struct sr_error *err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_json_ json_t *root = NULL;
	json_t *jp, *js;
	json_error_t je;
	size_t len;
	int r;

	r = fs_read_file(path, 4096, &data, &len, err);
	if (r < 0) {
		sr_err_wrap(err, "read the agent config");
		return sr_err_hint(err,
				   "the launcher writes it for every host of a job; set %s "
				   "to use another file",
				   RT_AGENT_CONFIG_ENV);
	}
	root = json_loadb(data, len, 0, &je);
	explicit_bzero(data, len);
	/* je.text may quote the input: never copy it, it could hold the secret. */
	if (!root || !json_is_object(root))
		return sr_err(err, -EINVAL, "%s: line %d: not a JSON object", path, je.line);
	jp = json_object_get(root, "port");
	js = json_object_get(root, "secret");
	if (!json_is_integer(jp) || json_integer_value(jp) < 1 || json_integer_value(jp) > 65535)
		return sr_err(err, -EINVAL, "%s: \"port\" must be an integer in 1-65535", path);
	if (!json_is_string(js) || !sr_hex_decode(json_string_value(js), secret, WIRE_SECRET_LEN))
		return sr_err(err, -EINVAL, "%s: \"secret\" must be 64 hex digits", path);
	*port = (int)json_integer_value(jp);
	return 0;
}

int rt_agent_config_read(const char *config_dir, int *port, unsigned char secret[32],
			 struct sr_error *err)
{
	_cleanup_free_ char *path = rt_agent_config_path(config_dir);

	return rt_agent_config_read_file(path, port, secret, err);
}

/* ---- one connection (a forked child of the agent) ---- */

struct conn {
	int sock;
	int log_fd;
	const unsigned char *secret;
	char peer[INET6_ADDRSTRLEN + 8];
};

static void conn_log(const struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void conn_log(const struct conn *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "sagerun agent: %s: ", c->peer);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	dprintf(c->log_fd, "%s\n", line);
}

/* Steps 1-3 of wire.h.  0 when the peer knows the secret. */
static int conn_auth(struct conn *c)
{
	unsigned char ns[WIRE_NONCE_LEN], msg[WIRE_MAC_LEN + WIRE_NONCE_LEN], want[WIRE_MAC_LEN];
	int r;

	if (random_bytes(ns, sizeof(ns), NULL) < 0)
		return -EIO;
	r = wire_write_exact(c->sock, ns, sizeof(ns), WIRE_HANDSHAKE_MS);
	if (r == 0)
		r = wire_read_exact(c->sock, msg, sizeof(msg), WIRE_HANDSHAKE_MS);
	if (r < 0) {
		conn_log(c, "refused: handshake: %s", strerror(-r));
		return r;
	}
	wire_mac(c->secret, WIRE_CLIENT, ns, msg + WIRE_MAC_LEN, want);
	if (!sr_memeq_ct(want, msg, WIRE_MAC_LEN)) {
		conn_log(c, "refused: authentication failed (a client of another job?)");
		return -EACCES;
	}
	wire_mac(c->secret, WIRE_SERVER, msg + WIRE_MAC_LEN, ns, want);
	return wire_write_exact(c->sock, want, sizeof(want), WIRE_HANDSHAKE_MS);
}

/* Step 4: the argv, joined with spaces into the shell command (ssh semantics). */
static int conn_request(struct conn *c, char **ret_cmd)
{
	unsigned char hdr[8];
	_cleanup_free_ char *buf = NULL;
	uint32_t argc, size;
	int r;

	r = wire_read_exact(c->sock, hdr, sizeof(hdr), WIRE_HANDSHAKE_MS);
	if (r < 0)
		return r;
	r = wire_request_header(hdr, &argc, &size);
	if (r < 0)
		return r;
	buf = xmalloc(size + 1);
	r = wire_read_exact(c->sock, buf, size, WIRE_HANDSHAKE_MS);
	if (r < 0)
		return r;
	r = wire_request_join(buf, size, argc);
	if (r < 0)
		return r;
	*ret_cmd = TAKE_PTR(buf);
	return 0;
}

struct proc {
	pid_t pid;
	int pidfd;
	int in_w, out_r, err_r;
};

/* fork + exec /bin/sh -c cmd in a group of its own; stdio on pipes. */
static int proc_start(struct proc *p, const char *cmd)
{
	int in[2], out[2], errp[2];
	const char *home = getenv("HOME");

	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
		return -errno; /* this child exits right after: no fds to tidy */
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		char *argv[] = {"sh", "-c", (char *)cmd, NULL};
		sigset_t none;

		(void)setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		(void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
		if (!home || chdir(home) < 0)
			(void)!chdir("/");
		execve("/bin/sh", argv, environ);
		dprintf(2, "sagerun agent: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	(void)setpgid(p->pid, p->pid);
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	p->in_w = in[1];
	p->out_r = out[0];
	p->err_r = errp[0];
	fcntl(p->in_w, F_SETFL, O_NONBLOCK);
	fcntl(p->out_r, F_SETFL, O_NONBLOCK);
	fcntl(p->err_r, F_SETFL, O_NONBLOCK);
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	return p->pidfd < 0 ? -errno : 0;
}

/* The client is gone: SIGHUP to the group, SIGKILL after a second, reap. */
static void proc_kill_group(struct proc *p, bool reaped)
{
	struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};

	(void)kill(-p->pid, SIGHUP);
	if (!reaped) {
		(void)kill(-p->pid, SIGCONT); /* a stopped group would never see the HUP */
		(void)poll(&pf, 1, 1000);
	}
	(void)kill(-p->pid, SIGKILL);
	if (!reaped)
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
}

/* Read one pipe into a frame; at EOF or error the fd is closed and set to -1. */
static void pump_out(struct wire_conn *w, int *fd, enum wire_type type)
{
	static unsigned char buf[WIRE_MAX_FRAME];
	ssize_t n;

	do
		n = read(*fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n > 0)
		wire_queue(w, type, buf, (size_t)n);
	else if (n == 0 || errno != EAGAIN)
		*fd = sr_close(*fd);
}

/* Relay until the command has exited and its stdout/stderr reached EOF (then EXIT), or the
 * client is gone (then the group is killed).  `sigfd` carries SIGTERM & co. */
static int conn_relay(struct conn *c, struct proc *p, int sigfd)
{
	struct wire_conn w;
	unsigned char *pend = NULL;
	size_t pend_len = 0, pend_off = 0;
	bool exited = false, client_gone = false;
	int status = 0, r = 0;

	fcntl(c->sock, F_SETFL, O_NONBLOCK);
	wire_conn_init(&w, c->sock);
	for (;;) {
		struct pollfd pf[6];
		int np = 0, i_sock, i_out = -1, i_err = -1, i_in = -1, i_pid = -1;
		bool can_read = w.in_len < WIRE_HDR_LEN + WIRE_MAX_FRAME;

		if (exited && p->out_r < 0 && p->err_r < 0)
			break;
		i_sock = np;
		pf[np++] = (struct pollfd){.fd = c->sock,
					   .events = (short)(POLLRDHUP | (can_read ? POLLIN : 0) |
							     (wire_out_pending(&w) ? POLLOUT : 0))};
		if (wire_out_has_room(&w)) {
			if (p->out_r >= 0) {
				i_out = np;
				pf[np++] = (struct pollfd){.fd = p->out_r, .events = POLLIN};
			}
			if (p->err_r >= 0) {
				i_err = np;
				pf[np++] = (struct pollfd){.fd = p->err_r, .events = POLLIN};
			}
		}
		if (pend_off < pend_len && p->in_w >= 0) {
			i_in = np;
			pf[np++] = (struct pollfd){.fd = p->in_w, .events = POLLOUT};
		}
		if (!exited) {
			i_pid = np;
			pf[np++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
		}
		pf[np++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		if (poll(pf, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (pf[np - 1].revents) {
			conn_log(c, "agent stopping: ending the command");
			client_gone = true;
			break;
		}
		if (pf[i_sock].revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)) {
			/* The client never half-closes: EOF or reset means it is gone.  Frames
			 * wait in the buffer while the command's stdin is full. */
			int n = can_read ? wire_fill(&w) : 0;

			if (n == 0 || (n < 0 && n != -EAGAIN)) {
				client_gone = true;
				break;
			}
		}
		while (pend_off == pend_len) {
			uint8_t type;
			const unsigned char *pl;
			size_t len;
			int k = wire_next(&w, &type, &pl, &len);

			if (k < 0) {
				conn_log(c, "protocol error from the client");
				client_gone = true;
				break;
			}
			if (k == 0)
				break;
			if (type == WIRE_STDIN && len && p->in_w >= 0) {
				free(pend);
				pend = xmalloc(len);
				memcpy(pend, pl, len);
				pend_len = len;
				pend_off = 0;
			} else if (type == WIRE_STDIN_EOF) {
				p->in_w = sr_close(p->in_w);
			}
			wire_consume(&w);
		}
		if (client_gone)
			break;
		if (pend_off < pend_len && p->in_w >= 0) {
			ssize_t n = write(p->in_w, pend + pend_off, pend_len - pend_off);

			if (n > 0)
				pend_off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				p->in_w =
				    sr_close(p->in_w); /* EPIPE: the command closed its stdin */
				pend_off = pend_len;
			}
		} else if (p->in_w < 0) {
			pend_off = pend_len;
		}
		(void)i_in;
		if (i_out >= 0 && pf[i_out].revents)
			pump_out(&w, &p->out_r, WIRE_STDOUT);
		if (i_err >= 0 && pf[i_err].revents)
			pump_out(&w, &p->err_r, WIRE_STDERR);
		if (i_pid >= 0 && pf[i_pid].revents) {
			siginfo_t si = {0};

			/* WNOWAIT: the zombie keeps the group id ours until the sweep below. */
			if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOWAIT) == 0) {
				exited = true;
				status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0)
								  : W_EXITCODE(0, si.si_status);
			}
		}
		if (wire_flush(&w) < 0) {
			client_gone = true;
			break;
		}
	}
	free(pend);
	if (client_gone || r < 0) {
		proc_kill_group(p, false);
	} else {
		unsigned char st[4] = {(unsigned char)(status >> 24), (unsigned char)(status >> 16),
				       (unsigned char)(status >> 8), (unsigned char)status};

		/* Background processes the command left in its group go with it, as they would
		 * when an ssh session's pty closes; a daemon that called setsid() stays. */
		(void)kill(-p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		wire_queue(&w, WIRE_EXIT, st, sizeof(st));
		fcntl(c->sock, F_SETFL, 0);
		(void)wire_write_exact(c->sock, w.out + w.out_off, w.out_len - w.out_off,
				       WIRE_HANDSHAKE_MS);
	}
	wire_conn_release(&w);
	return r;
}

static void conn_error(struct conn *c, const char *msg)
{
	unsigned char hdr[WIRE_HDR_LEN];
	size_t len = strlen(msg);

	hdr[0] = WIRE_ERROR;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
	if (wire_write_exact(c->sock, hdr, sizeof(hdr), WIRE_HANDSHAKE_MS) == 0)
		(void)wire_write_exact(c->sock, msg, len, WIRE_HANDSHAKE_MS);
}

static _Noreturn void conn_main(struct conn *c, pid_t agent)
{
	struct proc p = {.pid = -1, .pidfd = -1, .in_w = -1, .out_r = -1, .err_r = -1};
	_cleanup_free_ char *cmd = NULL;
	sigset_t set;
	int sigfd, r;

	/* The agent's death (SIGTERM from it, or its own end) ends our command too. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (getppid() != agent || sigfd < 0)
		_exit(1);
	if (conn_auth(c) < 0)
		_exit(1);
	r = conn_request(c, &cmd);
	if (r < 0) {
		conn_log(c, "bad request: %s", strerror(-r));
		conn_error(c, "bad request (at most 4096 arguments, 1 MiB in all)");
		_exit(1);
	}
	r = proc_start(&p, cmd);
	if (r < 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "cannot start /bin/sh: %s", strerror(-r));
		conn_log(c, "%s", msg);
		conn_error(c, msg);
		if (p.pid > 0)
			proc_kill_group(&p, false);
		_exit(1);
	}
	r = conn_relay(c, &p, sigfd);
	_exit(r < 0 ? 1 : 0);
}

/* ---- the accept loop ---- */

static int agent_listen(const char *host, int port, struct sr_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	char ps[16], where[INET6_ADDRSTRLEN];
	int fd, one = 1, g, e;

	snprintf(ps, sizeof(ps), "%d", port);
	g = getaddrinfo(host, ps, &hints, &ai);
	if (g)
		return sr_err(err, -EADDRNOTAVAIL, "resolve '%s' to listen on: %s", host,
			      gai_strerror(g));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		freeaddrinfo(ai);
		return sr_err_errno(err, e, "create socket");
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		e = errno;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, where, sizeof(where), NULL, 0,
			    NI_NUMERICHOST);
		freeaddrinfo(ai);
		close(fd);
		sr_err_errno(err, e, "listen on %s (%s) port %d", where, host, port);
		return sr_err_hint(err, e == EADDRINUSE ? "another agent or program uses the port"
							: "check the host's network");
	}
	freeaddrinfo(ai);
	return fd;
}

/* A socket handed over by the one who bound it: it must be listening already. */
static int agent_adopt(int fd, struct sr_error *err)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 || !on)
		return sr_err(err, -ENOTSOCK, "fd %d is not a listening socket", fd);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return sr_err_errno(err, errno, "fd %d", fd);
	return fd;
}

static void peer_name(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t n)
{
	char h[INET6_ADDRSTRLEN] = "?", p[8] = "?";

	getnameinfo((const struct sockaddr *)ss, len, h, sizeof(h), p, sizeof(p),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(out, n, "%s:%s", h, p);
}

/* Reap our connection children only (a test process may have others). */
static void reap(pid_t *kids, size_t *n, int flags)
{
	for (size_t i = 0; i < *n;) {
		pid_t r = waitpid(kids[i], NULL, flags);

		if (r == kids[i] || (r < 0 && errno == ECHILD)) {
			kids[i] = kids[--*n];
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		i++;
	}
}

int rt_agent_serve(const struct rt_agent_opts *o, struct sr_error *err)
{
	unsigned char secret[WIRE_SECRET_LEN];
	_cleanup_free_ char *path =
	    o->config_path ? xstrdup(o->config_path) : rt_agent_config_path(NULL);
	_cleanup_close_ int lfd = -1, sfd = -1;
	const char *host = o->host ? o->host : getenv("SM_CURRENT_HOST");
	pid_t *kids = NULL, self = getpid();
	size_t n_kids = 0, cap_kids = 0;
	sigset_t set, old;
	int port, r;

	if (o->listen_fd < 0 && (!host || !*host)) {
		sr_err(err, -EINVAL, "SM_CURRENT_HOST is not set");
		return sr_err_hint(err, "the agent listens on the address of the current host");
	}
	r = rt_agent_config_read_file(path, &port, secret, err);
	if (r < 0)
		return r;
	lfd = o->listen_fd >= 0 ? agent_adopt(o->listen_fd, err) : agent_listen(host, port, err);
	if (lfd < 0) {
		explicit_bzero(secret, sizeof(secret));
		return lfd;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		r = sr_err_errno(err, errno, "create a signalfd");
		goto out;
	}
	if (o->ready_fd >= 0) {
		(void)!write(o->ready_fd, "r", 1);
		close(o->ready_fd);
	}
	for (;;) {
		struct pollfd pf[2] = {{.fd = lfd, .events = POLLIN},
				       {.fd = sfd, .events = POLLIN}};
		struct signalfd_siginfo si;
		bool stop = false;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = sr_err_errno(err, errno, "poll");
			break;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				stop = true;
		reap(kids, &n_kids, WNOHANG);
		if (stop)
			break;
		if (pf[0].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			struct conn c = {.log_fd = o->log_fd, .secret = secret};
			pid_t pid;

			c.sock = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
			if (c.sock < 0)
				continue; /* ECONNABORTED, EMFILE...: the client retries */
			peer_name(&ss, sl, c.peer, sizeof(c.peer));
			pid = fork();
			if (pid == 0) {
				close(lfd);
				close(sfd);
				conn_main(&c, self);
			}
			if (pid > 0) {
				xgrow(&kids, &cap_kids, n_kids + 1, sizeof(*kids));
				kids[n_kids++] = pid;
			} else {
				dprintf(o->log_fd, "sagerun agent: %s: cannot fork: %s\n", c.peer,
					strerror(errno));
			}
			close(c.sock);
		}
	}
out:
	explicit_bzero(secret, sizeof(secret));
	/* Each connection ends its command's group on SIGTERM; wait for all of them so the
	 * caller (a test, or init) finds no child of ours left. */
	for (size_t i = 0; i < n_kids; i++)
		(void)kill(kids[i], SIGTERM);
	while (n_kids)
		reap(kids, &n_kids, 0);
	free(kids);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
