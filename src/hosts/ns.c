/* ns.c - the `ns` backend: each host is a set of Linux namespaces, like a container without an
 * image.
 *
 * A host gets a PID namespace (its first process is sagerun's init, ns_init.c), a mount
 * namespace (its tree at /opt/ml, channels bound read-only, its own /etc/hosts, /tmp, /dev/shm
 * and /proc; ns_mount.c), a UTS namespace (hostname algo-N), an IPC namespace, and, unless the
 * job uses --network host, a network namespace joined to the job's private network (netns.c).
 *
 * This file is the parent's side: the group's shared files and network, the clone, the
 * handshake with the child, signals and reaping.  Nothing outlives a host: the PID namespace
 * dies with its init, mounts with the mount namespace, the veth with the network namespace,
 * and init has PDEATHSIG, so even a SIGKILL of sagerun ends every host.
 */
#include "hosts/hosts.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contract/contract.h"
#include "hosts/internal.h"
#include "hosts/loopback.h"
#include "hosts/netns.h"
#include "hosts/spawn.h"
#include "hosts/userns.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/signame.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define NS_CLONE_FLAGS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)

/* The private network is made in a thread of its own, which group_begin starts as soon as the
 * job is known: the job's namespace and bridge, then for each host in turn a network
 * namespace with its veth pair already in it (about 2 ms of kernel work per host, under one
 * lock, the rtnl), while this thread records the job, lays out the hosts' trees and opens
 * their logs.  Each launch waits only for its own host's network, so the clones of the first
 * hosts overlap with the network of the last. */
struct ns_group {
	/* The probe's child (ns_probe), reaped once it is surely gone: at group_prepare if it
	 * is by then, at teardown in any case.  0: none. */
	pid_t probe;
	bool begun; /* group_begin ran */
	/* --network host: the job's block of loopback addresses and the fd that claims it
	 * (loopback.h), -1 when none. */
	int loop_fd;
	unsigned loop_block;
	struct netns_job nj; /* its subnet is planned at once; the rest is the thread's */
	int begin_r;	     /* group_begin's own error, for group_prepare */
	struct sr_error begin_err;
	bool prepared;
	bool net;      /* a network is (being) made: the fields below are live */
	int *host_fds; /* each host's network namespace, -1 once its init has it */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t n_ready; /* under lock: host_fds[0..n_ready) are made */
	bool net_done;	/* under lock: the thread is done, net_r is its verdict */
	int net_r;
	struct sr_error net_err;
	atomic_bool cancel; /* set by teardown: the thread stops before the next host */
	pthread_t net_thread;
	bool net_thread_live; /* started and not joined yet */
};

struct ns_priv {
	int status_fd; /* read end of init's status pipe */
	bool reaped;   /* init is reaped: never signal it again */
	/* Between ns_launch and ns_launch_wait: the report socket and our ends of the host's
	 * pipes (they become h->out_fd / h->err_fd once the host runs). */
	int report_fd, out_r, err_r;
	bool released; /* our "go" is sent */
};

/* ---- the group: /etc/hosts and /etc/hostname of every host, the private network ---- */

static char *host_addr(const struct host_group *g, size_t i)
{
	const struct ns_group *ng = g->priv;
	char buf[16];

	if (g->network_host)
		return loopback_host_addr(ng->loop_block, i);
	return xstrdup(netns_addr_str(netns_host_addr(&ng->nj, i), buf, sizeof(buf)));
}

static int make_network(struct host_group *g, struct sr_error *err)
{
	struct ns_group *ng = g->priv;
	int r = netns_job_make(&ng->nj, err);

	for (size_t i = 0; r >= 0 && i < g->n; i++) {
		int fd = -1;

		if (atomic_load(&ng->cancel)) {
			r = sr_err(err, -ECANCELED, "the job's network: cancelled");
			break;
		}
		r = netns_host_new(&ng->nj, &fd, err);
		if (r >= 0)
			r = netns_host_link(&ng->nj, fd, i, CONTRACT_IFACE_DEFAULT, err);
		if (r < 0) {
			sr_closep(&fd);
			sr_err_wrap(err, "%s: network", g->hosts[i].name);
			break;
		}
		pthread_mutex_lock(&ng->lock);
		ng->host_fds[i] = fd;
		ng->n_ready = i + 1;
		pthread_cond_broadcast(&ng->cond);
		pthread_mutex_unlock(&ng->lock);
	}
	return r;
}

static void *net_main(void *arg)
{
	struct host_group *g = arg;
	struct ns_group *ng = g->priv;
	struct sr_error e = {0};
	int r = make_network(g, &e);

	pthread_mutex_lock(&ng->lock);
	ng->net_r = r;
	ng->net_err = e;
	ng->net_done = true;
	pthread_cond_broadcast(&ng->cond);
	pthread_mutex_unlock(&ng->lock);
	return NULL;
}

static void net_start(struct host_group *g)
{
	struct ns_group *ng = g->priv;
	sigset_t all, old;
	int e;

	/* The thread takes no signal: those are for the supervisor's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&ng->net_thread, NULL, net_main, g);
	ng->net_thread_live = e == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ng->net_thread_live)
		return;
	if (!ng->nj.stay) {
		net_main(g); /* no thread: here and now */
		return;
	}
	/* Rootless, the network's maker steps into the job's namespace for good (netns.h): here
	 * that would strand the supervisor there.  Every host's wait gets this error instead. */
	pthread_mutex_lock(&ng->lock);
	ng->net_r = sr_err_errno(&ng->net_err, e, "start a thread to make the job's network");
	ng->net_done = true;
	pthread_mutex_unlock(&ng->lock);
}

/* Wait until host `index`'s network is made; the thread's error if it stopped before. */
static int net_wait(struct host_group *g, size_t index, struct sr_error *err)
{
	struct ns_group *ng = g->priv;
	int r = 0;

	pthread_mutex_lock(&ng->lock);
	while (!ng->net_done && ng->n_ready <= index)
		pthread_cond_wait(&ng->cond, &ng->lock);
	if (ng->n_ready <= index) {
		r = ng->net_r < 0 ? ng->net_r : -EPROTO;
		if (err && ng->net_r < 0)
			*err = ng->net_err;
		else
			sr_err(err, r, "the job's network ended before this host's was made");
	}
	pthread_mutex_unlock(&ng->lock);
	return r;
}

