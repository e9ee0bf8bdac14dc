#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

static int mkdir_one(char *p, mode_t mode, struct sr_error *err)
{
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return sr_err_errno(err, errno, "create folder '%s'", p);
	return 0;
}

int fs_mkdir_private(const char *path, struct sr_error *err)
{
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	struct stat st;
	int r = 0;

	if (slash && slash != parent) {
		*slash = '\0';
		r = fs_mkdir_p(parent, 0755, err);
	}
	if (r < 0)
		return r;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return sr_err_errno(err, errno, "create folder '%s'", path);
	if (stat(path, &st) < 0)
		return sr_err_errno(err, errno, "'%s'", path);
	if (!S_ISDIR(st.st_mode))
		return sr_err(err, -ENOTDIR,
			      "create folder '%s': a file of that name is in the way", path);
	/* A folder an older sagerun made with the umask's modes, or the user with mkdir: ours
	 * to close.  Someone else's is left alone (they chose its modes). */
	if (st.st_uid == geteuid() && (st.st_mode & 077) && chmod(path, st.st_mode & 0700) < 0)
		return sr_err_errno(err, errno, "make '%s' private (chmod 700)", path);
	return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, struct sr_error *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	char *s;
	int r;

	/* Most calls make one folder in a parent that exists: try the leaf first, and walk up
	 * only as far as a parent is missing. */
	if (mkdir(p, mode) == 0 || errno == EEXIST)
		goto check;
	if (errno != ENOENT)
		return sr_err_errno(err, errno, "create folder '%s'", p);
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		r = mkdir_one(p, mode, err);
		*s = '/';
		if (r < 0)
			return r;
	}
	r = mkdir_one(p, mode, err);
	if (r < 0)
		return r;
check:
	if (!fs_is_dir(p))
		return sr_err(err, -ENOTDIR,
			      "create folder '%s': a file of that name is in the way", p);
	return 0;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable,
			 struct sr_error *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return sr_err_errno(err, errno, "write '%s'", path);
	r = fs_write_all(fd, data, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return sr_err_errno(err, -r, "write '%s'", path);
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return sr_err_errno(err, -r, "rename '%s' to '%s'", tmp, path);
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		    struct sr_error *err)
{
	return write_replace(path, data, len, mode, true, err);
}

int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode,
		     struct sr_error *err)
{
	return write_replace(path, data, len, mode, false, err);
}

int fs_write_fresh(const char *path, const void *data, size_t len, mode_t mode,
		   struct sr_error *err)
{
	_cleanup_close_ int fd =
	    open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int r;

	if (fd < 0)
		return sr_err_errno(err, errno, "write '%s'", path);
	r = fs_write_all(fd, data, len);
	if (r < 0) {
		unlink(path);
		return sr_err_errno(err, -r, "write '%s'", path);
	}
	return 0;
}

int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len,
		 struct sr_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return sr_err_errno(err, errno, "read '%s'", path);
	for (;;) {
		ssize_t n;

		xgrow(&buf, &cap, len + 65536 + 1, 1);
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sr_err_errno(err, errno, "read '%s'", path);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return sr_err(err, -EFBIG, "read '%s': larger than %zu bytes", path, max);
	}
	if (!buf)
		buf = xstrdup("");
	buf[len] = '\0';
	*ret_data = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DNR) {
		/* A folder we own but may not read: overlayfs leaves its work folders mode 000
		 * (a rootless --keep-layers job's).  Open it up and remove what it holds. */
		DIR *d;

		if (chmod(path, 0700) < 0)
			return -1;
		d = opendir(path);
		if (!d)
			return -1; /* still unreadable: no endless retry */
		closedir(d);
		return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	}
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_rm_rf(const char *path, struct sr_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : sr_err_errno(err, errno, "remove '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0)
			return sr_err_errno(err, errno, "remove '%s'", path);
		return 0;
	}
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return sr_err_errno(err, errno, "remove '%s'", path);
	return 0;
}

int fs_dir_used(const char *dir, struct sr_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int used = 0;

	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return sr_err_errno(err, errno, "read folder '%s'", dir);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			used = 1;
			break;
		}
	}
	closedir(d);
	return used;
}

