/* lease.c - the supervisor's lease on its job folder: an exclusive flock on supervisor.lock.
 *
 * The kernel drops the lock when its holder dies, however it dies, so the lease says whether
 * a supervisor is alive without trusting a pid.  Everybody else only probes it with a shared
 * lock (LOCK_SH|LOCK_NB, released at once): probes never conflict with each other, and the
 * only exclusive (WRITE) holder /proc/locks can show for the file is the supervisor.
 *
 * To signal the supervisor (stop): it wrote its pid into the lock file after locking; that pid
 * must be the WRITE holder of the file's inode in /proc/locks, is reached through a pidfd, and
 * is checked again after the pidfd is open, so a pid recycled in between is never signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

int store_lease_take(const char *folder, int *ret_fd, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	char pid[32];
	int n;

	if (fd < 0)
		return sr_err_errno(err, errno, "create '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK)
			return sr_err(err, -EBUSY, "'%s' is held by another sagerun", path);
		return sr_err_errno(err, e, "lock '%s'", path);
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		return sr_err_errno(err, errno, "write '%s'", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int store_lease_probe(const char *folder)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0; /* closing the fd drops the shared lock */
}

bool store_lease_held(const char *folder)
{
	return store_lease_probe(folder) == -EBUSY;
}

/* Is `pid` the WRITE holder of an FLOCK on inode `ino` in /proc/locks?  (The device is not
 * compared: /proc/locks and stat() disagree on it on some file systems; the pid from the
 * lock file already names the one candidate.) */
static bool holds_write_flock(pid_t pid, ino_t ino)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
	char line[256];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long inode;
		char kind[16], mode[16];
		int p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters have "->" */
		if (strstr(line, "->"))
			continue;
		if (sscanf(line, "%*d: %15s %*s %15s %d %*x:%*x:%llu", kind, mode, &p, &inode) != 4)
			continue;
		if (!strcmp(kind, "FLOCK") && !strcmp(mode, "WRITE") && p == (int)pid &&
		    inode == (unsigned long long)ino)
			return true;
	}
	return false;
}

int store_lease_signal(const char *folder, int sig, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int fd = -1, pidfd = -1;
	char buf[32] = {0};
	struct stat sb;
	long pid;
	char *end;

	if (!store_lease_held(folder))
		return sr_err(err, -ESRCH, "no supervisor holds '%s'", path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) < 0 || pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return sr_err(err, -ENXIO, "read '%s': %s", path, strerror(errno));
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || (*end && *end != '\n'))
		return sr_err(err, -ENXIO, "'%s' names no supervisor", path);
	if (!holds_write_flock((pid_t)pid, sb.st_ino)) {
		if (!store_lease_held(folder))
			return sr_err(err, -ESRCH, "no supervisor holds '%s'", path);
		return sr_err(err, -ENXIO,
			      "cannot find the supervisor of '%s' in /proc/locks (pid %ld)", folder,
			      pid);
	}
	pidfd = pidfd_open((pid_t)pid, 0);
	/* The pidfd names one process for good: make sure it is still the holder. */
	if (pidfd < 0 || !holds_write_flock((pid_t)pid, sb.st_ino))
		return sr_err(err, -ESRCH, "the supervisor of '%s' is gone", folder);
	if (pidfd_send_signal(pidfd, sig, NULL, 0) < 0)
		return sr_err_errno(err, errno, "signal the supervisor (pid %ld)", pid);
	return 0;
}

int store_lease_wait(const char *folder, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return errno == ENOENT ? 0 : sr_err_errno(err, errno, "open '%s'", path);
	/* Shared: many waiters at once, and none of them keeps the others waiting. */
	do
		r = flock(fd, LOCK_SH);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return sr_err_errno(err, errno, "wait for '%s'", path);
	return 0; /* closing the fd drops it */
}
