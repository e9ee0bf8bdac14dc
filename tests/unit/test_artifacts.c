/* test_artifacts.c - data/artifacts: pack hosts' folders into one tar.gz, unpack safely. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "test_files.h"

#include "data/artifacts.h"
#include "util/lazylib.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* --- helpers ---------------------------------------------------------------------------- */

static void link_to(const char *target, const char *path)
{
	assert_int_equal(symlink(target, path), 0);
}

static void link_at(const char *target, const char *root, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);

	link_to(target, p);
}

static int run_quiet(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One entry of a tarball, as read back. */
struct got {
	char *name;
	mode_t type;
	mode_t perm;
	time_t mtime;
	char *link; /* symlink target */
	char *data; /* regular file content */
};

struct got_list {
	struct got *v;
	size_t n;
	size_t cap;
};

static void got_release(struct got_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].link);
		free(l->v[i].data);
	}
	free(l->v);
}

static void read_tarball(const char *path, struct got_list *l)
{
	struct archive *a;
	struct archive_entry *e;
	int r;

	/* sagerun's own forwarders (util/lazylib.h) stand in for the names this test calls. */
	assert_int_equal(lazylib_archive_load(NULL), 0);
	a = archive_read_new();

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		struct got g = {0};
		la_int64_t size = archive_entry_size(e);

		g.name = xstrdup(archive_entry_pathname(e));
		g.type = archive_entry_filetype(e);
		g.perm = archive_entry_perm(e);
		g.mtime = archive_entry_mtime(e);
		if (archive_entry_symlink(e))
			g.link = xstrdup(archive_entry_symlink(e));
		if (g.type == AE_IFREG) {
			g.data = xcalloc(1, (size_t)size + 1);
			assert_int_equal(archive_read_data(a, g.data, (size_t)size), size);
		}
		xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = g;
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
}

