/* hosts.h - host backends behind one small const vtable (curl: vtls_int.h).
 *
 * A host is one emulated SageMaker instance (algo-N).  The backend starts its first process
 * with the argv, environment and working folder the caller prepared, hands back a pidfd and
 * the read ends of its stdout/stderr, signals the host as a whole, reaps it, and tears down
 * whatever it made.  `process` runs each host as a process group, `ns` as a set of Linux
 * namespaces (ns.c), `docker` as a container of the job's image (docker.c).
 */
#ifndef SR_HOSTS_HOSTS_H
#define SR_HOSTS_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/strv.h"

struct sr_error;
struct host_backend;
struct host_group;

/* A folder bind-mounted into a host (backends with HOST_BACKEND_F_BINDS), e.g. a channel. */
struct host_bind {
	char *src;     /* absolute path on this machine (owned) */
	char *dst;     /* absolute path inside the host, e.g. /opt/ml/input/data/train (owned) */
	bool readonly; /* channels are read-only, as on the service */
};

struct host {
	char name[16];	  /* "algo-N" */
	size_t index;	  /* 0-based */
	char *opt_ml;	  /* the host's /opt/ml as sagerun sees it (owned) */
	struct strv argv; /* what to run (owned) */
	struct strv env;  /* its complete environment (owned) */
	char *cwd;	  /* working folder, as the host sees it (owned) */
	char *root;	  /* the host's own folder: <job>/hosts/algo-N (owned); its etc/ holds
			   * the hosts and hostname files a namespace backend mounts */
	struct host_bind *binds; /* extra mounts (owned), n_binds of them */
	size_t n_binds;
	struct host_group *group; /* the job's hosts, shared (borrowed) */
	/* > 0: the host runs sagerun's rsh agent (runtime/agent.h) on this port of its own
	 * address; its config is in the host's input/config.  0: no agent. */
	int agent_port;
	/* argv is sagerun's own (`sagerun container train`, the training toolkit in C): the
	 * backend runs this very binary, reached by an fd where the host's file system may not
	 * show its path. */
	bool run_self;

	/* Filled by host_start(); -1 / 0 when not running. */
	pid_t pid;
	int pidfd;
	int out_fd;    /* read end of the host's stdout, CLOEXEC|NONBLOCK */
	int err_fd;    /* read end of the host's stderr */
	bool launched; /* host_launch succeeded; started once host_launch_wait did */
	bool started;
	bool exited; /* reaped: never signal it again */

	const struct host_backend *backend; /* borrowed */
	void *priv;			    /* backend state, freed by teardown */
};

/* What the container backends (docker, and `sagerun compose`) need beyond the hosts. */
struct host_container {
	const char *job_name; /* in the names and labels of what the engine makes */
	const char *job_dir;  /* the job's folder: label sagerun.dir, how leftovers are found */
	const char *image;    /* the image every host runs */
	/* --toolkit builtin: a static sagerun, bind-mounted read-only as the entrypoint
	 * (`sagerun container train`); NULL: the image's own entrypoint gets `train`. */
	const char *toolkit_binary;
	int gpus;	     /* --gpus-per-host: 0 none, -1 all, else that many */
	long long shm_bytes; /* --shm-size; 0: the engine's default (64 MiB) */
};

/* What all hosts of one job share: the network, for the namespace backend. */
struct host_group {
	struct host *hosts; /* borrowed, n of them */
	size_t n;
	bool network_host;  /* --network host: share this machine's network namespace */
	const char *subnet; /* --subnet CIDR for the private network; NULL = the default */
	const struct host_container *container; /* container backends only (borrowed) */
	const struct host_backend *backend;
	void *priv; /* backend state, freed by group_teardown */
};

enum host_backend_flags {
	/* Hosts see their tree at /opt/ml (not at h->opt_ml). */
	HOST_BACKEND_F_OPT_ML = 1 << 0,
	/* Hosts share this machine's network: MASTER_ADDR is 127.0.0.1. */
	HOST_BACKEND_F_SHARED_NETWORK = 1 << 1,
	/* Channels are bind-mounted (h->binds), not linked into the tree. */
	HOST_BACKEND_F_BINDS = 1 << 2,
	/* Hosts are containers of an image: they get the job's environment and the contract's,
	 * never this machine's (its PATH, HOME... would break the image). */
	HOST_BACKEND_F_CONTAINER = 1 << 3,
};

