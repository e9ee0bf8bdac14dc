/* hosts/internal.h - declarations shared by the files of hosts/ only. */
#ifndef SR_HOSTS_INTERNAL_H
#define SR_HOSTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "hosts/hosts.h"

/* One const instance per backend file, listed in hosts.c. */
extern const struct host_backend host_backend_process;
extern const struct host_backend host_backend_ns;
extern const struct host_backend host_backend_docker;

/* check_options of the backends that run this machine's programs (ns, process): the
 * container settings are errors, a spec's image (which such hosts do not run) a warning. */
struct host_options;
struct job_report;
int host_check_not_container(const char *backend, const struct host_options *o,
			     const struct job_report *rep, struct sr_error *err);

/* ---- the process backend: process.c, process_cgroup.c, process_leftovers.c ----
 *
 * Everything a host started ends with it: where a cgroup2 group can be made, each host runs
 * in one (process_cgroup.c), else its processes are found by the marker in their environment
 * (process_leftovers.c).  Each file says what its way misses. */

/* In the environment of every process of a process-backend host: the host's folder
 * (<job>/hosts/algo-N), by which the sweep finds the host's processes. */
#define PROC_HOST_ENV "SAGERUN_PROCESS_HOST"
/* What a lost supervisor left of the job in `job_dir`: its cgroups, then the sweep. */
void proc_cleanup_leftovers(const char *job_dir, struct strv *warnings);
/* Kill, through pidfds, every process whose environment holds the entry `entry`
 * (PROC_HOST_ENV=<folder>), or with `prefix` any entry that starts with it; pass after pass
 * until one finds nothing alive (a process may fork while a pass runs).  The number killed,
 * or -errno when /proc cannot be read. */
int proc_sweep(const char *entry, bool prefix);

/* Make the job's group under the cgroup2 group sagerun runs in, recorded in
 * <job_dir>/hosts.cgroup first: 1 with *ret_path, 0 when no group can be made here (no
 * cgroup2, or not writable: the caller falls back to the sweep), < 0 when the record cannot
 * be written. */
int proc_cgroup_job_make(const char *job_dir, char **ret_path, struct sr_error *err);
/* mkdir <job_cgroup>/<name>: an O_DIRECTORY fd of it (CLONE_INTO_CGROUP's) and *ret_path, or
 * -errno. */
int proc_cgroup_host_make(const char *job_cgroup, const char *name, char **ret_path);
/* SIGKILL every process of the group at `path` and of the groups under it, without waiting:
 * cgroup.kill, else proc_cgroup_kill_each (then 1).  0 too when the group is gone. */
int proc_cgroup_kill(const char *path);
/* Where the kernel has no cgroup.kill (before Linux 5.14): freeze the group, SIGKILL each
 * process listed in its cgroup.procs and its subgroups', through pidfds. */
void proc_cgroup_kill_each(const char *path);
/* Kill, wait until nothing is left in the group or under it, remove them all.  0, or an
 * error naming the group (-ETIMEDOUT: still populated after the wait). */
int proc_cgroup_remove(const char *path, struct sr_error *err);
/* proc_cgroup_remove, then the job's record of it. */
int proc_cgroup_job_remove(const char *job_dir, const char *path, struct sr_error *err);
/* The lost job's groups, from its record; what cannot be removed goes to `warnings`. */
void proc_cgroup_leftovers(const char *job_dir, struct strv *warnings);

/* ---- container hosts: container.c (what docker.c creates and compose.c writes) ---------- */

/* Where --toolkit builtin mounts the static sagerun inside each container. */
#define CTR_TOOLKIT_PATH "/opt/sagerun/bin/sagerun"

struct ctr_mount {
	const char *src; /* on this machine (borrowed from the host record) */
	const char *dst; /* inside the container */
	bool readonly;
	/* Copy-on-write (host_bind.upper): a volume of the engine's local driver that mounts
	 * an overlay, src below and <upper>/data above, named `volume` (owned). */
	const char *upper;
	char *volume;
};