static const struct got *find(const struct got_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/* --- pack ------------------------------------------------------------------------------- */

static void test_pack_merges_hosts(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *r1 = pathf("%s/algo-1/model", tmp);
	_cleanup_free_ char *r2 = pathf("%s/algo-2/model", tmp);
	_cleanup_free_ char *r3 = pathf("%s/algo-3/model", tmp); /* never created */
	_cleanup_free_ char *dest = pathf("%s/model.tar.gz", tmp);
	_cleanup_free_ char *p = NULL;
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	struct got_list l = {0};

	put_at(r1, "model.pt", "weights-1");
	put_at(r1, "sub/x.bin", "x");
	p = pathf("%s/sub/x.bin", r1);
	assert_int_equal(chmod(p, 0750), 0);
	struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
	put_at(r1, "sub/deep/y", "y");
	put_at(r1, "clash.txt", "first");
	link_at("sub/x.bin", r1, "rel");
	link_at("/etc/passwd", r1, "abs");
	link_at("nowhere/at/all", r1, "dangling");
	/* A symlinked folder must be stored as a link, not walked. */
	link_at("/etc", r1, "etc-link");

	put_at(r2, "clash.txt", "second");
	put_at(r2, "sub/z.bin", "z");		     /* merges into r1's sub/ */
	put_at(r2, "model.pt/inner", "dir-vs-file"); /* a type clash */
	put_at(r2, "other.txt", "other");

	const char *roots[] = {r1, r2, r3};
	assert_int_equal(artifacts_pack(roots, 3, dest, &warnings, &err), 0);
	read_tarball(dest, &l);

	/* Host order, then name order inside each folder; directory names end in '/'. */
	const char *want[] = {"abs",	    "clash.txt", "dangling",  "etc-link",
			      "model.pt",   "rel",	 "sub/",      "sub/deep/",
			      "sub/deep/y", "sub/x.bin", "other.txt", "sub/z.bin"};
	assert_int_equal(l.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < l.n; i++)
		assert_string_equal(l.v[i].name, want[i]);

	assert_int_equal(find(&l, "abs")->type, AE_IFLNK);
	assert_string_equal(find(&l, "abs")->link, "/etc/passwd");
	assert_string_equal(find(&l, "rel")->link, "sub/x.bin");
	assert_string_equal(find(&l, "dangling")->link, "nowhere/at/all");
	assert_int_equal(find(&l, "etc-link")->type, AE_IFLNK);
	assert_string_equal(find(&l, "etc-link")->link, "/etc");
	assert_int_equal(find(&l, "sub/")->type, AE_IFDIR);
	assert_int_equal(find(&l, "model.pt")->type, AE_IFREG);
	assert_string_equal(find(&l, "model.pt")->data, "weights-1");
	assert_string_equal(find(&l, "clash.txt")->data, "first");
	assert_string_equal(find(&l, "sub/z.bin")->data, "z");
	assert_string_equal(find(&l, "sub/x.bin")->data, "x");
	assert_int_equal(find(&l, "sub/x.bin")->perm, 0750);
	assert_int_equal(find(&l, "sub/x.bin")->mtime, 1000000000);
	assert_null(find(&l, "model.pt/inner"));

	assert_int_equal(warnings.n, 2);
	assert_string_equal(warnings.v[0], "model.tar.gz: 'clash.txt' written by more than one "
					   "host; kept the first");
	assert_string_equal(warnings.v[1], "model.tar.gz: 'model.pt' written by more than one "
					   "host; kept the first");
	assert_int_equal(count_entries(tmp), 3); /* algo-1, algo-2, model.tar.gz: no temp left */

	/* Same trees, same bytes: no gzip timestamp, a fixed order. */
	_cleanup_free_ char *dest2 = pathf("%s/again.tar.gz", tmp);
	_cleanup_free_ char *cmd = pathf("cmp -s '%s' '%s'", dest, dest2);
	assert_int_equal(artifacts_pack(roots, 3, dest2, NULL, &err), 0);
	assert_int_equal(run_quiet(cmd), 0);

	/* GNU tar agrees. */
	free(cmd);
	cmd = pathf("tar -tzf '%s' >/dev/null 2>&1", dest);
	assert_int_equal(run_quiet(cmd), 0);

	got_release(&l);
	strv_release(&warnings);
}

static void test_pack_empty(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *empty = pathf("%s/empty", tmp);
	_cleanup_free_ char *missing = pathf("%s/missing", tmp);
	_cleanup_free_ char *dest = pathf("%s/output.tar.gz", tmp);
	_cleanup_free_ char *none = pathf("%s/none.tar.gz", tmp);
	_cleanup_free_ char *cmd = pathf("test -z \"$(tar -tzf '%s')\"", dest);
	struct sr_error err = {0};
	struct got_list l = {0};

	mkdirs(empty);
	const char *roots[] = {empty, missing};
	assert_int_equal(artifacts_pack(roots, 2, dest, NULL, &err), 0);
	read_tarball(dest, &l);
	assert_int_equal(l.n, 0);
	assert_int_equal(run_quiet(cmd), 0);

	assert_int_equal(artifacts_pack(NULL, 0, none, NULL, &err), 0);
	free(cmd);
	cmd = pathf("test -z \"$(tar -tzf '%s')\"", none);
	assert_int_equal(run_quiet(cmd), 0);
	got_release(&l);
}

static void test_pack_long_names(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *root = pathf("%s/model", tmp);
	_cleanup_free_ char *dest = pathf("%s/model.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	char longname[201], dirname[151], target[181];
	struct sr_error err = {0};
	struct got_list l = {0};

	memset(longname, 'n', 200);
	longname[200] = '\0';
	memset(dirname, 'd', 150);
	dirname[150] = '\0';
	memset(target, 't', 180);
	target[180] = '\0';
	_cleanup_free_ char *file = pathf("%s/%s/%s", root, dirname, longname);
	_cleanup_free_ char *lnk = pathf("%s/%s/link", root, dirname);
	put(file, "long");
	link_to(target, lnk);

	const char *roots[] = {root};
	assert_int_equal(artifacts_pack(roots, 1, dest, NULL, &err), 0);
	read_tarball(dest, &l);
	_cleanup_free_ char *want_file = pathf("%s/%s", dirname, longname);
	_cleanup_free_ char *want_link = pathf("%s/link", dirname);
	assert_non_null(find(&l, want_file));
	assert_string_equal(find(&l, want_file)->data, "long");
	assert_string_equal(find(&l, want_link)->link, target);

	_cleanup_free_ char *cmd = pathf("tar -tzf '%s' | grep -q '/%s$'", dest, longname);
	assert_int_equal(run_quiet(cmd), 0);

	/* And it round-trips through our own extractor. */
	assert_int_equal(artifacts_unpack(dest, out, &err), 0);
	_cleanup_free_ char *got_file = pathf("%s/%s/%s", out, dirname, longname);
	_cleanup_free_ char *data = slurp(got_file);
	assert_string_equal(data, "long");
	got_release(&l);
}

static void test_pack_skips_special_files(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *root = pathf("%s/model", tmp);
	_cleanup_free_ char *fifo = pathf("%s/pipe", root);
	_cleanup_free_ char *dest = pathf("%s/model.tar.gz", tmp);
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	struct got_list l = {0};

	mkdirs(root);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	const char *roots[] = {root};
	assert_int_equal(artifacts_pack(roots, 1, dest, &warnings, &err), 0);
	read_tarball(dest, &l);
	assert_int_equal(l.n, 0);
	assert_int_equal(warnings.n, 1);
	assert_non_null(strstr(warnings.v[0], "'pipe'"));
	got_release(&l);
	strv_release(&warnings);
}

static void test_pack_dest_folder_missing(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *root = pathf("%s/model", tmp);
	_cleanup_free_ char *dest = pathf("%s/no/such/model.tar.gz", tmp);
	struct sr_error err = {0};

	_cleanup_free_ char *f = pathf("%s/model.pt", root);
	put(f, "weights");
	const char *roots[] = {root};
	assert_int_equal(artifacts_pack(roots, 1, dest, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, dest));
	assert_non_null(strstr(err.hint, "/no/such"));
	assert_int_equal(count_entries(tmp), 1);
}

static void test_pack_failure_leaves_nothing(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *file = pathf("%s/a-file", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *dest = pathf("%s/model.tar.gz", out);
	struct sr_error err = {0};

	put(file, "x");
	mkdirs(out);
	/* A root that is a file, not a folder: fails after the temp file exists. */
	const char *roots[] = {file};
	assert_int_equal(artifacts_pack(roots, 1, dest, NULL, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, file));
	assert_int_equal(count_entries(out), 0);

	/* A root that is a symlink is refused too: it would let a host pack any folder. */
	_cleanup_free_ char *lnk = pathf("%s/model-link", tmp);
	link_to("/etc", lnk);
	const char *roots2[] = {lnk};
	assert_int_equal(artifacts_pack(roots2, 1, dest, NULL, &err), -ENOTDIR);
	assert_int_equal(count_entries(out), 0);
}

static void test_pack_too_deep(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *root = pathf("%s/model", tmp);
	_cleanup_free_ char *dest = pathf("%s/model.tar.gz", tmp);
	struct sr_error err = {0};
	size_t cap = strlen(root) + 2 * 300 + 1;
	_cleanup_free_ char *deep = xmalloc(cap);

	/* 260 levels of "d": deeper than the limit, still far from PATH_MAX. */
	strcpy(deep, root);
	for (int i = 0; i < 260; i++)
		strcat(deep, "/d");
	mkdirs(deep);
	const char *roots[] = {root};
	assert_int_equal(artifacts_pack(roots, 1, dest, NULL, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "deeper than 256"));
	assert_int_equal(count_entries(tmp), 1);
}

/* A source folder is packed as the SDK packs it (tarfile, dereference=True): links are
 * followed, in and out of the folder, so the hosts' extraction has no link to refuse. */
static void test_pack_source_follows_links(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/src", tmp);
	_cleanup_free_ char *outside = pathf("%s/outside", tmp);
	_cleanup_free_ char *secret = pathf("%s/secret.txt", outside);
	_cleanup_free_ char *libdir = pathf("%s/libdir", outside);
	_cleanup_free_ char *src_link = pathf("%s/src-link", tmp);
	_cleanup_free_ char *dest = pathf("%s/sourcedir.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	struct sr_error err = {0};
	struct got_list l = {0};

	put_at(src, "train.py", "print(1)\n");
	put_at(outside, "secret.txt", "shared settings\n");
	put_at(libdir, "x.py", "x = 1\n");
	put_at(libdir, "sub/y.py", "y = 2\n");
	link_at(secret, src, "abs.txt");
	link_at(libdir, src, "lib");
	link_at("train.py", src, "rel.py");
	link_to(src, src_link);

	assert_int_equal(artifacts_pack_source(src_link, dest, &err), 0);
	read_tarball(dest, &l);
	const char *want[] = {"abs.txt",  "lib/",   "lib/sub/", "lib/sub/y.py",
			      "lib/x.py", "rel.py", "train.py"};
	assert_int_equal(l.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < l.n; i++) {
		assert_string_equal(l.v[i].name, want[i]);
		assert_int_not_equal(l.v[i].type, AE_IFLNK);
	}
	assert_string_equal(find(&l, "abs.txt")->data, "shared settings\n");
	assert_string_equal(find(&l, "lib/sub/y.py")->data, "y = 2\n");
	assert_string_equal(find(&l, "rel.py")->data, "print(1)\n");
	/* What issue 16 saw: sagerun refused its own sourcedir.tar.gz. */
	assert_int_equal(artifacts_unpack(dest, out, &err), 0);
	_cleanup_free_ char *got = slurp_at(out, "abs.txt");
	assert_string_equal(got, "shared settings\n");
	got_release(&l);
}

static void test_pack_source_bad_links(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *dest = pathf("%s/sourcedir.tar.gz", tmp);
	_cleanup_free_ char *dangling = pathf("%s/dangling", tmp);
	_cleanup_free_ char *loop = pathf("%s/loop", tmp);
	_cleanup_free_ char *self = pathf("%s/self", tmp);
	struct sr_error err = {0};

	put_at(dangling, "train.py", "x");
	link_at("nowhere/at/all", dangling, "gone");
	assert_int_equal(artifacts_pack_source(dangling, dest, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "dangling/gone': symbolic link to 'nowhere/at/all'"));

	/* A link to a folder it is in would pack forever. */
	put_at(loop, "pkg/mod.py", "x");
	link_at("..", loop, "pkg/up");
	assert_int_equal(artifacts_pack_source(loop, dest, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "loop/pkg/up': symbolic link to '..' loops back"));

	put_at(self, "train.py", "x");
	link_at("a", self, "a");
	assert_int_equal(artifacts_pack_source(self, dest, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "self/a': symbolic link to 'a'"));

	/* Unlike a host's model folder, a source folder that is not there is an error. */
	_cleanup_free_ char *none = pathf("%s/none", tmp);
	assert_int_equal(artifacts_pack_source(none, dest, &err), -ENOENT);
	assert_non_null(strstr(err.msg, none));
	assert_int_equal(count_entries(tmp), 3); /* no tarball left behind */
}

/* --- unpack ----------------------------------------------------------------------------- */

/* An entry's type for a hard link, whose data is then its target: neither a file type nor
 * permission bits. */
#define HARDLINK ((mode_t)1 << 20)

struct craft {
	const char *name;
	mode_t type;	  /* with permission bits where 0644 will not do (AE_IFREG | 04755) */
	const char *data; /* file content, link target, or a folder's mode in octal (0755) */
};

static void craft_tarball(const char *path, const struct craft *items, size_t n)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		const struct craft *c = &items[i];
		bool hard = c->type == HARDLINK;
		mode_t type = hard ? AE_IFREG : c->type & AE_IFMT, perm = c->type & 07777;

		archive_entry_set_pathname(e, c->name);
		archive_entry_set_filetype(e, type);
		archive_entry_set_perm(e, perm		     ? perm
					  : type != AE_IFDIR ? 0644
					  : c->data	     ? (mode_t)strtoul(c->data, NULL, 8)
							     : 0755);
		if (type == AE_IFLNK)
			archive_entry_set_symlink(e, c->data);
		if (hard)
			archive_entry_set_hardlink(e, c->data);
		else if (type == AE_IFREG)
			archive_entry_set_size(e, (la_int64_t)strlen(c->data));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (!hard && type == AE_IFREG)
			assert_int_equal(archive_write_data(a, c->data, strlen(c->data)),
					 (ssize_t)strlen(c->data));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void test_unpack_round_trip(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/code.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *p = NULL;
	char buf[64];
	ssize_t n;
	struct stat st;
	struct sr_error err = {0};
	const struct craft items[] = {
	    {"train.py", AE_IFREG, "print(1)\n"}, {"pkg/", AE_IFDIR, NULL},
	    {"pkg/mod.py", AE_IFREG, "x = 1\n"},  {"latest", AE_IFLNK, "pkg/mod.py"},
	    {"pkg/up", AE_IFLNK, "../train.py"}, /* up, but not out */
	};

	craft_tarball(tar, items, sizeof(items) / sizeof(items[0]));
	assert_int_equal(artifacts_unpack(tar, out, &err), 0);
	free(p);
	p = pathf("%s/pkg/mod.py", out);
	_cleanup_free_ char *data = slurp(p);
	assert_string_equal(data, "x = 1\n");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(p);
	p = pathf("%s/latest", out);
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "pkg/mod.py");
	free(p);
	p = pathf("%s/pkg/up", out);
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../train.py");
}

static void test_unpack_refuses_dotdot(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/evil.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *evil = pathf("%s/evil", tmp);
	struct sr_error err = {0};
	const struct craft items[] = {{"../evil", AE_IFREG, "pwned"}};

	craft_tarball(tar, items, 1);
	assert_true(artifacts_unpack(tar, out, &err) < 0);
	assert_non_null(strstr(err.msg, "'../evil'"));
	assert_false(fs_exists(evil));

	/* Hidden in the middle of a path, too. */
	const struct craft items2[] = {{"a/../../evil", AE_IFREG, "pwned"}};
	craft_tarball(tar, items2, 1);
	assert_true(artifacts_unpack(tar, out, &err) < 0);
	assert_non_null(strstr(err.msg, "'a/../../evil'"));
	assert_false(fs_exists(evil));
}

static void test_unpack_refuses_absolute(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/evil.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *abs = pathf("%s/abs-evil", tmp);
	struct sr_error err = {0};
	const struct craft items[] = {{abs, AE_IFREG, "pwned"}};

	craft_tarball(tar, items, 1);
	assert_true(artifacts_unpack(tar, out, &err) < 0);
	assert_non_null(strstr(err.msg, abs));
	assert_non_null(strstr(err.msg, "absolute"));
	assert_false(fs_exists(abs));
}

static void test_unpack_refuses_symlink_escape(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/evil.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *outside = pathf("%s/outside", tmp);
	_cleanup_free_ char *pwned = pathf("%s/pwned", outside);
	struct sr_error err = {0};

	mkdirs(outside);
	/* Absolute link, then a file through it: the file never goes through a link. */
	const struct craft items[] = {{"link", AE_IFLNK, outside}, {"link/pwned", AE_IFREG, "x"}};
	craft_tarball(tar, items, 2);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'link/pwned'"));
	assert_non_null(strstr(err.msg, "written through the symbolic link 'link'"));
	assert_false(fs_exists(pwned));
	assert_false(fs_exists(out)); /* made here, so removed with what it held */

	/* Relative link climbing out, then a file through it. */
	const struct craft items2[] = {{"up", AE_IFLNK, "../outside"}, {"up/pwned", AE_IFREG, "x"}};
	craft_tarball(tar, items2, 2);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'up/pwned'"));
	assert_false(fs_exists(pwned));

	/* A link inside, then a file through a folder link that climbs out deeper down. */
	const struct craft items3[] = {{"a/", AE_IFDIR, NULL},
				       {"a/b", AE_IFLNK, "../../outside"},
				       {"a/b/pwned", AE_IFREG, "x"}};
	craft_tarball(tar, items3, 3);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'a/b/pwned'"));
	assert_non_null(strstr(err.msg, "symbolic link 'a/b'"));
	assert_false(fs_exists(pwned));

	/* The links alone are refused too, by name. */
	const struct craft items4[] = {
	    {"ok", AE_IFREG, "x"}, {"a/", AE_IFDIR, NULL}, {"a/b", AE_IFLNK, "../../outside"}};
	craft_tarball(tar, items4, 3);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "refusing entry 'a/b': a symbolic link to "
					"'../../outside' leaves the destination"));
	assert_false(fs_exists(out));
}

/* The kernel's own answer for where `rel` under `root` leads: 0 inside, -EXDEV outside,
 * -ENOENT dangling, -ENOSYS on a kernel without openat2 (5.6). */
static int kernel_beneath(const char *root, const char *rel)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	long fd;

	assert_true(rfd >= 0);
	fd = syscall(SYS_openat2, rfd, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

/* The tree `items` would make, made by hand in `root`, for the kernel to judge. */
static void plant(const char *root, const struct craft *items, size_t n)
{
	mkdirs(root);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = pathf("%s/%s", root, items[i].name);

		if (items[i].type == AE_IFDIR)
			mkdirs(p);
		else if (items[i].type == AE_IFLNK)
			link_to(items[i].data, p);
		else
			put(p, items[i].data);
	}
}

/* "l/l/l/.../../../..": `n` of each, 12 in the issue. */
static char *chain(int n)
{
	char *t = xcalloc(1, (size_t)n * 5 + 1);

	for (int i = 0; i < n; i++)
		strcat(t, "l/");
	for (int i = 0; i < n; i++)
		strcat(t, i ? "/.." : "..");
	return t;
}

/* Issue 16: `l -> .` and `s -> l/l/.../../..` pass a check of each link's text alone; `s`
 * is the folder's parent once `l` is followed. */
static void test_unpack_refuses_link_chain(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/chain.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *kernel = pathf("%s/kernel", tmp);
	_cleanup_free_ char *target = chain(12);
	struct sr_error err = {0};
	int k;

	const struct craft items[] = {
	    {"train.py", AE_IFREG, "x"}, {"l", AE_IFLNK, "."}, {"s", AE_IFLNK, target}};
	plant(kernel, items, 3);
	k = kernel_beneath(kernel, "s");
	assert_true(k == -EXDEV || k == -ENOSYS); /* the kernel agrees: s leaves */

	craft_tarball(tar, items, 3);
	mkdirs(out);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "refusing entry 's': a symbolic link to 'l/l/"));
	assert_non_null(strstr(err.msg, "leaves the destination"));
	assert_true(fs_is_dir(out)); /* there before: kept, and empty as it was */
	assert_int_equal(count_entries(out), 0);

	/* Judged once all is out: the same links the other way round. */
	const struct craft reversed[] = {{"s", AE_IFLNK, target}, {"l", AE_IFLNK, "."}};
	craft_tarball(tar, reversed, 2);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "refusing entry 's'"));
	assert_int_equal(count_entries(out), 0);

	/* And a file written through `s` never gets there. */
	const struct craft through[] = {
	    {"l", AE_IFLNK, "."}, {"s", AE_IFLNK, target}, {"s/sagerun-pwned", AE_IFREG, "x"}};
	craft_tarball(tar, through, 3);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'s/sagerun-pwned'"));
	assert_non_null(strstr(err.msg, "written through the symbolic link 's'"));
	assert_int_equal(count_entries(out), 0);
	assert_false(fs_exists("/sagerun-pwned"));
}

