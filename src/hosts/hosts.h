/* hosts.h - host backends behind one small const vtable (curl: vtls_int.h).
 *
 * A host is one emulated SageMaker instance (algo-N).  The backend starts its first process
 * with the argv, environment and working folder the caller prepared, hands back a pidfd and
 * the read ends of its stdout/stderr, signals the host as a whole, reaps it, and tears down
 * whatever it made.  `process` (this issue) runs each host as a process group; `ns` (Linux
 * namespaces) and `docker` come later and implement the same operations.
 */
#ifndef SR_HOSTS_HOSTS_H
#define SR_HOSTS_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/strv.h"

struct sr_error;
struct host_backend;

struct host {
	char name[16];      /* "algo-N" */
	size_t index;       /* 0-based */
	char *opt_ml;       /* the host's /opt/ml as sagerun sees it (owned) */
	struct strv argv;   /* what to run (owned) */
	struct strv env;    /* its complete environment (owned) */
	char *cwd;          /* working folder (owned) */

	/* Filled by host_start(); -1 / 0 when not running. */
	pid_t pid;
	int pidfd;
	int out_fd; /* read end of the host's stdout, CLOEXEC|NONBLOCK */
	int err_fd; /* read end of the host's stderr */
	bool started;
	bool exited; /* reaped: never signal it again */

	const struct host_backend *backend; /* borrowed */
	void *priv;                         /* backend state, freed by teardown */
};

struct host_backend {
	const char *name;
	/* Start the host's first process.  On success pid, pidfd, out_fd, err_fd are set. */
	int (*start)(struct host *h, struct sr_error *err);
	/* Deliver `sig` to every process of the host (not only the first). */
	int (*signal)(struct host *h, int sig, struct sr_error *err);
	/* Called once the pidfd is readable: reap the first process, return its wait status in
	 * *ret_status, and kill whatever else of the host is still alive. */
	int (*collect)(struct host *h, int *ret_status, struct sr_error *err);
	/* Idempotent: kill anything left, close fds, free priv.  Safe on a never-started host. */
	void (*teardown)(struct host *h);
};

/* NULL when unknown.  Known: "process". */
const struct host_backend *host_backend_find(const char *name);

/* Initialise a host record (all fds -1) for backend `b`. */
void host_init(struct host *h, size_t index, const struct host_backend *b);

int host_start(struct host *h, struct sr_error *err);
/* A no-op returning 0 once the host was reaped. */
int host_signal(struct host *h, int sig, struct sr_error *err);
int host_collect(struct host *h, int *ret_status, struct sr_error *err);
/* Kill whatever of the host is left, reap it, close its fds (backend teardown).  Idempotent;
 * the argv, env, cwd and opt_ml stay so the record can still be read. */
void host_teardown(struct host *h);
/* Tear down and free everything the host record owns. */
void host_release(struct host *h);

#endif
