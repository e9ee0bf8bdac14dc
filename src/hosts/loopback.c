/* loopback.c - --network host: a block of loopback addresses per job (loopback.h). */
#include "hosts/loopback.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"
#include "util/xalloc.h"

int loopback_claim(unsigned *ret_block, struct sr_error *err)
{
	for (unsigned b = LOOPBACK_FIRST_BLOCK; b <= LOOPBACK_LAST_BLOCK; b++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		/* sun_path[0] stays '\0': an abstract name, the rest of the path. */
		int n =
		    snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, LOOPBACK_CLAIM_NAME "%u", b);
		socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return sr_err_errno(err, errno,
					    "--network host: a socket to claim "
					    "loopback addresses");
		if (bind(fd, (const struct sockaddr *)&sa, len) == 0) {
			*ret_block = b;
			return fd;
		}
		int e = errno;

		close(fd);
		if (e != EADDRINUSE)
			return sr_err_errno(err, e, "--network host: claim 127.%u.x.y", b);
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
