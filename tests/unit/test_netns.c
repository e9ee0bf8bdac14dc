/* Unit tests for hosts/netns.c and util/nl.c: subnet parsing, the netlink message builder, and
 * (as root) a real job network: three host namespaces, each made by a forked child, joined to a
 * bridge in a namespace of the job's own, with TCP traffic between them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hosts/netns.h"
#include "util/error.h"
#include "util/nl.h"

#define N_HOSTS 3
#define PORT	7070

#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (geteuid() != 0) {                                                              \
			print_message("skipped: needs root (network namespaces)\n");               \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static uint32_t ip(const char *s)
{
	struct in_addr in;

	assert_int_equal(inet_pton(AF_INET, s, &in), 1);
	return ntohl(in.s_addr);
}

static ino_t netns_inode(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	return st.st_ino;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- no privilege needed ---- */

static void test_parse_subnet_good(void **state)
{
	struct sr_error err = {0};
	uint32_t net;
	unsigned prefix;

	(void)state;
	assert_int_equal(netns_parse_subnet("10.0.0.0/24", &net, &prefix, &err), 0);
	assert_int_equal(net, ip("10.0.0.0"));
	assert_int_equal(prefix, 24);
	assert_int_equal(netns_parse_subnet("172.16.4.0/22", &net, &prefix, &err), 0);
	assert_int_equal(net, ip("172.16.4.0"));
	assert_int_equal(prefix, 22);
	assert_int_equal(netns_parse_subnet("10.0.0.0/8", &net, &prefix, &err), 0);
	assert_int_equal(prefix, 8);
	assert_int_equal(netns_parse_subnet("192.168.7.252/30", &net, &prefix, &err), 0);
	assert_int_equal(net, ip("192.168.7.252"));
	assert_int_equal(prefix, 30);
}

