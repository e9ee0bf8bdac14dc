/* test_ns.c - the `ns` host backend against real namespaces (needs root; skips visibly else).
 *
 * Each test builds a small job: 2-3 hosts with their own trees under a temp folder and a
 * channel bound read-only, runs /bin/sh scripts inside them that print what they see, and
 * checks the output, the exit statuses, and that nothing is left: no process carrying the
 * test's marker, the test's own network namespace and mount table unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hosts/hosts.h"
#include "hosts/loopback.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define MAX_HOSTS 3

static char tmpdir[PATH_MAX];
static char marker[64];
static char *mounts_before;
static struct stat netns_before;

struct tjob {
	struct host hosts[MAX_HOSTS];
	struct host_group g;
	size_t n;
	char *out[MAX_HOSTS];
	char *errs[MAX_HOSTS];
	int status[MAX_HOSTS];
};

static char *slurp(const char *path)
{
	char *data = NULL;

	if (fs_read_file(path, 1 << 22, &data, NULL, NULL) < 0)
		return NULL;
	return data;
}

static bool file_has(const char *path, const char *needle)
{
	char *d = slurp(path);
	bool r = d && strstr(d, needle);

	free(d);
	return r;
}

/* A job of n hosts; each host's tree is <tmpdir>/hosts/algo-N with opt/ml/{model,code,
 * input/data/train}, and <tmpdir>/channel is bound read-only at /opt/ml/input/data/train. */
static void job_init(struct tjob *j, size_t n, bool network_host)
{
	static const char *const dirs[] = {"model", "code", "input/data/train"};
	const struct host_backend *b = host_backend_find("ns");
	struct sr_error err = {0};
	char *p;

	assert_non_null(b);
	memset(j, 0, sizeof(*j));
	j->n = n;
	j->g = (struct host_group){
	    .hosts = j->hosts, .n = n, .network_host = network_host, .backend = b};
	p = xasprintf("%s/channel", tmpdir);
	assert_int_equal(fs_mkdir_p(p, 0755, &err), 0);
	free(p);
	p = xasprintf("%s/channel/data.txt", tmpdir);
	assert_int_equal(fs_write_atomic(p, "train-data\n", 11, 0644, &err), 0);
	free(p);
	for (size_t i = 0; i < n; i++) {
		struct host *h = &j->hosts[i];

		host_init(h, i, b);
		h->root = xasprintf("%s/hosts/%s", tmpdir, h->name);
		h->opt_ml = xasprintf("%s/opt/ml", h->root);
		for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
			p = xasprintf("%s/%s", h->opt_ml, dirs[k]);
			assert_int_equal(fs_mkdir_p(p, 0755, &err), 0);
			free(p);
		}
		h->cwd = xstrdup("/opt/ml/code");
		strv_env_set(&h->env, "PATH", "/usr/bin:/bin");
		strv_env_set(&h->env, "SR_NS_TEST", marker);
		h->binds = xcalloc(1, sizeof(*h->binds));
		h->binds[0] = (struct host_bind){.src = xasprintf("%s/channel", tmpdir),
						 .dst = xstrdup("/opt/ml/input/data/train"),
						 .readonly = true};
		h->n_binds = 1;
		h->group = &j->g;
		j->status[i] = -1;
	}
	if (host_group_prepare(&j->g, &err) < 0)
		fail_msg("group_prepare: %s", err.msg);
}

static void job_script(struct tjob *j, size_t i, const char *script)
{
	struct host *h = &j->hosts[i];

	strv_release(&h->argv);
	strv_push(&h->argv, "/bin/sh");
	strv_push(&h->argv, "-c");
	strv_push(&h->argv, script);
}

static void job_start(struct tjob *j)
{
	for (size_t i = 0; i < j->n; i++) {
		struct sr_error err = {0};

		if (host_start(&j->hosts[i], &err) < 0)
			fail_msg("start: %s", err.msg);
	}
}