/* The options of an overlay over `lower` with the layer `upper` (host_bind.upper), for the
 * engine's local volume driver; NULL when a path cannot be written there (, : or \). */
char *ctr_overlay_options(const char *lower, const char *upper);
/* The error for such a `src` (the engine's volume driver was not tried with escapes). */
int ctr_overlay_refuse(const char *src, struct sr_error *err);

/* One host as a container: the same for the docker backend and a compose file. */
struct ctr_spec {
	char *name;		/* the container's name: <prefix>-algo-N */
	struct strv entrypoint; /* empty: the image's own */
	struct strv cmd;
	struct strv env; /* KEY=VALUE */
	struct ctr_mount *mounts;
	size_t n_mounts;
};

/* "sagerun-<job>-<8 hex of the job folder>": names the job's network and prefixes its
 * containers, so two homes that run jobs of one name never meet in the engine. */
char *ctr_prefix(const struct host_container *c);
void ctr_spec_make(const struct host *h, const struct host_container *c, struct ctr_spec *s);
void ctr_spec_release(struct ctr_spec *s);

/* ---- the ns backend: ns.c (parent side), ns_init.c (the host's init), ns_mount.c ----
 *
 * ns.c prepares everything the new host needs in a struct ns_plan before the clone; the child
 * (PID 1 of the host) only carries it out, with async-signal-safe calls and no allocation. */

/* Policy bits of a mount table row (systemd: nspawn-mount.c). */
enum ns_mount_policy {
	NSM_MKDIR = 1 << 0,    /* create a missing target folder (only inside /opt/ml) */
	NSM_FILE = 1 << 1,     /* with NSM_MKDIR: the target is a file (the source is one) */
	NSM_RDONLY = 1 << 2,   /* bind, then remount read-only */
	NSM_OPTIONAL = 1 << 3, /* skip when the target does not exist on this machine */
	/* The target is missing and must not be made on the real file system: put a tmpfs over
	 * its parent that keeps every original entry (bind mounts), then make it there. */
	NSM_SHADOW_PARENT = 1 << 4,
	/* A fresh file system (tmpfs) over a folder that may hold the working folder: bind the
	 * working folder back at the same path inside it (and `keep`, when set). */
	NSM_KEEP_CWD = 1 << 5,
	/* With NSM_RDONLY: every mount below `where` read-only too. */
	NSM_REC = 1 << 6,
	/* The folder that holds the hosts' layers (a tmpfs, or what NULL: a folder of the job),
	 * opened once mounted.  Comes before the first NSM_LAYER row. */
	NSM_LAYER_BASE = 1 << 7,
	/* An overlay of `where` over itself, its writable layer the folder `upper` of the layers'
	 * base (made there).  From the first such row on, every later row's sources are opened
	 * first: the layers hide their paths (a job folder under /home). */
	NSM_LAYER = 1 << 8,
	/* Copy-on-write: an overlay of `lower`, its layer `upper`/data (work folder
	 * `upper`/work). */
	NSM_COW = 1 << 9,
	/* symlink(what, where): a fresh /dev's links. */
	NSM_SYMLINK = 1 << 10,
	/* A folder of the host's own, empty, made in the layers' base as `upper`/data and bound
	 * at `where`: rootless, for /root, which the machine's root owns and no user namespace
	 * may read or change. */
	NSM_LAYER_OWN = 1 << 11,
};

/* Rows of a host's mount table that hold an fd opened before the layers (ns_mount.c). */
#define NS_MOUNTS_MAX 1024

struct ns_mount {
	const char *what; /* source; NULL for a change of propagation */
	const char *where;
	const char *type; /* NULL for binds */
	unsigned long flags;
	const char *data;
	unsigned policy;	   /* enum ns_mount_policy */
	const char *step;	   /* "mount /opt/ml": names the step in an error */
	const char *lower, *upper; /* NSM_COW, NSM_LAYER (upper only) */
	const char *keep;	   /* NSM_KEEP_CWD: a path to bind back too (NULL: none) */
};

