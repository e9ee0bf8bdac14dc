/* fuzz_wire.c - the rsh wire format after the handshake (runtime/wire.c): the request the agent
 * reads (wire_request_header(), wire_request_join()) and the frames both sides read
 * (wire_fill(), wire_next(), wire_consume()), the input coming through a pipe as a peer's
 * bytes would.
 *
 * Beyond no crash and no leak:
 * - a request taken has a bounded argc and size, and joins into exactly its arguments with one
 *   space between each two (so no argument is lost or made up);
 * - every frame taken has a known type and a bounded length, and queued again with
 *   wire_queue() gives back the very bytes it came from, in order;
 * - the frames stop only at the end of the bytes, at a half frame, or at -EPROTO, and only
 *   where the next header is in fact bad.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "runtime/wire.h"
#include "util/xalloc.h"

static void check_request(const uint8_t *data, size_t size)
{
	uint32_t argc, nargs = 0, size_req;
	char *buf;
	int r;

	if (size < WIRE_REQUEST_HDR_LEN)
		return;
	r = wire_request_header(data, &argc, &size_req);
	if (r < 0) {
		FUZZ_CHECK(r == -E2BIG, "header: %d", r);
		return;
	}
	FUZZ_CHECK(argc >= 1 && argc <= WIRE_MAX_ARGS && size_req <= WIRE_MAX_REQUEST &&
		       size_req >= argc,
		   "header taken: argc %u, size %u", argc, size_req);
	/* the body: what follows the header, as long as the header says when there is enough */
	if (size - WIRE_REQUEST_HDR_LEN < size_req)
		return;
	buf = xmalloc(size_req + 1);
	memcpy(buf, data + WIRE_REQUEST_HDR_LEN, size_req);
	r = wire_request_join(buf, size_req, argc);
	if (r == 0) {
		const char *body = (const char *)data + WIRE_REQUEST_HDR_LEN;

		FUZZ_CHECK(strlen(buf) == size_req - 1, "joined to %zu bytes of %u", strlen(buf),
			   size_req);
		for (uint32_t i = 0; i < size_req; i++) {
			if (body[i] == '\0')
				nargs++;
			FUZZ_CHECK(buf[i] == (body[i]		 ? body[i]
					      : i + 1 < size_req ? ' '
								 : '\0'),
				   "byte %u joined wrong", i);
		}
		FUZZ_CHECK(nargs == argc, "%u arguments joined, %u said", nargs, argc);
	} else {
		FUZZ_CHECK(r == -EPROTO, "join: %d", r);
	}
	free(buf);
}

static void check_frames(const uint8_t *data, size_t size)
{
	struct wire_conn in, again;
	size_t off = 0;
	int p[2], r;

	if (size > 65536) /* a pipe's buffer: written whole before any read */
		return;
	FUZZ_CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
	FUZZ_CHECK(write(p[1], data, size) == (ssize_t)size, "write");
	close(p[1]);
	wire_conn_init(&in, p[0]);
	wire_conn_init(&again, -1);
	for (;;) {
		uint8_t type;
		const unsigned char *payload;
		size_t len;

		r = wire_next(&in, &type, &payload, &len);
		if (r == 1) {
			FUZZ_CHECK(type >= WIRE_STDIN && type <= WIRE_ERROR &&
				       len <= WIRE_MAX_FRAME,
				   "frame type %u, len %zu", type, len);
			wire_queue(&again, type, payload, len);
			FUZZ_CHECK(
			    again.out_len - again.out_off == WIRE_HDR_LEN + len &&
				!memcmp(again.out + again.out_off, data + off, WIRE_HDR_LEN + len),
			    "frame at %zu does not queue back to its bytes", off);
			again.out_off = again.out_len;
			off += WIRE_HDR_LEN + len;
			wire_consume(&in);
			continue;
		}
		if (r < 0) {
			FUZZ_CHECK(r == -EPROTO && size - off >= WIRE_HDR_LEN, "%d at %zu", r, off);
			break;
		}
		r = wire_fill(&in);
		if (r > 0)
			continue;
		FUZZ_CHECK(r == 0, "fill: %d", r);
		/* the end: what is left is less than a frame */
		FUZZ_CHECK(off + in.in_len == size, "%zu + %zu of %zu bytes", off, in.in_len, size);
		break;
	}
	close(p[0]);
	wire_conn_release(&in);
	wire_conn_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_frames(data, size);
	return 0;
}
