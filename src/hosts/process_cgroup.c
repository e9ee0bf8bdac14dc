/* process_cgroup.c - the process backend's cgroups: a cgroup2 group per job and one per host.
 *
 * A process group holds a host only while its processes stay in it: setsid, a double fork or
 * daemon(3) leave it, and a group kill misses them.  A cgroup is inherited by every child and
 * left only by a write to another group's cgroup.procs, so a group per host holds whatever the
 * host ever started, and cgroup.kill ends it whole, forks in flight included.
 *
 * The groups go under the one sagerun itself runs in (/proc/self/cgroup, found on a cgroup2
 * mount of /proc/self/mountinfo), where sagerun may write: as root, or in a subtree delegated
 * to the user (systemd's user@.service, `systemd-run --user --scope`).  There the job gets
 * sagerun-<job>-<8 hex of its folder> (two homes never meet) and each host algo-N in it.  The
 * job's group is recorded in <job>/hosts.cgroup before it is made, so whoever finds the
 * supervisor lost removes it (proc_cgroup_leftovers).
 *
 * What escapes: a process that moves itself to a group elsewhere (that takes write access to
 * the cgroup.procs of a group above both: root, or the user the subtree is delegated to);
 * whatever a daemon starts on the host's behalf (systemd-run, at, a D-Bus service, docker
 * run), which lives in that daemon's group.  A process stuck in the kernel (D state) outlives
 * the kill until it leaves it; its group stays until then (PROC_CGROUP_WAIT_MS, then an error).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "hosts/internal.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* In the job's folder: the path of the job's group, one line. */
#define RECORD_NAME "hosts.cgroup"
/* How long a group may take to empty after its kill. */
#define PROC_CGROUP_WAIT_MS 10000
/* Where the kernel has no cgroup.kill: how often the processes are looked for again. */
#define KILL_EACH_EVERY_MS 20

/* Write a short string to a cgroup file: 0 or -errno. */
static int write_string(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fs_write_all(fd, s, strlen(s));
}

/* mountinfo escapes a space as "\040" (and tab, newline, backslash likewise): decoded in
 * place. */
static void mountinfo_unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Cut `s` at the next `sep` (NUL-terminating that field); the rest, or NULL at the end. */
static char *field_next(char *s, char sep)
{
	char *e = strchr(s, sep);

	if (!e)
		return NULL;
	*e = '\0';
	return e + 1;
}

/* The folder of the cgroup2 group this process runs in; NULL where no cgroup2 mount shows
 * it (cgroup v1 only, or the group lies outside this cgroup namespace: "/.."). */
static char *own_group_dir(void)
{
	_cleanup_free_ char *cg = NULL, *mi = NULL;
	const char *path = NULL;

	if (fs_read_file("/proc/self/cgroup", 1 << 16, &cg, NULL, NULL) < 0)
		return NULL;
	for (char *line = cg, *next; line && *line; line = next) {
		next = field_next(line, '\n');
		if (!strncmp(line, "0::", 3)) {
			path = line + 3;
			break;
		}
	}
	if (!path || path[0] != '/' || strstr(path, "/..") || strstr(path, " (deleted)"))
		return NULL;

	if (fs_read_file("/proc/self/mountinfo", 1 << 24, &mi, NULL, NULL) < 0)
		return NULL;
	for (char *line = mi, *next; line && *line; line = next) {
		char *f[5], *rest = line, *dash;
		size_t rl;
		int n = 0;

		next = field_next(line, '\n');
		/* "id parent major:minor root mount-point options [optional...] - type ..." */
		dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, "cgroup2 ", 8))
			continue;
		*dash = '\0';
		while (rest && n < 5) {
			f[n++] = rest;
			rest = field_next(rest, ' ');
		}
		if (n < 5)
			continue;
		mountinfo_unescape(f[3]);
		mountinfo_unescape(f[4]);
		/* The mount shows the hierarchy from its root on: our group must lie below it. */
		rl = strcmp(f[3], "/") ? strlen(f[3]) : 0;
		if (strncmp(path, f[3], rl) || (path[rl] != '/' && path[rl] != '\0'))
			continue;
		return xasprintf("%s%s", f[4], strcmp(path + rl, "/") ? path + rl : "");
	}
	return NULL;
}

/* "sagerun-<folder's name>-<8 hex of the folder>", as the docker backend names its
 * containers. */