static void net_join(struct ns_group *ng)
{
	if (ng->net_thread_live) {
		pthread_join(ng->net_thread, NULL);
		ng->net_thread_live = false;
	}
}

/* The group's state, made by whichever of probe and group_begin comes first. */
static struct ns_group *ns_group_get(struct host_group *g)
{
	struct ns_group *ng = g->priv;

	if (!ng) {
		ng = xcalloc(1, sizeof(*ng));
		ng->nj.ns_fd = -1;
		ng->loop_fd = -1;
		g->priv = ng;
	}
	return ng;
}

static void probe_reap(pid_t *pid, bool block);

static void ns_group_teardown(struct host_group *g)
{
	struct ns_group *ng = g->priv;

	if (!ng)
		return;
	probe_reap(&ng->probe, true); /* long gone by now */
	if (ng->net) {
		atomic_store(&ng->cancel, true); /* a stop while Downloading need not wait for it */
		net_join(ng);
		for (size_t i = 0; i < g->n; i++)
			sr_closep(&ng->host_fds[i]);
		free(ng->host_fds);
		pthread_mutex_destroy(&ng->lock);
		pthread_cond_destroy(&ng->cond);
	}
	netns_job_destroy(&ng->nj);
	sr_closep(&ng->loop_fd);
	free(ng);
	g->priv = NULL;
}

static void ns_group_begin(struct host_group *g)
{
	struct ns_group *ng = ns_group_get(g);

	if (ng->begun)
		return;
	ng->begun = true;
	/* Rootless: into a user namespace of our own before anything of the job is made, and
	 * while this is the only thread (userns.h). */
	if (geteuid() != 0 || userns_entered()) {
		ng->begin_r = userns_enter(&ng->begin_err);
		if (ng->begin_r < 0)
			return;
	}
	if (g->network_host) {
		if (g->n > LOOPBACK_HOSTS_MAX) {
			ng->begin_r = sr_err(&ng->begin_err, -E2BIG,
					     "too many hosts for --network host: %zu (at most %d)",
					     g->n, LOOPBACK_HOSTS_MAX);
			return;
		}
		ng->loop_fd = loopback_claim(&ng->loop_block, &ng->begin_err);
		if (ng->loop_fd < 0)
			ng->begin_r = ng->loop_fd;
		return;
	}
	/* The addresses now (for /etc/hosts), the network meanwhile. */
	ng->begin_r = netns_job_plan(&ng->nj, g->subnet, g->n, &ng->begin_err);
	if (ng->begin_r < 0)
		return;
	ng->nj.stay = userns_entered();
	ng->host_fds = xmalloc(g->n * sizeof(*ng->host_fds));
	for (size_t i = 0; i < g->n; i++)
		ng->host_fds[i] = -1;
	pthread_mutex_init(&ng->lock, NULL);
	pthread_cond_init(&ng->cond, NULL);
	ng->net = true;
	net_start(g);
}

static int write_etc(const struct host *h, const char *hosts, struct sr_error *err)
{
	_cleanup_free_ char *etc = NULL, *path = NULL, *name = NULL;
	int r;

	if (!h->root)
		return sr_err(err, -EINVAL, "%s: no host folder for /etc/hosts", h->name);
	etc = xasprintf("%s/etc", h->root);
	r = fs_mkdir_p(etc, 0755, err);
	if (r < 0)
		return r;
	path = xasprintf("%s/hosts", etc);
	r = fs_write_fresh(path, hosts, strlen(hosts), 0644, err);
	if (r < 0)
		return r;
	free(path);
	path = xasprintf("%s/hostname", etc);
	name = xasprintf("%s\n", h->name);
	r = fs_write_fresh(path, name, strlen(name), 0644, err);
	if (r < 0 || h->group->privileged)
		return r;
	/* Where a contained host's layers go: a tmpfs mounted there, or the layers kept. */
	free(path);
	path = xasprintf("%s/layer", h->root);
	return fs_mkdir_p(path, 0755, err);
}

static int ns_group_prepare(struct host_group *g, struct sr_error *err)
{
	struct ns_group *ng;
	char *hosts = NULL;
	size_t len = 0;
	FILE *f;
	int r = 0;

	ns_group_begin(g); /* unless the caller did already */
	ng = g->priv;
	if (ng->prepared)
		return sr_err(err, -EALREADY, "host group already prepared");
	if (ng->begin_r < 0) {
		r = ng->begin_r;
		if (err)
			*err = ng->begin_err;
		goto fail;
	}

	f = open_memstream(&hosts, &len);
	if (!f) {
		r = sr_err_errno(err, errno, "/etc/hosts");
		goto fail;
	}
	fputs("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", f);
	for (size_t i = 0; i < g->n; i++) {
		_cleanup_free_ char *addr = host_addr(g, i);

		fprintf(f, "%s\t%s\n", addr, g->hosts[i].name);
	}
	if (fclose(f) != 0) {
		r = sr_err_errno(err, ENOMEM, "/etc/hosts");
		goto fail;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct host *h = &g->hosts[i];

		if (!h->group)
			h->group = g;
		r = write_etc(h, hosts, err);
		if (r < 0)
			goto fail;
	}
	free(hosts);
	ng->prepared = true;
	/* The probe's child is gone by now, most likely: no zombie of ours for the job's
	 * length (else it is reaped at teardown). */
	probe_reap(&ng->probe, false);
	return 0;

fail:
	free(hosts);
	ns_group_teardown(g);
	return r;
}

/* ---- one host ---- */

/* Absolute, no "." or ".." component, no "//": the child creates and mounts it as given. */
static bool path_is_clean(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c;) {
		const char *e;
		size_t n;

		c++;
		e = strchrnul(c, '/');
		n = (size_t)(e - c);
		if ((n == 0 && *e) || (n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)))
			return false;
		c = e;
	}
	return true;
}

/* The mount points of this machine's mount namespace (mountinfo's fifth field, its \ooo
 * escapes undone). */
static void mount_points(struct strv *out)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	while (f && getline(&line, &cap, f) > 0) {
		char *field = line, *e;

		for (int i = 0; i < 4 && field; i++) {
			field = strchr(field, ' ');
			if (field)
				field++;
		}
		if (!field)
			continue;
		e = strchr(field, ' ');
		if (e)
			*e = '\0';
		for (char *r = field, *w = field;; r++, w++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] && r[3]) {
				*w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 3;
			} else {
				*w = *r;
			}
			if (!*r)
				break;
		}
		strv_push(out, field);
	}
	free(line);
}