/* The child's report, one SOCK_SEQPACKET message (crun: sync socket).  err 0: the user's
 * process was exec'd; else the step `what` failed with errno `err`.  The same socket carries
 * the parent's one-byte "go" the other way; EOF there means give up. */
struct ns_report {
	int32_t err;
	int32_t exec; /* the failure is the exec of argv[0] */
	char what[256];
};

struct ns_plan {
	const char *hostname;
	const struct ns_mount *mounts;
	size_t n_mounts;
	const char *cwd; /* NULL: stay */
	char *const *argv;
	char *const *envp;
	char *const *candidates; /* execve each in turn, NULL-terminated */
	/* The child's fds; every other fd is closed in the child. */
	int null_fd, out_fd, err_fd;
	int report_fd; /* the child's end of the report socket */
	/* The process that clones init, by its pid in this machine's /proc: init checks it is
	 * still its parent once its parent-death signal is set (ns_init.c). */
	pid_t parent;
	int status_fd; /* write end: the user process's wait status, 4 bytes, before init exits */
	/* >= 0: an O_PATH fd of sagerun's own binary (-1: neither of the two below). */
	int agent_exe_fd;
	/* The user's process is sagerun's own runtime (`sagerun container train`): exec'd from
	 * agent_exe_fd, which the host's mount namespace may not reach by path. */
	bool run_self;
	/* Init listens on agent_addr before the user's process starts and execs `sagerun
	 * container agent --listen-fd 3` from agent_exe_fd at the first connection (socket
	 * activation, as systemd and inetd do): a host whose job never uses mpirun costs no
	 * exec and no memory for its agent.  false: no agent. */
	bool agent;
	struct sockaddr_in agent_addr;
	/* A private network (ns_net.c): init joins netns_fd, the host's network namespace that
	 * the parent made with `ifname` already in it, then brings lo up and gives ifname
	 * net_addr/net_prefix.  NULL ifname and netns_fd -1: the host shares this machine's
	 * network. */
	int netns_fd;
	/* Contained like a container (not --privileged): Docker's capabilities, no new
	 * privileges, its seccomp refusals (ns_seccomp.c). */
	bool contain;
	/* Overlays in a user namespace: their metadata in user.* xattrs (`userxattr`). */
	bool userxattr;
	/* In a user namespace of the job's own (rootless): contained, CAP_MKNOD stays. */
	bool rootless;
	const char *ifname;
	uint32_t net_addr; /* host byte order */
	unsigned net_prefix;
};

/* The host's init: set up, start the user's process, reap and forward until it exits. */
_Noreturn void ns_child_main(const struct ns_plan *p);

/* Carry out the mount table, then chdir to the working folder.  Returns 0 or a positive
 * errno with the failed step in `what`.  Async-signal-safe. */
int ns_mount_all(const struct ns_plan *p, char *what, size_t len);

/* The host's side of its private network (ns_net.c), async-signal-safe: an rtnetlink socket
 * (fd, or -errno), lo up, then the plan's interface configured and up.  0 or a positive errno
 * with the failed step in `what`. */
int ns_net_open(void);
int ns_net_lo_up(int fd, char *what, size_t len);
int ns_net_iface_up(int fd, const struct ns_plan *p, char *what, size_t len);

/* Install the seccomp filter of a contained host (and no_new_privs, which it needs) in the
 * calling process: 0 or a positive errno.  Async-signal-safe. */
int ns_seccomp_install(void);

/* Async-signal-safe string helpers (no stdio): append `s` to buf at *pos, truncating. */
void ns_str_add(char *buf, size_t len, size_t *pos, const char *s);
/* ...each character of `special` in `s` with a \ before it. */
void ns_str_add_escaped(char *buf, size_t len, size_t *pos, const char *s, const char *special);
void ns_str_add_uint(char *buf, size_t len, size_t *pos, unsigned long v);

#endif
