#include "hosts/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/nl.h"

#define NS_SELF "/proc/thread-self/ns/net"
/* The kernel gives lo this index in every network namespace (include/net/net_namespace.h). */
#define LOOPBACK_IFINDEX 1

static uint32_t prefix_mask(unsigned prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

/* Usable host addresses in net/prefix: all but the network and broadcast addresses. */
static uint64_t subnet_room(unsigned prefix)
{
	return ((uint64_t)1 << (32 - prefix)) - 2;
}

char *netns_addr_str(uint32_t addr, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
		 addr & 0xff);
	return buf;
}

int netns_parse_subnet(const char *cidr, uint32_t *ret_net, unsigned *ret_prefix,
		       struct sr_error *err)
{
	char host[INET_ADDRSTRLEN];
	struct in_addr in;
	const char *slash = strchr(cidr, '/');
	const char *p;
	unsigned prefix = 0;

	/* inet_pton() rather than inet_aton(): no "10.1" shorthands, no octal, no hex. */
	if (!slash || (size_t)(slash - cidr) >= sizeof(host))
		goto syntax;
	memcpy(host, cidr, (size_t)(slash - cidr));
	host[slash - cidr] = '\0';
	if (inet_pton(AF_INET, host, &in) != 1)
		goto syntax;
	p = slash + 1;
	if (!*p || strlen(p) > 2 || (p[0] == '0' && p[1]))
		goto syntax;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto syntax;
		prefix = prefix * 10 + (unsigned)(*p - '0');
	}
	if (prefix < 8 || prefix > 30)
		return sr_err(err, -EINVAL, "invalid subnet '%s': prefix length must be 8 to 30",
			      cidr);

	uint32_t addr = ntohl(in.s_addr);
	uint32_t net = addr & prefix_mask(prefix);
	if (net != addr) {
		char buf[INET_ADDRSTRLEN];
		sr_err(err, -EINVAL, "invalid subnet '%s': host bits are set", cidr);
		return sr_err_hint(err, "did you mean %s/%u?",
				   netns_addr_str(net, buf, sizeof(buf)), prefix);
	}
	*ret_net = net;
	*ret_prefix = prefix;
	return 0;

syntax:
	return sr_err(err, -EINVAL, "invalid subnet '%s': expected A.B.C.D/P, like %s", cidr,
		      NETNS_DEFAULT_SUBNET);
}

uint32_t netns_host_addr(const struct netns_job *nj, size_t index)
{
	return nj->net + (uint32_t)index + 1;
}

/* A new network namespace, returned as an fd, without moving the calling thread: unshare()
 * is the only way to make one without a child process, so the thread steps in, takes an fd
 * and steps straight back, to `home` (-1: where it was).  If it cannot step back it reports
 * that: nothing may run in the wrong namespace. */
static int netns_new(int home, int *ret_fd, struct sr_error *err)
{
	_cleanup_close_ int orig = -1;
	_cleanup_close_ int fd = -1;
	int r, open_errno;

	if (home < 0) {
		orig = open(NS_SELF, O_RDONLY | O_CLOEXEC);
		if (orig < 0)
			return sr_err_errno(err, errno, "open %s", NS_SELF);
	}
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		sr_err_errno(err, -r, "create network namespace");
		if (r == -EPERM)
			sr_err_hint(err, "private host networks need root (CAP_SYS_ADMIN)");
		return r;
	}
	fd = open(NS_SELF, O_RDONLY | O_CLOEXEC);
	open_errno = errno;
	if (setns(home >= 0 ? home : orig, CLONE_NEWNET) < 0) {
		r = -errno;
		return sr_err_errno(err, -r, "return to sagerun's network namespace");
	}
	if (fd < 0)
		return sr_err_errno(err, open_errno, "open new network namespace");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int bridge_create(struct nl *nl, int *ret_index, struct sr_error *err)
{
	struct nl_msg m;
	struct nlattr *info;
	int r, index;

	nl_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	nl_attr_put_str(&m, IFLA_IFNAME, NETNS_BRIDGE);
	nl_nest_start(&m, IFLA_LINKINFO, &info);
	nl_attr_put_str(&m, IFLA_INFO_KIND, "bridge");
	nl_nest_end(&m, info);
	r = nl_call(nl, &m, NULL, NULL, err);
	if (r < 0) {
		sr_err_wrap(err, "create bridge %s", NETNS_BRIDGE);
		if (r == -EOPNOTSUPP)
			sr_err_hint(err, "load the bridge kernel module: modprobe bridge");
		return r;
	}
	r = nl_link_index(nl, NETNS_BRIDGE, &index, err);
	if (r >= 0)
		r = nl_link_up(nl, index, err);
	if (r < 0)
		return sr_err_wrap(err, "set bridge %s up", NETNS_BRIDGE);
	*ret_index = index;
	return 0;
}

