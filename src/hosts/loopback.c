/* loopback.c - --network host: a block of loopback addresses per job (loopback.h). */
#include "hosts/loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/error.h"
#include "util/xalloc.h"

int loopback_claim(unsigned *ret_block, struct sr_error *err)
{
	for (unsigned b = LOOPBACK_FIRST_BLOCK; b <= LOOPBACK_LAST_BLOCK; b++) {
		struct sockaddr_in sa = {
		    .sin_family = AF_INET,
		    .sin_port = htons(LOOPBACK_CLAIM_PORT),
		    .sin_addr.s_addr = htonl((uint32_t)127 << 24 | (uint32_t)b << 16),
		};
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return sr_err_errno(err, errno,
					    "--network host: a socket to claim "
					    "loopback addresses");
		/* No SO_REUSEADDR: a second bind at the same address and port must fail. */
		if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
			*ret_block = b;
			return fd;
		}
		int e = errno;

		close(fd);
		if (e != EADDRINUSE)
			return sr_err_errno(err, e, "--network host: claim 127.%u.0.0:%d", b,
					    LOOPBACK_CLAIM_PORT);
	}
	sr_err(err, -EADDRINUSE,
	       "--network host: every block of loopback addresses (127.%d-%d.x.y) is held by "
	       "another job",
	       LOOPBACK_FIRST_BLOCK, LOOPBACK_LAST_BLOCK);
	return sr_err_hint(err, "wait for a job to end, or leave out --network host (each job "
				"then has a network of its own)");
}

char *loopback_host_addr(unsigned block, size_t index)
{
	return xasprintf("127.%u.%zu.%zu", block, (index + 1) / 256, (index + 1) % 256);
}