struct link_case {
	const char *what;
	struct craft items[6];
	const char *entry;  /* the entry the error names */
	const char *reason; /* and part of its reason */
};

/* Each case, unpacked into the empty folder `<tmp>/out` from `<tmp>/v.tar.gz`, is refused
 * by the entry and reason it names and leaves the folder empty, and nothing beside it. */
static void expect_refused(const char *tmp, const struct link_case *cases, size_t n_cases)
{
	_cleanup_free_ char *tar = pathf("%s/v.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);

	for (size_t i = 0; i < n_cases; i++) {
		const struct link_case *c = &cases[i];
		struct sr_error err = {0};
		size_t n = 0;

		while (n < 6 && c->items[n].name)
			n++;
		craft_tarball(tar, c->items, n);
		mkdirs(out);
		print_message("# %s\n", c->what);
		assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
		_cleanup_free_ char *want = pathf("refusing entry '%s': ", c->entry);
		if (!strstr(err.msg, want) || !strstr(err.msg, c->reason))
			fail_msg("%s: %s", c->what, err.msg);
		assert_int_equal(count_entries(out), 0);
	}
	assert_int_equal(count_entries(tmp), 2); /* v.tar.gz and out: nothing beside them */
}

static void test_unpack_refuses_link_variants(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *inside = pathf("%s/x", out);
	const char *leaves = "leaves the destination";
	const struct link_case cases[] = {
	    {"absolute", {{"abs", AE_IFLNK, "/etc"}}, "abs", leaves},
	    /* The folder is at another path inside a host: absolute is out, even to itself. */
	    {"absolute to itself",
	     {{"x", AE_IFREG, "x"}, {"abs", AE_IFLNK, inside}},
	     "abs",
	     leaves},
	    {"'..' through a link to a subfolder",
	     {{"sub/", AE_IFDIR, NULL}, {"sub/up", AE_IFLNK, ".."}, {"s", AE_IFLNK, "sub/up/.."}},
	     "s",
	     leaves},
	    {"a link to a link to outside",
	     {{"a", AE_IFLNK, "b"}, {"b", AE_IFLNK, "../outside"}},
	     "a",
	     leaves},
	    {"links each inside alone",
	     {{"sub/", AE_IFDIR, NULL},
	      {"sub/b", AE_IFLNK, ".."},
	      {"a", AE_IFLNK, "sub/b"},
	      {"s", AE_IFLNK, "a/.."}},
	     "s",
	     leaves},
	    {"past a missing name, by its text", {{"s", AE_IFLNK, "missing/../.."}}, "s", leaves},
	    {"a missing name made a link later",
	     {{"s", AE_IFLNK, "x/.."}, {"x", AE_IFLNK, "."}},
	     "s",
	     leaves},
	    {"a loop", {{"a", AE_IFLNK, "b"}, {"b", AE_IFLNK, "a"}}, "a", "(a loop?)"},
	    {"a file through a link made earlier",
	     {{"sub/", AE_IFDIR, NULL}, {"l", AE_IFLNK, "sub"}, {"l/f", AE_IFREG, "x"}},
	     "l/f",
	     "written through the symbolic link 'l'"},
	    {"a hard link to a path through a link",
	     {{"sub/", AE_IFDIR, NULL},
	      {"sub/f", AE_IFREG, "x"},
	      {"l", AE_IFLNK, "sub"},
	      {"h", HARDLINK, "l/f"}},
	     "h",
	     "goes through the symbolic link 'l'"},
	    /* link() keeps a link a link: "../t" would be read from the top folder. */
	    {"a hard link to a symbolic link",
	     {{"t", AE_IFREG, "x"},
	      {"sub/", AE_IFDIR, NULL},
	      {"sub/up", AE_IFLNK, "../t"},
	      {"h", HARDLINK, "sub/up"}},
	     "h",
	     "a hard link to the symbolic link 'sub/up'"},
	    {"a hard link to nothing", {{"h", HARDLINK, "nope"}}, "h", "not a file"},
	    {"a hard link out", {{"h", HARDLINK, "../t"}}, "h", "'..' leaves"},
	    {"a link replacing a folder",
	     {{"d/", AE_IFDIR, NULL}, {"d", AE_IFLNK, "/etc"}},
	     "d",
	     "replace the folder"},
	};

	expect_refused(tmp, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Found by tests/fuzz/fuzz_untar.c against a check of each link's text alone, which let
 * these through: `l/l/l` is "." three times over, the link that makes `s` leave may come
 * after it, `d/e` is the folder itself, and a hard link copies a link to another depth. */
static void test_unpack_refuses_link_chains(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/v.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	struct sr_error err = {0};
	const char *leaves = "leaves the destination";
	const struct link_case cases[] = {
	    {"a chain through 'l -> .'",
	     {{"l", AE_IFLNK, "."}, {"s", AE_IFLNK, "l/l/l/../../.."}},
	     "s",
	     leaves},
	    {"the link that makes it leave comes after",
	     {{"s", AE_IFLNK, "l/l/../.."}, {"l", AE_IFLNK, "."}},
	     "s",
	     leaves},
	    {"a link beside it that is the folder",
	     {{"d/", AE_IFDIR, NULL}, {"d/e", AE_IFLNK, ".."}, {"d/s", AE_IFLNK, "e/../x"}},
	     "d/s",
	     leaves},
	    /* Fine as a/b/s, out as h: refused as every hard link to a symbolic link is. */
	    {"a hard link that moves a link up",
	     {{"a/", AE_IFDIR, NULL},
	      {"a/b/", AE_IFDIR, NULL},
	      {"a/b/s", AE_IFLNK, "../../x"},
	      {"h", HARDLINK, "a/b/s"}},
	     "h",
	     "a hard link to the symbolic link 'a/b/s'"},
	};

	expect_refused(tmp, cases, sizeof(cases) / sizeof(cases[0]));

	/* Leading ".." climb the link's own folders, which are real: fine.  (A hard link to it
	 * is not, even at the same depth: see "a hard link to a symbolic link" above.) */
	const struct craft fine[] = {
	    {"a/", AE_IFDIR, NULL}, {"a/b/", AE_IFDIR, NULL}, {"a/b/s", AE_IFLNK, "./../../a/./b"}};
	int k;

	craft_tarball(tar, fine, 3);
	assert_int_equal(artifacts_unpack(tar, out, &err), 0); /* into the folder left empty */
	k = kernel_beneath(out, "a/b/s");
	assert_true(k == 0 || k == -ENOSYS);
}

/* What code trees hold: links up and across, chains (a venv's python -> python3 ->
 * python3.11), a link to the folder itself, dangling links inside, hard links. */
static void test_unpack_keeps_links_inside(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/ok.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	struct sr_error err = {0};
	struct stat st;
	const struct craft items[] = {
	    {"./", AE_IFDIR, "0700"}, /* the folder's own mode is not the tarball's */
	    {"train.py", AE_IFREG, "print(1)\n"},
	    {"pkg/", AE_IFDIR, NULL},
	    {"pkg/mod.py", AE_IFREG, "x = 1\n"},
	    {"pkg/up", AE_IFLNK, "../train.py"},
	    {"latest", AE_IFLNK, "pkg/mod.py"},
	    {"l", AE_IFLNK, "."},
	    {"self", AE_IFLNK, "l/l/l/pkg/../train.py"},
	    {"venv/bin/python3.11", AE_IFREG, "elf"},
	    {"venv/bin/python3", AE_IFLNK, "python3.11"},
	    {"venv/bin/python", AE_IFLNK, "python3"},
	    {"py", AE_IFLNK, "venv/bin/python"},
	    {"up-and-back", AE_IFLNK, "pkg/up/../pkg/mod.py"},
	    {"dangling", AE_IFLNK, "not/there/yet"},
	    {"back-in", AE_IFLNK, "missing/../pkg"},
	    {"hard", HARDLINK, "./pkg/mod.py"},
	};
	const size_t n = sizeof(items) / sizeof(items[0]);

	mkdirs(out);
	assert_int_equal(chmod(out, 0751), 0);
	craft_tarball(tar, items, n);
	assert_int_equal(artifacts_unpack(tar, out, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (items[i].type != AE_IFLNK)
			continue;
		int k = kernel_beneath(out, items[i].name);
		if (k == -EXDEV)
			fail_msg("the kernel says '%s' leaves", items[i].name);
	}
	_cleanup_free_ char *hard = slurp_at(out, "hard");
	_cleanup_free_ char *py = slurp_at(out, "py");
	assert_string_equal(hard, "x = 1\n");
	assert_string_equal(py, "elf");
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
}

static void test_unpack_into_used_folder(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/code.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	struct sr_error err = {0};
	const struct craft items[] = {{"train.py", AE_IFREG, "new"}};

	put_at(out, "train.py", "mine");
	craft_tarball(tar, items, 1);
	assert_int_equal(artifacts_unpack(tar, out, &err), -ENOTEMPTY);
	assert_non_null(strstr(err.msg, out));
	_cleanup_free_ char *mine = slurp_at(out, "train.py");
	assert_string_equal(mine, "mine");
}

/* No set-uid, set-gid or sticky bit from a tarball, whatever the entry's type says: a link
 * without a target is made as a plain file by libarchive, with the link's mode
 * (tests/fuzz/fuzz_untar.c found it). */
static void test_unpack_drops_setuid(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/suid.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	_cleanup_free_ char *file = pathf("%s/suid", out);
	_cleanup_free_ char *dir = pathf("%s/sticky", out);
	struct sr_error err = {0};
	struct stat st;

	const struct craft suid[] = {{"suid", AE_IFREG | 07755, ""},
				     {"sticky/", AE_IFDIR | 01777, NULL}};
	craft_tarball(tar, suid, 2);
	assert_int_equal(artifacts_unpack(tar, out, &err), 0);
	assert_int_equal(lstat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);
	assert_int_equal(fs_rm_rf(out, &err), 0);

	const struct craft nolink[] = {{"train.py", AE_IFREG, "x"},
				       {"nolink", AE_IFLNK | 04755, ""}};
	craft_tarball(tar, nolink, 2);
	assert_int_equal(artifacts_unpack(tar, out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "refusing entry 'nolink': "));
	assert_non_null(strstr(err.msg, "without a target"));
	assert_false(fs_exists(out)); /* made here, so removed with what it held */
}

static void test_unpack_refuses_devices(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/dev.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	struct sr_error err = {0};
	const struct craft items[] = {{"fifo", AE_IFIFO, NULL}};

	craft_tarball(tar, items, 1);
	assert_true(artifacts_unpack(tar, out, &err) < 0);
	assert_non_null(strstr(err.msg, "'fifo'"));
}

static void test_unpack_missing_tarball(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *tar = pathf("%s/nope.tar.gz", tmp);
	_cleanup_free_ char *out = pathf("%s/out", tmp);
	struct sr_error err = {0};

	assert_true(artifacts_unpack(tar, out, &err) < 0);
	assert_non_null(strstr(err.msg, tar));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pack_merges_hosts, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_empty, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_long_names, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_skips_special_files, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_dest_folder_missing, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_failure_leaves_nothing, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_too_deep, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_source_follows_links, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_pack_source_bad_links, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_round_trip, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_refuses_dotdot, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_refuses_absolute, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_refuses_symlink_escape, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_refuses_link_chain, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_refuses_link_variants, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_refuses_link_chains, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_keeps_links_inside, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_into_used_folder, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_drops_setuid, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_refuses_devices, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_unpack_missing_tarball, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