/* Read every host's stdout/stderr to EOF (30 s at most), then collect every host. */
static void job_wait(struct tjob *j)
{
	struct pollfd p[2 * MAX_HOSTS];
	size_t lens[2 * MAX_HOSTS] = {0};
	char **bufs[2 * MAX_HOSTS];
	int open_n = 0;

	for (size_t i = 0; i < j->n; i++) {
		j->out[i] = xstrdup("");
		j->errs[i] = xstrdup("");
		bufs[2 * i] = &j->out[i];
		bufs[2 * i + 1] = &j->errs[i];
		p[2 * i] = (struct pollfd){.fd = j->hosts[i].out_fd, .events = POLLIN};
		p[2 * i + 1] = (struct pollfd){.fd = j->hosts[i].err_fd, .events = POLLIN};
		open_n += 2;
	}
	while (open_n > 0) {
		assert_true(poll(p, 2 * j->n, 30000) > 0);
		for (size_t k = 0; k < 2 * j->n; k++) {
			char chunk[4096];
			ssize_t n;

			if (p[k].fd < 0 || !p[k].revents)
				continue;
			n = read(p[k].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EAGAIN)
				continue;
			assert_true(n >= 0);
			if (n == 0) {
				p[k].fd = -1;
				open_n--;
				continue;
			}
			*bufs[k] = xrealloc(*bufs[k], lens[k] + (size_t)n + 1);
			memcpy(*bufs[k] + lens[k], chunk, (size_t)n);
			lens[k] += (size_t)n;
			(*bufs[k])[lens[k]] = '\0';
		}
	}
	for (size_t i = 0; i < j->n; i++) {
		struct sr_error err = {0};
		struct pollfd pp = {.fd = j->hosts[i].pidfd, .events = POLLIN};

		assert_int_equal(poll(&pp, 1, 10000), 1);
		if (host_collect(&j->hosts[i], &j->status[i], &err) < 0)
			fail_msg("collect: %s", err.msg);
	}
}

/* No process anywhere carries the marker in its command line or environment. */
static void assert_nothing_left(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300];
		char *data = NULL;
		size_t len = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
			continue;
		for (int k = 0; k < 2; k++) {
			snprintf(path, sizeof(path), "/proc/%s/%s", e->d_name,
				 k ? "environ" : "cmdline");
			if (fs_read_file(path, 1 << 20, &data, &len, NULL) < 0)
				continue;
			if (memmem(data, len, marker, strlen(marker)))
				fail_msg("process %s is left over", e->d_name);
			free(data);
		}
	}
	closedir(d);
}

static void job_release(struct tjob *j)
{
	for (size_t i = 0; i < j->n; i++) {
		host_release(&j->hosts[i]);
		free(j->out[i]);
		free(j->errs[i]);
	}
	host_group_teardown(&j->g);
	host_group_teardown(&j->g); /* idempotent */
	assert_null(j->g.priv);
	assert_nothing_left();
}

static void dump(const struct tjob *j)
{
	for (size_t i = 0; i < j->n; i++)
		print_message("%s: status %#x\n--- stdout\n%s--- stderr\n%s", j->hosts[i].name,
			      j->status[i], j->out[i] ? j->out[i] : "",
			      j->errs[i] ? j->errs[i] : "");
}

#define CHECK(j, cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dump(j);                                                                   \
			fail_msg("%s", #cond);                                                     \
		}                                                                                  \
	} while (0)

/* The ns backend's probe, on a group of its own as launch/ makes it. */
static bool ns_available(const char **why)
{
	struct host_group g = {.backend = host_backend_find("ns")};
	bool ok = host_group_probe(&g, why);

	host_group_teardown(&g);
	return ok;
}

static void test_available(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_true(ns_available(&why));
	assert_null(why);
	assert_non_null(host_backend_find("ns"));
	assert_true(host_backend_find("ns")->flags & HOST_BACKEND_F_OPT_ML);
	assert_true(host_backend_find("ns")->flags & HOST_BACKEND_F_BINDS);
}

