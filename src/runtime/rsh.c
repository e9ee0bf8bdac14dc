/* rsh.c - the client side of the agent's protocol (wire.h). */
#include "runtime/rsh.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/agent.h"
#include "runtime/wire.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/tcp.h"
#include "util/xalloc.h"

static bool retryable(int e)
{
	return e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH || e == ETIMEDOUT ||
	       e == ECONNRESET;
}

static int rsh_connect(const char *host, int port, int budget_ms, char *where, size_t wlen,
		       struct sr_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int64_t deadline = clock_mono_ms() + budget_ms;
	char ps[16], addr[INET6_ADDRSTRLEN] = "?";
	int delay_ms = 50, e = 0, g, fd;

	snprintf(ps, sizeof(ps), "%d", port);
	for (;;) {
		g = getaddrinfo(host, ps, &hints, &ai);
		if (g == 0)
			break;
		/* EAI_AGAIN: the name service may not be up yet. */
		if (g != EAI_AGAIN || clock_mono_ms() >= deadline) {
			sr_err(err, -EHOSTUNREACH, "cannot resolve '%s': %s", host,
			       gai_strerror(g));
			return sr_err_hint(err, "is it one of the job's hosts (SM_HOSTS)?");
		}
		(void)poll(NULL, 0, delay_ms);
	}
	getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
	snprintf(where, wlen, "%s:%d", addr, port);
	for (;;) {
		fd = tcp_connect_until(ai, deadline, &e);
		if (fd >= 0 || !retryable(e) || clock_mono_ms() + delay_ms > deadline)
			break;
		/* The host may be starting at this very moment (hosts start concurrently). */
		(void)poll(NULL, 0, delay_ms);
		delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		sr_err_errno(err, e, "cannot reach the agent of %s at %s", host, where);
		return sr_err_hint(err, "is the job's host running?");
	}
	return fd;
}

static int rsh_auth(int fd, const unsigned char secret[WIRE_SECRET_LEN], const char *host,
		    struct sr_error *err)
{
	unsigned char ns[WIRE_NONCE_LEN], msg[WIRE_MAC_LEN + WIRE_NONCE_LEN], got[WIRE_MAC_LEN],
	    want[WIRE_MAC_LEN];
	int r;

	r = wire_read_exact(fd, ns, sizeof(ns), WIRE_HANDSHAKE_MS);
	if (r < 0)
		return sr_err_errno(err, -r, "%s: agent handshake", host);
	if (getrandom(msg + WIRE_MAC_LEN, WIRE_NONCE_LEN, 0) != WIRE_NONCE_LEN)
		return sr_err(err, -EIO, "get random bytes: %s", strerror(errno));
	wire_mac(secret, WIRE_CLIENT, ns, msg + WIRE_MAC_LEN, msg);
	r = wire_write_exact(fd, msg, sizeof(msg), WIRE_HANDSHAKE_MS);
	if (r == 0)
		r = wire_read_exact(fd, got, sizeof(got), WIRE_HANDSHAKE_MS);
	if (r == -ECONNRESET || r == -EPIPE) {
		sr_err(err, -EACCES, "%s: authentication failed (different job?)", host);
		return sr_err_hint(err, "the agent refused this job's secret; check %s",
				   RT_AGENT_CONFIG_NAME);
	}
	if (r < 0)
		return sr_err_errno(err, -r, "%s: agent handshake", host);
	wire_mac(secret, WIRE_SERVER, msg + WIRE_MAC_LEN, ns, want);
	if (!sr_memeq_ct(want, got, sizeof(want)))
		return sr_err(err, -EACCES,
			      "%s: the agent does not know this job's secret (different job?)",
			      host);
	return 0;
}

static int rsh_request(int fd, char *const *argv, size_t argc, const char *host,
		       struct sr_error *err)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t size = 0, pos = 8;
	int r;

	if (argc == 0 || argc > WIRE_MAX_ARGS)
		return sr_err(err, -E2BIG, "%s: %zu arguments (1 to %d allowed)", host, argc,
			      WIRE_MAX_ARGS);
	for (size_t i = 0; i < argc; i++) {
		size += strlen(argv[i]) + 1;
		if (size > WIRE_MAX_REQUEST)
			return sr_err(err, -E2BIG, "%s: command longer than 1 MiB", host);
	}
	buf = xmalloc(8 + size);
	for (int i = 0; i < 4; i++) {
		buf[i] = (unsigned char)(argc >> (24 - 8 * i));
		buf[4 + i] = (unsigned char)(size >> (24 - 8 * i));
	}
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(buf + pos, argv[i], n);
		pos += n;
	}
	r = wire_write_exact(fd, buf, pos, WIRE_HANDSHAKE_MS);
	if (r < 0)
		return sr_err_errno(err, -r, "%s: send the command", host);
	return 0;
}

