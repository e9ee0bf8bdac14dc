/* test_proc_outputs.c - data/proc_outputs (EndOfJob) and data/output_watch (Continuous):
 * every host's folder of a Processing output merged into one destination, here a local
 * folder.  The S3 tests run only when SR_TEST_S3_URI names a prefix on a real S3 server
 * (t5005-proc-outputs-s3.sh starts s3rver and runs `test_proc_outputs --s3`). */
#include <errno.h>
#include <stdbool.h>
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

#include "test_files.h"

#include "data/output_watch.h"
#include "data/proc_outputs.h"
#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* --- helpers ---------------------------------------------------------------------------- */

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

/* --- Continuous ------------------------------------------------------------------------ */

/* Written the plain way: open, write, close (IN_CLOSE_WRITE). */
static void write_at(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Whether `root`/`rel` holds `want` within 10 s: the watcher runs on its own time. */
static bool eventually(const char *root, const char *rel, const char *want)
{
	struct timespec tick = {0, 10 * 1000 * 1000};

	for (int i = 0; i < 1000; i++) {
		_cleanup_free_ char *got = read_at(root, rel);

		if (got && !strcmp(got, want))
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

#define assert_eventually(root, rel, want)                                                         \
	do {                                                                                       \
		if (!eventually(root, rel, want))                                                  \
			fail_msg("'%s/%s' did not come to hold '%s' within 10 s", root, rel,       \
				 want);                                                            \
	} while (0)

static void watch_two(struct output_watch **w, const char *name, const char *h1, const char *h2,
		      const char *uri)
{
	struct sr_error err = {0};

	assert_int_equal(output_watch_start(w, &err), 0);
	assert_int_equal(output_watch_add(*w, name, "algo-1", h1, uri, &err), 0);
	assert_int_equal(output_watch_add(*w, name, "algo-2", h2, uri, &err), 0);
}

/* A file there before the watch, one closed, one in a new subfolder, one moved in: each is
 * in the destination before stop. */
static void test_watch_uploads_while_running(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	_cleanup_free_ char *from = pathf("%s/elsewhere", tmp);
	_cleanup_free_ char *to = pathf("%s/moved.csv", h2);
	_cleanup_free_ char *sub = pathf("%s/sub/deeper", h2);
	_cleanup_free_ char *want = NULL;
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;

	put_at(h1, "early.csv", "early");
	assert_int_equal(mkdir(h2, 0755), 0);
	watch_two(&w, "train", h1, h2, out);
	assert_eventually(out, "early.csv", "early");
	write_at(h1, "closed.csv", "closed");
	assert_eventually(out, "closed.csv", "closed");
	assert_int_equal(fs_mkdir_p(sub, 0755, &err), 0);
	write_at(h2, "sub/deeper/b.csv", "b");
	assert_eventually(out, "sub/deeper/b.csv", "b");
	put_at(tmp, "elsewhere", "moved");
	assert_int_equal(rename(from, to), 0);
	assert_eventually(out, "moved.csv", "moved");
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_tree(out, "closed.csv early.csv moved.csv sub/deeper/b.csv");
	/* How many went while the job ran depends on the thread's pace: not counted here. */
	want = pathf("output 'train': 4 files, 17 bytes from 2 hosts to %s (", out);
	assert_int_equal(report.n, 1);
	assert_true(!strncmp(report.v[0], want, strlen(want)));
	assert_non_null(strstr(report.v[0], " uploaded while the job ran)"));
	strv_release(&report);
}

/* What the thread did not upload goes at stop: a file still open, a folder made after its
 * host was added (not watched); what it did upload does not go twice. */
static void test_watch_rest_at_stop(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *open_path = pathf("%s/open.csv", h1);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	_cleanup_free_ char *want = NULL;
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;
	FILE *f;

	put_at(h1, "a.csv", "a");
	put_at(h1, "b.csv", "b");
	watch_two(&w, "x", h1, h2, out);
	assert_eventually(out, "a.csv", "a");
	assert_eventually(out, "b.csv", "b");
	f = fopen(open_path, "w");
	assert_non_null(f);
	assert_int_equal(fputs("unclosed", f) >= 0, 1);
	assert_int_equal(fflush(f), 0);
	put_at(h2, "late/c.csv", "c"); /* algo-2's folder was missing when added */
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_int_equal(fclose(f), 0);
	assert_file(out, "open.csv", "unclosed");
	assert_file(out, "late/c.csv", "c");
	want = pathf("output 'x': 4 files, 11 bytes from 2 hosts to %s (2 uploaded while the job "
		     "ran)",
		     out);
	assert_int_equal(report.n, 1);
	assert_report(&report, 0, want);
	strv_release(&report);
}

/* While the job runs each close wins in turn; at the end the last host's copy, as with
 * EndOfJob. */
static void test_watch_collision_ends_as_end_of_job(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;

	assert_int_equal(mkdir(h1, 0755), 0);
	assert_int_equal(mkdir(h2, 0755), 0);
	watch_two(&w, "x", h1, h2, out);
	write_at(h2, "part.csv", "from algo-2");
	assert_eventually(out, "part.csv", "from algo-2");
	write_at(h1, "part.csv", "from algo-1");
	assert_eventually(out, "part.csv", "from algo-1");
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_file(out, "part.csv", "from algo-2");
	assert_int_equal(report.n, 2);
	assert_report(&report, 1,
		      "output 'x': 'part.csv' written by algo-1 and algo-2, "
		      "algo-2's copy kept");
	strv_release(&report);
}

/* A folder renamed while watched: its files go under the new name, and the watch follows. */
static void test_watch_folder_renamed(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *d1 = pathf("%s/d1", h1);
	_cleanup_free_ char *d2 = pathf("%s/d2", h1);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;

	assert_int_equal(mkdir(h1, 0755), 0);
	watch_two(&w, "x", h1, h2, out);
	assert_int_equal(mkdir(d1, 0755), 0);
	write_at(h1, "d1/f1", "1");
	assert_eventually(out, "d1/f1", "1");
	assert_int_equal(rename(d1, d2), 0);
	assert_eventually(out, "d2/f1", "1");
	write_at(h1, "d2/f2", "2");
	assert_eventually(out, "d2/f2", "2");
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_tree(out, "d1/f1 d2/f1 d2/f2");
	strv_release(&report);
}

/* A link made while the job runs is not followed, then or at the end. */
static void test_watch_link_not_followed(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *secret = pathf("%s/secret", tmp);
	_cleanup_free_ char *ln = pathf("%s/ln", h1);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;

	put_at(tmp, "secret", "do not upload");
	assert_int_equal(mkdir(h1, 0755), 0);
	watch_two(&w, "x", h1, h2, out);
	assert_int_equal(symlink(secret, ln), 0);
	write_at(h1, "after.csv", "after");
	assert_eventually(out, "after.csv", "after");
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_tree(out, "after.csv");
	assert_int_equal(report.n, 2);
	assert_report(&report, 1,
		      "output 'x': 1 symbolic link not followed, left out: algo-1 'ln'");
	strv_release(&report);
}

/* An upload that fails while the job runs leaves the thread working, is tried again at the
 * end, and is reported; when it fails then too, stop says so. */
static void test_watch_failure_retried(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	_cleanup_free_ char *h2 = pathf("%s/algo-2", tmp);
	_cleanup_free_ char *out = pathf("%s/dest", tmp);
	_cleanup_free_ char *blocker = pathf("%s/dest/blocked", tmp);
	_cleanup_free_ char *want = NULL;
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;

	assert_int_equal(mkdir(h1, 0755), 0);
	put_at(blocker, "x", "a folder where the file goes");
	watch_two(&w, "x", h1, h2, out);
	write_at(h1, "blocked", "b");
	write_at(h1, "ok.csv", "ok"); /* events come in order: the failure is behind us */
	assert_eventually(out, "ok.csv", "ok");
	assert_int_equal(fs_rm_rf(blocker, &err), 0);
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_file(out, "blocked", "b");
	assert_int_equal(report.n, 2);
	want = pathf("output 'x': host algo-1: upload 'blocked' to %s/blocked: rename to '%s/"
		     "blocked': ",
		     out, out);
	assert_true(!strncmp(report.v[1], want, strlen(want)));
	assert_non_null(strstr(report.v[1], " (while the job ran; done at its end)"));
	strv_release(&report);

	/* Still blocked at the end: the error names the output, the host and the file. */
	assert_int_equal(unlink(blocker), 0);
	put_at(blocker, "x", "a folder where the file goes");
	watch_two(&w, "x", h1, h2, out);
	write_at(h1, "blocked", "again");
	assert_true(output_watch_stop(w, &report, &err) < 0);
	assert_non_null(strstr(err.msg, "output 'x': host algo-1: upload its files to "));
	assert_non_null(strstr(err.msg, "copy 'blocked': rename to "));
	assert_int_equal(report.n, 0);
}

static void test_watch_add_errors(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *h1 = pathf("%s/algo-1", tmp);
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;

	assert_int_equal(output_watch_stop(NULL, &report, &err), 0);
	assert_int_equal(output_watch_start(&w, &err), 0);
	assert_int_equal(output_watch_add(w, "x", "algo-1", h1, "relative", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "output 'x': S3Uri 'relative' is neither"));
	assert_int_equal(output_watch_add(w, "x", "algo-1", h1, "/a", &err), 0);
	assert_int_equal(output_watch_add(w, "x", "algo-1", h1, "/a", &err), -EEXIST);
	assert_string_equal(err.msg, "output 'x': host algo-1 is watched already");
	assert_int_equal(output_watch_add(w, "x", "algo-2", h1, "/b", &err), -EINVAL);
	assert_string_equal(err.msg, "output 'x': host algo-2 uploads to '/b', the hosts before it "
				     "to '/a'");
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_int_equal(report.n, 1);
	assert_report(&report, 0,
		      "output 'x': 0 files, 0 bytes from 0 hosts to /a (0 uploaded "
		      "while the job ran)");
	strv_release(&report);
}

/* --- S3 (a real server: t5005-proc-outputs-s3.sh) -------------------------------------- */

/* The prefix the S3 tests write under, or NULL: then they skip, saying why. */
static const char *s3_uri(void)
{
	const char *uri = getenv("SR_TEST_S3_URI");

	if (uri && *uri)
		return uri;
	print_message("SR_TEST_S3_URI is not set: the S3 tests need a server "
		      "(tests/e2e/t5005-proc-outputs-s3.sh runs them against s3rver)\n");
	return NULL;
}

/* The keys under `uri` taken as a folder, less that folder, "a b/c". */
static char *s3_keys(const char *uri)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL, *folder = xasprintf("%s/", uri);
	struct s3_client *c = NULL;
	struct s3_object *objs = NULL;
	struct strv keys = STRV_INIT;
	struct sr_error err = {0};
	size_t n = 0;
	char *s;

	assert_int_equal(s3_uri_parse(folder, &bucket, &prefix, &err), 0);
	assert_int_equal(s3_client_new(&c, &err), 0);
	assert_int_equal(s3_list(c, bucket, prefix, &objs, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		strv_push(&keys, objs[i].key + strlen(prefix));
	s = keys.n ? strv_join(keys.v, " ") : xstrdup("");
	strv_release(&keys);
	s3_objects_free(objs, n);
	s3_client_free(c);
	return s;
}

/* The object's content, or NULL when there is none. */
static char *s3_read(const char *tmp, const char *uri)
{
	_cleanup_free_ char *bucket = NULL, *key = NULL, *path = pathf("%s/got", tmp);
	struct s3_client *c = NULL;
	struct sr_error err = {0};
	char *data = NULL;

	assert_int_equal(s3_uri_parse(uri, &bucket, &key, &err), 0);
	assert_int_equal(s3_client_new(&c, &err), 0);
	if (s3_get_file(c, bucket, key, path, &err) < 0 ||
	    fs_read_file(path, 1 << 20, &data, NULL, &err) < 0)
		data = NULL;
	(void)unlink(path);
	s3_client_free(c);
	return data;
}

static bool s3_eventually(const char *tmp, const char *uri, const char *want)
{
	struct timespec tick = {0, 20 * 1000 * 1000};

	for (int i = 0; i < 500; i++) {
		_cleanup_free_ char *got = s3_read(tmp, uri);

		if (got && !strcmp(got, want))
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

/* Hosts merge under the prefix, "p" and "p/" alike; the last host's copy of a name is kept;
 * a link is not followed. */
static void test_s3_export(void **state)
{
	const char *tmp = *state, *base = s3_uri();
	_cleanup_free_ char *h1 = NULL, *h2 = NULL, *ln = NULL, *uri = NULL, *uri2 = NULL;
	_cleanup_free_ char *keys = NULL, *part = NULL, *want = NULL, *uri2_folder = NULL;
	struct proc_output_src srcs[2];
	struct strv report = STRV_INIT;
	struct sr_error err = {0};

	if (!base)
		skip();
	h1 = pathf("%s/algo-1", tmp);
	h2 = pathf("%s/algo-2", tmp);
	ln = pathf("%s/ln", h1);
	uri = pathf("%s/eoj", base);
	uri2 = pathf("%s/eoj2/", base);
	uri2_folder = pathf("%s/eoj2", base);
	srcs[0] = (struct proc_output_src){"algo-1", h1};
	srcs[1] = (struct proc_output_src){"algo-2", h2};
	put_at(h1, "a.csv", "1");
	put_at(h1, "sub/deep/b.csv", "22");
	put_at(h1, "part.csv", "from algo-1");
	put_at(h2, "part.csv", "from algo-2");
	assert_int_equal(symlink("/etc/hostname", ln), 0);
	assert_int_equal(proc_output_export("train", uri, srcs, 2, &report, &err), 0);
	want = pathf("output 'train': 3 files, 14 bytes from 2 hosts to %s", uri);
	assert_int_equal(report.n, 3);
	assert_report(&report, 0, want);
	keys = s3_keys(uri);
	assert_string_equal(keys, "a.csv part.csv sub/deep/b.csv");
	free(part);
	part = pathf("%s/part.csv", uri);
	free(want);
	want = s3_read(tmp, part);
	assert_non_null(want);
	assert_string_equal(want, "from algo-2");
	strv_release(&report);

	assert_int_equal(proc_output_export("train", uri2, srcs, 2, &report, &err), 0);
	free(keys);
	keys = s3_keys(uri2_folder);
	assert_string_equal(keys, "a.csv part.csv sub/deep/b.csv");
	strv_release(&report);
}

/* Continuous: a closed file is in S3 before stop, one still open after it. */
static void test_s3_watch(void **state)
{
	const char *tmp = *state, *base = s3_uri();
	_cleanup_free_ char *h1 = NULL, *h2 = NULL, *uri = NULL, *key = NULL, *open_path = NULL;
	_cleanup_free_ char *got = NULL;
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	struct output_watch *w = NULL;
	FILE *f;

	if (!base)
		skip();
	h1 = pathf("%s/algo-1", tmp);
	h2 = pathf("%s/algo-2", tmp);
	uri = pathf("%s/cont", base);
	open_path = pathf("%s/sub/open.csv", h2);
	assert_int_equal(mkdir(h1, 0755), 0);
	watch_two(&w, "x", h1, h2, uri);
	write_at(h1, "closed.csv", "closed");
	key = pathf("%s/closed.csv", uri);
	if (!s3_eventually(tmp, key, "closed"))
		fail_msg("%s did not come to hold 'closed' within 10 s", key);
	put_at(h2, "sub/x", "x");
	f = fopen(open_path, "w");
	assert_non_null(f);
	assert_int_equal(fputs("unclosed", f) >= 0, 1);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(output_watch_stop(w, &report, &err), 0);
	assert_int_equal(fclose(f), 0);
	free(key);
	key = pathf("%s/sub/open.csv", uri);
	got = s3_read(tmp, key);
	assert_non_null(got);
	assert_string_equal(got, "unclosed");
	free(got);
	got = s3_keys(uri);
	assert_string_equal(got, "closed.csv sub/open.csv sub/x");
	strv_release(&report);
}

/* Credentials S3 refuses: the error names the output, the host, the key and what to do, and
 * never the secret. */
static void test_s3_refused(void **state)
{
	const char *tmp = *state, *base = s3_uri();
	_cleanup_free_ char *h1 = NULL, *uri = NULL, *saved = NULL;
	struct proc_output_src srcs[1];
	struct strv report = STRV_INIT;
	struct sr_error err = {0};
	const char *secret;
	int r;

	if (!base)
		skip();
	h1 = pathf("%s/algo-1", tmp);
	uri = pathf("%s/refused", base);
	srcs[0] = (struct proc_output_src){"algo-1", h1};
	put_at(h1, "f.csv", "f");
	saved = xstrdup(getenv("AWS_ACCESS_KEY_ID") ? getenv("AWS_ACCESS_KEY_ID") : "");
	secret = getenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_ACCESS_KEY_ID", "NOPE", 1);
	r = proc_output_export("train", uri, srcs, 1, &report, &err);
	setenv("AWS_ACCESS_KEY_ID", saved, 1);
	assert_true(r < 0);
	assert_non_null(strstr(err.msg, "output 'train': host algo-1: upload its files to "));
	assert_non_null(strstr(err.msg, "/refused/f.csv"));
	assert_non_null(strstr(err.hint, "sagerun s3 cp --recursive"));
	assert_non_null(strstr(err.hint, h1));
	if (secret && *secret) {
		assert_null(strstr(err.msg, secret));
		assert_null(strstr(err.hint, secret));
	}
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
	    cmocka_unit_test_setup_teardown(test_watch_uploads_while_running, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_watch_rest_at_stop, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_watch_collision_ends_as_end_of_job, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_watch_folder_renamed, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_watch_link_not_followed, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_watch_failure_retried, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_watch_add_errors, setup_tmp, teardown_tmp),
	};
	/* Skipped, saying why, unless SR_TEST_S3_URI names a prefix on a server. */
	const struct CMUnitTest s3_tests[] = {
	    cmocka_unit_test_setup_teardown(test_s3_export, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_s3_watch, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_s3_refused, setup_tmp, teardown_tmp),
	};
	int failed = 0;

	/* --s3: the S3 tests alone, for t5005-proc-outputs-s3.sh. */
	if (!(argc == 2 && !strcmp(argv[1], "--s3")))
		failed = cmocka_run_group_tests(tests, NULL, NULL);
	return failed + cmocka_run_group_tests(s3_tests, NULL, NULL);
}