/* The probe's child is the group's to reap: a child of ours until the group is torn down,
 * gone after (a second teardown is a no-op). */
static void test_probe_child_reaped(void **state)
{
	struct host_group g = {.backend = host_backend_find("ns")};
	const char *why = NULL;

	(void)state;
	assert_true(host_group_probe(&g, &why));
	assert_non_null(g.priv);
	host_group_teardown(&g);
	assert_null(g.priv);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child of ours is left */
	assert_int_equal(errno, ECHILD);
	host_group_teardown(&g);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A group torn down while its network thread is still making the hosts' networks (a stop
 * while Downloading): whatever the thread had made is closed, no namespace fd or netlink
 * socket stays open. */
static void test_teardown_while_network_is_made(void **state)
{
	enum { N = 64 };
	struct host *hosts = xcalloc(N, sizeof(*hosts));
	const struct host_backend *b = host_backend_find("ns");
	struct host_group g = {.hosts = hosts, .n = N, .backend = b};
	int before = count_fds();

	(void)state;
	for (size_t i = 0; i < N; i++)
		host_init(&hosts[i], i, b);
	host_group_begin(&g);
	assert_non_null(g.priv);
	host_group_teardown(&g);
	assert_null(g.priv);
	assert_int_equal(count_fds(), before);
	for (size_t i = 0; i < N; i++)
		host_release(&hosts[i]);
	free(hosts);
}

/* Hostname, /etc/hosts, PID namespace, own /opt/ml, read-only channel, /opt kept. */
static void test_identity_and_files(void **state)
{
	static const char script[] =
	    "echo \"name=$(hostname) file=$(cat /etc/hostname) pid=$$ cwd=$(pwd)\"; "
	    "grep -c algo- /etc/hosts; "
	    "echo \"algo-2=$(getent hosts algo-2 | cut -f1 -d' ')\"; "
	    "echo \"procs=$(ls /proc | grep -c '^[0-9]*$') init=$(cat /proc/1/comm)\"; "
	    "echo mine > /opt/ml/model/by-$(hostname); "
	    "echo \"channel=$(cat /opt/ml/input/data/train/data.txt)\"; "
	    "if touch /opt/ml/input/data/train/x 2>/dev/null; then echo rw; else echo ro; fi; "
	    "echo \"opt=$(ls /opt | tr '\\n' ,)\"";
	struct tjob j;
	char *p, *hosts, *opt_first = NULL, *want;
	DIR *d;
	struct dirent *e;

	(void)state;
	/* An entry of the real /opt that the host must still see. */
	d = opendir("/opt");
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && !opt_first)
			opt_first = xstrdup(e->d_name);
	if (d)
		closedir(d);

	job_init(&j, 3, false);
	for (size_t i = 0; i < j.n; i++)
		job_script(&j, i, script);
	job_start(&j);
	job_wait(&j);

	p = xasprintf("%s/etc/hosts", j.hosts[0].root);
	hosts = slurp(p);
	free(p);
	assert_non_null(hosts);
	assert_non_null(strstr(hosts, "127.0.0.1\tlocalhost\n"));
	for (size_t i = 0; i < j.n; i++) {
		char *line = xasprintf("\t%s\n", j.hosts[i].name);
		struct host *h = &j.hosts[i];

		assert_non_null(strstr(hosts, line));
		free(line);
		CHECK(&j, WIFEXITED(j.status[i]) && WEXITSTATUS(j.status[i]) == 0);
		want = xasprintf("name=%s file=%s pid=2 cwd=/opt/ml/code\n3\nalgo-2=", h->name,
				 h->name);
		CHECK(&j, !strncmp(j.out[i], want, strlen(want)));
		free(want);
		/* algo-2's address is the one /etc/hosts gives it. */
		p = strstr(j.out[i], "algo-2=") + strlen("algo-2=");
		want = xasprintf("%.*s\talgo-2\n", (int)strcspn(p, "\n"), p);
		CHECK(&j, *p != '\n' && strstr(hosts, want));
		free(want);
		/* init, sh, and the command substitution's ls and grep at most. */
		CHECK(&j, strstr(j.out[i], "procs=") && atoi(strstr(j.out[i], "procs=") + 6) <= 5);
		CHECK(&j, strstr(j.out[i], "init=sagerun-init\n"));
		CHECK(&j, strstr(j.out[i], "channel=train-data\nro\n"));
		CHECK(&j, strstr(j.out[i], "opt=") && strstr(j.out[i], "ml,"));
		if (opt_first) {
			want = xasprintf("%s,", opt_first);
			CHECK(&j, strstr(j.out[i], want));
			free(want);
		}
		/* The model file went to this host's tree only. */
		for (size_t k = 0; k < j.n; k++) {
			p = xasprintf("%s/model/by-%s", h->opt_ml, j.hosts[k].name);
			assert_int_equal(fs_exists(p), k == i);
			free(p);
		}
	}
	p = xasprintf("%s/channel/x", tmpdir);
	assert_false(fs_exists(p));
	free(p);
	assert_false(fs_exists("/opt/ml"));
	free(hosts);
	free(opt_first);
	job_release(&j);
}

