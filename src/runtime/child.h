/* child.h - run the user's program as the training toolkit does: in a process group of its own,
 * SIGTERM and SIGINT forwarded to the whole group, stdout inherited, stderr passed through a
 * pipe whose last lines are kept for the failure message. */
#ifndef SR_RUNTIME_CHILD_H
#define SR_RUNTIME_CHILD_H

#include <stddef.h>

struct sr_error;

#define RT_TAIL_LINES	 10
#define RT_TAIL_LINE_MAX 512

/* The last lines of stderr, consecutive repeats dropped (the toolkit deduplicates). */
struct rt_tail {
	char lines[RT_TAIL_LINES][RT_TAIL_LINE_MAX];
	size_t n, first; /* a ring: lines[(first + i) % RT_TAIL_LINES], i < n */
	char cur[RT_TAIL_LINE_MAX];
	size_t cur_len;
};

/* Run argv (PATH searched) with `envp` in `cwd`, stderr through to `err_fd` and into `tail`
 * (may be NULL).  *ret_status is the wait status.  < 0 when it could not be started. */
int rt_child_run(char *const argv[], char *const envp[], const char *cwd, int err_fd,
		 struct rt_tail *tail, int *ret_status, struct sr_error *err);

/* The kept lines joined with "\n" (caller frees). */
char *rt_tail_text(const struct rt_tail *t);

#endif
