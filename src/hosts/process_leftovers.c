/* process_leftovers.c - the sweep: a host's processes found by the marker in their environment.
 *
 * Every process of a process-backend host carries PROC_HOST_ENV=<its host folder> (process.c's
 * host_env), and a child inherits its parent's environment whatever else it leaves: its
 * process group (setsid), its parent (a double fork), its terminal (nohup, daemon(3)).  So
 * where no cgroup holds a host, and when a lost supervisor's hosts are cleaned up, every
 * process whose environment names the host (or any host of the job) is killed through a
 * pidfd, so a recycled pid is never signalled.
 *
 * What escapes the sweep: a process that clears or rewrites its environment (env -i, an
 * execve with an environment of its own, daemons that sanitise theirs), one that runs as
 * another user whose environment a normal user cannot read nor signal (su, sudo, setuid
 * programs), and whatever a daemon starts on the host's behalf (systemd-run, at, docker run).
 * A subreaper supervisor would catch the first kind once orphaned, but it must then reap every
 * orphan that exits during the job, which its loop (pidfds of its own hosts) never does:
 * zombies would pile up for the job's length.  The cgroup (process_cgroup.c) has none of
 * these gaps.  (ns hosts die with their supervisor already: init has PDEATHSIG, and a PID
 * namespace dies with its init.)
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "hosts/internal.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Passes of one sweep at most, and how long it waits in all for what it killed to die. */
#define SWEEP_PASSES  16
#define SWEEP_WAIT_MS 5000

/* Does /proc/<pid>/environ hold `entry`, or with `prefix` an entry starting with it?  A zombie
 * has no environment left: it is never found. */
static bool environ_has(int pid, const char *entry, bool prefix)
{
	char path[64];
	_cleanup_free_ char *data = NULL;
	size_t len = 0, m = strlen(entry);

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	if (fs_read_file(path, 1 << 20, &data, &len, NULL) < 0)
		return false;
	for (size_t i = 0; i < len;) {
		const char *e = data + i;
		size_t l = strnlen(e, len - i);

		if ((prefix ? l >= m : l == m) && !memcmp(e, entry, m))
			return true;
		i += l + 1;
	}
	return false;
}

/* One pass over /proc: the pidfds of the processes it killed go to `killed` (n of them). */
static int sweep_pass(const char *entry, bool prefix, int **killed, size_t *n, size_t *cap)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int fd;

		if (*end || pid <= 1 || pid == self)
			continue;
		/* The pidfd first: if the pid is recycled after this, environ_has reads the new
		 * process's environment, and the signal goes to the process that was checked. */
		fd = pidfd_open((pid_t)pid, 0);
		if (fd < 0)
			continue;
		if (environ_has((int)pid, entry, prefix) &&
		    pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0) {
			xgrow(killed, cap, *n + 1, sizeof(**killed));
			(*killed)[(*n)++] = fd;
		} else {
			close(fd);
		}
	}
	closedir(d);
	return 0;
}

/* Until every pidfd says its process ended (readable), or the deadline; closes them. */
static void wait_dead(int *fds, size_t n, int64_t deadline)
{
	_cleanup_free_ struct pollfd *p = xcalloc(n ? n : 1, sizeof(*p));
	size_t left = n;

	for (size_t i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	while (left) {
		int64_t ms = deadline - clock_mono_ms();

		if (ms <= 0 || poll(p, n, (int)ms) <= 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (p[i].fd >= 0 && p[i].revents) {
				p[i].fd = -1; /* poll skips it from now on */
				left--;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		fds[i] = sr_close(fds[i]);
}

int proc_sweep(const char *entry, bool prefix)
{
	int64_t deadline = clock_mono_ms() + SWEEP_WAIT_MS;
	int total = 0;

	/* A process that forks between its parent's kill and the end of the pass is found by the
	 * next one; the killed ones must be dead first, or the next pass finds them again. */
	for (int pass = 0; pass < SWEEP_PASSES; pass++) {
		_cleanup_free_ int *killed = NULL;
		size_t n = 0, cap = 0;
		int r = sweep_pass(entry, prefix, &killed, &n, &cap);

		if (r < 0)
			return r;
		if (!n)
			break;
		total += (int)n;
		wait_dead(killed, n, deadline);
	}
	return total;
}

void proc_cleanup_leftovers(const char *job_dir, struct strv *warnings)
{
	_cleanup_free_ char *trees = xasprintf("%s=%s/hosts/", PROC_HOST_ENV, job_dir);
	int r;

	proc_cgroup_leftovers(job_dir, warnings);
	/* Also after the groups: a host that had none (no cgroup2 here, or not writable). */
	r = proc_sweep(trees, true);
	if (r < 0)
		strv_pushf(warnings, "cannot look for the processes of %s: /proc: %s", job_dir,
			   strerror(-r));
}