/* /tmp and /dev/shm are private; a working folder under the real /tmp is still reachable. */
static void test_private_tmp(void **state)
{
	struct tjob j;
	char *name = xasprintf("/tmp/sr-ns-x-%d", (int)getpid());
	char *script0 = xasprintf("echo one > %s && echo s > /dev/shm/s-%d && ls -A /tmp | wc -l",
				  name, (int)getpid());
	char *script1 = xasprintf("sleep 0.3; test -e %s && echo seen || echo unseen; "
				  "ls -A /dev/shm | wc -l; pwd; cat here.txt",
				  name);
	char *p;

	(void)state;
	job_init(&j, 2, false);
	job_script(&j, 0, script0);
	job_script(&j, 1, script1);
	/* algo-2 runs from the test's own folder under the real /tmp. */
	free(j.hosts[1].cwd);
	j.hosts[1].cwd = xstrdup(tmpdir);
	p = xasprintf("%s/here.txt", tmpdir);
	assert_int_equal(fs_write_atomic(p, "here\n", 5, 0644, NULL), 0);
	free(p);
	job_start(&j);
	job_wait(&j);
	CHECK(&j, j.status[0] == 0 && j.status[1] == 0);
	CHECK(&j, !strcmp(j.out[0], "1\n"));
	p = xasprintf("unseen\n0\n%s\nhere\n", tmpdir);
	CHECK(&j, !strcmp(j.out[1], p));
	free(p);
	assert_false(fs_exists(name));
	p = xasprintf("/dev/shm/s-%d", (int)getpid());
	assert_false(fs_exists(p));
	free(p);
	free(name);
	free(script0);
	free(script1);
	job_release(&j);
}

/* algo-1 reaches a TCP listener on algo-2:12000 over the job's network; eth0 has the address
 * /etc/hosts names. */
static const char listener[] = "import socket\n"
			       "s = socket.socket()\n"
			       "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
			       "s.bind(('algo-2', 12000))\n"
			       "s.listen()\n"
			       "c, _ = s.accept()\n"
			       "c.sendall(b'hello from ' + socket.gethostname().encode())\n"
			       "c.close()\n";
static const char client[] = "import socket, time\n"
			     "for i in range(200):\n"
			     "    try:\n"
			     "        c = socket.create_connection(('algo-2', 12000), timeout=5)\n"
			     "        break\n"
			     "    except OSError:\n"
			     "        time.sleep(0.05)\n"
			     "print(c.recv(100).decode())\n";

static void run_network(bool network_host)
{
	struct tjob j;
	char *s0 = xasprintf("python3 -c \"%s\"", client);
	char *s1 = xasprintf("python3 -c \"%s\"", listener);

	job_init(&j, 2, network_host);
	job_script(&j, 0, s0);
	job_script(&j, 1, s1);
	job_start(&j);
	job_wait(&j);
	CHECK(&j, j.status[0] == 0 && j.status[1] == 0);
	CHECK(&j, !strcmp(j.out[0], "hello from algo-2\n"));
	free(s0);
	free(s1);
	job_release(&j);
}