static void test_parse_subnet_bad(void **state)
{
	static const char *const syntax[] = {
	    "",		  "10.0.0.0",	   "10.0.0.0/",	   "/24",	    "10.0.0/24",
	    "10.0.0.0/x", "10.0.0.0/24x",  "10.0.0.0/ 24", "256.0.0.0/24",  "10.0.0.0/024",
	    "10.1/16",	  "010.0.0.0/24",  "0x0a.0.0.0/8", "10.0.0.0/-24",  "10.0.0.0/240",
	    "::1/64",	  "10.0.0.0.0/24", " 10.0.0.0/24", "10.0.0.0/24/8", "10.0.0.0/+24",
	};
	struct sr_error err = {0};
	uint32_t net = 7;
	unsigned prefix = 7;
	char want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		assert_int_equal(netns_parse_subnet(syntax[i], &net, &prefix, &err), -EINVAL);
		snprintf(want, sizeof(want), "invalid subnet '%s': ", syntax[i]);
		assert_non_null(strstr(err.msg, want));
		assert_int_equal(net, 7); /* untouched on failure */
		assert_int_equal(prefix, 7);
	}
	assert_int_equal(netns_parse_subnet("10.0.0.0/7", &net, &prefix, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid subnet '10.0.0.0/7': prefix length must be 8 to 30");
	assert_int_equal(netns_parse_subnet("10.0.0.0/31", &net, &prefix, &err), -EINVAL);
	assert_int_equal(netns_parse_subnet("10.0.0.0/32", &net, &prefix, &err), -EINVAL);
	assert_int_equal(netns_parse_subnet("10.0.0.1/24", &net, &prefix, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid subnet '10.0.0.1/24': host bits are set");
	assert_string_equal(err.hint, "did you mean 10.0.0.0/24?");
	assert_int_equal(netns_parse_subnet("10.0.5.0/16", &net, &prefix, &err), -EINVAL);
	assert_string_equal(err.hint, "did you mean 10.0.0.0/16?");
}

static void test_addr_helpers(void **state)
{
	struct netns_job nj = {.ns_fd = -1, .net = 0x0a000000, .prefix = 24};
	char buf[16], tiny[5];

	(void)state;
	assert_string_equal(netns_addr_str(netns_host_addr(&nj, 0), buf, sizeof(buf)), "10.0.0.1");
	assert_string_equal(netns_addr_str(netns_host_addr(&nj, 2), buf, sizeof(buf)), "10.0.0.3");
	assert_string_equal(netns_addr_str(0xffffffff, buf, sizeof(buf)), "255.255.255.255");
	assert_string_equal(netns_addr_str(0x0a000003, tiny, sizeof(tiny)),
			    "10.0"); /* no overrun */
}

static void test_subnet_room(void **state)
{
	struct netns_job nj = {.ns_fd = 0}; /* garbage in: a failed create must leave -1 */
	struct sr_error err = {0};

	(void)state;
	assert_int_equal(netns_job_create(&nj, "10.0.0.0/30", 3, &err), -EINVAL);
	assert_string_equal(err.msg, "--subnet 10.0.0.0/30: room for 2 hosts, the job has 3");
	assert_int_equal(nj.ns_fd, -1);
	netns_job_destroy(&nj); /* harmless */
	assert_int_equal(netns_job_create(&nj, "10.0.0.0/33", 3, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid subnet '10.0.0.0/33'"));
	assert_int_equal(nj.ns_fd, -1);
}

static void test_nl_msg_bounds(void **state)
{
	static char big[NL_MSG_MAX];
	struct nl_msg m;
	struct nlattr *nest = (struct nlattr *)1;
	struct ifinfomsg *ifi;
	int r = 0, n = 0;

	(void)state;
	ifi = nl_msg_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));
	assert_non_null(ifi);
	assert_int_equal(ifi->ifi_index, 0);
	assert_int_equal(m.nlh->nlmsg_flags & (NLM_F_REQUEST | NLM_F_ACK),
			 NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nl_attr_put(&m, IFLA_IFNAME, sizeof(big), big), -EMSGSIZE);
	assert_int_equal(m.error, -EMSGSIZE);
	/* Latched: even a small put now fails, and a nest start hands back NULL. */
	assert_int_equal(nl_attr_put_u32(&m, IFLA_MTU, 1500), -EMSGSIZE);
	assert_int_equal(nl_nest_start(&m, IFLA_LINKINFO, &nest), -EMSGSIZE);
	assert_null(nest);
	nl_nest_end(&m, nest);

	/* Fill up with small puts: the first that does not fit fails, and nothing overruns. */
	nl_msg_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));
	assert_int_equal(m.error, 0);
	assert_int_equal(nl_nest_start(&m, IFLA_LINKINFO, &nest), 0);
	assert_non_null(nest);
	while ((r = nl_attr_put_str(&m, IFLA_IFNAME, "0123456789abcdef")) == 0)
		n++;
	assert_int_equal(r, -EMSGSIZE);
	assert_true(n > 100);
	assert_true(m.nlh->nlmsg_len <= NL_MSG_MAX);
	assert_int_equal(nl_msg_put_raw(&m, big, 64), -EMSGSIZE);

	/* A request with a latched error is never sent. */
	struct nl *nl = NULL;
	struct sr_error err = {0};
	assert_int_equal(nl_open(&nl, &err), 0);
	assert_int_equal(nl_call(nl, &m, NULL, NULL, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "netlink request too large"));
	/* And the socket still works afterwards: a query with its error from the kernel. */
	int index = -1;
	assert_int_equal(nl_link_index(nl, "lo", &index, &err), 0);
	assert_true(index > 0);
	assert_int_equal(nl_link_index(nl, "sr-nonexistent", &index, &err), -ENODEV);
	assert_non_null(strstr(err.msg, strerror(ENODEV)));
	assert_int_equal(nl_link_index(nl, "much-too-long-for-a-link", &index, &err),
			 -ENAMETOOLONG);
	nl_close(nl);
	nl_close(NULL);
}

/* ---- root: real namespaces ---- */

/* A host namespace held by a forked child, as the ns backend's hosts are.  The child is
 * stopped with SIGKILL, not by closing a pipe: later children inherit every earlier pipe end
 * across fork(), so an EOF would never come. */
struct ns_child {
	pid_t pid;
	int ns_fd;
};

static void ns_child_start(struct ns_child *c)
{
	int ready[2];
	char path[64], b = 0;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(ready[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	close(ready[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c->pid);
	c->ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(c->ns_fd >= 0);
}

static void ns_child_stop(struct ns_child *c)
{
	int status;

	close(c->ns_fd);
	assert_int_equal(kill(c->pid, SIGKILL), 0);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Run fn in a forked child that has joined `ns_fd`; returns fn's exit code (0 = pass). The
 * test process itself never changes namespace. */
static int run_in_ns(int ns_fd, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setns(ns_fd, CLONE_NEWNET) < 0)
			_exit(99);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s (errno %s)\n", __FILE__,          \
				__LINE__, #cond, strerror(errno));                                 \
			return __LINE__ % 90 + 1;                                                  \
		}                                                                                  \
	} while (0)

static int check_job_ns(void *arg)
{
	(void)arg;
	CHECK(if_nametoindex("lo") > 0);
	CHECK(if_nametoindex(NETNS_BRIDGE) > 0);
	for (int i = 0; i < N_HOSTS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "vh%d", i);
		CHECK(if_nametoindex(name) > 0);
	}
	CHECK(if_nametoindex("eth0") == 0); /* the peers were born elsewhere */
	return 0;
}

/* In host `index`'s namespace: lo up, eth0 up with 10.0.0.<index+1>/24 and its MAC, nothing
 * else. */
static int check_host_ns(void *arg)
{
	int index = (int)(intptr_t)arg;
	struct ifaddrs *ifa, *a;
	bool lo_up = false, have_addr = false, have_mac = false;
	const unsigned char want_mac[6] = {0x02, 0x00, 10, 0, 0, (unsigned char)(index + 1)};

	CHECK(getifaddrs(&ifa) == 0);
	for (a = ifa; a; a = a->ifa_next) {
		CHECK(!strcmp(a->ifa_name, "lo") || !strcmp(a->ifa_name, "eth0"));
		if (!strcmp(a->ifa_name, "lo"))
			lo_up = lo_up || (a->ifa_flags & IFF_UP);
		if (strcmp(a->ifa_name, "eth0") || !a->ifa_addr)
			continue;
		CHECK(a->ifa_flags & IFF_UP);
		if (a->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)a->ifa_addr;
			const struct sockaddr_in *mask = (const void *)a->ifa_netmask;
			const struct sockaddr_in *brd = (const void *)a->ifa_broadaddr;
			CHECK(ntohl(sin->sin_addr.s_addr) == 0x0a000000u + (unsigned)index + 1);
			CHECK(ntohl(mask->sin_addr.s_addr) == 0xffffff00u);
			CHECK(brd && ntohl(brd->sin_addr.s_addr) == 0x0a0000ffu);
			have_addr = true;
		} else if (a->ifa_addr->sa_family == AF_PACKET) {
			const struct sockaddr_ll *ll = (const void *)a->ifa_addr;
			CHECK(ll->sll_halen == 6 && !memcmp(ll->sll_addr, want_mac, 6));
			have_mac = true;
		}
	}
	freeifaddrs(ifa);
	CHECK(lo_up && have_addr && have_mac);
	/* No default route: the only IPv4 route is the subnet's. */
	FILE *f = fopen("/proc/net/route", "r");
	char line[256];
	int routes = 0;
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Iface", 5))
			routes++;
	fclose(f);
	CHECK(routes == 1);
	return 0;
}

static int set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = 10};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

struct traffic {
	int from_ns; /* host 0 */
	int to_ns;   /* host 2 */
};

/* A listener made in host 2's namespace keeps belonging to it after this child moves to host
 * 0's, so one process can play both ends of a real TCP connection across the bridge. */
static int check_traffic(void *arg)
{
	const struct traffic *t = arg;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	struct sockaddr_in away = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	char buf[8] = {0};
	int one = 1;

	to.sin_addr.s_addr = htonl(0x0a000003);			/* host 2 */
	away.sin_addr.s_addr = htonl(ip("192.0.2.1"));		/* TEST-NET-1: outside the job */
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* in host 2's ns (joined) */
	CHECK(l >= 0);
	CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	CHECK(bind(l, (const struct sockaddr *)&to, sizeof(to)) == 0);
	CHECK(listen(l, 1) == 0);
	CHECK(set_timeouts(l) == 0);

	CHECK(setns(t->from_ns, CLONE_NEWNET) == 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK(set_timeouts(c) == 0);
	CHECK(connect(c, (const struct sockaddr *)&to, sizeof(to)) == 0);
	CHECK(write(c, "ping", 4) == 4);
	int a = accept(l, (struct sockaddr *)&peer, &len);
	CHECK(a >= 0);
	CHECK(ntohl(peer.sin_addr.s_addr) == 0x0a000001); /* it came from host 0's eth0 */
	CHECK(read(a, buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4));
	close(a);
	close(c);
	close(l);

	/* Nothing outside the subnet is reachable: there is no default route. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK(connect(c, (const struct sockaddr *)&away, sizeof(away)) < 0 && errno == ENETUNREACH);
	close(c);
	return 0;
}

static void test_job_network(void **state)
{
	struct netns_job nj;
	struct ns_child hosts[N_HOSTS];
	struct sr_error err = {0};

	(void)state;
	NEED_ROOT();
	int fds = count_fds();
	ino_t ino = netns_inode();
	unsigned br_before = if_nametoindex(NETNS_BRIDGE);
	unsigned vh_before = if_nametoindex("vh0");

	assert_int_equal(netns_job_create(&nj, NULL, N_HOSTS, &err), 0);
	assert_true(nj.ns_fd >= 0);
	assert_int_equal(nj.net, 0x0a000000);
	assert_int_equal(nj.prefix, 24);
	assert_int_equal(netns_inode(), ino);
	for (int i = 0; i < N_HOSTS; i++)
		ns_child_start(&hosts[i]);
	for (int i = 0; i < N_HOSTS; i++) {
		int r = netns_host_attach(&nj, hosts[i].ns_fd, (size_t)i, "eth0", &err);
		if (r < 0)
			fail_msg("attach %d: %s", i, err.msg);
	}
	/* sagerun's own namespace is untouched: same inode, no new links. */
	assert_int_equal(netns_inode(), ino);
	assert_int_equal(if_nametoindex(NETNS_BRIDGE), br_before);
	assert_int_equal(if_nametoindex("vh0"), vh_before);

	assert_int_equal(run_in_ns(nj.ns_fd, check_job_ns, NULL), 0);
	for (int i = 0; i < N_HOSTS; i++)
		assert_int_equal(run_in_ns(hosts[i].ns_fd, check_host_ns, (void *)(intptr_t)i), 0);
	struct traffic t = {.from_ns = hosts[0].ns_fd, .to_ns = hosts[2].ns_fd};
	assert_int_equal(run_in_ns(hosts[2].ns_fd, check_traffic, &t), 0);

	/* Attaching the same host twice fails on the first step, named. */
	assert_true(netns_host_attach(&nj, hosts[0].ns_fd, 0, "eth0", &err) < 0);
	assert_string_equal(err.msg, "attach host 0: create veth vh0/eth0: File exists");
	/* A name already taken in the host's namespace, likewise. */
	assert_true(netns_host_attach(&nj, hosts[0].ns_fd, 5, "eth0", &err) < 0);
	assert_string_equal(err.msg, "attach host 5: create veth vh5/eth0: File exists");
	assert_true(netns_host_attach(&nj, hosts[0].ns_fd, 6, "much-too-long-name", &err) < 0);
	assert_non_null(strstr(err.msg, "attach host 6: invalid interface name"));

	netns_job_destroy(&nj);
	assert_int_equal(nj.ns_fd, -1);
	netns_job_destroy(&nj); /* idempotent */
	assert_true(netns_host_attach(&nj, hosts[1].ns_fd, 1, "eth0", &err) < 0);
	assert_string_equal(err.msg, "attach host 1: the job network does not exist");

	for (int i = 0; i < N_HOSTS; i++)
		ns_child_stop(&hosts[i]);
	assert_int_equal(netns_inode(), ino);
	assert_int_equal(if_nametoindex(NETNS_BRIDGE), br_before);
	assert_int_equal(count_fds(), fds);
}

static void test_bad_ns_fd(void **state)
{
	struct netns_job nj;
	struct sr_error err = {0};
	char want[128];

	(void)state;
	NEED_ROOT();
	int fds = count_fds();
	ino_t ino = netns_inode();

	assert_int_equal(netns_job_create(&nj, "192.168.50.0/28", 2, &err), 0);
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int uts_fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	assert_true(null_fd >= 0 && uts_fd >= 0);

	assert_int_equal(netns_host_attach(&nj, null_fd, 1, "eth0", &err), -EINVAL);
	snprintf(want, sizeof(want), "attach host 1: host namespace fd %d is not a namespace",
		 null_fd);
	assert_string_equal(err.msg, want);
	assert_int_equal(netns_host_attach(&nj, uts_fd, 1, "eth0", &err), -EINVAL);
	snprintf(want, sizeof(want),
		 "attach host 1: host namespace fd %d is not a network namespace", uts_fd);
	assert_string_equal(err.msg, want);
	assert_int_equal(netns_host_attach(&nj, -1, 0, "eth0", &err), -EBADF);
	assert_string_equal(err.msg, "attach host 0: host namespace fd -1 is not open");
	close(null_fd);
	assert_int_equal(netns_host_attach(&nj, null_fd, 0, "eth0", &err), -EBADF);
	/* A /28 has 14 addresses for hosts. */
	assert_int_equal(netns_host_attach(&nj, uts_fd, 14, "eth0", &err), -ERANGE);
	close(uts_fd);

	/* nl_open_in with a bad fd leaves the caller where it was. */
	struct nl *nl = NULL;
	assert_true(nl_open_in(-1, &nl, &err) < 0);
	assert_null(nl);
	assert_non_null(strstr(err.msg, "enter network namespace (fd -1)"));

	netns_job_destroy(&nj);
	assert_int_equal(netns_inode(), ino);
	assert_int_equal(count_fds(), fds);
}

/* Without --subnet, a job bigger than the default /24 gets the same network widened. */
static void test_default_widens(void **state)
{
	struct netns_job nj;
	struct sr_error err = {0};

	(void)state;
	NEED_ROOT();
	assert_int_equal(netns_job_create(&nj, NULL, 256, &err), 0);
	assert_int_equal(nj.net, 0x0a000000);
	assert_int_equal(nj.prefix, 23);
	netns_job_destroy(&nj);
	assert_int_equal(netns_job_create(&nj, NULL, 254, &err), 0);
	assert_int_equal(nj.prefix, 24);
	netns_job_destroy(&nj);
	/* An explicit subnet is taken as given. */
	assert_int_equal(netns_job_create(&nj, "10.0.0.0/24", 255, &err), -EINVAL);
	assert_string_equal(err.msg, "--subnet 10.0.0.0/24: room for 254 hosts, the job has 255");
	assert_int_equal(nj.ns_fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_subnet_good), cmocka_unit_test(test_parse_subnet_bad),
	    cmocka_unit_test(test_addr_helpers),      cmocka_unit_test(test_subnet_room),
	    cmocka_unit_test(test_nl_msg_bounds),     cmocka_unit_test(test_job_network),
	    cmocka_unit_test(test_bad_ns_fd),	      cmocka_unit_test(test_default_widens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
