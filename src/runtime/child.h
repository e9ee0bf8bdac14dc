/* child.h - run the user's program as the training toolkit does: each process in a process
 * group of its own, SIGTERM and SIGINT forwarded to every group, stdout inherited, stderr
 * passed through a pipe whose last lines are kept for the failure message.  Several at once
 * for the torch runner: the first that fails has the others stopped (SIGTERM, then SIGKILL
 * after RT_STOP_GRACE_MS), as torchrun stops a failed group's workers. */
#ifndef SR_RUNTIME_CHILD_H
#define SR_RUNTIME_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sr_error;

#define RT_TAIL_LINES	 10
#define RT_TAIL_LINE_MAX 512
#define RT_STOP_GRACE_MS 10000

/* The last lines of stderr, consecutive repeats dropped (the toolkit deduplicates). */
struct rt_tail {
	char lines[RT_TAIL_LINES][RT_TAIL_LINE_MAX];
	size_t n, first; /* a ring: lines[(first + i) % RT_TAIL_LINES], i < n */
	char cur[RT_TAIL_LINE_MAX];
	size_t cur_len;
};

struct rt_proc {
	char *const *argv; /* PATH searched */
	char *const *envp;
	struct rt_tail tail;
	int status; /* its wait status, once exited */
	/* private */
	pid_t pid;
	int err_r;
	bool exited, open_err;
};

/* Run the `n` processes in `cwd`, stderr through to `err_fd`, until all have exited (and
 * closed their stderr, or a second after they exited).  *ret_failed: the index of the first
 * to exit non-zero (n when none).  < 0 when they could not be started (none is left). */
int rt_procs_run(struct rt_proc *p, size_t n, const char *cwd, int err_fd, size_t *ret_failed,
		 struct sr_error *err);

/* One process: *ret_status its wait status. */
int rt_child_run(char *const argv[], char *const envp[], const char *cwd, int err_fd,
		 struct rt_tail *tail, int *ret_status, struct sr_error *err);

/* In the process backend every host is one process group that sagerun signals as a whole:
 * the children stay in it (and nothing is forwarded) rather than escape into groups of their
 * own that a SIGKILL of the host's group would miss. */
void rt_child_stay_in_group(bool stay);

/* The first SIGTERM or SIGINT that reached us while children ran (0: none): a stop, not the
 * program's failure. */
int rt_child_stop_signal(void);

/* From now on a SIGTERM or SIGINT outside rt_procs_run is noted (rt_child_stop_signal()) and
 * interrupts the call it arrives in, for the runners' waits between children.  As PID 1 of a
 * container we would otherwise not even see it: the kernel drops signals PID 1 has no
 * handler for, and the stop would wait for the engine's SIGKILL. */
void rt_child_catch_stops(void);

/* In a child about to exec: SIGPIPE, SIGTERM and SIGINT back to their default actions. */
void rt_child_default_signals(void);

/* The kept lines joined with "\n" (caller frees). */
char *rt_tail_text(const struct rt_tail *t);

/* The toolkit's failure message for a program that exited with wait status `status`
 * (reference §2.13); `context` (may be NULL) leads the ErrorMessage ("rank 3").  Caller
 * frees. */
char *rt_exit_message(char *const *argv, int status, const struct rt_tail *tail,
		      const char *context);

#endif