static void test_network(void **state)
{
	static const char script[] =
	    "a=$(getent hosts $(hostname) | cut -f1 -d' '); "
	    "ip -o -4 addr show dev eth0 | grep -q \" $a/\" && echo eth0-ok; "
	    "ip -o link | grep -c ': '";
	struct tjob j;

	(void)state;
	run_network(false);
	/* Only lo and eth0, with the address /etc/hosts gives the host. */
	job_init(&j, 2, false);
	for (size_t i = 0; i < j.n; i++)
		job_script(&j, i, script);
	job_start(&j);
	job_wait(&j);
	for (size_t i = 0; i < j.n; i++)
		CHECK(&j, j.status[i] == 0 && !strcmp(j.out[i], "eth0-ok\n2\n"));
	job_release(&j);
}

static void test_network_host(void **state)
{
	struct tjob j;
	char *p;

	(void)state;
	run_network(true);
	job_init(&j, 2, true);
	p = xasprintf("%s/etc/hosts", j.hosts[0].root);
	/* The job's block is the first free one (hosts/loopback.h): another test's job may hold
	 * 127.100 meanwhile.  Both hosts are in one block, as 1 and 2. */
	{
		bool found = false;

		for (unsigned a = LOOPBACK_FIRST_BLOCK; !found && a <= LOOPBACK_LAST_BLOCK; a++) {
			_cleanup_free_ char *want =
			    xasprintf("127.%u.0.1\talgo-1\n127.%u.0.2\talgo-2\n", a, a);

			found = file_has(p, want);
		}
		assert_true(found);
	}
	free(p);
	job_release(&j);
}

static void test_exit_statuses(void **state)
{
	struct tjob j;

	(void)state;
	job_init(&j, 3, false);
	job_script(&j, 0, "exit 3");
	job_script(&j, 1, "kill -TERM $$");
	/* A straggler in the background does not keep the host alive. */
	job_script(&j, 2, "sleep 1000 & exit 0");
	job_start(&j);
	job_wait(&j);
	CHECK(&j, WIFEXITED(j.status[0]) && WEXITSTATUS(j.status[0]) == 3);
	CHECK(&j, WIFSIGNALED(j.status[1]) && WTERMSIG(j.status[1]) == SIGTERM);
	CHECK(&j, WIFEXITED(j.status[2]) && WEXITSTATUS(j.status[2]) == 0);
	job_release(&j);
}

/* host_self_exe_seen: what the host's processes run this very binary by (mpirun's launch
 * agent names it), which is the file this process runs, whatever the host's /tmp shows. */
static void test_self_exe(void **state)
{
	struct tjob j;
	struct stat st;
	char *exe, *script, *want;

	(void)state;
	assert_int_equal(stat("/proc/self/exe", &st), 0);
	job_init(&j, 1, false);
	exe = host_self_exe_seen(&j.hosts[0]);
	assert_non_null(exe);
	script = xasprintf("stat -L -c %%d:%%i %s", exe);
	job_script(&j, 0, script);
	job_start(&j);
	job_wait(&j);
	want = xasprintf("%lu:%lu\n", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	CHECK(&j, j.status[0] == 0 && !strcmp(j.out[0], want));
	free(want);
	free(script);
	free(exe);
	job_release(&j);
}

/* Orphans are reaped by init: no zombie stays while the user's process runs. */
static void test_reaps_orphans(void **state)
{
	struct tjob j;

	(void)state;
	job_init(&j, 1, false);
	job_script(&j, 0,
		   "sh -c 'true & true & sleep 0.1 &'; sleep 0.5; "
		   "z=0; for s in /proc/[0-9]*/stat; do "
		   "  read -r a b c rest < $s 2>/dev/null && [ \"$c\" = Z ] && z=$((z+1)); "
		   "done; echo zombies=$z");
	job_start(&j);
	job_wait(&j);
	CHECK(&j, j.status[0] == 0 && !strcmp(j.out[0], "zombies=0\n"));
	job_release(&j);
}

static void wait_line(struct host *h, const char *want)
{
	char buf[256];
	size_t len = 0;

	while (!memmem(buf, len, want, strlen(want))) {
		struct pollfd p = {.fd = h->out_fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, 10000), 1);
		n = read(h->out_fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EAGAIN)
			continue;
		assert_true(n > 0);
		len += (size_t)n;
		assert_true(len < sizeof(buf));
	}
}

