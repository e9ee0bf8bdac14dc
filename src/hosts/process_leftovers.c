/* process_leftovers.c - what the process backend's hosts leave when their supervisor dies.
 *
 * A host's first process dies with its supervisor (PR_SET_PDEATHSIG), but its children may
 * not.  Every process of a process-backend host carries PROC_HOST_ENV=<its host folder> in
 * its environment (process.c's host_env); every process whose environment names a host folder
 * of the job is killed through a pidfd, so a recycled pid is never signalled.  (ns hosts die
 * with their supervisor already: init has PDEATHSIG, and a PID namespace dies with its init.)
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "hosts/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Does /proc/<pid>/environ hold an entry starting with `prefix_entry`? */
static bool environ_has(int pid, const char *prefix_entry)
{
	char path[64];
	_cleanup_free_ char *data = NULL;
	size_t len = 0, m = strlen(prefix_entry);

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	if (fs_read_file(path, 1 << 20, &data, &len, NULL) < 0)
		return false;
	for (size_t i = 0; i < len;) {
		const char *e = data + i;
		size_t l = strnlen(e, len - i);

		if (l >= m && !memcmp(e, prefix_entry, m))
			return true;
		i += l + 1;
	}
	return false;
}

void proc_cleanup_leftovers(const char *job_dir, struct strv *warnings)
{
	_cleanup_free_ char *trees = xasprintf("%s=%s/hosts/", PROC_HOST_ENV, job_dir);
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d) {
		strv_pushf(warnings, "cannot look for the processes of %s: /proc: %s", job_dir,
			   strerror(errno));
		return;
	}
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
		if (environ_has((int)pid, trees))
			(void)pidfd_send_signal(fd, SIGKILL, NULL, 0);
		close(fd);
	}
	closedir(d);
}
