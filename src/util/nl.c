#include "util/nl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/nlmsg.h"
#include "util/xalloc.h"

/* Dump-sized: one RTM_NEWLINK reply with all its attributes can pass a page. */
#define NL_RECV_MAX 32768

struct nl {
	int fd;
	uint32_t portid;
	uint32_t seq;
	char ext_msg[256]; /* the last error's extended-ack text, "" when none */
	char buf[NL_RECV_MAX] __attribute__((aligned(8)));
};

int nl_open(struct nl **ret, struct sr_error *err)
{
	struct sockaddr_nl addr = {.nl_family = AF_NETLINK};
	socklen_t alen = sizeof(addr);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int one = 1;
	int r;

	if (fd < 0)
		return sr_err_errno(err, errno, "open netlink socket");
	/* Port id 0: the kernel picks one; read it back to recognise our replies. */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &alen) < 0) {
		r = -errno;
		close(fd);
		return sr_err_errno(err, -r, "bind netlink socket");
	}
	/* Best effort: the kernel's own words for a refusal ("Unknown device type"), and acks
	 * without a copy of our request.  Old kernels lack them; errnos still arrive. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	struct nl *nl = xcalloc(1, sizeof(*nl));
	nl->fd = fd;
	nl->portid = addr.nl_pid;
	nl->seq = 0;
	*ret = nl;
	return 0;
}

int nl_open_in(int ns_fd, struct nl **ret, struct sr_error *err)
{
	_cleanup_close_ int orig = -1;
	struct nl *nl = NULL;
	int r;

	orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return sr_err_errno(err, errno, "open /proc/thread-self/ns/net");
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		r = -errno;
		return sr_err_errno(err, -r, "enter network namespace (fd %d)", ns_fd);
	}
	r = nl_open(&nl, err);
	/* Back home before anything else, error or not: everything after this call (sockets,
	 * links, the jobs of other engineers' code) assumes sagerun's own namespace. */
	if (setns(orig, CLONE_NEWNET) < 0) {
		int e = -errno;
		nl_close(nl);
		return sr_err_errno(err, -e, "return to sagerun's network namespace");
	}
	if (r < 0)
		return r;
	*ret = nl;
	return 0;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	close(nl->fd);
	free(nl);
}

void *nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, size_t hdr_len)
{
	memset(m->buf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(hdr_len));
	m->error = 0;
	m->nlh = nlmsg_put_header(m->buf);
	m->nlh->nlmsg_type = type;
	m->nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlmsg_put_extra_header(m->nlh, hdr_len);
}

static int msg_fail(struct nl_msg *m)
{
	if (!m->error)
		m->error = -EMSGSIZE;
	return -EMSGSIZE;
}

int nl_msg_put_raw(struct nl_msg *m, const void *data, size_t len)
{
	if (m->error || len > sizeof(m->buf) ||
	    NLMSG_ALIGN(m->nlh->nlmsg_len) + NLMSG_ALIGN(len) > sizeof(m->buf))
		return msg_fail(m);
	char *tail = nlmsg_tail(m->nlh);
	memset(tail, 0, NLMSG_ALIGN(len));
	memcpy(tail, data, len);
	m->nlh->nlmsg_len = (uint32_t)(NLMSG_ALIGN(m->nlh->nlmsg_len) + NLMSG_ALIGN(len));
	return 0;
}

int nl_attr_put(struct nl_msg *m, uint16_t type, size_t len, const void *data)
{
	if (m->error || len > UINT16_MAX ||
	    !nlattr_put_check(m->nlh, sizeof(m->buf), type, len, data))
		return msg_fail(m);
	return 0;
}

int nl_attr_put_str(struct nl_msg *m, uint16_t type, const char *s)
{
	return nl_attr_put(m, type, strlen(s) + 1, s);
}

int nl_attr_put_u32(struct nl_msg *m, uint16_t type, uint32_t v)
{
	return nl_attr_put(m, type, sizeof(v), &v);
}

int nl_nest_start(struct nl_msg *m, uint16_t type, struct nlattr **ret_nest)
{
	struct nlattr *nest = NULL;

	if (!m->error)
		nest = nlattr_nest_start_check(m->nlh, sizeof(m->buf), type);
	if (!nest) {
		*ret_nest = NULL;
		return msg_fail(m);
	}
	*ret_nest = nest;
	return 0;
}

void nl_nest_end(struct nl_msg *m, struct nlattr *nest)
{
	if (nest && !m->error)
		nlattr_nest_end(m->nlh, nest);
}

