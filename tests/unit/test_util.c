/* Unit tests for util/: errors, string vectors, file helpers, clock formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

static void test_error_wrap_and_hint(void **state)
{
	struct sr_error err = {0};

	(void)state;
	assert_int_equal(sr_err(&err, -ENOENT, "open '%s'", "x"), -ENOENT);
	assert_int_equal(sr_err_wrap(&err, "stage channel '%s'", "train"), -ENOENT);
	assert_string_equal(err.msg, "stage channel 'train': open 'x'");
	sr_err_hint(&err, "create it");
	assert_string_equal(err.hint, "create it");
	/* A non-negative code still reports failure. */
	assert_true(sr_err(&err, 0, "oops") < 0);
	sr_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
}

/* A line for a shell: /bin/sh reads the same words back from it. */
static void test_strv_join_shell(void **state)
{
	char *words[] = {"mpirun",
			 "--host",
			 "algo-1:2,algo-2:2",
			 "-mca",
			 "plm_rsh_agent",
			 "sagerun container rsh",
			 "it's",
			 "",
			 "$HOME",
			 "a\"b",
			 "x*",
			 NULL};
	char *line = strv_join_shell(words);
	char cmd[2048], got[2048];
	FILE *f;
	size_t n;

	(void)state;
	assert_string_equal(line, "mpirun --host algo-1:2,algo-2:2 -mca plm_rsh_agent "
				  "'sagerun container rsh' 'it'\\''s' '' '$HOME' 'a\"b' 'x*'");
	snprintf(cmd, sizeof(cmd), "printf '[%%s]' %s", line);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	pclose(f);
	assert_string_equal(got, "[mpirun][--host][algo-1:2,algo-2:2][-mca][plm_rsh_agent]"
				 "[sagerun container rsh][it's][][$HOME][a\"b][x*]");
	free(line);
}

static void test_strv_env(void **state)
{
	struct strv sv = STRV_INIT;

	(void)state;
	strv_push(&sv, "PATH=/bin");
	strv_push(&sv, "SM_HOSTS=[]");
	strv_push(&sv, "SM_X=1");
	strv_env_set(&sv, "PATH", "/usr/bin");
	strv_env_set(&sv, "NEW", "a=b");
	assert_string_equal(strv_env_get(&sv, "PATH"), "/usr/bin");
	assert_string_equal(strv_env_get(&sv, "NEW"), "a=b");
	assert_null(strv_env_get(&sv, "PAT"));
	strv_env_unset_prefix(&sv, "SM_");
	assert_int_equal(sv.n, 2);
	assert_null(sv.v[2]);
	assert_true(strv_contains(&sv, "NEW=a=b"));
	strv_release(&sv);
	assert_int_equal(sv.n, 0);
}

