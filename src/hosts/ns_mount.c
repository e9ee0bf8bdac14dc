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

static int mount_one(const struct ns_plan *p, const struct ns_mount *m, char *what, size_t len)
{
	char fdp[64];
	struct stat st;
	int cwd_fd = -1, r = 0;

	set_what(what, len, m->step, NULL);
	if (m->what && stat(m->where, &st) < 0) {
		if (errno != ENOENT)
			return errno;
		if (m->policy & NSM_OPTIONAL)
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

	/* A fresh tmpfs over /tmp would hide a working folder below it (a test run from its
	 * temp folder): keep a handle on it to bind it back.  A missing one is chdir's error. */
	if ((m->policy & NSM_KEEP_CWD) && path_under(p->cwd, m->where))
		cwd_fd = open(p->cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (mount(m->what, m->where, m->type, m->flags, m->data) < 0) {
		r = errno;
		goto out;
	}
	if ((m->policy & NSM_RDONLY) &&
	    mount(NULL, m->where, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(m->where),
		  NULL) < 0) {
		r = errno;
		set_what(what, len, m->step, "make read-only");
		goto out;
	}
	if (cwd_fd >= 0) {
		set_what(what, len, m->step, "keep the working folder");
		r = make_path(p->cwd, false);
		if (!r)
			r = fd_path(fdp, sizeof(fdp), cwd_fd, NULL);
		if (!r && mount(fdp, p->cwd, NULL, MS_BIND | MS_REC, NULL) < 0)
			r = errno;
	}
out:
	if (cwd_fd >= 0)
		close(cwd_fd);
	return r;
}

int ns_mount_all(const struct ns_plan *p, char *what, size_t len)
{
	int r;

	for (size_t i = 0; i < p->n_mounts; i++) {
		r = mount_one(p, &p->mounts[i], what, len);
		if (r)
			return r;
	}
	if (p->cwd && chdir(p->cwd) < 0) {
		r = errno;
		set_what(what, len, "cannot change to folder '", NULL);
		add_what(what, len, p->cwd, "'");
		return r;
	}
	return 0;
}
