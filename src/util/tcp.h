/* tcp.h - a TCP connect that gives up at a deadline. */
#ifndef SR_UTIL_TCP_H
#define SR_UTIL_TCP_H

#include <stdint.h>

struct addrinfo;

/* Connect to `ai` (blocking socket once connected, close-on-exec), giving up at `deadline`
 * (clock_mono_ms): an address nobody answers ARP for would otherwise block for seconds past
 * it.  The fd, or -1 with *ret_errno. */
int tcp_connect_until(const struct addrinfo *ai, int64_t deadline, int *ret_errno);

#endif
