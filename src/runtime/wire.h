/* wire.h - the byte format between `sagerun container rsh` (rsh.c) and the agent (agent.c).
 *
 * One TCP connection per remote command:
 *
 *   1. server -> client  nonce_s[32]                          random, fresh per connection
 *   2. client -> server  mac_c[32] nonce_c[32]                mac_c = HMAC(secret, "sagerun-rsh-v1"
 *                                                               "client" || nonce_s || nonce_c)
 *   3. server -> client  mac_s[32]                            mac_s = HMAC(secret, "sagerun-rsh-v1"
 *                                                               "server" || nonce_c || nonce_s)
 *      A wrong mac_c makes the server close without a word; a wrong mac_s makes the client
 *      give up before it sends anything, so a command never reaches an impostor.  The labels
 *      differ per direction so one side's answer can never be replayed as the other's.
 *   4. client -> server  request: argc u32 BE, size u32 BE, then `size` bytes holding argc
 *      NUL-terminated strings (argc <= WIRE_MAX_ARGS, size <= WIRE_MAX_REQUEST).
 *   5. both ways, frames: type u8, len u32 BE, payload[len <= WIRE_MAX_FRAME].
 *      client -> server: STDIN, STDIN_EOF.  server -> client: STDOUT, STDERR, then exactly one
 *      EXIT (payload: the waitpid status, u32 BE) or ERROR (payload: a message), then close.
 *
 * The secret itself never crosses the wire.  Everything here is transport only: no policy.
 */
#ifndef SR_RUNTIME_WIRE_H
#define SR_RUNTIME_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_NONCE_LEN	 32
#define WIRE_MAC_LEN	 32
#define WIRE_SECRET_LEN	 32
#define WIRE_MAX_ARGS	 4096
#define WIRE_MAX_REQUEST (1u << 20)
#define WIRE_MAX_FRAME	 (64u * 1024)
#define WIRE_HDR_LEN	 5
/* How long either side waits for the other during steps 1-4. */
#define WIRE_HANDSHAKE_MS 10000

enum wire_type {
	WIRE_STDIN = 1,
	WIRE_STDIN_EOF = 2,
	WIRE_STDOUT = 3,
	WIRE_STDERR = 4,
	WIRE_EXIT = 5,
	WIRE_ERROR = 6,
};

enum wire_role {
	WIRE_CLIENT,
	WIRE_SERVER,
};

/* HMAC(secret, "sagerun-rsh-v1" || role label || first || second). */
void wire_mac(const unsigned char secret[WIRE_SECRET_LEN], enum wire_role role,
	      const unsigned char first[WIRE_NONCE_LEN], const unsigned char second[WIRE_NONCE_LEN],
	      unsigned char out[WIRE_MAC_LEN]);

/* Exactly `len` bytes, waiting at most `timeout_ms` overall (-1: forever) on a socket that may
 * be non-blocking.  0, -ETIMEDOUT, -ECONNRESET (EOF while reading) or another -errno. */
int wire_read_exact(int fd, void *buf, size_t len, int timeout_ms);
int wire_write_exact(int fd, const void *buf, size_t len, int timeout_ms);

/* Step 4 on the agent's side.  The request's header: its argc and size, -E2BIG when either
 * is out of bounds (so the size is safe to allocate). */
#define WIRE_REQUEST_HDR_LEN 8
int wire_request_header(const unsigned char hdr[WIRE_REQUEST_HDR_LEN], uint32_t *ret_argc,
			uint32_t *ret_size);
/* Its `size` bytes in `buf` (one more allocated), checked to be `argc` NUL-terminated strings
 * and joined in place with spaces into one NUL-terminated command (ssh semantics); -EPROTO
 * when they are not. */
int wire_request_join(char *buf, uint32_t size, uint32_t argc);

/* A connection's buffers for the frame phase: bytes read but not yet parsed, and frames
 * queued but not yet written.  The socket is non-blocking; the owner polls it. */
struct wire_conn {
	int fd;
	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_off, out_len, out_cap;
};

void wire_conn_init(struct wire_conn *c, int fd);
void wire_conn_release(struct wire_conn *c);
/* Queue one frame (len <= WIRE_MAX_FRAME). */
void wire_queue(struct wire_conn *c, enum wire_type type, const void *data, size_t len);
/* Room for one more full frame before the caller should stop producing and wait for POLLOUT:
 * the queue stays bounded (about 4 frames). */
bool wire_out_has_room(const struct wire_conn *c);
bool wire_out_pending(const struct wire_conn *c);
/* Write what the socket takes now.  0 or -errno (-EPIPE, -ECONNRESET: the peer is gone). */
int wire_flush(struct wire_conn *c);
/* Read what is there.  >0 bytes, 0 on EOF, -EAGAIN, or -errno. */
int wire_fill(struct wire_conn *c);
/* The next complete frame: 1 (type, payload and len set; valid until wire_consume), 0 when
 * more bytes are needed, -EPROTO for a bad type or length. */
int wire_next(struct wire_conn *c, uint8_t *type, const unsigned char **payload, size_t *len);
void wire_consume(struct wire_conn *c);

#endif
