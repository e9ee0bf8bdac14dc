/* lease.c - the supervisor's lease on its job folder: an exclusive flock on supervisor.lock.
 *
 * The kernel drops the lock when its holder dies, however it dies, so the lease says whether
 * a supervisor is alive without trusting a pid.  To signal the supervisor (stop), its pid is
 * read from /proc/locks by the lock file's device and inode, reached through a pidfd, and the
 * holder is checked again after the pidfd is open: a pid recycled in between is never
 * signalled.
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

int store_lease_take(const char *folder, int *ret_fd, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return sr_err(err, -errno, "create '%s': %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK)
			return sr_err(err, -EBUSY, "'%s' is held by another sagerun", path);
		return sr_err(err, -e, "lock '%s': %s", path, strerror(e));
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int store_lease_try(const char *folder, int *ret_fd)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

bool store_lease_held(const char *folder)
{
	int fd = -1;
	bool held = store_lease_try(folder, &fd) == -EBUSY;

	sr_closep(&fd);
	return held;
}

/* The pid holding an FLOCK on (dev, ino), from /proc/locks; 0 when none. */
static pid_t flock_holder(dev_t dev, ino_t ino)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long inode;
		char kind[16];
		int pid;

		/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters have "->" */
		if (strstr(line, "->"))
			continue;
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%llu", kind, &pid, &maj, &min,
			   &inode) != 5)
			continue;
		if (!strcmp(kind, "FLOCK") && maj == major(dev) && min == minor(dev) &&
		    inode == (unsigned long long)ino && pid > 0)
			return (pid_t)pid;
	}
	return 0;
}

int store_lease_signal(const char *folder, int sig, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int pidfd = -1;
	struct stat sb;
	pid_t pid;

	if (stat(path, &sb) < 0 || !store_lease_held(folder))
		return sr_err(err, -ESRCH, "no supervisor holds '%s'", path);
	pid = flock_holder(sb.st_dev, sb.st_ino);
	if (pid <= 0)
		return sr_err(err, -ESRCH, "cannot find the supervisor holding '%s' in /proc/locks",
			      path);
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return sr_err(err, -ESRCH, "the supervisor of '%s' is gone", folder);
	/* The pidfd names one process for good: make sure it is still the holder. */
	if (flock_holder(sb.st_dev, sb.st_ino) != pid)
		return sr_err(err, -ESRCH, "the supervisor of '%s' is gone", folder);
	if (pidfd_send_signal(pidfd, sig, NULL, 0) < 0)
		return sr_err(err, -errno, "signal the supervisor (pid %d): %s", (int)pid,
			      strerror(errno));
	return 0;
}

int store_lease_wait(const char *folder, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" STORE_LEASE_NAME, folder);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return errno == ENOENT
			   ? 0
			   : sr_err(err, -errno, "open '%s': %s", path, strerror(errno));
	/* Shared: many waiters at once, and none of them keeps the others waiting. */
	do
		r = flock(fd, LOCK_SH);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return sr_err(err, -errno, "wait for '%s': %s", path, strerror(errno));
	(void)flock(fd, LOCK_UN);
	return 0;
}
