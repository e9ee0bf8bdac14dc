/* ns_mount.c - the mounts of an ns host, carried out by its init inside the new mount namespace.
 *
 * ns.c builds the table (what, where, type, flags, policy bits) before the clone; this file
 * only executes it, so everything here is async-signal-safe: no allocation, no stdio, paths in
 * stack buffers.  Order matters and is the table's: / private first (nothing we mount may leak
 * back to the machine), the binds whose sources may live under /tmp before the tmpfs hides
 * /tmp, and the new /proc last.  The real file system is never written, except inside /opt/ml
 * (the host's own tree) where a bind target may be made.
 */
#include "hosts/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

void ns_str_add(char *buf, size_t len, size_t *pos, const char *s)
{
	while (*s && *pos + 1 < len)
		buf[(*pos)++] = *s++;
	if (*pos < len)
		buf[*pos] = '\0';
}

void ns_str_add_escaped(char *buf, size_t len, size_t *pos, const char *s, const char *special)
{
	char one[3] = {'\\', '\0', '\0'};

	for (; *s; s++) {
		one[1] = *s;
		ns_str_add(buf, len, pos, strchr(special, *s) ? one : one + 1);
	}
}

void ns_str_add_uint(char *buf, size_t len, size_t *pos, unsigned long v)
{
	char tmp[24];
	size_t i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do
		tmp[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i);
	ns_str_add(buf, len, pos, tmp + i);
}

static void set_what(char *what, size_t len, const char *a, const char *b)
{
	size_t pos = 0;

	if (!len)
		return;
	what[0] = '\0';
	ns_str_add(what, len, &pos, a);
	if (b) {
		ns_str_add(what, len, &pos, ": ");
		ns_str_add(what, len, &pos, b);
	}
}

static void add_what(char *what, size_t len, const char *a, const char *b)
{
	size_t pos = strnlen(what, len);

	ns_str_add(what, len, &pos, a);
	ns_str_add(what, len, &pos, b);
}

static int path_join(char *buf, size_t len, const char *a, const char *b)
{
	size_t pos = 0;

	buf[0] = '\0';
	ns_str_add(buf, len, &pos, a);
	ns_str_add(buf, len, &pos, "/");
	ns_str_add(buf, len, &pos, b);
	return pos + 1 >= len ? ENAMETOOLONG : 0;
}

/* mkdir -p; the last component is a file when `file` is set. */
static int make_path(const char *path, bool file)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		bool last = !*p;

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (last && file) {
			int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

			if (fd < 0)
				return errno;
			close(fd);
			return 0;
		}
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return errno;
		if (last)
			return 0;
		*p = '/';
	}
}

/* The MS_* flags a read-only remount must keep, else it fails with EPERM when they are locked
 * (crun: get_remount_flags). */
static unsigned long kept_flags(const char *path)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
	    {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},	      {ST_NOEXEC, MS_NOEXEC},
	    {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
	};
	struct statfs sfs;
	unsigned long r = 0;

	if (statfs(path, &sfs) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if ((unsigned long)sfs.f_flags & map[i].st)
			r |= map[i].ms;
	return r;
}

/* /proc/self/fd/<fd>/<name>: a path to an entry of a folder we may have mounted over. */
static int fd_path(char *buf, size_t len, int fd, const char *name)
{
	size_t pos = 0;

	buf[0] = '\0';
	ns_str_add(buf, len, &pos, "/proc/self/fd/");
	ns_str_add_uint(buf, len, &pos, (unsigned long)fd);
	if (name) {
		ns_str_add(buf, len, &pos, "/");
		ns_str_add(buf, len, &pos, name);
	}
	return pos + 1 >= len ? ENAMETOOLONG : 0;
}