int netns_job_plan(struct netns_job *nj, const char *cidr, size_t n_hosts, struct sr_error *err)
{
	uint32_t net;
	unsigned prefix;
	int r;

	/* A failed plan leaves a destroyable object, never one holding fd 0. */
	*nj = (struct netns_job){.ns_fd = -1};

	r = netns_parse_subnet(cidr ? cidr : NETNS_DEFAULT_SUBNET, &net, &prefix, err);
	if (r < 0)
		return r;
	/* The default /24 holds 254 hosts; a bigger job (up to JOB_HOSTS_MAX) gets the same
	 * network widened just enough, since the user asked for no particular subnet. */
	while (!cidr && n_hosts > subnet_room(prefix) && prefix > 8) {
		prefix--;
		net &= prefix_mask(prefix);
	}
	if (n_hosts > subnet_room(prefix))
		return sr_err(err, -EINVAL, "--subnet %s: room for %llu hosts, the job has %zu",
			      cidr ? cidr : NETNS_DEFAULT_SUBNET,
			      (unsigned long long)subnet_room(prefix), n_hosts);
	nj->net = net;
	nj->prefix = prefix;
	return 0;
}

int netns_job_make(struct netns_job *nj, struct sr_error *err)
{
	_cleanup_nl_ struct nl *nl = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (nj->ns_fd >= 0)
		return sr_err(err, -EALREADY, "the job network exists already");
	if (nj->stay) {
		/* The thread moves in for good: it could not come back (netns.h). */
		if (unshare(CLONE_NEWNET) < 0)
			return sr_err_errno(err, errno, "create network namespace");
		fd = open(NS_SELF, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sr_err_errno(err, errno, "open %s", NS_SELF);
		r = nl_open(&nl, err);
	} else {
		r = netns_new(-1, &fd, err);
		if (r < 0)
			return r;
		r = nl_open_in(fd, &nl, err);
	}
	if (r < 0)
		return sr_err_wrap(err, "job network");
	r = nl_link_up(nl, LOOPBACK_IFINDEX, err);
	if (r < 0)
		return sr_err_wrap(err, "job network: set lo up");
	r = bridge_create(nl, &nj->bridge, err);
	if (r < 0)
		return sr_err_wrap(err, "job network");

	nj->nl = TAKE_PTR(nl);
	nj->ns_fd = TAKE_FD(fd);
	return 0;
}

int netns_job_create(struct netns_job *nj, const char *cidr, size_t n_hosts, struct sr_error *err)
{
	int r = netns_job_plan(nj, cidr, n_hosts, err);

	return r < 0 ? r : netns_job_make(nj, err);
}

int netns_host_new(const struct netns_job *nj, int *ret_fd, struct sr_error *err)
{
	if (nj->stay && nj->ns_fd < 0)
		return sr_err(err, -EBADF, "the job network does not exist");
	return netns_new(nj->stay ? nj->ns_fd : -1, ret_fd, err);
}

void netns_job_destroy(struct netns_job *nj)
{
	if (!nj)
		return;
	nl_close(nj->nl);
	nj->nl = NULL;
	if (nj->ns_fd < 0)
		return;
	close(nj->ns_fd);
	nj->ns_fd = -1;
}

/* Refuse anything but a network namespace fd up front: the kernel's EINVAL or EBADF from
 * deep inside the veth request would not say which fd was wrong. */
static int check_netns_fd(int fd, struct sr_error *err)
{
	int type = fd < 0 ? -1 : ioctl(fd, NS_GET_NSTYPE);

	if (fd < 0 || (type < 0 && errno == EBADF))
		return sr_err(err, -EBADF, "host namespace fd %d is not open", fd);
	if (type < 0 && errno == ENOTTY)
		return sr_err(err, -EINVAL, "host namespace fd %d is not a namespace", fd);
	if (type < 0) /* kernels before 4.11: let the kernel judge the fd when it is used */
		return 0;
	if (type != CLONE_NEWNET)
		return sr_err(err, -EINVAL, "host namespace fd %d is not a network namespace", fd);
	return 0;
}

/* Locally administered, unicast, and unique within the job: 02:00 then the IPv4 address. */
static void host_mac(uint32_t addr, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(addr >> 24);
	mac[3] = (uint8_t)(addr >> 16);
	mac[4] = (uint8_t)(addr >> 8);
	mac[5] = (uint8_t)addr;
}

/* One request, as systemd-nspawn's add_veth: the peer is born in the host's namespace with
 * its name and MAC, so nothing is ever moved and no name is ever taken in between; both ends
 * are born up and the bridge end already in br0 (rtnetlink applies IFLA_MASTER and the flags
 * of a new link), so a host costs half the round trips of one call a step. */
static int veth_create(struct nl *nl, const char *name, int master, const char *peer,
		       int peer_ns_fd, const uint8_t mac[6], struct sr_error *err)
{
	struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
	struct nlattr *linkinfo, *data, *peer_nest;
	struct ifinfomsg *ifi;
	struct nl_msg m;

	ifi = nl_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	nl_attr_put_str(&m, IFLA_IFNAME, name);
	nl_attr_put_u32(&m, IFLA_MASTER, (uint32_t)master);
	nl_nest_start(&m, IFLA_LINKINFO, &linkinfo);
	nl_attr_put_str(&m, IFLA_INFO_KIND, "veth");
	nl_nest_start(&m, IFLA_INFO_DATA, &data);
	nl_nest_start(&m, VETH_INFO_PEER, &peer_nest);
	nl_msg_put_raw(&m, &peer_ifi, sizeof(peer_ifi)); /* VETH_INFO_PEER opens with one */
	nl_attr_put_str(&m, IFLA_IFNAME, peer);
	nl_attr_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)peer_ns_fd);
	nl_attr_put(&m, IFLA_ADDRESS, 6, mac);
	nl_nest_end(&m, peer_nest);
	nl_nest_end(&m, data);
	nl_nest_end(&m, linkinfo);
	return nl_call(nl, &m, NULL, NULL, err);
}