int fs_empty_dir(const char *dir, struct sr_error *err)
{
	struct strv names = STRV_INIT;
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return sr_err_errno(err, errno, "remove what is in '%s'", dir);
	/* Names first: removing while readdir() walks the same folder may skip some. */
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&names, de->d_name);
	closedir(d);
	for (size_t i = 0; r >= 0 && i < names.n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names.v[i]);

		r = fs_rm_rf(p, err);
	}
	strv_release(&names);
	return r;
}

/* Copy the open file `in` (named `src` in errors) to a new `dst`. */
static int copy_open_file(int in, const char *src, const char *dst, mode_t mode,
			  struct sr_error *err)
{
	_cleanup_close_ int out =
	    open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	bool writing;
	int r;

	if (out < 0)
		return sr_err_errno(err, errno, "copy to '%s'", dst);
	r = fs_copy_fd(in, out, &writing);
	if (r < 0)
		return writing ? sr_err_errno(err, -r, "copy to '%s'", dst)
			       : sr_err_errno(err, -r, "copy '%s'", src);
	return 0;
}

/* Two regular files, the source read from its start: the file system may share the data
 * (a reflink: btrfs, XFS) instead of copying it, at no cost in time or space. */
static bool try_reflink(int in, int out)
{
	struct stat si, so;

	return fstat(in, &si) == 0 && fstat(out, &so) == 0 && S_ISREG(si.st_mode) &&
	       S_ISREG(so.st_mode) && lseek(in, 0, SEEK_CUR) == 0 && so.st_size == 0 &&
	       ioctl(out, FICLONE, in) == 0;
}

int fs_copy_file(const char *src, const char *dst, mode_t mode, struct sr_error *err)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (in < 0)
		return sr_err_errno(err, errno, "copy '%s'", src);
	return copy_open_file(in, src, dst, mode, err);
}

int fs_copy_fd(int in, int out, bool *ret_writing)
{
	char buf[65536];

	if (try_reflink(in, out)) {
		*ret_writing = false;
		return 0;
	}

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*ret_writing = false;
			return n < 0 ? -errno : 0;
		}
		r = fs_write_all(out, buf, (size_t)n);
		if (r < 0) {
			*ret_writing = true;
			return r;
		}
	}
}

/* A folder being copied, and the folders it is in: a link back to one of them is a loop.
 * The bottom one is the copy's own folder (`dst` set). */
struct copy_up {
	dev_t dev;
	ino_t ino;
	const char *dst;
	const struct copy_up *up;
};

/* What a copy may still make: links to folders that do not loop can still lead to the same
 * folders again and again (each of 30 folders linking twice to the next is 2^30 copies), so
 * the entries are counted, with the folder the copy began at for the error. */
struct copy_budget {
	const char *top;
	size_t left, max;
};

static int copy_tree_at(const char *src, const char *dst, const struct copy_up *up, int depth,
			struct copy_budget *b, struct sr_error *err);

static int copy_dir(const char *src, const char *dst, const struct stat *st,
		    const struct copy_up *up, int depth, struct copy_budget *b,
		    struct sr_error *err)
{
	struct copy_up me = {st->st_dev, st->st_ino, NULL, up};
	struct copy_up bottom = {.dst = dst};
	struct stat got;
	int r = 0;

	if (mkdir(dst, st->st_mode & 07777) < 0 && errno != EEXIST)
		return sr_err_errno(err, errno, "create folder '%s'", dst);
	/* The top: the copy's own folder goes below it, since the source may hold it. */
	if (!up) {
		if (stat(dst, &got) < 0)
			return sr_err_errno(err, errno, "copy to '%s'", dst);
		if (got.st_dev == st->st_dev && got.st_ino == st->st_ino)
			return sr_err(err, -EINVAL, "copy '%s' into itself", src);
		bottom.dev = got.st_dev;
		bottom.ino = got.st_ino;
		me.up = &bottom;
	}
	DIR *d = opendir(src);
	if (!d)
		return sr_err_errno(err, errno, "copy '%s'", src);
	for (struct dirent *e; r == 0 && (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		_cleanup_free_ char *s = xasprintf("%s/%s", src, e->d_name);
		_cleanup_free_ char *t = xasprintf("%s/%s", dst, e->d_name);
		r = copy_tree_at(s, t, &me, depth + 1, b, err);
	}
	closedir(d);
	return r;
}

static int copy_tree_at(const char *src, const char *dst, const struct copy_up *up, int depth,
			struct copy_budget *b, struct sr_error *err)
{
	char target[PATH_MAX] = "";
	struct stat st;