/* Recreate one entry of the original folder (open as `dfd`) in the tmpfs now over it. */
static int keep_entry(int dfd, const char *dir, const char *name)
{
	char src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : errno; /* gone meanwhile */
	r = path_join(dst, sizeof(dst), dir, name);
	if (!r)
		r = fd_path(src, sizeof(src), dfd, name);
	if (r)
		return r;
	if (S_ISLNK(st.st_mode)) {
		/* A symlink cannot be a mount target; the same link says the same thing. */
		n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return errno;
		target[n] = '\0';
		return symlink(target, dst) < 0 ? errno : 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, st.st_mode & 07777) < 0 && errno != EEXIST)
			return errno;
	} else {
		r = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (r < 0)
			return errno;
		close(r);
	}
	return mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ? errno : 0;
}

/* The target `where` is missing: put a tmpfs over its parent (in this mount namespace only)
 * that shows every original entry again through bind mounts, so /opt/conda and friends keep
 * working, and make `where` there.  The original folder is read through an fd opened before
 * the tmpfs hides it. */
static int shadow_parent(const char *where, bool file, char *what, size_t len)
{
	char parent[PATH_MAX], buf[4096];
	const char *slash = strrchr(where, '/');
	size_t n = slash ? (size_t)(slash - where) : 0;
	struct stat st;
	int dfd, r = 0;

	if (!n || n >= sizeof(parent))
		return EINVAL;
	memcpy(parent, where, n);
	parent[n] = '\0';
	dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = errno;
		add_what(what, len, ": open ", parent);
		return r;
	}
	if (fstat(dfd, &st) < 0 ||
	    mount("tmpfs", parent, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
		r = errno;
		add_what(what, len, ": mount a tmpfs on ", parent);
		goto out;
	}
	(void)chmod(parent, st.st_mode & 07777);
	for (;;) {
		long got = syscall(SYS_getdents64, dfd, buf, sizeof(buf));

		if (got < 0) {
			r = errno;
			goto out;
		}
		if (got == 0)
			break;
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			r = keep_entry(dfd, parent, d->d_name);
			if (r) {
				char ent[PATH_MAX];

				(void)path_join(ent, sizeof(ent), parent, d->d_name);
				add_what(what, len, ": keep ", ent);
				goto out;
			}
		}
	}
	r = make_path(where, file);
out:
	close(dfd);
	return r;
}

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return path && !strncmp(path, dir, n) && path[n] == '/';
}

/* Init is single-threaded and carries out one table: the fds opened before the layers (for
 * row i: its source, or a copy-on-write overlay's lower folder, and its layer) and the layers'
 * base. */
static int src_fd[NS_MOUNTS_MAX], upper_fd[NS_MOUNTS_MAX];
static int layer_fd = -1;
static char data_buf[3 * PATH_MAX];

/* mount_setattr(2) (Linux 5.12), which sets an attribute on a whole tree of mounts at once;
 * declared here as glibc 2.36's headers and the kernel's clash. */
struct sr_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define SR_MOUNT_ATTR_RDONLY 0x00000001
#define SR_MOUNT_ATTR_NODEV  0x00000004
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* Read-only, with every mount below when `rec`: one call where the kernel has it, else the
 * top mount only (FIXME: drop when kernel 5.12 is baseline).  No device nodes either: a
 * device node of this machine's tree outside /dev (or one a host made before) must not open
 * onto its disks. */
static int make_rdonly(const char *where, bool rec)
{
#ifdef SYS_mount_setattr
	struct sr_mount_attr a = {.attr_set = SR_MOUNT_ATTR_RDONLY | SR_MOUNT_ATTR_NODEV};

	if (rec &&
	    syscall(SYS_mount_setattr, -1, where, rec ? AT_RECURSIVE : 0, &a, sizeof(a)) == 0)
		return 0;
#endif
	return mount(NULL, where, NULL,
		     MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NODEV | kept_flags(where), NULL) < 0
		   ? errno
		   : 0;
}

/* "/proc/self/fd/N" for an fd opened before the layers, else the path itself. */
static const char *via_fd(char *buf, size_t len, int fd, const char *path)
{
	if (fd < 0 || fd_path(buf, len, fd, NULL))
		return path;
	return buf;
}

