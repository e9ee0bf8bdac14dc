#include "data/artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/tarwrite.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* A tree deeper than this is a bug or an attack, not a model; it would also cost one open
 * directory per level. */
#define PACK_DEPTH_MAX 256
#define COPY_BUF_SIZE  (128 * 1024)

/* --- packing ---------------------------------------------------------------------------- */

/* A name already in the archive.  Directories are remembered as such so that a folder both
 * hosts created merges quietly while a file-versus-file (or file-versus-folder) clash warns. */
struct pack_seen {
	char *name;
	bool is_dir;
};

/* A folder being packed: one of its own links leading back to it is a loop. */
struct pack_dirid {
	dev_t dev;
	ino_t ino;
};

struct pack {
	struct tarw *w;
	const char *label;     /* borrowed: dest basename, for warnings */
	struct strv *warnings; /* borrowed; may be NULL */
	void *seen;	       /* tsearch tree of struct pack_seen */
	char *buf;	       /* COPY_BUF_SIZE bytes */
	bool follow;	       /* links followed, as the SDK packs a source folder */
	unsigned entries;
	struct pack_dirid up[PACK_DEPTH_MAX + 1]; /* the folders being packed, by depth */
};

static int pack_seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pack_seen *)a)->name, ((const struct pack_seen *)b)->name);
}

static void pack_seen_free(void *p)
{
	struct pack_seen *s = p;

	free(s->name);
	free(s);
}

