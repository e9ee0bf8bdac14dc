/* spawn.h - what the host backends share for starting a host's processes (libuv: process.c).
 *
 * Parent side: stdio pipes, where to look for argv[0], clone with a pidfd, reaping, turning an
 * exec errno into an error.  Child side (spawn_child_*): async-signal-safe steps between clone
 * and exec; they never allocate and return a positive errno instead of reporting.
 */
#ifndef SR_HOSTS_SPAWN_H
#define SR_HOSTS_SPAWN_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

struct host;
struct sr_error;
struct strv;

/* What docker gives a container whose image sets no PATH. */
#define SPAWN_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The host's stdout/stderr pipes and /dev/null for its stdin; every fd -1 when not open. */
struct spawn_stdio {
	int null_fd;
	int out_r; /* ours: CLOEXEC|NONBLOCK */
	int out_w; /* the host's: CLOEXEC, blocking; dup2'd onto 1 in the child */
	int err_r;
	int err_w;
};

/* Open all of them; on failure everything opened is closed again.  `name` is the host's. */
int spawn_stdio_open(struct spawn_stdio *s, const char *name, struct sr_error *err);
/* Close the host's ends (after the clone). */
void spawn_stdio_close_child(struct spawn_stdio *s);
/* Close whatever is still open; idempotent. */
void spawn_stdio_close(struct spawn_stdio *s);

/* Where execve should look for argv[0]: itself when it has a '/', else each folder of the
 * host's PATH (not sagerun's).  Pushes onto `out`; the caller releases it. */
void spawn_exec_candidates(const struct host *h, struct strv *out);

/* clone3(CLONE_PIDFD | flags) with exit signal SIGCHLD; *ret_pidfd gets the child's pidfd.
 * Falls back to clone() + pidfd_open() where clone3 is refused (ENOSYS, EPERM from seccomp).
 * Returns the pid, 0 in the child, or -1 with errno set.  Block signals around it. */
pid_t spawn_clone(uint64_t flags, int *ret_pidfd);
/* The same, the child born in the cgroup2 group of the directory fd `cgroup_fd`
 * (CLONE_INTO_CGROUP): none of its code runs anywhere else.  Never falls back: -1 with errno
 * where clone3 or CLONE_INTO_CGROUP is missing (ENOSYS, E2BIG before Linux 5.7, EPERM) or the
 * group refuses it (EACCES, EBUSY, EOPNOTSUPP...).  cgroup_fd -1 is spawn_clone. */
pid_t spawn_clone_into(uint64_t flags, int cgroup_fd, int *ret_pidfd);

/* waitid(P_PIDFD) restarting on EINTR; 0 or -errno. */
int spawn_wait(int pidfd, siginfo_t *si, int flags);

/* A wait status (as waitpid's) from what waitid reported. */
int spawn_status_from_siginfo(const siginfo_t *si);

/* "algo-N: cannot run 'x': No such file or directory" with a hint; returns -e. */
int spawn_exec_error(const struct host *h, int e, struct sr_error *err);

/* Child side.  Move `fd` above 0-2 (CLOEXEC copy) so dup2()s onto 0-2 cannot clobber it. */
int spawn_child_move_up(int fd);
/* dup2 in/out/err onto 0/1/2 (each moved up first); 0 or a positive errno. */
int spawn_child_stdio(int in, int out, int errfd);
/* Default dispositions for every signal, then an empty mask. */
void spawn_child_reset_signals(void);
/* execve each candidate in turn as execvp does; returns the errno to report. */
int spawn_child_exec(char *const *candidates, char *const *argv, char *const *envp);

#endif