static bool any_under(const struct strv *points, const char *dir)
{
	size_t n = strlen(dir);

	for (size_t i = 0; i < points->n; i++)
		if (!strncmp(points->v[i], dir, n) && points->v[i][n] == '/')
			return true;
	return false;
}

/* The folders at / a contained host sees through a layer of its own, those that hold other
 * mounts too, the mounts bound back on the layer (submount_rows).  Read-only instead: the one
 * that holds the kept layers (an overlay's layer may not lie inside its lower folder on the
 * same file system; the layers' tmpfs is another one), and those overlayfs refuses (ns_mount.c),
 * among them, rootless, every folder that holds mounts, which a user namespace may not reveal.
 * The ones with a file system of the host's own are left out. */
static const char *const own_tops[] = {"proc", "sys", "dev", "run", "tmp", "lost+found", NULL};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct mount_table {
	struct ns_mount *m;
	size_t n, cap;
	struct strv *strs;
};

static struct ns_mount *row(struct mount_table *t)
{
	xgrow(&t->m, &t->cap, t->n + 1, sizeof(*t->m));
	memset(&t->m[t->n], 0, sizeof(t->m[t->n]));
	return &t->m[t->n++];
}

static void add(struct mount_table *t, const char *what, const char *where, const char *type,
		unsigned long flags, const char *data, unsigned policy, const char *step)
{
	*row(t) = (struct ns_mount){.what = what,
				    .where = where,
				    .type = type,
				    .flags = flags,
				    .data = data,
				    .policy = policy,
				    .step = step};
}

#define STR(...) (strv_pushf(t->strs, __VA_ARGS__), t->strs->v[t->strs->n - 1])

/* The host's layer over the folder `top` at /: an overlay, its upper folder in the layers'
 * base, no device nodes. */
static struct ns_mount layer_row(struct mount_table *t, const char *top)
{
	return (struct ns_mount){.what = "overlay",
				 .where = STR("%s", top),
				 .type = "overlay",
				 .flags = MS_NODEV,
				 .upper = STR("%s", top + 1),
				 .policy = NSM_LAYER,
				 .step = STR("mount the host's layer over %s", top)};
}

/* More mounts than this below one folder (a machine's containers' roots) and the folder is
 * read-only instead of layered: a host's mount table has room for NS_MOUNTS_MAX rows. */
#define SUBMOUNTS_MAX 64

/* A layered folder's overlay hides the mounts below it, and with them this machine's unix
 * sockets in the folder itself (a socket is not reached through an overlay; a read-only bind
 * would let connect() through): the overlay's row, then each outermost mount below `top`
 * bound back read-only on the layer (MS_REC brings those below it), skipped where the host's
 * user may not open it.  These rows, after the overlay's; false, adding nothing, when there
 * are too many. */
static bool submount_rows(struct mount_table *t, const struct strv *points, const char *top)
{
	struct strv outer = STRV_INIT;
	size_t n = strlen(top);

	for (size_t i = 0; i < points->n; i++) {
		const char *pt = points->v[i];
		bool inner = false, seen = false;

		if (strncmp(pt, top, n) || pt[n] != '/')
			continue;
		for (size_t j = 0; j < points->n && !inner; j++) {
			size_t m = strlen(points->v[j]);

			inner = j != i && m > n && m < strlen(pt) &&
				!strncmp(pt, points->v[j], m) && pt[m] == '/' &&
				!strncmp(points->v[j], top, n) && points->v[j][n] == '/';
		}
		for (size_t j = 0; j < outer.n && !seen; j++)
			seen = !strcmp(outer.v[j], pt);
		if (!inner && !seen)
			strv_push(&outer, pt);
	}
	if (outer.n > SUBMOUNTS_MAX) {
		strv_release(&outer);
		return false;
	}
	for (size_t i = 0; i < outer.n; i++)
		add(t, STR("%s", outer.v[i]), STR("%s", outer.v[i]), NULL, MS_BIND | MS_REC, NULL,
		    NSM_RDONLY | NSM_REC | NSM_OPTIONAL, STR("keep %s read-only", outer.v[i]));
	strv_release(&outer);
	return true;
}