static char *job_group_name(const char *job_dir)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];
	const char *base = strrchr(job_dir, '/');

	sha256(job_dir, strlen(job_dir), d);
	sr_hex_encode(d, 4, hex);
	return xasprintf("sagerun-%s-%s", base ? base + 1 : job_dir, hex);
}

static int group_mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* A job of this folder's before (same name, removed, run again) lost it. */
	(void)proc_cgroup_remove(path, NULL);
	return mkdir(path, 0755) < 0 ? -errno : 0;
}

int proc_cgroup_job_make(const char *job_dir, char **ret_path, struct sr_error *err)
{
	_cleanup_free_ char *own = own_group_dir(), *procs = NULL, *name = NULL, *path = NULL;
	_cleanup_free_ char *record = NULL, *line = NULL;
	int r;

	if (!own)
		return 0;
	/* Moving a process between two groups takes write access to the cgroup.procs of a group
	 * above both (cgroup-v2.rst, "Delegation Containment"): here, sagerun's own. */
	procs = xasprintf("%s/cgroup.procs", own);
	if (access(own, W_OK) < 0 || access(procs, W_OK) < 0)
		return 0;
	name = job_group_name(job_dir);
	path = xasprintf("%s/%s", own, name);
	record = xasprintf("%s/" RECORD_NAME, job_dir);
	line = xasprintf("%s\n", path);
	/* Recorded before it is made: a supervisor killed right after the mkdir leaves a group
	 * that the next command finds.  No fsync: a crash of the machine takes the groups too. */
	r = fs_write_replace(record, line, strlen(line), 0644, err);
	if (r < 0)
		return r;
	if (group_mkdir(path) < 0) {
		/* Writable as far as access() could tell, yet not here (a read-only mount, a
		 * cgroup.max.descendants reached): the sweep holds the hosts instead. */
		(void)unlink(record);
		return 0;
	}
	*ret_path = TAKE_PTR(path);
	return 1;
}

int proc_cgroup_host_make(const char *job_cgroup, const char *name, char **ret_path)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", job_cgroup, name);
	int fd;

	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		(void)rmdir(path);
		return -e;
	}
	*ret_path = TAKE_PTR(path);
	return fd;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The pids of a cgroup.procs file, sorted; 0 or -errno. */
static int read_pids(const char *procs, pid_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *data = NULL;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	int r = fs_read_file(procs, 1 << 24, &data, NULL, NULL);

	if (r < 0)
		return r;
	for (char *p = data, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0) {
			xgrow(&v, &cap, n + 1, sizeof(*v));
			v[n++] = (pid_t)pid;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), pid_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* SIGKILL every process cgroup.procs of `dir` lists.  A pid read there may be reaped and
 * recycled before it is signalled, so each is held by a pidfd first and killed only if the
 * file still lists it afterwards: the pidfd's process was in the group then, or is dead. */
static void kill_listed(const char *dir)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	_cleanup_free_ pid_t *before = NULL, *after = NULL;
	_cleanup_free_ int *fds = NULL;
	size_t nb = 0, na = 0;

	if (read_pids(procs, &before, &nb) < 0 || !nb)
		return;
	fds = xcalloc(nb, sizeof(*fds));
	for (size_t i = 0; i < nb; i++)
		fds[i] = pidfd_open(before[i], 0);
	if (read_pids(procs, &after, &na) >= 0) {
		for (size_t i = 0; i < nb; i++)
			if (fds[i] >= 0 && bsearch(&before[i], after, na, sizeof(*after), pid_cmp))
				(void)pidfd_send_signal(fds[i], SIGKILL, NULL, 0);
	}
	for (size_t i = 0; i < nb; i++)
		fds[i] = sr_close(fds[i]);
}

static void kill_tree(const char *dir)
{
	DIR *d;
	struct dirent *de;

	kill_listed(dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		kill_tree(sub);
	}
	closedir(d);
}

void proc_cgroup_kill_each(const char *path)
{
	_cleanup_free_ char *freeze = xasprintf("%s/cgroup.freeze", path);

	/* Frozen, its processes neither fork nor exit on their own while they are listed, and
	 * SIGKILL still ends a frozen process.  Before Linux 5.2 there is no freezer: whatever
	 * forked meanwhile is found by the caller's next pass. */
	(void)write_string(freeze, "1");
	kill_tree(path);
}

