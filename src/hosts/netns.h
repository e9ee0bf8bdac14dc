/* netns.h - a job's private network: one bridge in a namespace of its own, a veth per host.
 *
 *     job netns (held only by an fd of sagerun's)        host netns (one per host)
 *       br0 ── vh<N> ════════ veth pair ═══════════════════ eth0  10.<a>.<b>.<N+1>/24
 *
 * The machine's own network namespace is never touched: the bridge lives in a namespace that
 * exists only while sagerun holds its fd (or a host's veth end is alive), so the whole network
 * disappears with the job, even when sagerun is SIGKILLed.  No default route: hosts reach each
 * other and nothing else, as SageMaker jobs with network isolation.  Everything is done with
 * netlink (util/nl.h), never by running `ip`.
 */
#ifndef SR_HOSTS_NETNS_H
#define SR_HOSTS_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sr_error;

#define NETNS_DEFAULT_SUBNET "10.0.0.0/24"
#define NETNS_BRIDGE	     "br0"

struct nl;

struct netns_job {
	int ns_fd;	 /* the job's network namespace (holds br0); -1 when none */
	struct nl *nl;	 /* a netlink socket in it, for every host's attach */
	int bridge;	 /* br0's ifindex there */
	uint32_t net;	 /* subnet address, host byte order */
	unsigned prefix; /* prefix length, 8..30 */
	/* Rootless (sagerun in a user namespace of its own, hosts/userns.h): a thread that leaves
	 * the machine's network namespace, which belongs to the initial user namespace, can never
	 * come back.  netns_job_make then moves its calling thread into the job's namespace for
	 * good (it must be a thread of its own, that ends there), and netns_host_new steps back
	 * into the job's namespace rather than into the thread's first one.  Set before make. */
	bool stay;
};

/* Parse "A.B.C.D/P" (P in 8..30, host bits zero) with a clear error naming `cidr`. */
int netns_parse_subnet(const char *cidr, uint32_t *ret_net, unsigned *ret_prefix,
		       struct sr_error *err);

/* Create the job's namespace with lo and br0 up.  `cidr` NULL = NETNS_DEFAULT_SUBNET.  Each
 * job's network is private, so every job may use the same subnet without colliding.  The
 * same as netns_job_plan, then netns_job_make. */
int netns_job_create(struct netns_job *nj, const char *cidr, size_t n_hosts, struct sr_error *err);
/* The subnet only (parsed, widened for n_hosts, checked), so that every host's address is
 * known before anything is made; no kernel work, and nothing to destroy on failure. */
int netns_job_plan(struct netns_job *nj, const char *cidr, size_t n_hosts, struct sr_error *err);
/* Then the namespace with lo and br0 up. */
int netns_job_make(struct netns_job *nj, struct sr_error *err);

/* A new, empty network namespace for one host, as an fd (the calling thread steps in and
 * straight back out: to where it was, or with nj->stay to the job's namespace, where the
 * thread must be).  It exists while the fd is open or a process is in it. */
int netns_host_new(const struct netns_job *nj, int *ret_fd, struct sr_error *err);

/* Address of host `index` (0-based): net + index + 1, host byte order. */
uint32_t netns_host_addr(const struct netns_job *nj, size_t index);

/* Join a host to the job's network: a veth pair whose bridge end "vh<index>" is enslaved to
 * br0 and whose other end is created directly in the host's namespace (`host_ns_fd`, from
 * netns_host_new or an fd of /proc/<pid>/ns/net) as `ifname` (resourceconfig's
 * network_interface_name, "eth0"), with netns_host_addr(index)/prefix, a MAC derived from the
 * address, and lo and ifname up. */
int netns_host_attach(const struct netns_job *nj, int host_ns_fd, size_t index, const char *ifname,
		      struct sr_error *err);
/* The same but the veth pair only: the host's init configures its side from inside
 * (ns_net.c), with netns_host_addr(index) and the job's prefix. */
int netns_host_link(const struct netns_job *nj, int host_ns_fd, size_t index, const char *ifname,
		    struct sr_error *err);

/* Delete host `index`'s veth pair now, if it is still there: the kernel deletes it with the
 * host's namespace, but later (in a worker), and a host started again needs its name. */
int netns_host_unlink(const struct netns_job *nj, size_t index, struct sr_error *err);

/* Close the namespace fd; idempotent.  Links go with the namespace. */
void netns_job_destroy(struct netns_job *nj);

/* "10.0.0.3" into buf (at least 16 bytes). */
char *netns_addr_str(uint32_t addr, char *buf, size_t len);

#endif