static void layer_rows(struct mount_table *t, const struct host *h, const char *base)
{
	struct strv points = STRV_INIT, tops = STRV_INIT;
	DIR *d = opendir("/");
	struct dirent *e;
	struct ns_mount *m;

	mount_points(&points);
	m = row(t);
	*m = (struct ns_mount){.what = h->group->keep_layers ? NULL : "tmpfs",
			       .where = base,
			       .type = h->group->keep_layers ? NULL : "tmpfs",
			       .flags = h->group->keep_layers ? 0 : MS_NOSUID | MS_NODEV,
			       .data = h->group->keep_layers ? NULL : "mode=0755",
			       .policy = NSM_LAYER_BASE,
			       .step = "mount the host's layers"};
	while (d && (e = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		bool own = e->d_name[0] == '.';

		for (size_t i = 0; own_tops[i] && !own; i++)
			own = !strcmp(e->d_name, own_tops[i]);
		snprintf(path, sizeof(path), "/%s", e->d_name);
		if (own || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		strv_push(&tops, path);
	}
	if (d)
		closedir(d);
	qsort(tops.v, tops.n, sizeof(*tops.v), cmp_str);
	for (size_t i = 0; i < tops.n; i++) {
		const char *top = tops.v[i];
		size_t n = strlen(top);

		if (any_under(&points, top) && !(userns_entered() && !strcmp(top, "/root")) &&
		    !(h->group->keep_layers && !strncmp(base, top, n) && base[n] == '/')) {
			size_t at = t->n;

			(void)row(t); /* the overlay's, filled once the rows below fit */
			if (submount_rows(t, &points, top)) {
				t->m[at] = layer_row(t, top);
				continue;
			}
			t->n = at;
		}
		m = row(t);
		if (userns_entered() && !strcmp(top, "/root"))
			*m = (struct ns_mount){.where = "/root",
					       .upper = "root",
					       .policy = NSM_LAYER_OWN,
					       .step = "mount the host's own /root"};
		else if (any_under(&points, top) ||
			 (h->group->keep_layers && !strncmp(base, top, n) && base[n] == '/'))
			*m = (struct ns_mount){.what = STR("%s", top),
					       .where = STR("%s", top),
					       .flags = MS_BIND | MS_REC,
					       .policy = NSM_RDONLY | NSM_REC,
					       .step = STR("make %s read-only", top)};
		else
			*m = layer_row(t, top);
	}
	strv_release(&points);
	strv_release(&tops);
}

/* A contained host's /dev: a tmpfs with this machine's harmless devices (and its GPUs)
 * bound in, a devpts of its own and the usual links, as a container's. */
static void dev_rows(struct mount_table *t)
{
	static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {
	    {"/proc/self/fd", "/dev/fd"},	{"/proc/self/fd/0", "/dev/stdin"},
	    {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
	    {"pts/ptmx", "/dev/ptmx"},
	};
	DIR *d = opendir("/dev");
	struct dirent *e;

	/* nodev: a node made there opens nothing (the binds below are mounts of their own). */
	add(t, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=0755", 0,
	    "mount /dev");
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		add(t, STR("/dev/%s", devs[i]), STR("/dev/%s", devs[i]), NULL, MS_BIND, NULL,
		    NSM_MKDIR | NSM_FILE | NSM_OPTIONAL, STR("mount /dev/%s", devs[i]));
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "nvidia", 6))
			add(t, STR("/dev/%s", e->d_name), STR("/dev/%s", e->d_name), NULL,
			    MS_BIND | MS_REC, NULL,
			    NSM_MKDIR | NSM_OPTIONAL | (e->d_type == DT_DIR ? 0 : NSM_FILE),
			    STR("mount /dev/%s", e->d_name));
	if (d)
		closedir(d);
	add(t, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620", NSM_MKDIR, "mount /dev/pts");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		*row(t) = (struct ns_mount){.what = links[i][0],
					    .where = links[i][1],
					    .policy = NSM_SYMLINK,
					    .step = STR("link %s", links[i][1])};
}

/* What Docker hides or makes read-only in a container's /proc and /sys (moby:
 * oci/defaults.go, MaskedPaths and ReadonlyPaths), after the host's own /proc. */
static void proc_rows(struct mount_table *t)
{
	static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					 "/proc/sysrq-trigger"};
	static const char *const masked[] = {"/proc/kcore",	    "/proc/keys",
					     "/proc/latency_stats", "/proc/timer_list",
					     "/proc/timer_stats",   "/proc/sched_debug"};
	static const char *const hidden[] = {"/proc/acpi", "/proc/asound", "/proc/scsi",
					     "/sys/devices/virtual/powercap", "/sys/firmware"};

	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		add(t, ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL,
		    NSM_RDONLY | NSM_REC | NSM_OPTIONAL, STR("make %s read-only", ro[i]));
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++)
		add(t, "/dev/null", masked[i], NULL, MS_BIND, NULL, NSM_OPTIONAL,
		    STR("mask %s", masked[i]));
	add(t, "/sys", "/sys", NULL, MS_BIND | MS_REC, NULL, NSM_RDONLY | NSM_REC,
	    "make /sys read-only");
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		add(t, "tmpfs", hidden[i], "tmpfs", MS_RDONLY, "mode=0555", NSM_OPTIONAL,
		    STR("hide %s", hidden[i]));
}

/* The machine's runtime sockets (Docker's, containerd's, systemd's, D-Bus's) live under /run:
 * a fresh one hides them, as a container's; the name server's file stays, read-only, when
 * /etc/resolv.conf leads there (systemd-resolved's). */
static void run_rows(struct mount_table *t)
{
	_cleanup_free_ char *resolv = realpath("/etc/resolv.conf", NULL);
	struct stat st;

	add(t, "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755",
	    NSM_OPTIONAL | NSM_KEEP_CWD, "mount /run");
	if (resolv && !strncmp(resolv, "/run/", 5))
		t->m[t->n - 1].keep = STR("%s", resolv);
	/* Where /var/run is a folder of its own, not the usual link to /run. */
	if (lstat("/var/run", &st) == 0 && S_ISDIR(st.st_mode))
		add(t, "tmpfs", "/var/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755",
		    NSM_OPTIONAL, "mount /var/run");
}

/* The mount table, in the order the child must follow (see ns_mount.c for why).  Strings
 * the table points to are owned by `strs`.  Contained (not --privileged), the host sees this
 * machine's folders through a writable layer of its own (made on a tmpfs, or kept in the job
 * folder), a /dev, /run and read-only /proc/sys and /sys as a container's, and / itself
 * read-only. */
static int build_mounts(const struct host *h, struct ns_mount **ret, size_t *ret_n,
			struct strv *strs, struct sr_error *err)
{
	struct mount_table tt = {.strs = strs}, *t = &tt;
	const size_t base_len = strlen(CONTRACT_BASE_DIR);
	bool contain = !h->group->privileged;
	bool opt_layered = false;

