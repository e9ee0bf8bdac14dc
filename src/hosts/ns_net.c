/* ns_net.c - the host's side of its private network, set up by its init from inside.
 *
 * The parent makes each host's network namespace with its veth pair in it (the peer born
 * there as eth0) before the host starts; the host's init joins it, brings lo up, gives eth0 its
 * address and brings it up.  Done here rather than by the parent, the work of N hosts runs on
 * every core at once instead of one after another.
 *
 * Init may only make async-signal-safe calls (ns_init.c), so this is rtnetlink by hand: a
 * raw socket, requests built with util/nlmsg.h's buffer functions (pure, no allocation) in static
 * buffers, a positive errno back. */
#include "hosts/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/nlmsg.h"

/* The kernel gives lo this index in every network namespace. */
#define LOOPBACK_IFINDEX 1

/* Init is single-threaded: one request and one reply buffer serve every call. */
static char req_buf[1024] __attribute__((aligned(8)));
static char reply_buf[32768] __attribute__((aligned(8)));
static uint32_t seq;

int ns_net_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return fd < 0 ? -errno : fd;
}

static struct nlmsghdr *req_init(uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(req_buf, 0, sizeof(req_buf));
	nlh = nlmsg_put_header(req_buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++seq;
	return nlh;
}

/* Send, then read until the kernel's ack: 0, or a positive errno.  An RTM_NEWLINK in the reply
 * (a GETLINK's answer) gives its ifindex in *ret_index. */
static int call(int fd, struct nlmsghdr *nlh, int *ret_index)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return errno;
	for (;;) {
		ssize_t n = recv(fd, reply_buf, sizeof(reply_buf), 0);
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		len = (int)n;
		for (const struct nlmsghdr *r = (const struct nlmsghdr *)reply_buf;
		     nlmsg_ok(r, len); r = nlmsg_next(r, &len)) {
			if (r->nlmsg_seq != seq)
				continue;
			if (r->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = nlmsg_payload(r);

				if (nlmsg_payload_len(r) < sizeof(*e))
					return EPROTO;
				return e->error <= 0 && e->error > -4096 ? -e->error : EPROTO;
			}
			if (r->nlmsg_type == RTM_NEWLINK && ret_index &&
			    nlmsg_payload_len(r) >= sizeof(struct ifinfomsg)) {
				const struct ifinfomsg *ifi = nlmsg_payload(r);

				*ret_index = ifi->ifi_index;
			}
		}
	}
}

static int link_up(int fd, int index)
{
	struct nlmsghdr *nlh = req_init(RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return call(fd, nlh, NULL);
}

int ns_net_lo_up(int fd, char *what, size_t len)
{
	int e = link_up(fd, LOOPBACK_IFINDEX);
	size_t pos = 0;

	if (e)
		ns_str_add(what, len, &pos, "set lo up");
	return e;
}

int ns_net_iface_up(int fd, const struct ns_plan *p, char *what, size_t len)
{
	struct nlmsghdr *nlh = req_init(RTM_GETLINK, 0);
	struct ifinfomsg *ifi = nlmsg_put_extra_header(nlh, sizeof(*ifi));
	uint32_t mask = p->net_prefix ? ~0U << (32 - p->net_prefix) : 0;
	uint32_t local = htonl(p->net_addr), brd = htonl(p->net_addr | ~mask);
	struct ifaddrmsg *ifa;
	size_t pos = 0;
	int e, index = 0;

	ifi->ifi_family = AF_UNSPEC;
	(void)nlattr_put_check(nlh, sizeof(req_buf), IFLA_IFNAME, strlen(p->ifname) + 1, p->ifname);
	e = call(fd, nlh, &index);
	if (!e && index <= 0)
		e = ENODEV;
	if (e) {
		ns_str_add(what, len, &pos, "find ");
		ns_str_add(what, len, &pos, p->ifname);
		return e;
	}

	nlh = req_init(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)p->net_prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	(void)nlattr_put_check(nlh, sizeof(req_buf), IFA_LOCAL, sizeof(local), &local);
	(void)nlattr_put_check(nlh, sizeof(req_buf), IFA_ADDRESS, sizeof(local), &local);
	(void)nlattr_put_check(nlh, sizeof(req_buf), IFA_BROADCAST, sizeof(brd), &brd);
	e = call(fd, nlh, NULL);
	if (e) {
		ns_str_add(what, len, &pos, "add the address of ");
		ns_str_add(what, len, &pos, p->ifname);
		return e;
	}
	e = link_up(fd, index);
	if (e) {
		ns_str_add(what, len, &pos, "set ");
		ns_str_add(what, len, &pos, p->ifname);
		ns_str_add(what, len, &pos, " up");
	}
	return e;
}