/* The extended-ack TLVs after struct nlmsgerr: keep NLMSGERR_ATTR_MSG, the kernel's text. */
static void read_ext_ack(struct nl *nl, const struct nlmsghdr *nlh, const struct nlmsgerr *e)
{
	size_t off = sizeof(*e);
	const struct nlattr *a;
	int left;

	nl->ext_msg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg); /* our request, echoed back */
	if (off > nlmsg_payload_len(nlh))
		return;
	for (a = nlattr_first(nlh, off, &left); nlattr_ok(a, left); a = nlattr_next(a, &left)) {
		if (nlattr_type(a) != NLMSGERR_ATTR_MSG || !nlattr_str(a))
			continue;
		snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%s", nlattr_str(a));
	}
}

int nl_call(struct nl *nl, struct nl_msg *m, int (*cb)(const struct nlmsghdr *nlh, void *data),
	    void *data, struct sr_error *err)
{
	int cb_error = 0;

	if (m->error)
		return sr_err(err, m->error, "netlink request too large (over %d bytes)",
			      NL_MSG_MAX);
	m->nlh->nlmsg_seq = ++nl->seq;
	{
		struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

		if (sendto(nl->fd, m->nlh, m->nlh->nlmsg_len, 0, (struct sockaddr *)&kernel,
			   sizeof(kernel)) < 0)
			return sr_err_errno(err, errno, "netlink send");
	}

	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = {nl->buf, sizeof(nl->buf)};
		struct msghdr mh = {.msg_name = &from,
				    .msg_namelen = sizeof(from),
				    .msg_iov = &iov,
				    .msg_iovlen = 1};
		ssize_t n = recvmsg(nl->fd, &mh, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sr_err_errno(err, errno, "netlink receive");
		}
		if (mh.msg_flags & MSG_TRUNC)
			return sr_err(err, -ENOSPC, "netlink receive: a reply larger than %d bytes",
				      NL_RECV_MAX);
		if (from.nl_pid != 0)
			continue; /* not from the kernel */
		int len = (int)n;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
		     nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len)) {
			/* Replies to an earlier, abandoned request (or not from the kernel) are
			 * not ours to read. */
			if (nlh->nlmsg_seq != nl->seq ||
			    (nlh->nlmsg_pid && nlh->nlmsg_pid != nl->portid))
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = nlmsg_payload(nlh);
				if (nlmsg_payload_len(nlh) < sizeof(*e))
					return sr_err(err, -EPROTO,
						      "netlink: truncated error reply");
				if (e->error > 0 || e->error < -4095)
					return sr_err(err, -EPROTO, "netlink: bad error code %d",
						      e->error);
				if (e->error == 0) {
					if (cb_error < 0)
						return cb_error;
					return 0;
				}
				read_ext_ack(nl, nlh, e);
				if (nl->ext_msg[0])
					return sr_err(err, e->error, "%s (%s)", strerror(-e->error),
						      nl->ext_msg);
				return sr_err(err, e->error, "%s", strerror(-e->error));
			}
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_NOOP)
				continue;
			if (cb && cb_error == 0)
				cb_error = cb(nlh, data);
		}
	}
}

struct link_index {
	int index;
	bool found;
};

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_index *li = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlmsg_payload_len(nlh) < sizeof(struct ifinfomsg))
		return 0;
	const struct ifinfomsg *ifi = nlmsg_payload(nlh);
	li->index = ifi->ifi_index;
	li->found = true;
	return 0;
}

int nl_link_index(struct nl *nl, const char *name, int *ret_index, struct sr_error *err)
{
	struct link_index li = {0};
	struct nl_msg m;
	int r;

	if (strlen(name) >= IFNAMSIZ)
		return sr_err(err, -ENAMETOOLONG, "link name '%s' longer than %d characters", name,
			      IFNAMSIZ - 1);
	nl_msg_init(&m, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
	nl_attr_put_str(&m, IFLA_IFNAME, name);
	nl_attr_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = nl_call(nl, &m, link_index_cb, &li, err);
	if (r < 0)
		return r;
	if (!li.found || li.index <= 0)
		return sr_err(err, -ENODEV, "%s", strerror(ENODEV));
	*ret_index = li.index;
	return 0;
}

int nl_link_up(struct nl *nl, int ifindex, struct sr_error *err)
{
	struct nl_msg m;
	struct ifinfomsg *ifi = nl_msg_init(&m, RTM_SETLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_call(nl, &m, NULL, NULL, err);
}