static void pack_warn(struct pack *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pack_warn(struct pack *p, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	if (!p->warnings)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	strv_pushf(p->warnings, "%s: %s", p->label, msg ? msg : "(out of memory)");
}

/* True when `name` may go in: it is new, or it is a folder merging into an earlier folder
 * (`*ret_write` then says whether to write the folder's own entry). */
static bool pack_claim(struct pack *p, const char *name, bool is_dir, bool *ret_write)
{
	struct pack_seen key = {.name = (char *)name, .is_dir = is_dir};
	struct pack_seen **found = tfind(&key, &p->seen, pack_seen_cmp);

	if (found) {
		*ret_write = false;
		if (is_dir && (*found)->is_dir)
			return true;
		pack_warn(p, "'%s' written by more than one host; kept the first", name);
		return false;
	}
	struct pack_seen *s = xmalloc(sizeof(*s));
	s->name = xstrdup(name);
	s->is_dir = is_dir;
	if (!tsearch(s, &p->seen, pack_seen_cmp))
		abort(); /* only on ENOMEM, where xalloc's policy is to abort too */
	*ret_write = true;
	return true;
}

/* Whole seconds: sub-second times would force a pax header on every entry for no use. */
static struct tarw_entry pack_entry(const char *name, char type, const struct stat *st)
{
	return (struct tarw_entry){
	    .path = name,
	    .type = type,
	    .perm = st->st_mode & 07777,
	    .uid = st->st_uid,
	    .gid = st->st_gid,
	    .mtime = st->st_mtim.tv_sec,
	};
}

static int pack_header(struct pack *p, const struct tarw_entry *e, const char *path,
		       struct sr_error *err)
{
	int r = tarw_header(p->w, e, err);

	return r < 0 ? sr_err_wrap(err, "pack '%s'", path) : 0;
}

/* The target of the symbolic link `name` in `dfd`, in *ret (caller frees). */
static int pack_read_link(int dfd, const char *name, const char *path, char **ret,
			  struct sr_error *err)
{
	_cleanup_free_ char *target = NULL;
	size_t cap = 256;

	/* st_size is only a hint (0 on some file systems): grow until the target fits. */
	for (;;) {
		target = xrealloc(target, cap);
		ssize_t n = readlinkat(dfd, name, target, cap);
		if (n < 0)
			return sr_err_errno(err, errno, "pack '%s'", path);
		if ((size_t)n < cap) {
			target[n] = '\0';
			*ret = TAKE_PTR(target);
			return 0;
		}
		if (cap >= PATH_MAX * 16)
			return sr_err(err, -ENAMETOOLONG, "pack '%s': symlink target too long",
				      path);
		cap *= 2;
	}
}

static int pack_symlink(struct pack *p, int dfd, const char *name, const char *rel,
			const char *path, const struct stat *st, struct sr_error *err)
{
	_cleanup_free_ char *target = NULL;
	struct tarw_entry e;
	int r = pack_read_link(dfd, name, path, &target, err);

	if (r < 0)
		return r;
	e = pack_entry(rel, TARW_SYMLINK, st);
	e.linkname = target;
	return pack_header(p, &e, path, err);
}

/* What the link `name` leads to, in *st, as the SDK's tarfile (dereference=True) sees it:
 * a link that leads nowhere, or round in circles, is an error naming it. */
static int pack_follow(int dfd, const char *name, const char *path, struct stat *st,
		       char **ret_target, struct sr_error *err)
{
	int r = pack_read_link(dfd, name, path, ret_target, err);

	if (r < 0)
		return r;
	if (fstatat(dfd, name, st, 0) < 0)
		return sr_err_errno(err, errno, "pack '%s': symbolic link to '%s'", path,
				    *ret_target);
	return 0;
}

static int pack_file(struct pack *p, int dfd, const char *name, const char *rel, const char *path,
		     struct sr_error *err)
{
	struct tarw_entry e;
	/* O_NOFOLLOW (unless links are followed): the name may have become a symlink since we
	 * looked; O_NONBLOCK: or a FIFO, whose open would hang.  The fstat below is what we
	 * trust. */
	_cleanup_close_ int fd = openat(
	    dfd, name, (p->follow ? 0 : O_NOFOLLOW) | O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	off_t left;
	int r;

	if (fd < 0)
		return sr_err_errno(err, errno, "pack '%s'", path);
	if (fstat(fd, &st) < 0)
		return sr_err_errno(err, errno, "pack '%s'", path);
	if (!S_ISREG(st.st_mode))
		return sr_err(err, -EAGAIN, "pack '%s': changed while it was being packed", path);
	e = pack_entry(rel, TARW_FILE, &st);
	e.size = (uint64_t)st.st_size;
	r = pack_header(p, &e, path, err);
	if (r < 0)
		return r;
	/* Write exactly the size in the header: if the file shrinks, tarw_end_entry pads the
	 * entry with zeros; if it grows, the tail is left out. */
	for (left = st.st_size; left > 0;) {
		size_t want = left < COPY_BUF_SIZE ? (size_t)left : COPY_BUF_SIZE;
		ssize_t n = read(fd, p->buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sr_err_errno(err, errno, "pack '%s'", path);
		if (n == 0)
			break;
		r = tarw_data(p->w, p->buf, (size_t)n, err);
		if (r < 0)
			return sr_err_wrap(err, "pack '%s'", path);
		left -= n;
	}
	r = tarw_end_entry(p->w, err);
	return r < 0 ? sr_err_wrap(err, "pack '%s'", path) : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int pack_dir(struct pack *p, int dfd, const char *root, const char *rel, int depth,
		    struct sr_error *err);

/* The folder just opened at `fd`, `depth` folders down, unless it is one it is in. */
static int pack_enter(struct pack *p, int fd, const char *path, const char *target, int depth,
		      struct sr_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return sr_err_errno(err, errno, "pack '%s'", path);
	for (int i = 0; i < depth; i++) {
		if (p->up[i].dev != st.st_dev || p->up[i].ino != st.st_ino)
			continue;
		if (!target) /* a bind mount of a folder into itself */
			return sr_err(err, -ELOOP, "pack '%s': loops back to a folder it is in",
				      path);
		return sr_err(err, -ELOOP,
			      "pack '%s': symbolic link to '%s' loops back to a folder it is in",
			      path, target);
	}
	p->up[depth] = (struct pack_dirid){st.st_dev, st.st_ino};
	return 0;
}

static int pack_child(struct pack *p, DIR *d, const char *name, const char *root,
		      const char *dir_rel, int depth, struct sr_error *err)
{
	_cleanup_free_ char *rel = dir_rel[0] ? xasprintf("%s/%s", dir_rel, name) : xstrdup(name);
	_cleanup_free_ char *path = xasprintf("%s/%s", root, rel);
	_cleanup_free_ char *target = NULL;
	int dfd = dirfd(d);
	struct stat st;
	bool write;
	int r;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sr_err_errno(err, errno, "pack '%s'", path);
	if (p->follow && S_ISLNK(st.st_mode)) {
		r = pack_follow(dfd, name, path, &st, &target, err);
		if (r < 0)
			return r;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		pack_warn(p, "skipped '%s': not a file, folder or symlink", rel);
		return 0;
	}
	if (!pack_claim(p, rel, S_ISDIR(st.st_mode), &write))
		return 0;
	/* A source folder's links can multiply a tree without end; a host would refuse more
	 * entries than this anyway. */
	if (p->follow && ++p->entries > ARTIFACTS_ENTRIES_MAX)
		return sr_err(err, -EFBIG, "pack '%s': more than %u entries", path,
			      ARTIFACTS_ENTRIES_MAX);
	if (S_ISLNK(st.st_mode))
		return pack_symlink(p, dfd, name, rel, path, &st, err);
	if (S_ISREG(st.st_mode))
		return pack_file(p, dfd, name, rel, path, err);

	if (depth >= PACK_DEPTH_MAX)
		return sr_err(err, -ELOOP, "pack '%s': folders nested deeper than %d", path,
			      PACK_DEPTH_MAX);
	int cfd =
	    openat(dfd, name, (p->follow ? 0 : O_NOFOLLOW) | O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0)
		return sr_err_errno(err, errno, "pack '%s'", path);
	r = pack_enter(p, cfd, path, target, depth + 1, err);
	if (r >= 0 && write) {
		struct tarw_entry e = pack_entry(rel, TARW_DIR, &st);

		r = pack_header(p, &e, path, err);
	}
	if (r < 0) {
		close(cfd);
		return r;
	}
	return pack_dir(p, cfd, root, rel, depth + 1, err);
}

/* Pack the folder open at `dfd` (taken over and closed), whose entries are named
 * "<rel>/<name>", in name order so that the same trees always give the same bytes. */
static int pack_dir(struct pack *p, int dfd, const char *root, const char *rel, int depth,
		    struct sr_error *err)
{
	_cleanup_(closedirp) DIR *d = fdopendir(dfd);
	_cleanup_(strv_release) struct strv names = STRV_INIT;
	struct dirent *de;

	if (!d) {
		int r = -errno;
		close(dfd);
		return sr_err_errno(err, -r, "pack '%s/%s'", root, rel);
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&names, de->d_name);
		errno = 0;
	}
	if (errno)
		return sr_err_errno(err, errno, "pack '%s/%s'", root, rel);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_names);
	for (size_t i = 0; i < names.n; i++) {
		int r = pack_child(p, d, names.v[i], root, rel, depth, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int pack_root(struct pack *p, const char *root, struct sr_error *err)
{
	/* O_NOFOLLOW: a host may have replaced its model folder with a link to anywhere. */
	int fd = open(root, (p->follow ? 0 : O_NOFOLLOW) | O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	/* A host that never created the folder produced nothing; a source folder must be. */
	if (fd < 0 && errno == ENOENT && !p->follow)
		return 0;
	if (fd < 0 && !p->follow && (errno == ELOOP || errno == ENOTDIR))
		return sr_err(err, -ENOTDIR, "pack '%s': not a folder (symlinks are not followed)",
			      root);
	if (fd < 0)
		return sr_err_errno(err, errno, "pack '%s'", root);
	r = pack_enter(p, fd, root, NULL, 0, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return pack_dir(p, fd, root, "", 0, err);
}

static int pack_all(struct pack *p, const char *const *roots, size_t n, int fd, const char *dest,
		    struct sr_error *err)
{
	/* Plain ustar unless a name, link target or size does not fit, and then a pax header
	 * that every modern tar (and Python's tarfile) reads (tarwrite.h). */
	int r = tarw_open(&p->w, fd, dest, err);

	for (size_t i = 0; r >= 0 && i < n; i++)
		r = pack_root(p, roots[i], err);
	return r < 0 ? r : tarw_close(p->w, err);
}

static int pack_to(const char *const *roots, size_t n, const char *dest, bool follow,
		   struct strv *warnings, struct sr_error *err)
{
	const char *slash = strrchr(dest, '/');
	_cleanup_free_ char *dir = slash ? xstrndup(dest, (size_t)(slash - dest)) : xstrdup(".");
	const char *base = slash ? slash + 1 : dest;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	struct pack p = {.label = base, .warnings = warnings, .follow = follow};
	int r;

	if (!*base)
		return sr_err(err, -EINVAL, "pack '%s': not a file name", dest);
	if (!*dir) {
		free(dir);
		dir = xstrdup("/");
	}
	tmp = xasprintf("%s/.%s.XXXXXX", dir, base);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		sr_err_errno(err, -r, "write '%s'", dest);
		if (r == -ENOENT)
			sr_err_hint(err, "create the folder '%s' first", dir);
		return r;
	}
	/* mkostemp makes 0600; a tarball is as readable as any file we write. */
	if (fchmod(fd, 0644) < 0) {
		r = sr_err_errno(err, errno, "write '%s'", tmp);
		goto fail;
	}
	p.buf = xmalloc(COPY_BUF_SIZE);
	r = pack_all(&p, roots, n, fd, dest, err);
	if (r < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = sr_err_errno(err, errno, "write '%s'", tmp);
		goto fail;
	}
	if (rename(tmp, dest) < 0) {
		r = sr_err_errno(err, errno, "rename '%s' to '%s'", tmp, dest);
		goto fail;
	}
	/* Make the rename itself durable; a failure here loses nothing already written. */
	{
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0)
			(void)fsync(dfd);
	}
	r = 0;
fail:
	if (r < 0)
		(void)unlink(tmp);
	tarw_free(p.w); /* the fd stays ours */
	tdestroy(p.seen, pack_seen_free);
	free(p.buf);
	return r;
}

int artifacts_pack(const char *const *roots, size_t n, const char *dest, struct strv *warnings,
		   struct sr_error *err)
{
	return pack_to(roots, n, dest, false, warnings, err);
}

int artifacts_pack_source(const char *root, const char *dest, struct sr_error *err)
{
	return pack_to(&root, 1, dest, true, NULL, err);
}