int proc_cgroup_kill(const char *path)
{
	_cleanup_free_ char *file = xasprintf("%s/cgroup.kill", path);
	int r = write_string(file, "1");

	if (r != -ENOENT)
		return r;
	if (!fs_is_dir(path))
		return 0; /* the group is gone: nothing to kill */
	/* FIXME: drop when Linux 5.14 (cgroup.kill) is baseline. */
	proc_cgroup_kill_each(path);
	return 1;
}

/* Until cgroup.events of `path` says "populated 0": no process is left in the group or under
 * it.  `each`: the kernel has no cgroup.kill, so kill again at every look.  0 or -errno. */
static int wait_empty(const char *path, int64_t deadline, bool each)
{
	_cleanup_free_ char *events = xasprintf("%s/cgroup.events", path);
	_cleanup_close_ int fd = open(events, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		char buf[512];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		const char *pop;
		int64_t left;

		if (n < 0)
			return -errno;
		buf[n] = '\0';
		pop = strstr(buf, "populated ");
		if (!pop)
			return -EPROTO;
		if (pop[10] == '0')
			return 0;
		left = deadline - clock_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (each) {
			proc_cgroup_kill_each(path);
			if (left > KILL_EACH_EVERY_MS)
				left = KILL_EACH_EVERY_MS;
		}
		/* A change of the file wakes poll with POLLPRI (kernfs_notify); reading it above
		 * re-armed that. */
		struct pollfd p = {.fd = fd, .events = POLLPRI};
		(void)poll(&p, 1, (int)left);
	}
}

/* rmdir the groups under `path`, deepest first, then `path`: 0 or the first -errno. */
static int rmdir_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
		int s = rmdir_tree(sub);

		if (s < 0 && !r)
			r = s;
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

int proc_cgroup_remove(const char *path, struct sr_error *err)
{
	int64_t deadline = clock_mono_ms() + PROC_CGROUP_WAIT_MS;
	int r = proc_cgroup_kill(path);
	bool each = r > 0;

	if (r < 0)
		return sr_err_errno(err, -r, "kill the processes of cgroup '%s'", path);
	r = wait_empty(path, deadline, each);
	if (r == -ETIMEDOUT)
		return sr_err(err, r,
			      "cgroup '%s': processes still there %d s after they were killed "
			      "(stuck in the kernel?)",
			      path, PROC_CGROUP_WAIT_MS / 1000);
	if (r < 0)
		return sr_err_errno(err, -r, "read '%s/cgroup.events'", path);
	r = rmdir_tree(path);
	if (r < 0)
		return sr_err_errno(err, -r, "remove cgroup '%s'", path);
	return 0;
}

int proc_cgroup_job_remove(const char *job_dir, const char *path, struct sr_error *err)
{
	_cleanup_free_ char *record = xasprintf("%s/" RECORD_NAME, job_dir);
	int r = proc_cgroup_remove(path, err);

	/* Kept when the group is: the next look (cleanup_leftovers) tries again. */
	if (r >= 0 && unlink(record) < 0 && errno != ENOENT)
		return sr_err_errno(err, errno, "remove '%s'", record);
	return r;
}

/* A path from a record in a user's folder: only a group sagerun names, on cgroup2, is killed
 * and removed. */
static bool is_our_group(const char *path)
{
	const char *base = strrchr(path, '/');
	struct statfs sf;

	if (path[0] != '/' || !base || strncmp(base + 1, "sagerun-", 8))
		return false;
	if (statfs(path, &sf) < 0)
		return errno == ENOENT; /* gone already: only the record is left */
	return sf.f_type == CGROUP2_SUPER_MAGIC;
}

void proc_cgroup_leftovers(const char *job_dir, struct strv *warnings)
{
	_cleanup_free_ char *record = xasprintf("%s/" RECORD_NAME, job_dir);
	_cleanup_free_ char *path = NULL;
	struct sr_error err = {0};
	size_t len = 0;

	if (fs_read_file(record, 1 << 16, &path, &len, NULL) < 0)
		return; /* no record: the job had no cgroup, or removed it */
	while (len && path[len - 1] == '\n')
		path[--len] = '\0';
	if (!is_our_group(path)) {
		strv_pushf(warnings,
			   "%s names '%s', which is not a cgroup of sagerun's: left alone", record,
			   path);
		return;
	}
	if (proc_cgroup_job_remove(job_dir, path, &err) < 0)
		strv_pushf(warnings, "%s", err.msg);
}