static void test_signals(void **state)
{
	struct sr_error err = {0};
	struct tjob j;

	(void)state;
	job_init(&j, 2, false);
	job_script(&j, 0,
		   "trap 'echo got-term; exit 5' TERM; echo ready; "
		   "while :; do sleep 0.05; done");
	job_script(&j, 1, "sleep 1000 & sleep 1000 & echo ready; wait");
	job_start(&j);
	wait_line(&j.hosts[0], "ready\n");
	wait_line(&j.hosts[1], "ready\n");
	assert_int_equal(host_signal(&j.hosts[0], SIGTERM, &err), 0);
	assert_int_equal(host_signal(&j.hosts[1], SIGKILL, &err), 0);
	job_wait(&j);
	CHECK(&j, WIFEXITED(j.status[0]) && WEXITSTATUS(j.status[0]) == 5);
	CHECK(&j, strstr(j.out[0], "got-term\n"));
	CHECK(&j, WIFSIGNALED(j.status[1]) && WTERMSIG(j.status[1]) == SIGKILL);
	/* Reaped: signalling again is a no-op. */
	assert_int_equal(host_signal(&j.hosts[1], SIGTERM, &err), 0);
	assert_nothing_left();
	job_release(&j);
}

/* Teardown of a running host kills all of it. */
static void test_teardown_running(void **state)
{
	struct tjob j;

	(void)state;
	job_init(&j, 1, false);
	job_script(&j, 0, "sleep 1000 & echo ready; sleep 1000");
	job_start(&j);
	wait_line(&j.hosts[0], "ready\n");
	host_teardown(&j.hosts[0]);
	assert_int_equal(j.hosts[0].pidfd, -1);
	host_teardown(&j.hosts[0]);
	assert_nothing_left();
	job_release(&j);
}

/* When sagerun itself is SIGKILLed, PDEATHSIG kills each init and with it every process of
 * its host.  The test is a subreaper, so the orphaned inits come back to it to be waited for
 * instead of to the machine's init: no polling. */
static void test_sagerun_killed(void **state)
{
	int ready[2], status;
	pid_t pid, r;
	char c;

	(void)state;
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tjob j;

		job_init(&j, 2, false);
		for (size_t i = 0; i < j.n; i++)
			job_script(&j, i, "sleep 1000 & sleep 1000 & echo ready; wait");
		job_start(&j);
		for (size_t i = 0; i < j.n; i++)
			wait_line(&j.hosts[i], "ready\n");
		(void)!write(ready[1], "r", 1);
		pause();
		_exit(1);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* Every init that was orphaned: each ends only once its namespace is empty. */
	while ((r = waitpid(-1, &status, 0)) > 0 || errno == EINTR)
		if (r > 0)
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
	assert_nothing_left();
}

