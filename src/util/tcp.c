#include "util/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"

int tcp_connect_until(const struct addrinfo *ai, int64_t deadline, int *ret_errno)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	socklen_t sl = sizeof(int);
	int e = 0;

	if (fd < 0) {
		*ret_errno = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		e = errno;
		if (e == EINPROGRESS) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			int64_t left = deadline - clock_mono_ms();
			int n;

			do
				n = poll(&pf, 1, left > 0 ? (int)left : 0);
			while (n < 0 && errno == EINTR);
			e = ETIMEDOUT;
			if (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
				e = errno;
		}
	}
	if (e) {
		*ret_errno = e;
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}
