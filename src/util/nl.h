/* nl.h - a small rtnetlink helper over util/nlmsg.h (bubblewrap: network.c; systemd:
 * nspawn-network.c).
 *
 *   _cleanup_nl_ struct nl *nl = NULL;
 *   struct nl_msg m;
 *   struct ifinfomsg *ifi;
 *
 *   r = nl_open_in(ns_fd, &nl, err);                     socket bound to that namespace
 *   ifi = nl_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
 *   nl_attr_put_str(&m, IFLA_IFNAME, "br0");             bounds-checked, -EMSGSIZE when full
 *   r = nl_call(nl, &m, NULL, NULL, err);                fresh seq, NLM_F_ACK, waits for the ACK
 *
 * Requests live in a fixed buffer (struct nl_msg).  A put that does not fit returns -EMSGSIZE
 * and latches it in the message; nl_call() refuses a message with a latched error, so a
 * builder may check each put or only the call.  Every request carries NLM_F_ACK and its own
 * sequence number; nl_call() reads replies until that sequence's ACK or error and returns the
 * kernel's (negative) errno, with the kernel's extended-ack text in `err` when it gave one.
 */
#ifndef SR_UTIL_NL_H
#define SR_UTIL_NL_H

#include <stddef.h>
#include <stdint.h>

struct nlattr;
struct nlmsghdr;
struct sr_error;

#define NL_MSG_MAX 4096

struct nl; /* an open NETLINK_ROUTE socket, its port id and sequence counter */

struct nl_msg {
	struct nlmsghdr *nlh; /* points into buf */
	int error;	      /* first failed put (-EMSGSIZE), 0 while all fit */
	char buf[NL_MSG_MAX] __attribute__((aligned(8)));
};

/* Open a NETLINK_ROUTE socket (SOCK_CLOEXEC, extended acks on) in the current network
 * namespace.  *ret is written only on success. */
int nl_open(struct nl **ret, struct sr_error *err);

/* Open it in the network namespace `ns_fd` (an fd of /proc/<pid>/ns/net): a netlink socket
 * talks to the namespace it was created in, so the calling thread setns()es there, opens the
 * socket and always returns to its own namespace, also on error.  Failing to return is
 * reported as an error (and the socket closed): the caller must not carry on. */
int nl_open_in(int ns_fd, struct nl **ret, struct sr_error *err);

/* NULL-tolerant. */
void nl_close(struct nl *nl);
static inline void nl_closep(struct nl **p)
{
	nl_close(*p);
}
#define _cleanup_nl_ __attribute__((cleanup(nl_closep)))

/* Start a request of `type` with NLM_F_REQUEST | NLM_F_ACK | flags, followed by a zeroed family
 * header of `hdr_len` bytes (struct ifinfomsg, ifaddrmsg, ...), which is returned.  Always fits
 * (hdr_len is a small struct). */
void *nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, size_t hdr_len);

/* Append raw bytes at the tail, aligned (a family header inside a nest, like VETH_INFO_PEER's
 * struct ifinfomsg).  0 or -EMSGSIZE. */
int nl_msg_put_raw(struct nl_msg *m, const void *data, size_t len);

/* Attributes: 0 or -EMSGSIZE (never asserts). */
int nl_attr_put(struct nl_msg *m, uint16_t type, size_t len, const void *data);
int nl_attr_put_str(struct nl_msg *m, uint16_t type, const char *s);
int nl_attr_put_u32(struct nl_msg *m, uint16_t type, uint32_t v);

/* Open a nested attribute; close it with nl_nest_end() after its contents (NULL-tolerant, so
 * a failed start may flow into the end).  0 or -EMSGSIZE. */
int nl_nest_start(struct nl_msg *m, uint16_t type, struct nlattr **ret_nest);
void nl_nest_end(struct nl_msg *m, struct nlattr *nest);

/* Send `m` with a fresh sequence number and read replies until its ACK or error.  Replies of
 * that sequence other than the ACK go to `cb` (may be NULL), which returns 0 or a negative
 * errno; the first such error is returned once the ACK has been read, so the socket stays in
 * step.  Returns 0 or a negative errno; `err` holds the errno's text (plus the kernel's
 * extended-ack message), for the caller to prefix with the step. */
int nl_call(struct nl *nl, struct nl_msg *m, int (*cb)(const struct nlmsghdr *nlh, void *data),
	    void *data, struct sr_error *err);

/* rtnetlink conveniences. */

/* Index of the link called `name`; -ENODEV when there is none. */
int nl_link_index(struct nl *nl, const char *name, int *ret_index, struct sr_error *err);

/* Set link `ifindex` administratively up. */
int nl_link_up(struct nl *nl, int ifindex, struct sr_error *err);

#endif