	/* Nothing we mount may propagate back to the machine's mount namespace. */
	add(t, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, 0, "make / private");
	if (contain) {
		const char *base = STR("%s/layer", h->root);

		layer_rows(t, h, base);
		for (size_t i = 0; i < t->n; i++)
			opt_layered |=
			    (t->m[i].policy & NSM_LAYER) && !strcmp(t->m[i].where, "/opt");
	}
	if (h->opt_ml)
		add(t, h->opt_ml, CONTRACT_BASE_DIR, NULL, MS_BIND | MS_REC, NULL,
		    /* In the host's layer, /opt/ml is made there. */
		    opt_layered ? NSM_MKDIR : NSM_SHADOW_PARENT, "mount " CONTRACT_BASE_DIR);
	for (size_t i = 0; i < h->n_binds; i++) {
		const struct host_bind *b = &h->binds[i];
		unsigned policy = b->readonly ? NSM_RDONLY : 0;
		struct stat st;

		if (!b->src || !b->dst || !path_is_clean(b->dst) || b->src[0] != '/') {
			free(t->m);
			return sr_err(err, -EINVAL, "%s: bind '%s' on '%s': not an absolute path",
				      h->name, b->src ? b->src : "", b->dst ? b->dst : "");
		}
		if (stat(b->src, &st) < 0) {
			int e = errno;

			free(t->m);
			return sr_err_errno(err, e, "%s: bind '%s'", h->name, b->src);
		}
		/* Targets are made only inside the host's own tree, never on the real machine. */
		if (!strncmp(b->dst, CONTRACT_BASE_DIR, base_len) && b->dst[base_len] == '/')
			policy |= NSM_MKDIR | (S_ISDIR(st.st_mode) ? 0 : NSM_FILE);
		if (b->upper) {
			/* Copy-on-write: an overlay, the folder below, the host's layer above (the
			 * options escape what overlayfs would split them at: ns_mount.c). */
			if (!S_ISDIR(st.st_mode)) {
				free(t->m);
				return sr_err(err, -EINVAL,
					      "%s: '%s' cannot be a writable channel: not a folder",
					      h->name, b->src);
			}
			*row(t) = (struct ns_mount){.what = "overlay",
						    .where = b->dst,
						    .type = "overlay",
						    .policy = (policy & ~NSM_RDONLY) | NSM_COW,
						    .step = STR("mount %s (copy-on-write)", b->dst),
						    .lower = b->src,
						    .upper = b->upper};
			continue;
		}
		add(t, b->src, b->dst, NULL, MS_BIND | MS_REC, NULL, policy,
		    STR("mount %s", b->dst));
	}
	add(t, STR("%s/etc/hosts", h->root), "/etc/hosts", NULL, MS_BIND, NULL, 0,
	    "mount /etc/hosts");
	add(t, STR("%s/etc/hostname", h->root), "/etc/hostname", NULL, MS_BIND, NULL, NSM_OPTIONAL,
	    "mount /etc/hostname");
	/* After the binds: their sources may be under the real /tmp. */
	add(t, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", NSM_KEEP_CWD,
	    "mount /tmp");
	if (contain) {
		dev_rows(t);
		run_rows(t);
	}
	add(t, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777",
	    NSM_KEEP_CWD | (contain ? NSM_MKDIR : NSM_OPTIONAL), "mount /dev/shm");
	/* Then a /proc of the new PID namespace, so the host sees only its own processes. */
	add(t, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0, "mount /proc");
	if (contain) {
		proc_rows(t);
		/* Last: what the binds above read from / is bound by now. */
		add(t, NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL, 0,
		    "make / read-only");
	}
	*ret = t->m;
	*ret_n = t->n;
	return 0;
}
#undef STR

static int clone_error(const struct host *h, int e, struct sr_error *err)
{
	sr_err_errno(err, e, "%s: cannot create the host's namespaces", h->name);
	if (e == EPERM)
		sr_err_hint(err, "%s", userns_probe() ? userns_probe() : "try --backend process");
	else if (e == ENOSPC || e == EUSERS)
		sr_err_hint(err, "a namespace limit is reached (/proc/sys/user/max_*_namespaces)");
	return -e;
}

struct relink_task {
	struct host *h;
	int fd, r;
	struct sr_error err;
};

/* A host's network made again: its old veth pair gone, a new namespace with a new pair. */
static void *relink_main(void *arg)
{
	struct relink_task *t = arg;
	const struct ns_group *ng = t->h->group->priv;

	/* Rootless: this thread steps into the job's namespace for good (netns.h). */
	if (ng->nj.stay && setns(ng->nj.ns_fd, CLONE_NEWNET) < 0) {
		t->r = sr_err_errno(&t->err, errno, "enter the job's network namespace");
		return NULL;
	}
	t->r = netns_host_unlink(&ng->nj, t->h->index, &t->err);
	if (t->r >= 0)
		t->r = netns_host_new(&ng->nj, &t->fd, &t->err);
	if (t->r >= 0)
		t->r =
		    netns_host_link(&ng->nj, t->fd, t->h->index, CONTRACT_IFACE_DEFAULT, &t->err);
	if (t->r < 0)
		sr_closep(&t->fd);
	return NULL;
}

/* relink_main here, or rootless in a thread of its own, which never comes back to the
 * machine's network namespace. */
static int relink(struct host *h, int *ret_fd, struct sr_error *err)
{
	const struct ns_group *ng = h->group->priv;
	struct relink_task t = {.h = h, .fd = -1};
	sigset_t all, old;
	pthread_t tid;
	int r;

	if (!ng->nj.stay) {
		relink_main(&t);
	} else {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&tid, NULL, relink_main, &t);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r != 0)
			return sr_err_errno(err, r, "start a thread");
		pthread_join(tid, NULL);
	}
	if (t.r < 0) {
		if (err)
			*err = t.err;
		return t.r;
	}
	*ret_fd = t.fd;
	return 0;
}

/* The host's network namespace, with its veth pair in it, for the clone: the one the group's
 * thread made, or a new one for a host record started again (its first went with its init). */
static int take_netns(struct host *h, int *ret_fd, struct sr_error *err)
{
	struct ns_group *ng = h->group->priv;
	int fd, r;

	r = net_wait(h->group, h->index, err);
	if (r < 0) {
		/* The thread's error names the host it failed on, which may be an earlier one. */
		size_t len = strlen(h->name);

		if (err && (strncmp(err->msg, h->name, len) || err->msg[len] != ':'))
			sr_err_wrap(err, "%s: no network", h->name);
		return r;
	}
	pthread_mutex_lock(&ng->lock);
	fd = ng->host_fds[h->index];
	ng->host_fds[h->index] = -1;
	pthread_mutex_unlock(&ng->lock);
	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	/* Started again: by now the thread is done with the job's netlink socket. */
	net_join(ng);
	r = relink(h, &fd, err);
	if (r < 0)
		return sr_err_wrap(err, "%s: network", h->name);
	*ret_fd = fd;
	return 0;
}