struct host_backend {
	const char *name;
	unsigned flags; /* enum host_backend_flags */
	/* Optional: start making, in the background, what the job's hosts share and needs only
	 * the group's shape (the number of hosts, the network options): called as early as the
	 * job is known, before its hosts' trees are laid out.  Never fails: an error waits for
	 * group_prepare.  Without it group_prepare does it all. */
	void (*group_begin)(struct host_group *g);
	/* Optional: make what the job's hosts share (the private network, /etc/hosts of each
	 * host) before any host starts.  Called once per job (after group_begin, if called). */
	int (*group_prepare)(struct host_group *g, struct sr_error *err);
	/* Optional, idempotent: undo group_prepare. */
	void (*group_teardown)(struct host_group *g);
	/* Start the host's first process.  On success pid, pidfd, out_fd, err_fd are set. */
	int (*start)(struct host *h, struct sr_error *err);
	/* Optional, both or neither: start in two halves, so that a job's hosts set themselves
	 * up at the same time.  launch returns once the host is on its way (a teardown then
	 * kills it); launch_wait waits until it runs, as start would have returned. */
	int (*launch)(struct host *h, struct sr_error *err);
	int (*launch_wait)(struct host *h, struct sr_error *err);
	/* Deliver `sig` to every process of the host (not only the first). */
	int (*signal)(struct host *h, int sig, struct sr_error *err);
	/* Called once the pidfd is readable: reap the first process, return its wait status in
	 * *ret_status, and kill whatever else of the host is still alive. */
	int (*collect)(struct host *h, int *ret_status, struct sr_error *err);
	/* Idempotent: kill anything left, close fds, free priv.  Safe on a never-started host. */
	void (*teardown)(struct host *h);
};

/* NULL when unknown.  Known: "process", "ns", "docker". */
const struct host_backend *host_backend_find(const char *name);

/* Whether namespaces can be made here (root, or unprivileged user namespaces); when not,
 * *ret_why says why in one line (static string).  The answer comes from a child that tries,
 * and comes before the child is gone (its namespaces' teardown takes a while nothing needs
 * to wait for): with ret_probe, the caller reaps it later with host_ns_probe_reap; NULL
 * reaps it before returning. */
bool host_ns_available(const char **ret_why, pid_t *ret_probe);
/* Reap the probe's child if *pid > 0 (waiting for it if `block`); *pid becomes 0 once it is
 * reaped. */
void host_ns_probe_reap(pid_t *pid, bool block);

/* Remove whatever the docker backend made for the job in `job_dir` (its containers and
 * network, found by label), when an engine answers; for a job whose supervisor died.  Quiet
 * when there is no engine; warnings go to stderr. */
void host_docker_cleanup(const char *job_dir);

/* Write a docker-compose.yml at `path` (atomically) running the group's hosts as the docker
 * backend would (g->container set, hosts prepared).  Names of credentials, written by name
 * only, are added to `by_name`. */
int host_compose_write(const struct host_group *g, const char *path, struct strv *by_name,
		       struct sr_error *err);

/* `sagerun container attach`, the process the docker backend runs per host: wait for the
 * container `id` (registered before its start) through the engine at `socket`, API version
 * `api`, start it (unless SIGTERM or SIGINT came first), copy its output to stdout and
 * stderr, and end as it ended.  Returns the exit code for main() when the container exited
 * (after raising its signal on itself when it was killed by one); 125 when the engine failed,
 * after saying why on stderr, as `docker run` does. */
int host_docker_attach(const char *socket, const char *api, const char *host, const char *id);

void host_group_begin(struct host_group *g);
int host_group_prepare(struct host_group *g, struct sr_error *err);
void host_group_teardown(struct host_group *g);

/* Initialise a host record (all fds -1) for backend `b`. */
void host_init(struct host *h, size_t index, const struct host_backend *b);

int host_start(struct host *h, struct sr_error *err);
/* host_start in two halves (struct host_backend's launch): launch every host of a job, then
 * wait for each.  With a backend that has no halves, host_launch starts the host and
 * host_launch_wait returns 0.  After a failed host_launch_wait the host is gone. */
int host_launch(struct host *h, struct sr_error *err);
int host_launch_wait(struct host *h, struct sr_error *err);
/* A no-op returning 0 once the host was reaped. */
int host_signal(struct host *h, int sig, struct sr_error *err);
int host_collect(struct host *h, int *ret_status, struct sr_error *err);
/* Kill whatever of the host is left, reap it, close its fds (backend teardown).  Idempotent;
 * the argv, env, cwd and opt_ml stay so the record can still be read. */
void host_teardown(struct host *h);
/* Tear down and free everything the host record owns. */
void host_release(struct host *h);

#endif