	if (depth > FS_COPY_MAX_DEPTH)
		return sr_err(err, -ELOOP, "copy '%s': folders nested deeper than %d", src,
			      FS_COPY_MAX_DEPTH);
	if (!b->left--)
		return sr_err(err, -EFBIG,
			      "copy '%s': more than %zu files and folders (counting each a "
			      "symbolic link leads to again); links that lead to the same folders "
			      "many times can make a small folder that big",
			      b->top, b->max);
	if (lstat(src, &st) < 0)
		return sr_err_errno(err, errno, "copy '%s'", src);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(src, target, sizeof(target) - 1);

		if (n < 0)
			return sr_err_errno(err, errno, "copy '%s'", src);
		target[n] = '\0';
		if (stat(src, &st) < 0)
			return sr_err_errno(err, errno, "copy '%s': symbolic link to '%s'", src,
					    target);
	}
	if (S_ISREG(st.st_mode)) {
		/* O_NONBLOCK: a FIFO put in the file's place would hang the open. */
		_cleanup_close_ int in = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		struct stat got;

		if (in < 0 || fstat(in, &got) < 0)
			return sr_err_errno(err, errno, "copy '%s'", src);
		if (!S_ISREG(got.st_mode))
			return sr_err(err, -EAGAIN, "copy '%s': changed while it was being copied",
				      src);
		return copy_open_file(in, src, dst, got.st_mode & 07777, err);
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* sockets, fifos, devices: nothing a code folder needs */
	for (const struct copy_up *u = up; u; u = u->up) {
		if (u->dev != st.st_dev || u->ino != st.st_ino)
			continue;
		if (u->dst)
			return sr_err(err, -ELOOP, "copy '%s': leads into '%s', the copy itself",
				      src, u->dst);
		if (!*target) /* a bind mount of a folder into itself */
			return sr_err(err, -ELOOP, "copy '%s': loops back to a folder it is in",
				      src);
		return sr_err(err, -ELOOP,
			      "copy '%s': symbolic link to '%s' loops back to a folder it is in",
			      src, target);
	}
	return copy_dir(src, dst, &st, up, depth, b, err);
}

int fs_copy_tree_max(const char *src, const char *dst, size_t max_entries, struct sr_error *err)
{
	struct copy_budget b = {src, max_entries, max_entries};

	return copy_tree_at(src, dst, NULL, 0, &b, err);
}

int fs_copy_tree(const char *src, const char *dst, struct sr_error *err)
{
	return fs_copy_tree_max(src, dst, FS_COPY_MAX_ENTRIES, err);
}

bool fs_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *fs_abspath(const char *path)
{
	char cwd[PATH_MAX];
	_cleanup_free_ char *joined = NULL;
	char *out, *o;
	const char *s;

	if (path[0] == '/') {
		joined = xstrdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			strcpy(cwd, "/");
		joined = xasprintf("%s/%s", cwd, path);
	}
	/* Normalise "//", "/./" and "/../" lexically, as realpath -m does. */
	out = xmalloc(strlen(joined) + 2);
	o = out;
	for (s = joined; *s;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (n == 1 && s[0] == '.') {
			/* skip */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > out && *--o != '/')
				;
		} else {
			*o++ = '/';
			memcpy(o, s, n);
			o += n;
		}
		s = e;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return out;
}

int fs_need_open_files(unsigned long need, struct sr_error *err)
{
	struct rlimit rl;
	bool enough;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return sr_err_errno(err, errno, "open files limit");
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	enough = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need;
	rl.rlim_cur = enough ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return sr_err_errno(err, errno, "raise the open files limit to %llu",
				    (unsigned long long)rl.rlim_cur);
	if (enough)
		return 0;
	sr_err(err, -EMFILE, "%lu open files may be needed, and at most %llu may be open", need,
	       (unsigned long long)rl.rlim_max);
	return sr_err_hint(err, "raise the hard limit (ulimit -Hn, or LimitNOFILE=)");
}