/* Where clone3 is refused (old kernels, container seccomp profiles), clone + pidfd_open. */
static void test_clone_fallback(void **state)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
	int status = -1;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tjob j;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(10);
		if (syscall(__NR_clone3, NULL, 0) != -1 || errno != ENOSYS)
			_exit(11);
		job_init(&j, 2, false);
		job_script(&j, 0, "hostname; exit 7");
		job_script(&j, 1, "hostname");
		job_start(&j);
		job_wait(&j);
		if (!WIFEXITED(j.status[0]) || WEXITSTATUS(j.status[0]) != 7 || j.status[1] != 0)
			_exit(12);
		if (strcmp(j.out[0], "algo-1\n") || strcmp(j.out[1], "algo-2\n"))
			_exit(13);
		job_release(&j);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_errors(void **state)
{
	struct sr_error err = {0};
	struct tjob j;

	(void)state;
	job_init(&j, 2, false);
	strv_release(&j.hosts[0].argv);
	strv_push(&j.hosts[0].argv, "no-such-command-sr");
	assert_int_equal(host_start(&j.hosts[0], &err), -ENOENT);
	assert_string_equal(err.msg,
			    "algo-1: cannot run 'no-such-command-sr': No such file or directory");
	assert_false(j.hosts[0].started);

	/* A failed step inside the host names the host and the step. */
	job_script(&j, 1, "true");
	free(j.hosts[1].binds[0].dst);
	j.hosts[1].binds[0].dst = xstrdup("/nonexistent-sr-test/train");
	assert_int_equal(host_start(&j.hosts[1], &err), -ENOENT);
	assert_string_equal(err.msg,
			    "algo-2: mount /nonexistent-sr-test/train: No such file or directory");
	assert_false(fs_exists("/nonexistent-sr-test"));

	free(j.hosts[1].cwd);
	j.hosts[1].cwd = xstrdup("/opt/ml/nope");
	free(j.hosts[1].binds[0].dst);
	j.hosts[1].binds[0].dst = xstrdup("/opt/ml/input/data/train");
	assert_int_equal(host_start(&j.hosts[1], &err), -ENOENT);
	assert_string_equal(
	    err.msg, "algo-2: cannot change to folder '/opt/ml/nope': No such file or directory");
	job_release(&j);
}

static int setup_all(void **state)
{
	const char *why = NULL;

	(void)state;
	if (!ns_available(&why)) {
		print_message("[  SKIPPED ] test_ns: %s\n", why ? why : "needs root");
		return 0;
	}
	snprintf(marker, sizeof(marker), "sr-ns-test-%d", (int)getpid());
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sr-test-ns-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	mounts_before = slurp("/proc/self/mountinfo");
	return stat("/proc/self/ns/net", &netns_before);
}

static int teardown_all(void **state)
{
	char *mounts_after;
	struct stat st;
	int r = 0;

	(void)state;
	if (!tmpdir[0])
		return 0;
	mounts_after = slurp("/proc/self/mountinfo");
	if (!mounts_before || !mounts_after || strcmp(mounts_before, mounts_after)) {
		print_message("the test's mount table changed\n");
		r = -1;
	}
	if (stat("/proc/self/ns/net", &st) < 0 || st.st_ino != netns_before.st_ino) {
		print_message("the test's network namespace changed\n");
		r = -1;
	}
	free(mounts_before);
	free(mounts_after);
	if (fs_rm_rf(tmpdir, NULL) < 0)
		r = -1;
	return r;
}

/* Each test runs through here: skipped visibly (setup_all said why) unless namespaces work. */
static void run_ns(void **state)
{
	void (*test)(void **) = (void (*)(void **)) * state;

	if (!tmpdir[0])
		skip();
	*state = NULL;
	test(state);
}

#define NS_TEST(f)                                                                                 \
	{                                                                                          \
#f, run_ns, NULL, NULL, (void *)f                                                  \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NS_TEST(test_available),	      NS_TEST(test_identity_and_files),
	    NS_TEST(test_private_tmp),	      NS_TEST(test_network),
	    NS_TEST(test_network_host),	      NS_TEST(test_exit_statuses),
	    NS_TEST(test_reaps_orphans),      NS_TEST(test_signals),
	    NS_TEST(test_teardown_running),   NS_TEST(test_sagerun_killed),
	    NS_TEST(test_clone_fallback),     NS_TEST(test_errors),
	    NS_TEST(test_probe_child_reaped), NS_TEST(test_teardown_while_network_is_made),
	    NS_TEST(test_self_exe),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
