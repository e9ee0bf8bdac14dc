/* userns.c - sagerun's own user namespace for rootless ns hosts (userns.h). */
#include "hosts/userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

/* What a host's clone asks for, as ns.c's probe tries it: without CLONE_NEWNET, whose
 * namespace costs a millisecond to make and more to tear down, on every job. */
#define HOST_NS_FLAGS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)

static bool entered;

bool userns_entered(void)
{
	return entered;
}

/* A sysctl's value, -1 when it is not there (another kernel, or not readable). */
static long sysctl_get(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* This process runs under a seccomp filter (a container's runtime put it there). */
static bool under_seccomp(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8))
			return strtol(line + 8, NULL, 10) != 0;
	return false;
}

/* Why the kernel refused: errno `e` of the clone that asked for a user namespace (inner:
 * of the other namespaces, made inside one it gave), with the change that allows it. */
static const char *why_not(int e, bool inner)
{
	static char buf[512];

	if (!inner && sysctl_get("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		return "unprivileged user namespaces are disabled (sysctl "
		       "kernel.unprivileged_userns_clone = 0): allow them with `sysctl -w "
		       "kernel.unprivileged_userns_clone=1`, or run sagerun as root";
	if (!inner && sysctl_get("/proc/sys/user/max_user_namespaces") == 0)
		return "user namespaces are disabled (sysctl user.max_user_namespaces = 0): allow "
		       "them with `sysctl -w user.max_user_namespaces=15000`, or run sagerun as "
		       "root";
	if (sysctl_get("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		return "AppArmor restricts unprivileged user namespaces (Ubuntu's sysctl "
		       "kernel.apparmor_restrict_unprivileged_userns = 1): allow them with `sysctl "
		       "-w kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile "
		       "for sagerun with `userns,`, or run sagerun as root";
	if (e == EPERM && under_seccomp())
		return "a seccomp filter refuses user namespaces to this process (a container's "
		       "default profile does: Docker's, podman's): run the container with "
		       "`--security-opt seccomp=unconfined` (or a profile that allows clone and "
		       "unshare of user namespaces), or run sagerun as root";
	if (!inner && (e == ENOSPC || e == EUSERS))
		return "the user namespace limit is reached (sysctl user.max_user_namespaces): "
		       "raise it, or end other users' namespaces";
	if (!inner && e == EINVAL)
		return "the kernel refuses a user namespace here (EINVAL: sagerun runs in a "
		       "chroot, "
		       "or the kernel lacks CONFIG_USER_NS)";
	snprintf(buf, sizeof(buf),
		 "the kernel refuses %s to this user: %s; run sagerun as root, or allow "
		 "unprivileged user namespaces",
		 inner ? "namespaces inside a user namespace" : "a user namespace", strerror(e));
	return buf;
}

struct probe_result {
	int inner; /* errno of the unshare inside the new user namespace */
};

static int probe_main(void *arg)
{
	struct probe_result *p = arg;

	p->inner = unshare(HOST_NS_FLAGS) < 0 ? errno : 0;
	return 0;
}

const char *userns_probe(void)
{
	static char stack[16 * 1024] __attribute__((aligned(16)));
	struct probe_result res = {.inner = EPROTO};
	sigset_t all, old;
	pid_t pid;
	int e;

	if (entered)
		return NULL;
	/* A child that shares our memory until it exits (as ns.c's probe): it makes a user
	 * namespace, and in it what a host's clone asks for.  Every signal blocked around it:
	 * no handler of ours may run on its stack. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(probe_main, stack + sizeof(stack),
		    CLONE_VM | CLONE_VFORK | CLONE_NEWUSER | SIGCHLD, &res);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return why_not(e, false);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return res.inner ? why_not(res.inner, true) : NULL;
}

/* The caller's range in /etc/subuid or /etc/subgid ("name:start:count" or "id:start:count"),
 * the first that names it; false when there is none. */
static bool sub_range(const char *file, const char *name, unsigned long id, unsigned long *start,
		      unsigned long *count)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	char line[512], idbuf[32];

	snprintf(idbuf, sizeof(idbuf), "%lu", id);
	while (f && fgets(line, sizeof(line), f)) {
		char *who = strtok(line, ":\n"), *s = strtok(NULL, ":\n"), *c = strtok(NULL, ":\n");

		if (!who || !s || !c || (strcmp(who, idbuf) && (!name || strcmp(who, name))))
			continue;
		*start = strtoul(s, NULL, 10);
		*count = strtoul(c, NULL, 10);
		if (*count)
			return true;
	}
	return false;
}

static const char *find_tool(const char *name)
{
	static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/bin", "/sbin"};
	static char path[64];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/* Run `tool PID 0 ID 1 1 START COUNT` and wait for it: true when it mapped. */
static bool run_map_tool(const char *tool, pid_t target, unsigned long id, unsigned long start,
			 unsigned long count)
{
	char a[5][32];
	char *argv[9];
	pid_t pid;
	int st;

	snprintf(a[0], sizeof(a[0]), "%d", (int)target);
	snprintf(a[1], sizeof(a[1]), "%lu", id);
	snprintf(a[2], sizeof(a[2]), "%lu", start);
	snprintf(a[3], sizeof(a[3]), "%lu", count);
	argv[0] = (char *)tool;
	argv[1] = a[0];
	argv[2] = "0";
	argv[3] = a[1];
	argv[4] = "1";
	argv[5] = "1";
	argv[6] = a[2];
	argv[7] = a[3];
	argv[8] = NULL;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(tool, argv);
		_exit(127);
	}
	if (pid < 0)
		return false;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* newuidmap and newgidmap are set-uid programs, whose bit the kernel ignores inside the new
 * namespace: a helper forked before it waits for our word, maps us from outside, and says
 * which maps it wrote (1 uid, 2 gid) in its exit status. */
static pid_t helper_start(int *ret_go, uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	unsigned long us, uc, gs, gc;
	const char *nuid = find_tool("newuidmap"), *ngid;
	int p[2];
	pid_t pid;

	if (!nuid)
		return 0;
	nuid = xstrdup(nuid);
	ngid = find_tool("newgidmap");
	(void)getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res);
	if (!ngid || !sub_range("/etc/subuid", res ? res->pw_name : NULL, uid, &us, &uc) ||
	    !sub_range("/etc/subgid", res ? res->pw_name : NULL, uid, &gs, &gc) ||
	    pipe2(p, O_CLOEXEC) < 0) {
		free((char *)nuid);
		return 0;
	}
	pid = fork();
	if (pid == 0) {
		pid_t parent = getppid();
		char go;
		int done = 0;

		close(p[1]);
		if (read(p[0], &go, 1) != 1)
			_exit(0);
		if (run_map_tool(nuid, parent, uid, us, uc))
			done |= 1;
		if (run_map_tool(ngid, parent, gid, gs, gc))
			done |= 2;
		_exit(done);
	}
	free((char *)nuid);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return 0;
	}
	*ret_go = p[1];
	return pid;
}

static int write_file(const char *path, const char *s, struct sr_error *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return sr_err_errno(err, errno, "open %s", path);
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	if (n != (ssize_t)strlen(s))
		return sr_err_errno(err, n < 0 ? e : EIO, "write '%s' to %s", s, path);
	return 0;
}

static int threads_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int userns_enter(struct sr_error *err)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int go = -1, done = 0, st, r;
	char map[64];
	pid_t helper;

	if (entered)
		return 0;
	if (threads_count() > 1)
		return sr_err(err, -EBUSY,
			      "cannot make a user namespace: sagerun runs more than one thread "
			      "already");
	helper = helper_start(&go, uid, gid);
	if (unshare(CLONE_NEWUSER) < 0) {
		int e = errno;

		if (helper > 0) {
			close(go);
			while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
				;
		}
		return sr_err(err, -e, "cannot make a user namespace: %s", why_not(e, false));
	}
	if (helper > 0) {
		(void)!write(go, "g", 1);
		close(go);
		while (waitpid(helper, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st))
			done = WEXITSTATUS(st);
	}
	/* The one id, where the helper could not map a range: ours. */
	if (!(done & 1)) {
		snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)uid);
		r = write_file("/proc/self/uid_map", map, err);
		if (r < 0)
			return sr_err_wrap(err, "user namespace");
	}
	if (!(done & 2)) {
		/* An unprivileged gid_map needs setgroups denied first (user_namespaces(7)). */
		r = write_file("/proc/self/setgroups", "deny", err);
		snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)gid);
		if (r >= 0)
			r = write_file("/proc/self/gid_map", map, err);
		if (r < 0)
			return sr_err_wrap(err, "user namespace");
	}
	entered = true;
	return 0;
}
