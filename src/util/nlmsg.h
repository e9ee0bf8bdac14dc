/* nlmsg.h - netlink message building and walking over <linux/netlink.h>, header-only: pure
 * functions on caller buffers (no allocation, no locks), so async-signal-safe and usable in a
 * host's init after clone() (hosts/ns_net.c) as well as by util/nl.c.  The subset of libmnl's
 * buffer API sagerun used, with its names minus the prefix; a static build has no libmnl.
 */
#ifndef SR_UTIL_NLMSG_H
#define SR_UTIL_NLMSG_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A message header at the start of `buf`, zeroed, nlmsg_len its own size. */
static inline struct nlmsghdr *nlmsg_put_header(void *buf)
{
	struct nlmsghdr *nlh = buf;

	memset(nlh, 0, NLMSG_HDRLEN);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	return nlh;
}

static inline void *nlmsg_tail(const struct nlmsghdr *nlh)
{
	return (char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len);
}

/* A zeroed family header (struct ifinfomsg, ...) after the message header. */
static inline void *nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
	char *p = nlmsg_tail(nlh);

	nlh->nlmsg_len += NLMSG_ALIGN(size);
	memset(p, 0, NLMSG_ALIGN(size));
	return p;
}

static inline void *nlmsg_payload(const struct nlmsghdr *nlh)
{
	return (char *)nlh + NLMSG_HDRLEN;
}

static inline size_t nlmsg_payload_len(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_len >= NLMSG_HDRLEN ? nlh->nlmsg_len - NLMSG_HDRLEN : 0;
}

/* Walking a receive buffer: for (nlh = buf; nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len)) */
static inline bool nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       (int)nlh->nlmsg_len <= len;
}

static inline const struct nlmsghdr *nlmsg_next(const struct nlmsghdr *nlh, int *len)
{
	*len -= (int)NLMSG_ALIGN(nlh->nlmsg_len);
	return (const struct nlmsghdr *)((const char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
}

/* Append attribute `type` of `len` bytes, if the message (in a buffer of `buf_len` bytes)
 * still has room for it; false, and nothing written, when not. */
static inline bool nlattr_put_check(struct nlmsghdr *nlh, size_t buf_len, uint16_t type, size_t len,
				    const void *data)
{
	struct nlattr *a = nlmsg_tail(nlh);
	size_t payload = NLA_HDRLEN + len;

	if (len > UINT16_MAX - NLA_HDRLEN ||
	    NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(payload) > buf_len)
		return false;
	a->nla_type = type;
	a->nla_len = (uint16_t)payload;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + payload, 0, NLA_ALIGN(payload) - payload);
	nlh->nlmsg_len = (uint32_t)(NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(payload));
	return true;
}

/* Open a nested attribute (NULL when it does not fit); nlattr_nest_end() sets its length. */
static inline struct nlattr *nlattr_nest_start_check(struct nlmsghdr *nlh, size_t buf_len,
						     uint16_t type)
{
	struct nlattr *a = nlmsg_tail(nlh);

	return nlattr_put_check(nlh, buf_len, type | NLA_F_NESTED, 0, NULL) ? a : NULL;
}

static inline void nlattr_nest_end(struct nlmsghdr *nlh, struct nlattr *nest)
{
	nest->nla_len = (uint16_t)((char *)nlmsg_tail(nlh) - (char *)nest);
}

/* Walking the attributes of a message from `offset` bytes into its payload. */
static inline const struct nlattr *nlattr_first(const struct nlmsghdr *nlh, size_t offset,
						int *left)
{
	*left = (int)nlmsg_payload_len(nlh) - (int)NLMSG_ALIGN(offset);
	return (const struct nlattr *)((const char *)nlmsg_payload(nlh) + NLMSG_ALIGN(offset));
}

static inline bool nlattr_ok(const struct nlattr *a, int left)
{
	return left >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && (int)a->nla_len <= left;
}

static inline const struct nlattr *nlattr_next(const struct nlattr *a, int *left)
{
	*left -= (int)NLA_ALIGN(a->nla_len);
	return (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
}

static inline uint16_t nlattr_type(const struct nlattr *a)
{
	return a->nla_type & NLA_TYPE_MASK;
}

/* The attribute's payload as a string, NULL unless it is NUL-terminated. */
static inline const char *nlattr_str(const struct nlattr *a)
{
	size_t len = a->nla_len - NLA_HDRLEN;
	const char *s = (const char *)a + NLA_HDRLEN;

	return len && s[len - 1] == '\0' ? s : NULL;
}

#endif
