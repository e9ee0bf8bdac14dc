/* test_proc_outputs.c - data/proc_outputs (EndOfJob) and data/output_watch (Continuous):
 * every host's folder of a Processing output merged into one destination, here a local
 * folder.  The S3 tests run only when SR_TEST_S3_URI names a prefix on a real S3 server
 * (t5005-proc-outputs-s3.sh starts s3rver and runs `test_proc_outputs --s3`). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "data/proc_outputs.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* --- helpers ---------------------------------------------------------------------------- */

static int setup_tmp(void **state)
{
	char *dir = xstrdup("/tmp/sr-test-proc-outputs.XXXXXX");

	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown_tmp(void **state)
{
	struct sr_error err = {0};

	assert_int_equal(fs_rm_rf(*state, &err), 0);
	free(*state);
	return 0;
}

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	assert_true(vasprintf(&p, fmt, ap) >= 0);
	va_end(ap);
	return p;
}

static void put_at(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);
	_cleanup_free_ char *dir = xstrdup(p);
	struct sr_error err = {0};

	*strrchr(dir, '/') = '\0';
	assert_int_equal(fs_mkdir_p(dir, 0755, &err), 0);
	assert_int_equal(fs_write_atomic(p, content, strlen(content), 0644, &err), 0);
}

/* The file's content, or NULL when there is none. */
static char *read_at(const char *root, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);
	struct sr_error err = {0};
	char *data = NULL;

	if (fs_read_file(p, 1 << 20, &data, NULL, &err) < 0)
		return NULL;
	return data;
}

static void assert_file(const char *root, const char *rel, const char *want)
{
	_cleanup_free_ char *got = read_at(root, rel);

	if (!got)
		fail_msg("'%s/%s' is missing (want '%s')", root, rel, want);
	assert_string_equal(got, want);
}

