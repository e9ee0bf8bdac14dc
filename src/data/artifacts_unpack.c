/* artifacts_unpack.c - extract a tar.gz into a folder, and nothing outside it. */
#include "data/artifacts.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lazylib.h"
#include "util/xalloc.h"

/* Hard limits on what we extract: nobody's source folder or model has a million entries. */
#define UNPACK_ENTRIES_MAX (1u << 20)

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

/* Refuse what could land outside dest.  libarchive's SECURE_NOABSOLUTEPATHS cannot do this
 * for us because we hand it "<dest>/<name>" (an absolute path, see artifacts_unpack). */
static const char *unpack_bad_name(const char *name)
{
	if (!*name)
		return "empty name";
	if (name[0] == '/')
		return "absolute path";
	for (const char *s = name; *s;) {
		const char *e = strchrnul(s, '/');
		if (e - s == 2 && s[0] == '.' && s[1] == '.')
			return "'..' leaves the destination";
		s = *e ? e + 1 : e;
	}
	if (strlen(name) >= PATH_MAX)
		return "name too long";
	return NULL;
}

/* Whether symlink `name` -> `target` points outside the root it is extracted into: an
 * absolute target, or more ".." than the link's own depth (followed from its folder). */
static bool link_leaves(const char *name, const char *target)
{
	long depth = 0;

	if (target[0] == '/')
		return true;
	/* The link's folder: every part of its name but the last. */
	for (const char *s = name; *s;) {
		const char *e = strchrnul(s, '/');

		if (!*e)
			break;
		if (!(e - s == 1 && s[0] == '.') && e > s)
			depth++;
		s = e + 1;
	}
	for (const char *s = target; *s;) {
		const char *e = strchrnul(s, '/');

		if (e - s == 2 && s[0] == '.' && s[1] == '.')
			depth--;
		else if (e > s && !(e - s == 1 && s[0] == '.'))
			depth++;
		if (depth < 0)
			return true;
		s = *e ? e + 1 : e;
	}
	return false;
}

static void archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void archive_write_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
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

static int unpack_entry(struct archive *in, struct archive *out, struct archive_entry *e,
			const char *tarball, const char *root, struct sr_error *err)
{
	const char *pathname = archive_entry_pathname(e);
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *full = NULL;
	const char *why;
	mode_t type = archive_entry_filetype(e);
	const char *link = archive_entry_hardlink(e);

	if (!pathname)
		return sr_err(err, -EINVAL, "unpack '%s': an entry has no usable name", tarball);
	name = xstrdup(pathname);
	why = unpack_bad_name(name);
	if (why)
		return sr_err(err, -EINVAL, "unpack '%s': refusing entry '%s': %s", tarball, name,
			      why);
	/* Devices and FIFOs have no place in code or model folders, and creating device nodes
	 * as root is how extraction turns into privilege. */
	if (!link && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return sr_err(err, -EINVAL,
			      "unpack '%s': refusing entry '%s': not a file, folder or link",
			      tarball, name);
	if (type == AE_IFLNK && archive_entry_symlink(e) &&
	    link_leaves(name, archive_entry_symlink(e)))
		return sr_err(
		    err, -EINVAL,
		    "unpack '%s': refusing entry '%s': a symbolic link to '%s' leaves the "
		    "destination",
		    tarball, name, archive_entry_symlink(e));
	if (link) {
		why = unpack_bad_name(link);
		if (why)
			return sr_err(err, -EINVAL,
				      "unpack '%s': refusing hard link '%s' to '%s': %s", tarball,
				      name, link, why);
		_cleanup_free_ char *full_link = xasprintf("%s/%s", root, link);
		archive_entry_copy_hardlink(e, full_link);
	}
	full = xasprintf("%s/%s", root, name);
	archive_entry_copy_pathname(e, full);
	/* set-uid/set-gid bits from a tarball are never wanted in a job's folders. */
	if (type != AE_IFLNK)
		archive_entry_set_perm(e, archive_entry_perm(e) & 0777);

	if (archive_write_header(out, e) < ARCHIVE_WARN)
		return sr_err(err, archive_code(out), "unpack '%s': entry '%s': %s", tarball, name,
			      archive_msg(out));
	int r = unpack_data(in, out, tarball, name, err);
	if (r < 0)
		return r;
	if (archive_write_finish_entry(out) < ARCHIVE_WARN)
		return sr_err(err, archive_code(out), "unpack '%s': entry '%s': %s", tarball, name,
			      archive_msg(out));
	return 0;
}

int artifacts_unpack(const char *tarball, const char *dest, struct sr_error *err)
{
	_cleanup_(archive_read_freep) struct archive *in = NULL;
	_cleanup_(archive_write_freep) struct archive *out = NULL;
	_cleanup_free_ char *root = NULL;
	unsigned entries = 0;
	int r;

	r = lazylib_archive_load(err);
	if (r >= 0)
		r = fs_mkdir_p(dest, 0755, err);
	if (r < 0)
		return sr_err_wrap(err, "unpack '%s'", tarball);
	/* Entries are written as "<root>/<name>" rather than after a chdir() (process-wide
	 * state).  libarchive's SECURE_SYMLINKS refuses any symlink on that whole path, so
	 * resolve dest's own symlinks (/tmp -> /private/tmp and the like) first. */
	root = realpath(dest, NULL);
	if (!root)
		return sr_err_errno(err, errno, "unpack into '%s'", dest);

	in = archive_read_new();
	out = archive_write_disk_new();
	if (!in || !out)
		return sr_err(err, -ENOMEM, "unpack '%s': cannot create libarchive objects",
			      tarball);
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
	if (archive_read_open_filename(in, tarball, 64 * 1024) != ARCHIVE_OK)
		return sr_err(err, archive_code(in), "unpack '%s': %s", tarball, archive_msg(in));

	for (;;) {
		struct archive_entry *e;

		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return sr_err(err, archive_code(in), "unpack '%s': %s", tarball,
				      archive_msg(in));
		if (++entries > UNPACK_ENTRIES_MAX)
			return sr_err(err, -EFBIG, "unpack '%s': more than %u entries", tarball,
				      UNPACK_ENTRIES_MAX);
		r = unpack_entry(in, out, e, tarball, root, err);
		if (r < 0)
			return r;
	}
	/* close applies the deferred folder permissions and times. */
	if (archive_write_close(out) != ARCHIVE_OK)
		return sr_err(err, archive_code(out), "unpack '%s' into '%s': %s", tarball, dest,
			      archive_msg(out));
	return 0;
}
