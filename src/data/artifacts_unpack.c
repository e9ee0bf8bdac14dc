/* artifacts_unpack.c - extract a tar.gz into an empty folder, and nothing outside it.
 *
 * The rules, each closing a way out (issue 16 found the last two missing):
 * - names are relative, without "..";
 * - files, folders, symbolic links with a target and hard links only, none set-uid,
 *   set-gid or sticky;
 * - nothing is written through a symbolic link, and nothing replaces a folder;
 * - a hard link names a file extracted before it, reached without a symbolic link;
 * - once everything is out, every symbolic link leads inside the folder, following the
 *   links extracted with it as the kernel would (`l -> .` and `s -> l/l/../../..` are
 *   each harmless alone, and together `s` is the folder's parent).
 * A tarball that breaks one is refused whole, by the entry and the reason, and leaves the
 * folder as it was. */
#include "data/artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lazylib.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* A symbolic link is followed at most this many times in one walk, as the kernel does
 * (MAXSYMLINKS): more is a loop, or a chain nobody's code needs. */
#define UNPACK_LINKS_MAX 40

static int archive_code(struct archive *a)
{
	int e = archive_errno(a);

	return e > 0 ? -e : -EIO;
}

static const char *archive_msg(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s ? s : "unknown libarchive error";
}

struct unpack {
	const char *tarball; /* borrowed, for messages */
	const char *root;    /* borrowed: the destination, its own links resolved */
	int rootfd;	     /* O_PATH of root */
	struct strv links;   /* every symbolic link extracted, by its clean name */
};

static int unpack_refuse(const struct unpack *u, const char *name, struct sr_error *err,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int unpack_refuse(const struct unpack *u, const char *name, struct sr_error *err,
			 const char *fmt, ...)
{
	_cleanup_free_ char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	return sr_err(err, -EINVAL, "unpack '%s': refusing entry '%s': %s", u->tarball, name,
		      why ? why : "(out of memory)");
}

/* `name` without its "." and empty parts ("./a//b/" is "a/b"; "./" is ""), or NULL with
 * *ret_why when it would land outside the destination.  libarchive's
 * SECURE_NOABSOLUTEPATHS cannot do this for us: we hand it "<root>/<name>". */
static char *unpack_clean_name(const char *name, const char **ret_why)
{
	_cleanup_free_ char *out = NULL;
	char *o;

	*ret_why = NULL;
	if (!*name)
		*ret_why = "empty name";
	else if (name[0] == '/')
		*ret_why = "absolute path";
	else if (strlen(name) >= PATH_MAX)
		*ret_why = "name too long";
	if (*ret_why)
		return NULL;
	o = out = xmalloc(strlen(name) + 1);
	for (const char *s = name; *s;) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);

		if (n == 2 && s[0] == '.' && s[1] == '.') {
			*ret_why = "'..' leaves the destination";
			return NULL;
		}
		if (n && !(n == 1 && s[0] == '.')) {
			if (o > out)
				*o++ = '/';
			memcpy(o, s, n);
			o += n;
		}
		s = *e ? e + 1 : e;
	}
	*o = '\0';
	return TAKE_PTR(out);
}

/* 1 with *ret_link (caller frees) when a folder on the way to `rel` is a symbolic link, 0
 * when each is a real folder or not there yet (libarchive makes it), or -errno. */
static int unpack_link_on_way(const struct unpack *u, const char *rel, char **ret_link)
{
	_cleanup_free_ char *p = xstrdup(rel);

	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		struct stat st;

		*s = '\0';
		if (fstatat(u->rootfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
		if (S_ISLNK(st.st_mode)) {
			*ret_link = TAKE_PTR(p);
			return 1;
		}
		*s = '/';
	}
	return 0;
}

/* One text being walked: a link's name, then each target read on the way. */
struct walk_part {
	char *text;
	const char *at;
};

struct walk {
	struct walk_part parts[UNPACK_LINKS_MAX + 1];
	size_t n;
	char *path; /* where the walk is, relative to the root ("" is the root) */
	size_t len, cap;
	size_t depth; /* folders in path */
};

/* The next name to walk: the rest of the newest text, else of the one before. */
static bool walk_next(struct walk *w, const char **ret, size_t *ret_n)
{
	while (w->n) {
		struct walk_part *p = &w->parts[w->n - 1];

		while (*p->at == '/')
			p->at++;
		if (*p->at) {
			const char *e = strchrnul(p->at, '/');

			*ret = p->at;
			*ret_n = (size_t)(e - p->at);
			p->at = e;
			return true;
		}
		free(p->text);
		w->n--;
	}
	return false;
}

static void walk_push_name(struct walk *w, const char *s, size_t n)
{
	xgrow(&w->path, &w->cap, w->len + n + 2, 1);
	if (w->len)
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, s, n);
	w->len += n;
	w->path[w->len] = '\0';
	w->depth++;
}