/* Every file under `root`, "a b/c" (sorted), so that a stray temp file shows. */
static char *tree(const char *root)
{
	struct fs_file *files = NULL;
	struct strv rels = STRV_INIT;
	struct sr_error err = {0};
	size_t n = 0;
	char *s;

	assert_int_equal(fs_list_files(root, &files, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		strv_push(&rels, files[i].rel);
	s = strv_join(rels.v, " ");
	strv_release(&rels);
	fs_files_free(files, n);
	return s;
}

static void assert_tree(const char *root, const char *want)
{
	_cleanup_free_ char *got = tree(root);

	assert_string_equal(got, want);
}

static void assert_report(const struct strv *report, size_t i, const char *want)
{
	if (i >= report->n)
		fail_msg("report has %zu lines, want line %zu: %s", report->n, i, want);
	assert_string_equal(report->v[i], want);
}

/* --- EndOfJob --------------------------------------------------------------------------- */

/* Two hosts' files merge into one folder, nested folders kept as they are; a host that
 * never made its folder is skipped. */
static void test_export_merge_nested(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/hosts/algo-1/output/train", tmp);
	_cleanup_free_ char *h2 = pathf("%s/hosts/algo-2/output/train", tmp);
	_cleanup_free_ char *h3 = pathf("%s/hosts/algo-3/output/train", tmp);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	_cleanup_free_ char *uri = pathf("file://%s/dest", tmp);
	_cleanup_free_ char *want = NULL;
	struct proc_output_src srcs[] = {{"algo-1", h1}, {"algo-2", h2}, {"algo-3", h3}};
	struct strv report = STRV_INIT;
	struct sr_error err = {0};

	put_at(h1, "a.csv", "1");
	put_at(h1, "sub/deep/b.csv", "22");
	put_at(h2, "c.csv", "333");
	put_at(h2, "sub/d.csv", "4444");
	assert_int_equal(proc_output_export("train", uri, srcs, 3, &report, &err), 0);
	assert_tree(out, "a.csv c.csv sub/d.csv sub/deep/b.csv");
	assert_file(out, "sub/deep/b.csv", "22");
	assert_file(out, "sub/d.csv", "4444");
	want = pathf("output 'train': 4 files, 10 bytes from 2 hosts to %s", uri);
	assert_int_equal(report.n, 1);
	assert_report(&report, 0, want);
	strv_release(&report);
}

/* A name several hosts wrote keeps the copy of the host last in natural order, whatever
 * the order they are given in, and the report names it. */
static void test_export_collision_last_host_wins(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *h9 = pathf("%s/algo-9", tmp);
	_cleanup_free_ char *h10 = pathf("%s/algo-10", tmp);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	_cleanup_free_ char *want = NULL;
	struct proc_output_src srcs[] = {{"algo-2", h2}, {"algo-1", h1}};
	struct proc_output_src nat[] = {{"algo-10", h10}, {"algo-9", h9}, {"algo-1", h1}};
	struct strv report = STRV_INIT;
	struct sr_error err = {0};

	put_at(h1, "part.csv", "from algo-1");
	put_at(h2, "part.csv", "from algo-2");
	put_at(h1, "only-1.csv", "1");
	assert_int_equal(proc_output_export("x", out, srcs, 2, &report, &err), 0);
	assert_tree(out, "only-1.csv part.csv");
	assert_file(out, "part.csv", "from algo-2");
	assert_int_equal(report.n, 2);
	assert_report(&report, 1,
		      "output 'x': 'part.csv' written by algo-1 and algo-2, "
		      "algo-2's copy kept");
	strv_release(&report);

	/* algo-10 comes after algo-9; past three names, a count. */
	put_at(h9, "part.csv", "from algo-9");
	put_at(h10, "part.csv", "from algo-10");
	for (char c = 'a'; c <= 'd'; c++) {
		char name[] = {c, '\0'};

		put_at(h9, name, "9");
		put_at(h10, name, "10");
	}
	assert_int_equal(proc_output_export("x", out, nat, 3, &report, &err), 0);
	assert_file(out, "part.csv", "from algo-10");
	assert_file(out, "d", "10");
	want = pathf("output 'x': 6 files, 21 bytes from 3 hosts to %s", out);
	assert_report(&report, 0, want);
	assert_report(&report, 1,
		      "output 'x': 'a' written by algo-9 and algo-10, algo-10's copy kept; "
		      "'b' written by algo-9 and algo-10, algo-10's copy kept; "
		      "'c' written by algo-9 and algo-10, algo-10's copy kept; "
		      "and 2 more names written by several hosts, each time the last host's "
		      "copy kept");
	strv_release(&report);
}

/* Links are not followed: not one to a file, nor one to a folder, nor a host's folder that
 * is one; the report names them once. */
static void test_export_links_not_followed(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *outside = pathf("%s/outside", tmp);
	_cleanup_free_ char *secret = pathf("%s/outside/secret", tmp);
	_cleanup_free_ char *ln = pathf("%s/ln", h1);
	_cleanup_free_ char *dirln = pathf("%s/sub/dirln", h1);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	struct proc_output_src srcs[] = {{"algo-1", h1}, {"algo-2", h2}};
	struct strv report = STRV_INIT;
	struct sr_error err = {0};

	put_at(outside, "secret", "do not upload");
	put_at(h1, "sub/real", "real");
	assert_int_equal(symlink(secret, ln), 0);
	assert_int_equal(symlink(outside, dirln), 0);
	assert_int_equal(symlink(outside, h2), 0);
	assert_int_equal(proc_output_export("x", out, srcs, 2, &report, &err), 0);
	assert_tree(out, "sub/real");
	assert_int_equal(report.n, 2);
	assert_report(&report, 1,
		      "output 'x': 3 symbolic links not followed, left out: algo-1 'ln', algo-1 "
		      "'sub/dirln', algo-2's folder itself");
	strv_release(&report);
}

/* An empty folder adds nothing, a missing one is a host that never started: both fine. */
static void test_export_empty_and_missing(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	_cleanup_free_ char *want = NULL;
	struct proc_output_src srcs[] = {{"algo-1", h1}, {"algo-2", h2}};
	struct strv report = STRV_INIT;
	struct sr_error err = {0};

	assert_int_equal(mkdir(h1, 0755), 0);
	assert_int_equal(proc_output_export("empty", out, srcs, 2, &report, &err), 0);
	want = pathf("output 'empty': 0 files, 0 bytes from 1 host to %s", out);
	assert_int_equal(report.n, 1);
	assert_report(&report, 0, want);
	strv_release(&report);
	/* No S3 request for nothing: no credentials asked for. */
	assert_int_equal(proc_output_export("empty", "s3://bucket/p", srcs, 2, &report, &err), 0);
	assert_report(&report, 0, "output 'empty': 0 files, 0 bytes from 1 host to s3://bucket/p");
	strv_release(&report);
}

/* What cannot be done is said with the output, the host and the file, and what to do. */
static void test_export_errors(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	struct proc_output_src srcs[] = {{"algo-1", h1}};
	struct strv report = STRV_INIT;
	struct sr_error err = {0};

	put_at(h1, "sub/x.csv", "x");
	assert_int_equal(proc_output_export("train", "out/rel", srcs, 1, &report, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "output 'train': S3Uri 'out/rel' is neither s3://bucket/prefix "
			    "nor a local folder (file:///path or an absolute path)");
	assert_int_equal(proc_output_export("train", "s3://", srcs, 1, &report, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "output 'train': "));
	assert_int_equal(proc_output_export("train", "file://host/x", srcs, 1, &report, &err),
			 -EINVAL);
	/* A file where the output needs a folder. */
	put_at(out, "sub", "in the way");
	assert_true(proc_output_export("train", out, srcs, 1, &report, &err) < 0);
	assert_non_null(strstr(err.msg, "output 'train': host algo-1: upload its files to "));
	assert_non_null(strstr(err.msg, "dest: copy 'sub/x.csv': create folder '"));
	assert_non_null(strstr(err.msg, "dest/sub': a file of that name is in the way"));
	assert_non_null(strstr(err.hint, h1));
	assert_int_equal(report.n, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_export_merge_nested, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_export_collision_last_host_wins, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_export_links_not_followed, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_export_empty_and_missing, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_export_errors, setup_tmp, teardown_tmp),
	};

	(void)argc;
	(void)argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