/* The child's verdict: its user process exec'd, or the step that failed. */
static int read_report(const struct host *h, int fd, struct sr_error *err)
{
	struct ns_report rep;
	ssize_t n;

	do
		n = recv(fd, &rep, sizeof(rep), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sr_err_errno(err, errno, "%s: read the host's report", h->name);
	if (n == (ssize_t)sizeof(rep) && rep.err > 0) {
		rep.what[sizeof(rep.what) - 1] = '\0';
		if (rep.exec)
			return spawn_exec_error(h, rep.err, err);
		return sr_err_errno(err, rep.err, "%s: %s", h->name, rep.what);
	}
	if (n == (ssize_t)sizeof(rep) && rep.err == 0)
		return 0;
	return sr_err(err, -EPROTO, "%s: the host's init died while setting up", h->name);
}

static void ns_teardown(struct host *h);

static void priv_close_pending(struct ns_priv *p)
{
	p->report_fd = sr_close(p->report_fd);
	p->out_r = sr_close(p->out_r);
	p->err_r = sr_close(p->err_r);
}

/* What a launch makes before the clone, and what the plan points into.  The clone copies it
 * into init; the parent keeps only what hand_over() moves into the host record. */
struct launch_kit {
	struct ns_plan plan;
	struct ns_mount *mounts;
	size_t n_mounts;
	struct strv strs; /* the mount table's strings */
	struct strv candidates;
	struct spawn_stdio io;
	int report_p, report_c; /* the report socket: our end, init's */
	int status_r, status_w; /* init's status pipe */
	int agent_fd;
	int netns_fd;
	struct sockaddr_in agent_addr;
	int pidfd;
};

#define LAUNCH_KIT_INIT                                                                            \
	{                                                                                          \
		.strs = STRV_INIT, .candidates = STRV_INIT, .io = {-1, -1, -1, -1, -1},            \
		.report_p = -1, .report_c = -1, .status_r = -1, .status_w = -1, .agent_fd = -1,    \
		.netns_fd = -1, .pidfd = -1                                                        \
	}

/* Also after a clone: init has copies of its own, and what the parent keeps hand_over() has
 * taken out. */
static void launch_kit_release(struct launch_kit *k)
{
	spawn_stdio_close(&k->io);
	k->report_p = sr_close(k->report_p);
	k->report_c = sr_close(k->report_c);
	k->status_r = sr_close(k->status_r);
	k->status_w = sr_close(k->status_w);
	k->agent_fd = sr_close(k->agent_fd);
	k->netns_fd = sr_close(k->netns_fd);
	k->pidfd = sr_close(k->pidfd);
	strv_release(&k->candidates);
	strv_release(&k->strs);
	free(k->mounts);
	k->mounts = NULL;
}

/* Between us and init: its stdio, the report socket (its verdict one way, our "go" the
 * other) and the pipe that brings back the user process's wait status. */
static int channels_open(const struct host *h, struct launch_kit *k, struct sr_error *err)
{
	int sv[2];
	int r = spawn_stdio_open(&k->io, h->name, err);

	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sr_err_errno(err, errno, "%s: create socket pair", h->name);
	k->report_p = sv[0];
	k->report_c = sv[1];
	if (pipe2(sv, O_CLOEXEC | O_NONBLOCK) < 0)
		return sr_err_errno(err, errno, "%s: create pipe", h->name);
	k->status_r = sv[0];
	k->status_w = sv[1];
	return 0;
}

/* The host runs an rsh agent (runtime/agent.h) or sagerun's own runtime: init starts it from
 * our own binary, which the host's mount namespace may not reach by path (/tmp is a fresh
 * tmpfs there).  execveat(AT_EMPTY_PATH) on an O_PATH fd works for an ELF even when the fd is
 * CLOEXEC. */
static int agent_prepare(const struct host *h, struct launch_kit *k, struct sr_error *err)
{
	_cleanup_free_ char *addr = NULL;

	if (h->agent_port > 0 || h->run_self) {
		k->agent_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
		if (k->agent_fd < 0)
			return sr_err_errno(err, errno, "%s: open /proc/self/exe", h->name);
	}
	if (h->agent_port <= 0)
		return 0;
	addr = host_addr(h->group, h->index);
	k->agent_addr.sin_family = AF_INET;
	k->agent_addr.sin_port = htons((uint16_t)h->agent_port);
	if (inet_pton(AF_INET, addr, &k->agent_addr.sin_addr) != 1)
		return sr_err(err, -EINVAL, "%s: bad host address %s", h->name, addr);
	return 0;
}

static void plan_fill(const struct host *h, struct launch_kit *k)
{
	static char *const empty_env[] = {NULL};
	const struct ns_group *ng = h->group->priv;

	spawn_exec_candidates(h, &k->candidates);
	k->plan = (struct ns_plan){
	    .hostname = h->name,
	    .mounts = k->mounts,
	    .n_mounts = k->n_mounts,
	    .cwd = h->cwd,
	    .argv = h->argv.v,
	    .envp = h->env.v ? h->env.v : empty_env,
	    .candidates = k->candidates.v,
	    .null_fd = k->io.null_fd,
	    .out_fd = k->io.out_w,
	    .err_fd = k->io.err_w,
	    .report_fd = k->report_c,
	    .parent = getpid(),
	    .status_fd = k->status_w,
	    .agent_exe_fd = k->agent_fd,
	    .run_self = h->run_self,
	    .agent = h->agent_port > 0,
	    .agent_addr = k->agent_addr,
	    .netns_fd = k->netns_fd,
	    .contain = !h->group->privileged,
	    .userxattr = userns_entered(),
	    .rootless = userns_entered(),
	};
	if (!h->group->network_host) {
		k->plan.ifname = CONTRACT_IFACE_DEFAULT;
		k->plan.net_addr = netns_host_addr(&ng->nj, h->index);
		k->plan.net_prefix = ng->nj.prefix;
	}
}

/* Everything init needs, made (and allocated) here: after the clone it may only carry the
 * plan out, with async-signal-safe calls (internal.h). */
static int plan_prepare(struct host *h, struct launch_kit *k, struct sr_error *err)
{
	int r;

	if (!h->group->network_host) {
		r = take_netns(h, &k->netns_fd, err);
		if (r < 0)
			return r;
	}
	r = build_mounts(h, &k->mounts, &k->n_mounts, &k->strs, err);
	if (r < 0)
		return r;
	r = channels_open(h, k, err);
	if (r < 0)
		return r;
	r = agent_prepare(h, k, err);
	if (r < 0)
		return r;
	plan_fill(h, k);
	return 0;
}

/* Everything blocked around the clone: init keeps it so (it reads a signalfd), and no
 * handler of ours may run in the child.  The pid, or -1 with errno set. */
static pid_t init_clone(const struct ns_plan *plan, int *ret_pidfd)
{
	sigset_t all, old;
	pid_t pid;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = spawn_clone(NS_CLONE_FLAGS, ret_pidfd);
	if (pid == 0)
		ns_child_main(plan);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return pid;
}

/* Init's ends are init's alone now, so that its death reads as EOF on ours. */
static void child_ends_close(struct launch_kit *k)
{
	spawn_stdio_close_child(&k->io);
	k->report_c = sr_close(k->report_c);
	k->status_w = sr_close(k->status_w);
}

/* The host record owns init from here: h->pid and h->pidfd are set, so a teardown kills a
 * half-started host like any other, and ns_launch_wait finds the report socket and pipes. */
static void hand_over(struct host *h, struct launch_kit *k, pid_t pid)
{
	struct ns_priv *priv;

	priv = xcalloc(1, sizeof(*priv));
	*priv = (struct ns_priv){.status_fd = TAKE_FD(k->status_r),
				 .report_fd = TAKE_FD(k->report_p),
				 .out_r = TAKE_FD(k->io.out_r),
				 .err_r = TAKE_FD(k->io.err_r)};
	h->priv = priv;
	h->pid = pid;
	h->pidfd = TAKE_FD(k->pidfd);
}

/* The first half of a start: clone the host into its network namespace (made beforehand,
 * with its interface).  Its init then sets itself up while the parent launches the next
 * host; ns_launch_wait reads the verdict. */
static int ns_launch(struct host *h, struct sr_error *err)
{
	_cleanup_(launch_kit_release) struct launch_kit k = LAUNCH_KIT_INIT;
	struct ns_group *ng = h->group ? h->group->priv : NULL;
	pid_t pid;
	int r;

	if (!ng || !ng->prepared)
		return sr_err(err, -EINVAL, "%s: host group not prepared", h->name);
	if (!h->root)
		return sr_err(err, -EINVAL, "%s: no host folder", h->name);
	r = plan_prepare(h, &k, err);
	if (r < 0)
		return r;
	pid = init_clone(&k.plan, &k.pidfd);
	r = pid < 0 ? -errno : 0;
	child_ends_close(&k);
	if (r < 0)
		return clone_error(h, -r, err);
	hand_over(h, &k, pid);
	return 0;
}

/* The second half: the host's verdict.  On success it runs and out_fd/err_fd are set; on
 * failure it is killed and reaped. */
/* "Go": a launched host's init waits for it before its real work (mounts, network, the user's
 * process), so that the parent's clones of the next hosts do not compete with it for the CPUs
 * and the mount lock; every launched host gets it at the first launch_wait.  A host that never
 * gets it sees EOF when we die or tear it down, and gives up. */
static void release(struct host *h)
{
	struct ns_priv *p = h->priv;

	if (!p || p->released || p->report_fd < 0)
		return;
	p->released = true;
	/* A dead child: its report says so.  Any other failure: it must not wait for ever, so it
	 * reads EOF and gives up. */
	if (send(p->report_fd, "g", 1, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		(void)shutdown(p->report_fd, SHUT_WR);
}

static int ns_launch_wait(struct host *h, struct sr_error *err)
{
	struct ns_priv *p = h->priv;
	int r;

	if (!p || p->report_fd < 0)
		return sr_err(err, -EINVAL, "%s: not launched", h->name);
	for (size_t i = 0; h->group && i < h->group->n; i++) {
		struct host *o = &h->group->hosts[i];

		if (o->priv && o->launched && !o->started)
			release(o);
	}
	release(h);
	r = read_report(h, p->report_fd, err);
	if (r < 0) {
		/* Killed, reaped and forgotten: the record can be started again. */
		ns_teardown(h);
		h->exited = false;
		return r;
	}
	p->report_fd = sr_close(p->report_fd);
	h->out_fd = TAKE_FD(p->out_r);
	h->err_fd = TAKE_FD(p->err_r);
	return 0;
}

static int ns_start(struct host *h, struct sr_error *err)
{
	int r = ns_launch(h, err);

	return r < 0 ? r : ns_launch_wait(h, err);
}

static int ns_signal(struct host *h, int sig, struct sr_error *err)
{
	struct ns_priv *p = h->priv;
	char sb[32];

	if (!p || p->reaped)
		return 0;
	/* SIGKILL kills init and, with it, the whole PID namespace; init forwards any other
	 * signal to the user's process group.  ESRCH: the host is already gone. */
	if (pidfd_send_signal(h->pidfd, sig, NULL, 0) < 0 && errno != ESRCH) {
		int e = errno;

		return sr_err_errno(err, e, "%s: send %s", h->name, sr_signame(sig, sb));
	}
	return 0;
}

static int ns_collect(struct host *h, int *ret_status, struct sr_error *err)
{
	struct ns_priv *p = h->priv;
	int32_t st;
	siginfo_t si;
	ssize_t n;
	int r;

	if (!p || p->reaped)
		return sr_err(err, -ECHILD, "%s: nothing to collect", h->name);
	/* Init exits only after every other process of its namespace is gone. */
	r = spawn_wait(h->pidfd, &si, 0);
	if (r < 0)
		return sr_err_errno(err, -r, "%s: wait", h->name);
	p->reaped = true;
	/* Init wrote the user process's own wait status before exiting; without it (init was
	 * killed) the host's status is init's. */
	n = read(p->status_fd, &st, sizeof(st));
	*ret_status = n == (ssize_t)sizeof(st) ? st : spawn_status_from_siginfo(&si);
	return 0;
}

static void ns_teardown(struct host *h)
{
	struct ns_priv *p = h->priv;
	siginfo_t si;

	if (p && !p->reaped && h->pidfd >= 0) {
		(void)pidfd_send_signal(h->pidfd, SIGKILL, NULL, 0);
		(void)spawn_wait(h->pidfd, &si, 0);
		p->reaped = true;
		h->exited = true;
	}
	if (p) {
		sr_closep(&p->status_fd);
		priv_close_pending(p);
	}
	h->pidfd = sr_close(h->pidfd);
	h->out_fd = sr_close(h->out_fd);
	h->err_fd = sr_close(h->err_fd);
	free(p);
	h->priv = NULL;
	h->pid = 0;
}

/* ---- availability ---- */

static void probe_reap(pid_t *pid, bool block)
{
	pid_t r;

	if (*pid <= 0)
		return;
	do
		r = waitpid(*pid, NULL, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != 0) /* reaped, or not ours to reap (ECHILD: a detached job's copy) */
		*pid = 0;
}

/* The probe's child: what ns_launch's clone will ask for, its verdict in *arg. */
static int probe_main(void *arg)
{
	*(int *)arg = unshare(NS_CLONE_FLAGS) < 0 ? errno : 0;
	return 0;
}

/* Whether namespaces can be made here (root, or unprivileged user namespaces); when not,
 * *ret_why says why in one line.  The answer comes from a child that tries, and comes before
 * the child is gone (its namespaces' teardown takes a while nothing needs to wait for): the
 * group reaps it later. */
static bool ns_probe(struct host_group *g, const char **ret_why)
{
	static const char *const reasons[] = {
	    [EPERM] = "cannot create namespaces here: Operation not permitted",
	    [EINVAL] = "cannot create namespaces here: Invalid argument",
	    [ENOSPC] = "cannot create namespaces here: namespace limit reached",
	    [ENOMEM] = "cannot create namespaces here: Cannot allocate memory",
	    [EUSERS] = "cannot create namespaces here: namespace limit reached",
	};
	static char stack[16 * 1024] __attribute__((aligned(16)));
	const char *why = NULL;
	sigset_t all, old;
	int e = EPERM;
	pid_t pid;

	/* Rootless: the namespaces are made in a user namespace of the job's own (userns.h); a
	 * child tries what that will ask for. */
	if (geteuid() != 0 && !userns_entered()) {
		why = userns_probe();
		goto out;
	}
	/* Probe, don't check versions: a child tries what ns_start's clone will ask for.  It
	 * shares our memory and runs on a stack of its own (CLONE_VM | CLONE_VFORK, as
	 * posix_spawn): no page tables to copy, and we resume as soon as it is out of our
	 * memory, which is before its exit tears its new namespaces down; the mount namespace's
	 * teardown waits for an RCU grace period (0.5 to 3 ms here) that nothing of ours needs.
	 * The child is reaped later (probe_reap), long after it is gone.
	 *
	 * Without CLONE_NEWNET: a network namespace costs a millisecond to make and more to
	 * destroy, on every job; where the others can be made it can too, and if not, the
	 * host's clone says so with a hint. */
	/* Every signal blocked around it, as posix_spawn does: a handler of ours must never run
	 * in the child, on our memory. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(probe_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		why = "cannot create namespaces here: cannot start a probe process";
		goto out;
	}
	ns_group_get(g)->probe = pid;
	if (e != 0)
		why = e > 0 && (size_t)e < sizeof(reasons) / sizeof(reasons[0]) && reasons[e]
			  ? reasons[e]
			  : "cannot create namespaces here";
out:
	if (why && ret_why)
		*ret_why = why;
	return !why;
}

/* --subnet is checked here, before the job is recorded, as the network will plan it. */
static int ns_check_options(const struct host_options *o, size_t n_hosts,
			    const struct job_report *rep, struct sr_error *err)
{
	struct netns_job nj;
	int r = host_check_not_container("ns", o, rep, err);

	if (r < 0)
		return r;
	if (o->network_host) {
		if (o->subnet)
			job_say(rep, JOB_SAY_WARNING, NULL,
				"--subnet %s: with --network host the hosts share this machine's "
				"network; no subnet is made",
				o->subnet);
		if (o->network_isolation)
			job_say(rep, JOB_SAY_WARNING, NULL,
				"EnableNetworkIsolation: with --network host the hosts reach "
				"whatever this machine reaches");
		if (n_hosts > LOOPBACK_HOSTS_MAX)
			return sr_err(err, -E2BIG,
				      "too many hosts for --network host: %zu (at most %d)",
				      n_hosts, LOOPBACK_HOSTS_MAX);
		return 0;
	}
	r = netns_job_plan(&nj, o->subnet, n_hosts, err);
	netns_job_destroy(&nj);
	if (r < 0 && o->subnet && err && strncmp(err->msg, "--subnet", 8))
		return sr_err_wrap(err, "--subnet");
	return r;
}

/* The host's init serves its rsh agent (ns_init.c): the runtime must not serve another. */
static void ns_host_env(const struct host *h, struct strv *env)
{
	/* Rootless and contained, /root is the host's own (build_mounts), and the home of its
	 * root as on the service: what pip falls back to where this machine's root owns the
	 * folders, `pip install --user`, lands there, in the host's layer. */
	if (userns_entered() && h->group && !h->group->privileged)
		strv_env_set(env, "HOME", "/root");
	/* Contained, this machine's Python is the host's image and its /usr a layer of the
	 * host's own: pip may install there as into a container's (Debian's and Ubuntu's Python
	 * refuse it otherwise, PEP 668), and what it installs goes with the job.  The toolkit's
	 * requirements.txt and the SDK's runproc.sh then work as on the service. */
	if (h->group && !h->group->privileged && !strv_env_get(env, "PIP_BREAK_SYSTEM_PACKAGES"))
		strv_env_set(env, "PIP_BREAK_SYSTEM_PACKAGES", "1");
	if (h->agent_port > 0)
		strv_env_set(env, CONTRACT_AGENT_SERVED_ENV, "init");
}

const struct host_backend host_backend_ns = {
    .name = "ns",
    .summary = "Linux namespaces: a hostname, /opt/ml, network\n"
	       "and processes of its own per host",
    .flags = HOST_BACKEND_F_OPT_ML | HOST_BACKEND_F_OWN_ADDRESS | HOST_BACKEND_F_BINDS,
    /* A host's PID 1 is sagerun's init, a clone of this binary that never execs, and its
     * /proc is the host's own: the link reaches the binary where the host's /tmp (a tmpfs of
     * its own) hides its path, and still does once a rebuild has replaced the file. */
    .self_exe = "/proc/1/exe",
    .probe = ns_probe,
    .check_options = ns_check_options,
    .host_env = ns_host_env,
    .group_begin = ns_group_begin,
    .group_prepare = ns_group_prepare,
    .group_teardown = ns_group_teardown,
    .start = ns_start,
    .launch = ns_launch,
    .launch_wait = ns_launch_wait,
    .signal = ns_signal,
    .collect = ns_collect,
    .teardown = ns_teardown,
};