static int addr_add(struct nl *nl, int ifindex, uint32_t addr, unsigned prefix,
		    struct sr_error *err)
{
	struct nl_msg m;
	struct ifaddrmsg *ifa =
	    nl_msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	uint32_t local = htonl(addr);
	uint32_t brd = htonl(addr | ~prefix_mask(prefix));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	nl_attr_put(&m, IFA_LOCAL, sizeof(local), &local);
	nl_attr_put(&m, IFA_ADDRESS, sizeof(local), &local);
	nl_attr_put(&m, IFA_BROADCAST, sizeof(brd), &brd);
	return nl_call(nl, &m, NULL, NULL, err);
}

/* The host's side, in its namespace: lo up, the address, then ifname up (a veth peer cannot
 * be born up: veth_open() refuses, ENOTCONN, until the pair is joined).  lo is always
 * ifindex 1 in a new namespace. */
static int host_side_setup(int host_ns_fd, const char *ifname, uint32_t addr, unsigned prefix,
			   struct sr_error *err)
{
	_cleanup_nl_ struct nl *nl = NULL;
	char a[INET_ADDRSTRLEN];
	int r, index;

	r = nl_open_in(host_ns_fd, &nl, err);
	if (r < 0)
		return sr_err_wrap(err, "host namespace");
	r = nl_link_up(nl, LOOPBACK_IFINDEX, err);
	if (r < 0)
		return sr_err_wrap(err, "set lo up");
	r = nl_link_index(nl, ifname, &index, err);
	if (r < 0)
		return sr_err_wrap(err, "find %s", ifname);
	r = addr_add(nl, index, addr, prefix, err);
	if (r < 0)
		return sr_err_wrap(err, "add address %s/%u to %s",
				   netns_addr_str(addr, a, sizeof(a)), prefix, ifname);
	r = nl_link_up(nl, index, err);
	if (r < 0)
		return sr_err_wrap(err, "set %s up", ifname);
	return 0;
}

