/* hosts.h - host backends behind one small const vtable (curl: vtls_int.h).
 *
 * A host is one emulated SageMaker instance (algo-N).  The backend starts its first process
 * with the argv, environment and working folder the caller prepared, hands back a pidfd and
 * the read ends of its stdout/stderr, signals the host as a whole, reaps it, and tears down
 * whatever it made.  `process` runs each host as a process group (in a cgroup of its own where
 * one can be made: process.c), `ns` as a set of Linux namespaces (ns.c), `docker` as a
 * container of the job's image (docker.c).  On each, whatever a host started ends with it.
 */
#ifndef SR_HOSTS_HOSTS_H
#define SR_HOSTS_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/strv.h"

struct sr_error;
struct host_backend;
struct job_report;
struct host_group;

/* A folder bind-mounted into a host (backends with HOST_BACKEND_F_BINDS), e.g. a channel. */
struct host_bind {
	char *src;     /* absolute path on this machine (owned) */
	char *dst;     /* absolute path inside the host, e.g. /opt/ml/input/data/train (owned) */
	bool readonly; /* no write reaches src (read-only, or copy-on-write: `upper`) */
	/* Copy-on-write: the host sees src and may write, and what it writes lands in
	 * <upper>/data (its work folder <upper>/work), a folder of the host's own tree; src is
	 * never changed and no other host sees the writes (owned; NULL: a plain bind). */
	char *upper;
};

/* How a folder is given to a host. */
enum host_folder {
	HOST_FOLDER_READ_ONLY,
	/* The host's own writable view: writes land in its tree, never in the folder, and no
	 * other host sees them (a File-mode channel is the instance's own copy on the
	 * service). */
	HOST_FOLDER_COPY_ON_WRITE,
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
	size_t n_binds, cap_binds;
	struct host_group *group; /* the job's hosts, shared (borrowed) */
	/* > 0: the host runs sagerun's rsh agent (runtime/agent.h) on this port of its own
	 * address; its config is in the host's input/config.  0: no agent. */
	int agent_port;
	/* argv is sagerun's own (`sagerun container train`, the training toolkit in C): the
	 * backend runs this very binary, reached by an fd where the host's file system may not
	 * show its path. */
	bool run_self;
	/* argv is what a container's image gets after its own entry point (`train`, or the
	 * job's ContainerArguments; none: the image's own CMD): container backends only. */
	bool image_entry;

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
	/* "training", "processing" (NULL: training): a compose file's first line says it */
	const char *job_kind;
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
	bool privileged;    /* --privileged: no containment (host_options) */
	bool keep_layers;   /* --keep-layers (host_options) */
	const struct host_container *container; /* container backends only (borrowed) */
	/* The job's folder (borrowed): where a backend records what must not outlive the job
	 * (the process backend's cgroup), for cleanup_leftovers to find.  NULL: none. */
	const char *job_dir;
	const struct host_backend *backend;
	void *priv; /* backend state, freed by group_teardown */
};

enum host_backend_flags {
	/* Hosts see their tree at /opt/ml (not at h->opt_ml). */
	HOST_BACKEND_F_OPT_ML = 1 << 0,
	/* Each host has an address of its own where algo-N resolves, so every host can serve
	 * sagerun's rsh agent on the same port.  Without it hosts share this machine's. */
	HOST_BACKEND_F_OWN_ADDRESS = 1 << 1,
	/* Folders are bind-mounted into hosts (h->binds), not linked into their trees. */
	HOST_BACKEND_F_BINDS = 1 << 2,
	/* Hosts are containers of an image: they get the job's environment and the contract's,
	 * never this machine's (its PATH, HOME... would break the image). */
	HOST_BACKEND_F_CONTAINER = 1 << 3,
};

/* What the user asked of a job's hosts (the Hosts flags of `sagerun train`).  Each backend
 * checks the ones it honours (check_options): one it cannot honour is an error, one it
 * ignores a note, never silence. */
struct host_options {
	bool network_host;  /* --network host */
	const char *subnet; /* --subnet CIDR; NULL: the default */
	/* --privileged: namespaced hosts without containment (no capability dropped, no
	 * seccomp filter, no layer over this machine's files): the machine's root. */
	bool privileged;
	/* --keep-layers: each host's writable layer in the job folder, not on a tmpfs. */
	bool keep_layers;
	/* The job asks for no network beyond its hosts (EnableNetworkIsolation). */
	bool network_isolation;
	/* Container hosts. */
	const char *image;    /* --image, else the spec's; NULL: none */
	bool image_given;     /* the image came from --image, not from the spec */
	bool toolkit_builtin; /* --toolkit builtin */
	int gpus;	      /* --gpus-per-host: 0 none, -1 all */
	long long shm_bytes;  /* --shm-size; 0: the engine's default */
};