static void walk_pop_name(struct walk *w)
{
	char *slash = memrchr(w->path, '/', w->len);

	w->len = slash ? (size_t)(slash - w->path) : 0;
	w->path[w->len] = '\0';
	w->depth--;
}

/* Whether the symbolic link `rel` leads outside the root, walked as the kernel walks it
 * with RESOLVE_BENEATH: from the root, a link's target read in place of its name, ".." one
 * folder up and never above the root, an absolute target out.  Unlike the kernel, a walk
 * does not stop where a name is missing (or is a file): the rest is walked by its text, as
 * if those names were folders, since the job may make them later and the link must not
 * lead out then either (openat2 would say ENOENT, and nothing about where).
 * 1 when it leaves, 0 when not, -ELOOP past UNPACK_LINKS_MAX links, or -errno. */
static int unpack_link_leaves(const struct unpack *u, const char *rel)
{
	struct walk w = {.n = 1};
	bool by_text = false;
	size_t text_from = 0; /* by_text: the depth of the real folder the text walk left */
	unsigned links = 0;
	const char *s;
	size_t n;
	int r = 0;

	w.parts[0].text = xstrdup(rel);
	w.parts[0].at = w.parts[0].text;
	w.path = xstrdup("");
	w.cap = 1;
	while (r == 0 && walk_next(&w, &s, &n)) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t len;

		if (n == 1 && s[0] == '.')
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			/* path holds real folders only (links are replaced by their targets),
			 * so its parent is the folder's real one. */
			if (!w.depth) {
				r = 1;
				continue;
			}
			walk_pop_name(&w);
			if (by_text && w.depth == text_from)
				by_text = false; /* back where the names are real */
			continue;
		}
		walk_push_name(&w, s, n);
		if (by_text)
			continue;
		if (fstatat(u->rootfd, w.path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT && errno != ENOTDIR) {
				r = -errno;
				continue;
			}
			st.st_mode = 0; /* missing: walked by its text, as a file is */
		}
		if (S_ISDIR(st.st_mode))
			continue;
		if (!S_ISLNK(st.st_mode)) {
			by_text = true;
			text_from = w.depth - 1;
			continue;
		}
		if (++links > UNPACK_LINKS_MAX) {
			r = -ELOOP;
			continue;
		}
		len = readlinkat(u->rootfd, w.path, target, sizeof(target));
		if (len < 0 || (size_t)len >= sizeof(target)) {
			r = len < 0 ? -errno : -ENAMETOOLONG;
			continue;
		}
		target[len] = '\0';
		if (target[0] == '/') {
			r = 1;
			continue;
		}
		walk_pop_name(&w);
		w.parts[w.n].text = xstrdup(target);
		w.parts[w.n].at = w.parts[w.n].text;
		w.n++;
	}
	while (w.n)
		free(w.parts[--w.n].text);
	free(w.path);
	return r;
}

/* After the last entry: every link extracted must lead inside, through the links extracted
 * with it.  Judged now and not entry by entry, because a later entry changes where an
 * earlier link leads: `s -> l/..` is the root while `l` is missing, and the root's parent
 * once `l -> .` follows. */