static int attach(const struct netns_job *nj, int host_ns_fd, size_t index, const char *ifname,
		  bool host_side, struct sr_error *err)
{
	uint32_t addr = netns_host_addr(nj, index);
	char vh[32]; /* index < 2^24 (prefix >= 8), so "vh<index>" fits IFNAMSIZ */
	uint8_t mac[6];
	int r;

	if (nj->ns_fd < 0 || !nj->nl)
		return sr_err(err, -EBADF, "the job network does not exist");
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/') ||
	    strchr(ifname, ' '))
		return sr_err(err, -EINVAL, "invalid interface name '%s' (1 to %d characters)",
			      ifname ? ifname : "", IFNAMSIZ - 1);
	if (index >= subnet_room(nj->prefix))
		return sr_err(err, -ERANGE, "no address left in the /%u subnet", nj->prefix);
	r = check_netns_fd(host_ns_fd, err);
	if (r < 0)
		return r;
	snprintf(vh, sizeof(vh), "vh%zu", index);
	host_mac(addr, mac);

	r = veth_create(nj->nl, vh, nj->bridge, ifname, host_ns_fd, mac, err);
	if (r < 0)
		return sr_err_wrap(err, "create veth %s/%s", vh, ifname);
	if (!host_side)
		return 0;
	return host_side_setup(host_ns_fd, ifname, addr, nj->prefix, err);
}

int netns_host_attach(const struct netns_job *nj, int host_ns_fd, size_t index, const char *ifname,
		      struct sr_error *err)
{
	int r = attach(nj, host_ns_fd, index, ifname, true, err);

	if (r < 0)
		return sr_err_wrap(err, "attach host %zu", index);
	return 0;
}

int netns_host_unlink(const struct netns_job *nj, size_t index, struct sr_error *err)
{
	struct ifinfomsg *ifi;
	struct nl_msg m;
	char vh[32];
	int r;

	if (nj->ns_fd < 0 || !nj->nl)
		return sr_err(err, -EBADF, "the job network does not exist");
	snprintf(vh, sizeof(vh), "vh%zu", index);
	ifi = nl_msg_init(&m, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_put_str(&m, IFLA_IFNAME, vh);
	r = nl_call(nj->nl, &m, NULL, NULL, err);
	if (r == -ENODEV) {
		sr_err_clear(err);
		return 0;
	}
	return r < 0 ? sr_err_wrap(err, "delete veth %s", vh) : 0;
}

int netns_host_link(const struct netns_job *nj, int host_ns_fd, size_t index, const char *ifname,
		    struct sr_error *err)
{
	int r = attach(nj, host_ns_fd, index, ifname, false, err);

	if (r < 0)
		return sr_err_wrap(err, "attach host %zu", index);
	return 0;
}