/* Before the first layer: open what every later row reads, while the machine's paths still
 * lead to it. */
static int preopen(const struct ns_plan *p, size_t from, char *what, size_t len)
{
	for (size_t i = from; i < p->n_mounts && i < NS_MOUNTS_MAX; i++) {
		const struct ns_mount *m = &p->mounts[i];
		const char *src = (m->policy & NSM_COW)	 ? m->lower
				  : (m->flags & MS_BIND) ? m->what
							 : NULL;

		if (src) {
			src_fd[i] = open(src, O_PATH | O_CLOEXEC);
			/* An optional row's source the host's user may not reach: left out. */
			if (src_fd[i] < 0 && errno != ENOENT &&
			    !(errno == EACCES && (m->policy & NSM_OPTIONAL))) {
				set_what(what, len, m->step, "open ");
				add_what(what, len, src, "");
				return errno;
			}
		}
		if (m->policy & NSM_COW) {
			upper_fd[i] = open(m->upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (upper_fd[i] < 0) {
				set_what(what, len, m->step, "open ");
				add_what(what, len, m->upper, "");
				return errno;
			}
		}
	}
	return 0;
}

#define OVERLAY_SPECIAL ",:\\"

/* lowerdir=`lower`,upperdir=`upper`/data,workdir=`upper`/work in data_buf; with `make`, the
 * two folders made first. */
static int overlay_options(const struct ns_plan *p, const char *lower, const char *upper, bool make)
{
	size_t pos = 0;

	if (make) {
		char d[PATH_MAX];

		ns_str_add(d, sizeof(d), &pos, upper);
		ns_str_add(d, sizeof(d), &pos, "/data");
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			return errno;
		pos -= 5;
		d[pos] = '\0';
		ns_str_add(d, sizeof(d), &pos, "/work");
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			return errno;
		pos = 0;
	}
	/* overlayfs splits its options at , and lowerdir at :, and takes \ before either (and
	 * before itself) as an escape: a folder may be named "runs/10:00". */
	ns_str_add(data_buf, sizeof(data_buf), &pos, "lowerdir=");
	ns_str_add_escaped(data_buf, sizeof(data_buf), &pos, lower, OVERLAY_SPECIAL);
	ns_str_add(data_buf, sizeof(data_buf), &pos, ",upperdir=");
	ns_str_add_escaped(data_buf, sizeof(data_buf), &pos, upper, OVERLAY_SPECIAL);
	ns_str_add(data_buf, sizeof(data_buf), &pos, "/data,workdir=");
	ns_str_add_escaped(data_buf, sizeof(data_buf), &pos, upper, OVERLAY_SPECIAL);
	ns_str_add(data_buf, sizeof(data_buf), &pos, "/work");
	if (p->userxattr)
		ns_str_add(data_buf, sizeof(data_buf), &pos, ",userxattr");
	return pos + 1 >= sizeof(data_buf) ? ENAMETOOLONG : 0;
}

/* The overlay options of a NSM_COW or NSM_LAYER row, in data_buf. */
static int overlay_data(const struct ns_plan *p, const struct ns_mount *m, size_t i)
{
	char a[64], b[64];
	const char *lower, *upper;

	if (m->policy & NSM_LAYER) {
		int r;

		if (layer_fd < 0)
			return EBADF;
		/* The layer's two folders, on the base (a fresh tmpfs, or the job's). */
		if (mkdirat(layer_fd, m->upper, 0755) < 0 && errno != EEXIST)
			return errno;
		r = fd_path(b, sizeof(b), layer_fd, m->upper);
		if (r)
			return r;
		lower = m->where;
		upper = b;
	} else {
		lower = via_fd(a, sizeof(a), i < NS_MOUNTS_MAX ? src_fd[i] : -1, m->lower);
		upper = via_fd(b, sizeof(b), i < NS_MOUNTS_MAX ? upper_fd[i] : -1, m->upper);
	}
	return overlay_options(p, lower, upper, m->policy & NSM_LAYER);
}

/* Bind `path` (opened as `fd` before the mount that hid it) back at its place. */
static int bind_back(int fd, const char *path)
{
	char fdp[64];
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return errno;
	r = make_path(path, !S_ISDIR(st.st_mode));
	if (!r)
		r = fd_path(fdp, sizeof(fdp), fd, NULL);
	if (!r && mount(fdp, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		r = errno;
	return r;
}

/* The working folder (opened as `fd` before the fresh file system that hid it) back at its
 * place.  Contained, through the host's layer, as the folders at / are: what the host writes
 * there stays in the layer, and this machine's folder is as it was (read-only where overlayfs
 * refuses it).  --privileged, the folder itself. */
static int cwd_back(const struct ns_plan *p, int fd)
{
	char lower[64], upper[64];
	int r;

	if (!p->contain || layer_fd < 0)
		return bind_back(fd, p->cwd);
	r = make_path(p->cwd, false);
	if (!r && mkdirat(layer_fd, ".cwd", 0755) < 0 && errno != EEXIST)
		r = errno;
	if (!r)
		r = fd_path(upper, sizeof(upper), layer_fd, ".cwd");
	if (!r)
		r = fd_path(lower, sizeof(lower), fd, NULL);
	if (!r)
		r = overlay_options(p, lower, upper, true);
	if (r)
		return r;
	if (mount("overlay", p->cwd, "overlay", MS_NODEV, data_buf) == 0)
		return 0;
	r = bind_back(fd, p->cwd);
	return r ? r : make_rdonly(p->cwd, true);
}

static int mount_one(const struct ns_plan *p, size_t i, char *what, size_t len)
{
	const struct ns_mount *m = &p->mounts[i];
	char fdp[64];
	const char *src = m->what, *data = m->data;
	struct stat st;
	int cwd_fd = -1, keep_fd = -1, r = 0;

	set_what(what, len, m->step, NULL);
	if (m->policy & NSM_SYMLINK)
		return symlink(m->what, m->where) < 0 && errno != EEXIST ? errno : 0;
	if (m->policy & NSM_LAYER_OWN) {
		char d[PATH_MAX];
		size_t pos = 0;

		if (layer_fd < 0)
			return EBADF;
		if (mkdirat(layer_fd, m->upper, 0700) < 0 && errno != EEXIST)
			return errno;
		r = fd_path(d, sizeof(d), layer_fd, m->upper);
		if (r)
			return r;
		pos = strlen(d);
		ns_str_add(d, sizeof(d), &pos, "/data");
		if (mkdir(d, 0700) < 0 && errno != EEXIST)
			return errno;
		if (mount(d, m->where, NULL, MS_BIND, NULL) < 0)
			return errno;
		/* A bind takes no flags but through a remount. */
		return mount(NULL, m->where, NULL, MS_REMOUNT | MS_BIND | MS_NODEV | kept_flags(d),
			     NULL) < 0
			   ? errno
			   : 0;
	}
	if ((m->flags & MS_BIND) && i < NS_MOUNTS_MAX) {
		if (src_fd[i] < 0 && layer_fd >= 0 && (m->policy & NSM_OPTIONAL))
			return 0; /* its source is not there */
		src = via_fd(fdp, sizeof(fdp), src_fd[i], m->what);
	}
	if (m->what && stat(m->where, &st) < 0) {
		if (errno != ENOENT)
			return errno;
		if ((m->policy & NSM_OPTIONAL) && !(m->policy & NSM_MKDIR))
			return 0;
		if (m->policy & NSM_SHADOW_PARENT)
			r = shadow_parent(m->where, m->policy & NSM_FILE, what, len);
		else if (m->policy & NSM_MKDIR)
			r = make_path(m->where, m->policy & NSM_FILE);
		else
			r = ENOENT;
		if (r)
			return r;
	}
	if (m->policy & (NSM_COW | NSM_LAYER)) {
		r = overlay_data(p, m, i);
		if (r) {
			set_what(what, len, m->step, "its layer");
			return r;
		}
		data = data_buf;
	}

	/* A fresh tmpfs over /tmp would hide a working folder below it (a test run from its
	 * temp folder): keep a handle on it to bind it back.  A missing one is chdir's error. */
	if ((m->policy & NSM_KEEP_CWD) && path_under(p->cwd, m->where))
		cwd_fd = open(p->cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if ((m->policy & NSM_KEEP_CWD) && m->keep)
		keep_fd = open(m->keep, O_PATH | O_CLOEXEC);

	if (m->flags || m->what || m->type) {
		unsigned long flags = m->flags;

		if (flags & MS_REMOUNT)
			flags |= kept_flags(m->where);
		if (mount(src, m->where, m->type, flags, data) < 0) {
			r = errno;
			/* A folder overlayfs cannot take as its lower layer (a file system it
			 * refuses, one without user xattrs for a rootless layer before Linux
			 * 6.6's tmpfs): read-only instead, so the host still starts. */
			if (!(m->policy & NSM_LAYER))
				goto out;
			if (mount(m->where, m->where, NULL, MS_BIND | MS_REC, NULL) < 0 ||
			    make_rdonly(m->where, true))
				goto out;
			r = 0;
		}
	}
	if ((m->policy & NSM_RDONLY) && (r = make_rdonly(m->where, m->policy & NSM_REC))) {
		set_what(what, len, m->step, "make read-only");
		goto out;
	}
	if (m->policy & NSM_LAYER_BASE) {
		layer_fd = open(m->where, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (layer_fd < 0) {
			r = errno;
			goto out;
		}
	}
	if (cwd_fd >= 0) {
		set_what(what, len, m->step, "keep the working folder");
		r = cwd_back(p, cwd_fd);
		if (r)
			goto out;
	}
	if (keep_fd >= 0) {
		set_what(what, len, m->step, "keep ");
		add_what(what, len, m->keep, "");
		r = bind_back(keep_fd, m->keep);
		/* This machine's own file (systemd-resolved's stub-resolv.conf, where
		 * /etc/resolv.conf leads): the host reads it, never writes it. */
		if (!r)
			r = make_rdonly(m->keep, false);
	}
out:
	if (cwd_fd >= 0)
		close(cwd_fd);
	if (keep_fd >= 0)
		close(keep_fd);
	return r;
}

static void close_opened(void)
{
	for (size_t i = 0; i < NS_MOUNTS_MAX; i++) {
		if (src_fd[i] >= 0)
			close(src_fd[i]);
		if (upper_fd[i] >= 0)
			close(upper_fd[i]);
		src_fd[i] = upper_fd[i] = -1;
	}
	if (layer_fd >= 0)
		close(layer_fd);
	layer_fd = -1;
}

int ns_mount_all(const struct ns_plan *p, char *what, size_t len)
{
	bool opened = false;
	int r = 0;

	for (size_t i = 0; i < NS_MOUNTS_MAX; i++)
		src_fd[i] = upper_fd[i] = -1;
	if (p->n_mounts > NS_MOUNTS_MAX) {
		set_what(what, len, "mount the host's folders: too many", NULL);
		return E2BIG;
	}
	for (size_t i = 0; i < p->n_mounts; i++) {
		if ((p->mounts[i].policy & NSM_LAYER) && !opened) {
			opened = true;
			r = preopen(p, i + 1, what, len);
			if (r)
				break;
		}
		r = mount_one(p, i, what, len);
		if (r)
			break;
	}
	close_opened();
	if (r)
		return r;
	if (p->cwd && chdir(p->cwd) < 0) {
		r = errno;
		set_what(what, len, "cannot change to folder '", NULL);
		add_what(what, len, p->cwd, "'");
		return r;
	}
	return 0;
}