struct host_backend {
	const char *name;
	const char *summary; /* what a host is, for --backend's help (lines of <= 50) */
	unsigned flags;	     /* enum host_backend_flags */
	/* Where the host's processes reach this very binary whatever their file system shows
	 * (a path under this machine's /tmp may be hidden); NULL: its path on this machine. */
	const char *self_exe;
	/* Optional: whether hosts can be made here; false with *ret_why (static, one line).
	 * Whatever the probe leaves to clean (a child to reap) is the group's, undone by
	 * group_teardown.  Without it the backend is always available. */
	bool (*probe)(struct host_group *g, const char **ret_why);
	/* Optional: refuse the options this backend cannot honour for n_hosts hosts (an error
	 * that names the flag) and say a note or warning through `rep` for each it ignores. */
	int (*check_options)(const struct host_options *o, size_t n_hosts,
			     const struct job_report *rep, struct sr_error *err);
	/* Optional: remove what the hosts of the job in `job_dir` left when their supervisor
	 * died (processes, containers); what could not be removed goes to `warnings`. */
	void (*cleanup_leftovers)(const char *job_dir, struct strv *warnings);
	/* Optional: what the backend itself adds to a prepared host's environment (how its
	 * hosts reach each other, who serves the rsh agent). */
	void (*host_env)(const struct host *h, struct strv *env);
	/* Optional: start making, in the background, what the job's hosts share and needs only
	 * the group's shape (the number of hosts, the network options): called as early as the
	 * job is known, before its hosts' trees are laid out.  Never fails: an error waits for
	 * group_prepare.  Without it group_prepare does it all. */
	void (*group_begin)(struct host_group *g);
	/* Optional: make what the job's hosts share (the private network, /etc/hosts of each
	 * host) before any host starts.  Called once per job (after group_begin, if called). */
	int (*group_prepare)(struct host_group *g, struct sr_error *err);
	/* Optional, idempotent: undo probe, group_begin and group_prepare. */
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

/* NULL when unknown. */
const struct host_backend *host_backend_find(const char *name);
/* The table, in the order `--backend auto` tries them: the i-th backend, NULL past the end. */
const struct host_backend *host_backend_at(size_t i);

/* Whether the group's backend can make hosts here (its probe); false with *ret_why. */
bool host_group_probe(struct host_group *g, const char **ret_why);
/* The backend's check_options (0 without one). */
int host_options_check(const struct host_backend *b, const struct host_options *o, size_t n_hosts,
		       const struct job_report *rep, struct sr_error *err);
/* What the hosts of a job whose supervisor died left behind, removed by the backend named
 * `backend` (the store's record of it); nothing for an unknown name. */
void host_leftovers_cleanup(const char *backend, const char *job_dir, struct strv *warnings);

/* Whether the backend mounts folders into its hosts; elsewhere a folder is linked into the
 * host's tree (data/channels.h). */
bool host_mounts_folders(const struct host *h);
/* Mount the folder `src` (absolute, on this machine) at <the host's /opt/ml>/`rel`, as `how`
 * says; never a copy (an overlay for copy-on-write).  -EOPNOTSUPP on a backend that mounts
 * nothing. */
int host_bind_folder(struct host *h, const char *src, const char *rel, enum host_folder how,
		     struct sr_error *err);
/* The environment a host starts from, into `env`: this machine's (less what a backend gave the
 * host of an outer job), or nothing for a container, which starts from its image's. */
void host_env_base(const struct host *h, struct strv *env);
/* What the backend itself adds once the host's environment and argv are made (host_env). */
void host_env_finish(const struct host *h, struct strv *env);
/* The host's /opt/ml as its own processes see it: /opt/ml, or h->opt_ml on a backend whose
 * hosts share this machine's file system. */
const char *host_opt_ml_seen(const struct host *h);
/* The path at which the host's own processes run this very binary (a launch agent that
 * names sagerun: mpirun's), or NULL when it cannot be told.  Caller frees. */
char *host_self_exe_seen(const struct host *h);

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