static int write_local(int fd, const unsigned char *p, size_t len)
{
	return wire_write_exact(fd, p, len, -1);
}

static int rsh_relay(int sock, const struct rt_rsh_opts *o, const char *host, int *ret_code,
		     struct sr_error *err)
{
	static unsigned char buf[WIRE_MAX_FRAME];
	struct wire_conn w;
	bool in_open = true, out_ok = true, errout_ok = true;
	struct stat st;
	int r = 0;

	/* Nothing to read: tell the command at once, as ssh -n would. */
	if (o->in_fd < 0 || fstat(o->in_fd, &st) < 0 ||
	    (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))) {
		in_open = false;
	}
	fcntl(sock, F_SETFL, O_NONBLOCK);
	wire_conn_init(&w, sock);
	if (!in_open)
		wire_queue(&w, WIRE_STDIN_EOF, NULL, 0);
	for (;;) {
		struct pollfd pf[2] = {
		    {.fd = sock, .events = (short)(POLLIN | (wire_out_pending(&w) ? POLLOUT : 0))},
		    {.fd = in_open && wire_out_has_room(&w) ? o->in_fd : -1, .events = POLLIN},
		};
		uint8_t type;
		const unsigned char *pl;
		size_t len;
		int k;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = sr_err_errno(err, errno, "poll");
			break;
		}
		if (pf[1].revents) {
			ssize_t n = read(o->in_fd, buf, sizeof(buf));

			if (n > 0) {
				wire_queue(&w, WIRE_STDIN, buf, (size_t)n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				in_open = false;
				wire_queue(&w, WIRE_STDIN_EOF, NULL, 0);
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int n = wire_fill(&w);

			if (n == 0 || (n < 0 && n != -EAGAIN)) {
				r = -ECONNRESET;
				goto lost;
			}
		}
		while ((k = wire_next(&w, &type, &pl, &len)) > 0) {
			if (type == WIRE_STDOUT && out_ok)
				out_ok = write_local(o->out_fd, pl, len) == 0;
			else if (type == WIRE_STDERR && errout_ok)
				errout_ok = write_local(o->err_fd, pl, len) == 0;
			else if (type == WIRE_EXIT && len == 4) {
				int status = (int)((uint32_t)pl[0] << 24 | (uint32_t)pl[1] << 16 |
						   (uint32_t)pl[2] << 8 | pl[3]);

				*ret_code = WIFEXITED(status)	  ? WEXITSTATUS(status)
					    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
								  : 255;
				goto out;
			} else if (type == WIRE_ERROR) {
				r = sr_err(err, -EREMOTEIO, "%s: agent: %.*s", o->host,
					   (int)(len > 512 ? 512 : len), (const char *)pl);
				goto out;
			}
			wire_consume(&w);
		}
		if (k < 0) {
			r = sr_err(err, -EPROTO, "%s: protocol error from the agent", host);
			break;
		}
		if (wire_flush(&w) < 0) {
			r = -ECONNRESET;
			goto lost;
		}
	}
	goto out;
lost:
	r = sr_err(err, r, "%s: connection lost", host);
out:
	wire_conn_release(&w);
	return r;
}

int rt_rsh_run(const struct rt_rsh_opts *o, int *ret_code, struct sr_error *err)
{
	unsigned char secret[WIRE_SECRET_LEN];
	_cleanup_free_ char *path =
	    o->config_path ? xstrdup(o->config_path) : rt_agent_config_path(NULL);
	_cleanup_close_ int fd = -1;
	const char *host = strrchr(o->host, '@') ? strrchr(o->host, '@') + 1 : o->host;
	char where[INET6_ADDRSTRLEN + 16];
	int port, r;

	r = rt_agent_config_read_file(path, &port, secret, err);
	if (r < 0)
		return r;
	fd = rsh_connect(host, port, o->connect_ms > 0 ? o->connect_ms : RT_RSH_CONNECT_MS, where,
			 sizeof(where), err);
	if (fd < 0) {
		explicit_bzero(secret, sizeof(secret));
		return fd;
	}
	r = rsh_auth(fd, secret, host, err);
	explicit_bzero(secret, sizeof(secret));
	if (r == 0)
		r = rsh_request(fd, o->argv, o->argc, host, err);
	if (r == 0)
		r = rsh_relay(fd, o, host, ret_code, err);
	return r;
}