static void test_fs_atomic_and_tree(void **state)
{
	char tmpl[] = "/tmp/sr-util-XXXXXX";
	char *dir = mkdtemp(tmpl);
	_cleanup_free_ char *f = NULL, *d = NULL, *copy = NULL, *data = NULL, *deep = NULL;
	struct sr_error err = {0};
	size_t len = 0;

	(void)state;
	assert_non_null(dir);
	deep = xasprintf("%s/a/b/c", dir);
	assert_int_equal(fs_mkdir_p(deep, 0755, &err), 0);
	assert_true(fs_is_dir(deep));
	f = xasprintf("%s/a/file", dir);
	assert_int_equal(fs_write_atomic(f, "hello", 5, 0644, &err), 0);
	assert_int_equal(fs_read_file(f, 100, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	data = NULL;
	assert_int_equal(fs_read_file(f, 3, &data, &len, &err), -EFBIG);
	d = xasprintf("%s/a/link", dir);
	assert_int_equal(symlink("file", d), 0);
	copy = xasprintf("%s/copy", dir);
	{
		_cleanup_free_ char *src = xasprintf("%s/a", dir);

		assert_int_equal(fs_copy_tree(src, copy, &err), 0);
	}
	/* Links are followed, as the SDK packs a source folder. */
	{
		_cleanup_free_ char *l = xasprintf("%s/link", copy);
		_cleanup_free_ char *got = NULL;
		struct stat st;

		assert_int_equal(lstat(l, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(fs_read_file(l, 100, &got, NULL, &err), 0);
		assert_string_equal(got, "hello");
	}
	/* A file where a folder should be is a clear error. */
	{
		_cleanup_free_ char *blocked = xasprintf("%s/a/file/sub", dir);

		assert_true(fs_mkdir_p(blocked, 0755, &err) < 0);
		assert_non_null(strstr(err.msg, "a/file"));
	}
	assert_int_equal(fs_rm_rf(dir, &err), 0);
	assert_false(fs_exists(dir));
	assert_int_equal(fs_rm_rf(dir, &err), 0); /* already gone is fine */
}

static void test_fs_copy_tree_links(void **state)
{
	char tmpl[] = "/tmp/sr-util-XXXXXX";
	char *dir = mkdtemp(tmpl);
	_cleanup_free_ char *src = NULL, *out = NULL, *ext = NULL, *p = NULL, *got = NULL;
	struct sr_error err = {0};

	(void)state;
	assert_non_null(dir);
	src = xasprintf("%s/src", dir);
	out = xasprintf("%s/out", dir);
	ext = xasprintf("%s/ext", dir);
	p = xasprintf("%s/sub", ext);
	assert_int_equal(fs_mkdir_p(p, 0755, &err), 0);
	free(p);
	p = xasprintf("%s/sub/y", ext);
	assert_int_equal(fs_write_atomic(p, "y", 1, 0644, &err), 0);
	assert_int_equal(fs_mkdir_p(src, 0755, &err), 0);
	free(p);
	p = xasprintf("%s/ext", src);
	assert_int_equal(symlink(ext, p), 0); /* a folder outside, absolute */
	assert_int_equal(fs_copy_tree(src, out, &err), 0);
	free(p);
	p = xasprintf("%s/ext/sub/y", out);
	assert_int_equal(fs_read_file(p, 10, &got, NULL, &err), 0);
	assert_string_equal(got, "y");
	assert_int_equal(fs_rm_rf(out, &err), 0);

	/* A link that leads nowhere is named. */
	free(p);
	p = xasprintf("%s/gone", src);
	assert_int_equal(symlink("nowhere", p), 0);
	assert_int_equal(fs_copy_tree(src, out, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "src/gone': symbolic link to 'nowhere'"));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(fs_rm_rf(out, &err), 0);

	/* A link back up, and one into the copy itself, would never end. */
	free(p);
	p = xasprintf("%s/sub/up", ext);
	assert_int_equal(symlink("..", p), 0);
	assert_int_equal(fs_copy_tree(src, out, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "src/ext/sub/up': symbolic link to '..' loops back"));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(fs_rm_rf(out, &err), 0);
	assert_int_equal(fs_mkdir_p(out, 0755, &err), 0);
	free(p);
	p = xasprintf("%s/out", src);
	assert_int_equal(symlink(out, p), 0);
	assert_int_equal(fs_copy_tree(src, out, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "src/out': leads into"));
	assert_int_equal(fs_rm_rf(dir, &err), 0);
}

/* A tree too deep, and links that lead to the same folders again and again (no loop, but 2^n
 * copies), end in an error naming the folder instead of running on. */
static void test_fs_copy_tree_bounded(void **state)
{
	char tmpl[] = "/tmp/sr-util-XXXXXX";
	char *dir = mkdtemp(tmpl);
	_cleanup_free_ char *deep = NULL, *out = NULL, *top = NULL;
	struct sr_error err = {0};
	enum { LEVELS = 12 };

	(void)state;
	assert_non_null(dir);
	out = xasprintf("%s/out", dir);
	deep = xasprintf("%s/deep", dir);
	for (int i = 0; i <= FS_COPY_MAX_DEPTH + 1; i++) {
		char *next = xasprintf("%s/d", deep);

		free(deep);
		deep = next;
	}
	assert_int_equal(fs_mkdir_p(deep, 0755, &err), 0);
	free(deep);
	deep = xasprintf("%s/deep", dir);
	assert_int_equal(fs_copy_tree(deep, out, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "nested deeper than 256"));
	assert_non_null(strstr(err.msg, deep));
	assert_int_equal(fs_rm_rf(out, &err), 0);

	/* level i holds two links to level i+1: 2^LEVELS folders from LEVELS + 1 */
	for (int i = 0; i <= LEVELS; i++) {
		_cleanup_free_ char *lvl = xasprintf("%s/l%d", dir, i);

		assert_int_equal(fs_mkdir_p(lvl, 0755, &err), 0);
		for (int k = 0; i < LEVELS && k < 2; k++) {
			_cleanup_free_ char *next = xasprintf("%s/l%d", dir, i + 1);
			_cleanup_free_ char *link = xasprintf("%s/%c", lvl, 'a' + k);

			assert_int_equal(symlink(next, link), 0);
		}
	}
	top = xasprintf("%s/l0", dir);
	assert_int_equal(fs_copy_tree_max(top, out, 1000, &err), -EFBIG);
	assert_non_null(strstr(err.msg, top));
	assert_non_null(strstr(err.msg, "more than 1000 files and folders"));
	assert_int_equal(fs_rm_rf(out, &err), 0);
	/* within the bound, the same tree is copied whole */
	assert_int_equal(fs_copy_tree_max(top, out, 1u << (LEVELS + 1), &err), 0);
	assert_int_equal(fs_rm_rf(dir, &err), 0);
}

/* Links are neither listed nor followed, and fs_list_files_links says which it left out. */
static void test_fs_list_files_links(void **state)
{
	char tmpl[] = "/tmp/sr-util-XXXXXX";
	char *dir = mkdtemp(tmpl);
	_cleanup_free_ char *p = NULL;
	struct strv links = STRV_INIT;
	struct sr_error err = {0};
	struct fs_file *files = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(dir);
	p = xasprintf("%s/sub/deeper", dir);
	assert_int_equal(fs_mkdir_p(p, 0755, &err), 0);
	free(p);
	p = xasprintf("%s/sub/deeper/f", dir);
	assert_int_equal(fs_write_atomic(p, "f", 1, 0644, &err), 0);
	free(p);
	p = xasprintf("%s/z-link", dir);
	assert_int_equal(symlink("/etc", p), 0);
	free(p);
	p = xasprintf("%s/sub/a-link", dir);
	assert_int_equal(symlink("deeper/f", p), 0);
	assert_int_equal(fs_list_files_links(dir, &files, &n, &links, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(files[0].rel, "sub/deeper/f");
	assert_int_equal(links.n, 2);
	assert_string_equal(links.v[0], "sub/a-link");
	assert_string_equal(links.v[1], "z-link");
	fs_files_free(files, n);
	strv_release(&links);
	assert_int_equal(fs_rm_rf(dir, &err), 0);
}

static void test_need_open_files(void **state)
{
	struct sr_error err = {0};
	struct rlimit saved, rl;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 600)
		skip(); /* cannot happen on the machines we test on; say so if it does */
	rl = saved;
	rl.rlim_cur = 300;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(fs_need_open_files(200, &err), 0); /* never lowered */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 300);
	assert_int_equal(fs_need_open_files(600, &err), 0); /* raised */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 600);
	if (saved.rlim_max != RLIM_INFINITY) {
		/* More than the hard limit: raised to it, and said. */
		assert_int_equal(fs_need_open_files((unsigned long)saved.rlim_max + 1, &err),
				 -EMFILE);
		assert_non_null(strstr(err.msg, "open files may be needed"));
		assert_non_null(strstr(err.hint, "ulimit -Hn"));
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
		assert_int_equal(rl.rlim_cur, saved.rlim_max);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

static void test_abspath(void **state)
{
	_cleanup_free_ char *a = fs_abspath("/x/./y/../z//w/");
	_cleanup_free_ char *b = fs_abspath("/..");

	(void)state;
	assert_string_equal(a, "/x/z/w");
	assert_string_equal(b, "/");
}

static void test_clock_format(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(clock_iso8601(INT64_C(1700000000123), buf, sizeof(buf)),
			    "2023-11-14T22:13:20.123000+00:00");
	assert_string_equal(clock_stamp(INT64_C(1700000000123), buf, sizeof(buf)),
			    "20231114-221320");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_wrap_and_hint),
	    cmocka_unit_test(test_strv_env),
	    cmocka_unit_test(test_strv_join_shell),
	    cmocka_unit_test(test_fs_atomic_and_tree),
	    cmocka_unit_test(test_abspath),
	    cmocka_unit_test(test_clock_format),
	    cmocka_unit_test(test_need_open_files),
	    cmocka_unit_test(test_fs_copy_tree_links),
	    cmocka_unit_test(test_fs_copy_tree_bounded),
	    cmocka_unit_test(test_fs_list_files_links),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
