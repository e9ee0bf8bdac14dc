/* wire.c - handshake MACs, exact reads/writes with a deadline, frame buffers (see wire.h). */
#include "runtime/wire.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/sha256.h"
#include "util/xalloc.h"

#define WIRE_IN_CAP  (WIRE_HDR_LEN + WIRE_MAX_FRAME)
#define WIRE_OUT_MAX (4 * (WIRE_HDR_LEN + WIRE_MAX_FRAME))

static const char wire_label[] = "sagerun-rsh-v1";

void wire_mac(const unsigned char secret[WIRE_SECRET_LEN], enum wire_role role,
	      const unsigned char first[WIRE_NONCE_LEN], const unsigned char second[WIRE_NONCE_LEN],
	      unsigned char out[WIRE_MAC_LEN])
{
	const char *who = role == WIRE_CLIENT ? "client" : "server";
	struct hmac_sha256 m;

	hmac_sha256_init(&m, secret, WIRE_SECRET_LEN);
	hmac_sha256_update(&m, wire_label, strlen(wire_label));
	hmac_sha256_update(&m, who, strlen(who));
	hmac_sha256_update(&m, first, WIRE_NONCE_LEN);
	hmac_sha256_update(&m, second, WIRE_NONCE_LEN);
	hmac_sha256_final(&m, out);
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r, left = -1;

	if (deadline >= 0) {
		int64_t d = deadline - clock_mono_ms();

		if (d <= 0)
			return -ETIMEDOUT;
		left = (int)d;
	}
	r = poll(&p, 1, left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

int wire_read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
	unsigned char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);
		int r;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

int wire_write_exact(int fd, const void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		int r;

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == ENOTSOCK) { /* a pipe in tests or a local stdout */
			n = write(fd, p, len);
			if (n >= 0) {
				p += n;
				len -= (size_t)n;
				continue;
			}
			if (errno == EINTR)
				continue;
		}
		if (errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

void wire_conn_init(struct wire_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->in = xmalloc(WIRE_IN_CAP);
}

void wire_conn_release(struct wire_conn *c)
{
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->out_off = c->out_len = c->out_cap = 0;
}

void wire_queue(struct wire_conn *c, enum wire_type type, const void *data, size_t len)
{
	unsigned char hdr[WIRE_HDR_LEN] = {(unsigned char)type, (unsigned char)(len >> 24),
					   (unsigned char)(len >> 16), (unsigned char)(len >> 8),
					   (unsigned char)len};

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	else if (c->out_off > c->out_cap / 2) { /* keep the buffer from creeping */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	xgrow(&c->out, &c->out_cap, c->out_len + sizeof(hdr) + len, 1);
	memcpy(c->out + c->out_len, hdr, sizeof(hdr));
	if (len)
		memcpy(c->out + c->out_len + sizeof(hdr), data, len);
	c->out_len += sizeof(hdr) + len;
}

bool wire_out_has_room(const struct wire_conn *c)
{
	return c->out_len - c->out_off + WIRE_HDR_LEN + WIRE_MAX_FRAME <= WIRE_OUT_MAX;
}

bool wire_out_pending(const struct wire_conn *c)
{
	return c->out_len > c->out_off;
}

int wire_flush(struct wire_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		c->out_off += (size_t)n;
	}
	return 0;
}

int wire_fill(struct wire_conn *c)
{
	ssize_t n;

	if (c->in_len == WIRE_IN_CAP)
		return -ENOBUFS; /* cannot happen: a full buffer always holds a whole frame */
	do
		n = read(c->fd, c->in + c->in_len, WIRE_IN_CAP - c->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	c->in_len += (size_t)n;
	return (int)n;
}

static size_t frame_len(const unsigned char *h)
{
	return (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
}

int wire_next(struct wire_conn *c, uint8_t *type, const unsigned char **payload, size_t *len)
{
	size_t n;

	if (c->in_len < WIRE_HDR_LEN)
		return 0;
	n = frame_len(c->in);
	if (c->in[0] < WIRE_STDIN || c->in[0] > WIRE_ERROR || n > WIRE_MAX_FRAME)
		return -EPROTO;
	if (c->in_len < WIRE_HDR_LEN + n)
		return 0;
	*type = c->in[0];
	*payload = c->in + WIRE_HDR_LEN;
	*len = n;
	return 1;
}

void wire_consume(struct wire_conn *c)
{
	size_t n = WIRE_HDR_LEN + frame_len(c->in);

	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int wire_request_header(const unsigned char hdr[WIRE_REQUEST_HDR_LEN], uint32_t *ret_argc,
			uint32_t *ret_size)
{
	uint32_t argc = be32(hdr), size = be32(hdr + 4);

	if (argc < 1 || argc > WIRE_MAX_ARGS || size > WIRE_MAX_REQUEST || size < argc)
		return -E2BIG;
	*ret_argc = argc;
	*ret_size = size;
	return 0;
}

int wire_request_join(char *buf, uint32_t size, uint32_t argc)
{
	uint32_t nuls = 0;

	if (size == 0 || buf[size - 1] != '\0')
		return -EPROTO;
	for (uint32_t i = 0; i < size; i++)
		if (buf[i] == '\0') {
			nuls++;
			if (i + 1 < size)
				buf[i] = ' ';
		}
	return nuls == argc ? 0 : -EPROTO;
}
