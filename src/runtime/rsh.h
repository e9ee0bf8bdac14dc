/* rsh.h - `sagerun container rsh HOST CMD...`: run CMD on HOST's agent (agent.h), as ssh would.
 *
 * Open MPI's plm_rsh_agent calls it as `<agent> [ssh options] HOST "<shell string>" args...`;
 * the agent joins CMD... with spaces and runs it with /bin/sh -c.  stdin, stdout and stderr
 * travel over the connection; the result is the remote exit code, or 128+signal when the
 * command was killed.  Failures of the transport itself are errors (the CLI exits 255, as ssh).
 */
#ifndef SR_RUNTIME_RSH_H
#define SR_RUNTIME_RSH_H

#include <stddef.h>

struct sr_error;

#define RT_RSH_CONNECT_MS 10000 /* hosts start concurrently: retry a refused connect this long */

struct rt_rsh_opts {
	const char *host; /* "algo-2" or "user@algo-2" (the user is ignored) */
	char *const *argv;
	size_t argc;
	const char *config_path; /* NULL: rt_agent_config_path(NULL) */
	int in_fd, out_fd, err_fd;
	int connect_ms; /* 0: RT_RSH_CONNECT_MS */
};

/* 0 with *ret_code (0-255) on a finished remote command, else a negative errno with `err`
 * saying what, where and what to do. */
int rt_rsh_run(const struct rt_rsh_opts *o, int *ret_code, struct sr_error *err);

#endif