static int unpack_check_links(const struct unpack *u, struct sr_error *err)
{
	for (size_t i = 0; i < u->links.n; i++) {
		const char *rel = u->links.v[i];
		char target[PATH_MAX];
		struct stat st;
		ssize_t len;
		int r;

		if (fstatat(u->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
			continue; /* replaced by a later entry, which is what is there to judge */
		len = readlinkat(u->rootfd, rel, target, sizeof(target) - 1);
		if (len < 0)
			return sr_err_errno(err, errno, "unpack '%s': entry '%s'", u->tarball, rel);
		target[len] = '\0';
		r = unpack_link_leaves(u, rel);
		if (r == 1)
			return unpack_refuse(
			    u, rel, err, "a symbolic link to '%s' leaves the destination", target);
		if (r == -ELOOP)
			return unpack_refuse(u, rel, err,
					     "a symbolic link to '%s' goes through more than %d "
					     "links (a loop?)",
					     target, UNPACK_LINKS_MAX);
		if (r < 0)
			return sr_err_errno(err, -r, "unpack '%s': entry '%s'", u->tarball, rel);
	}
	return 0;
}

static int unpack_data(struct archive *in, struct archive *out, const char *tarball,
		       const char *name, struct sr_error *err)
{
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(in, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return sr_err(err, archive_code(in), "unpack '%s': entry '%s': %s", tarball,
				      name, archive_msg(in));
		if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
			return sr_err(err, archive_code(out), "unpack '%s': entry '%s': %s",
				      tarball, name, archive_msg(out));
	}
}

/* The hard link `name` -> `hard`: to a file extracted before it, reached without a link.
 * Linux's link() does not follow a symbolic link: a hard link to one is a copy of the link
 * in another folder, where its target means something else. */
static int unpack_hard_link(const struct unpack *u, struct archive_entry *e, const char *name,
			    const char *hard, struct sr_error *err)
{
	_cleanup_free_ char *rel = NULL, *lnk = NULL, *full = NULL;
	const char *why;
	struct stat st;
	int r;

	rel = unpack_clean_name(hard, &why);
	if (!rel)
		return unpack_refuse(u, name, err, "a hard link to '%s': %s", hard, why);
	r = unpack_link_on_way(u, rel, &lnk);
	if (r < 0)
		return sr_err_errno(err, -r, "unpack '%s': entry '%s'", u->tarball, name);
	if (r > 0)
		return unpack_refuse(u, name, err,
				     "a hard link to '%s' goes through the symbolic link '%s'",
				     hard, lnk);
	if (!*rel || fstatat(u->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return unpack_refuse(u, name, err,
				     "a hard link to '%s', which is not a file before it", hard);
	if (S_ISLNK(st.st_mode))
		return unpack_refuse(u, name, err, "a hard link to the symbolic link '%s'", hard);
	if (!S_ISREG(st.st_mode))
		return unpack_refuse(u, name, err, "a hard link to '%s', which is not a file",
				     hard);
	full = xasprintf("%s/%s", u->root, rel);
	archive_entry_copy_hardlink(e, full);
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive *in, struct archive *out,
			struct archive_entry *e, struct sr_error *err)
{
	const char *pathname = archive_entry_pathname(e);
	const char *hard = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	_cleanup_free_ char *name = NULL, *rel = NULL, *lnk = NULL, *full = NULL;
	const char *why;
	struct stat st;
	int r;

	if (!pathname)
		return sr_err(err, -EINVAL, "unpack '%s': an entry has no usable name", u->tarball);
	name = xstrdup(pathname); /* e's own name is replaced below */
	rel = unpack_clean_name(name, &why);
	if (!rel)
		return unpack_refuse(u, name, err, "%s", why);
	/* "./": the destination itself, whose mode and times are the caller's. */
	if (!*rel)
		return 0;
	/* Devices and FIFOs have no place in code or model folders, and creating device nodes
	 * as root is how extraction turns into privilege. */
	if (!hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return unpack_refuse(u, name, err, "not a file, folder or link");
	/* libarchive makes a plain file of a symbolic link without a target, with the link's
	 * mode: set-uid, if the tarball says so. */
	if (!hard && type == AE_IFLNK && !(archive_entry_symlink(e) && *archive_entry_symlink(e)))
		return unpack_refuse(u, name, err, "a symbolic link without a target");
	/* A link judged harmless, then a file written through it, is how a tarball writes
	 * where it likes; libarchive's SECURE_SYMLINKS refuses it too, this says which link. */
	r = unpack_link_on_way(u, rel, &lnk);
	if (r < 0)
		return sr_err_errno(err, -r, "unpack '%s': entry '%s'", u->tarball, name);
	if (r > 0)
		return unpack_refuse(u, name, err,
				     "it would be written through the symbolic link '%s'", lnk);
	/* A folder turned into a link would get the folder's deferred mode and times through
	 * the link (libarchive before 3.6 followed it). */
	if ((hard || type != AE_IFDIR) && fstatat(u->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		return unpack_refuse(u, name, err,
				     "it would replace the folder extracted before it");
	if (hard) {
		r = unpack_hard_link(u, e, name, hard, err);
		if (r < 0)
			return r;
	}
	full = xasprintf("%s/%s", u->root, rel);
	archive_entry_copy_pathname(e, full);
	/* set-uid/set-gid bits from a tarball are never wanted in a job's folders (a link's own
	 * mode means nothing on Linux: masked too, whatever libarchive makes of the entry); a
	 * folder its owner cannot enter or write could be neither checked nor removed by a
	 * user other than root when the tarball is refused. */
	if (type == AE_IFDIR)
		archive_entry_set_perm(e, (archive_entry_perm(e) & 0777) | 0700);
	else
		archive_entry_set_perm(e, archive_entry_perm(e) & 0777);

	if (archive_write_header(out, e) < ARCHIVE_WARN)
		return sr_err(err, archive_code(out), "unpack '%s': entry '%s': %s", u->tarball,
			      name, archive_msg(out));
	if (type == AE_IFLNK && !hard)
		strv_push(&u->links, rel);
	r = unpack_data(in, out, u->tarball, name, err);
	if (r < 0)
		return r;
	if (archive_write_finish_entry(out) < ARCHIVE_WARN)
		return sr_err(err, archive_code(out), "unpack '%s': entry '%s': %s", u->tarball,
			      name, archive_msg(out));
	return 0;
}

static int unpack_all(struct unpack *u, struct archive *in, struct archive *out,
		      struct sr_error *err)
{
	unsigned entries = 0;
	int r;

	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
	if (archive_read_open_filename(in, u->tarball, 64 * 1024) != ARCHIVE_OK)
		return sr_err(err, archive_code(in), "unpack '%s': %s", u->tarball,
			      archive_msg(in));
	for (;;) {
		struct archive_entry *e;

		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return sr_err(err, archive_code(in), "unpack '%s': %s", u->tarball,
				      archive_msg(in));
		if (++entries > ARTIFACTS_ENTRIES_MAX)
			return sr_err(err, -EFBIG, "unpack '%s': more than %u entries", u->tarball,
				      ARTIFACTS_ENTRIES_MAX);
		r = unpack_entry(u, in, out, e, err);
		if (r < 0)
			return r;
	}
	r = unpack_check_links(u, err);
	if (r < 0)
		return r;
	/* close applies the deferred folder permissions and times. */
	if (archive_write_close(out) != ARCHIVE_OK)
		return sr_err(err, archive_code(out), "unpack '%s' into '%s': %s", u->tarball,
			      u->root, archive_msg(out));
	return 0;
}

int artifacts_unpack(const char *tarball, const char *dest, struct sr_error *err)
{
	_cleanup_free_ char *root = NULL;
	struct unpack u = {.tarball = tarball, .rootfd = -1};
	struct archive *in = NULL, *out = NULL;
	bool created;
	int r;

	r = lazylib_archive_load(err);
	if (r < 0)
		return sr_err_wrap(err, "unpack '%s'", tarball);
	/* Only into an empty folder: what the tarball wrote is then the whole folder, to check
	 * and, when refused, to remove. */
	created = !fs_exists(dest);
	r = created ? fs_mkdir_p(dest, 0755, err) : fs_dir_used(dest, err);
	if (r > 0)
		r = sr_err(err, -ENOTEMPTY, "the folder is not empty");
	if (r < 0)
		return sr_err_wrap(err, "unpack '%s' into '%s'", tarball, dest);
	/* Entries are written as "<root>/<name>" rather than after a chdir() (process-wide
	 * state).  libarchive's SECURE_SYMLINKS refuses any symlink on that whole path, so
	 * resolve dest's own symlinks (/tmp -> /private/tmp and the like) first. */
	root = realpath(dest, NULL);
	if (!root) {
		r = sr_err_errno(err, errno, "unpack into '%s'", dest);
		goto out;
	}
	u.root = root;
	u.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (u.rootfd < 0) {
		r = sr_err_errno(err, errno, "unpack into '%s'", dest);
		goto out;
	}
	in = archive_read_new();
	out = archive_write_disk_new();
	r = in && out
		? unpack_all(&u, in, out, err)
		: sr_err(err, -ENOMEM, "unpack '%s': cannot create libarchive objects", tarball);
out:
	/* Freed first: freeing applies what libarchive deferred, on the paths removed next. */
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	if (r < 0) {
		struct sr_error ignored = {0};

		/* The folder as it was: gone when it was made here, else empty. */
		if (created)
			(void)fs_rm_rf(dest, &ignored);
		else if (root)
			(void)fs_empty_dir(root, &ignored);
	}
	u.rootfd = sr_close(u.rootfd);
	strv_release(&u.links);
	return r;
}
