/* test_channels.c - data/channels: input channels linked into /opt/ml, user code staged. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_files.h"

#include "data/artifacts.h"
#include "data/channels.h"
#include "job/job.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* --- helpers ---------------------------------------------------------------------------- */

/* The target of the symlink at root/rel, or NULL when it is not a symlink. */
static char *link_at(const char *root, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);
	char buf[PATH_MAX];
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* A job with channels built by hand: job/ is not ours to call. */
static struct job *job_with(size_t n, const char *const names[], const char *const uris[],
			    const char *const paths[])
{
	struct job *job = xcalloc(1, sizeof(*job));

	job->train.channels = xcalloc(n, sizeof(*job->train.channels));
	job->train.n_channels = n;
	for (size_t i = 0; i < n; i++) {
		job->train.channels[i].name = xstrdup(names[i]);
		job->train.channels[i].uri = xstrdup(uris[i]);
		job->train.channels[i].local_path = xstrdup_or_null(paths[i]);
	}
	return job;
}

static void job_free(struct job *job)
{
	for (size_t i = 0; i < job->train.n_channels; i++) {
		free(job->train.channels[i].name);
		free(job->train.channels[i].uri);
		free(job->train.channels[i].local_path);
	}
	free(job->train.channels);
	free(job);
}

/* --- input channels --------------------------------------------------------------------- */

static void test_stage_local_links(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *train = pathf("%s/data/train", tmp);
	_cleanup_free_ char *test = pathf("%s/data/test", tmp);
	_cleanup_free_ char *opt_ml = pathf("%s/hosts/algo-1/opt/ml", tmp);
	_cleanup_free_ char *data_dir = pathf("%s/input/data", opt_ml);
	struct sr_error err = {0};

	put_at(train, "a.csv", "1,2\n");
	mkdirs(test);
	const char *names[] = {"train", "test"};
	const char *uris[] = {train, test};
	const char *paths[] = {train, test};
	struct job *job = job_with(2, names, uris, paths);

	assert_int_equal(chan_stage_local(job->train.channels, job->train.n_channels, opt_ml, &err),
			 0);
	_cleanup_free_ char *t1 = link_at(data_dir, "train");
	_cleanup_free_ char *t2 = link_at(data_dir, "test");
	assert_non_null(t1);
	assert_string_equal(t1, train);
	assert_non_null(t2);
	assert_string_equal(t2, test);
	/* Never copied: the data is read through the link. */
	_cleanup_free_ char *csv = slurp_at(data_dir, "train/a.csv");
	assert_string_equal(csv, "1,2\n");

	/* Again: same targets are fine. */
	assert_int_equal(chan_stage_local(job->train.channels, job->train.n_channels, opt_ml, &err),
			 0);

	/* A new target replaces the old link. */
	free(job->train.channels[1].local_path);
	job->train.channels[1].local_path = xstrdup(train);
	assert_int_equal(chan_stage_local(job->train.channels, job->train.n_channels, opt_ml, &err),
			 0);
	_cleanup_free_ char *t3 = link_at(data_dir, "test");
	assert_string_equal(t3, train);
	assert_int_equal(count_entries(data_dir), 2); /* no temp link left behind */
	job_free(job);
}

static void test_stage_local_single_file(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *csv = pathf("%s/data/train.csv", tmp);
	_cleanup_free_ char *opt_ml = pathf("%s/opt/ml", tmp);
	_cleanup_free_ char *chan = pathf("%s/input/data/train", opt_ml);
	struct sr_error err = {0};

	put_at(tmp, "data/train.csv", "1,2\n");
	const char *names[] = {"train"};
	const char *uris[] = {csv};
	const char *paths[] = {csv};
	struct job *job = job_with(1, names, uris, paths);

	/* As for an S3Prefix naming one object: a channel folder holding that file. */
	assert_int_equal(chan_stage_local(job->train.channels, job->train.n_channels, opt_ml, &err),
			 0);
	assert_true(fs_is_dir(chan));
	_cleanup_free_ char *t = link_at(chan, "train.csv");
	assert_non_null(t);
	assert_string_equal(t, csv);
	assert_int_equal(chan_stage_local(job->train.channels, job->train.n_channels, opt_ml, &err),
			 0);
	job_free(job);
}

static void test_stage_local_s3_not_staged(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *opt_ml = pathf("%s/opt/ml", tmp);
	struct sr_error err = {0};
	const char *names[] = {"train"};
	const char *uris[] = {"s3://bucket/prefix/train"};
	const char *paths[] = {NULL};
	struct job *job = job_with(1, names, uris, paths);

	/* S3 channels are downloaded (s3_channel.h) and given a folder before this. */
	assert_int_equal(chan_stage_local(job->train.channels, job->train.n_channels, opt_ml, &err),
			 -EIO);
	assert_string_equal(err.msg, "channel 'train': s3://bucket/prefix/train has no local "
				     "folder (not downloaded)");
	job_free(job);
}

static void test_stage_local_missing_folder(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *opt_ml = pathf("%s/opt/ml", tmp);
	_cleanup_free_ char *gone = pathf("%s/no-such-data", tmp);
	struct sr_error err = {0};
	const char *names[] = {"train"};
	const char *uris[] = {gone};
	const char *paths[] = {gone};
	struct job *job = job_with(1, names, uris, paths);

	assert_int_equal(chan_stage_local(job->train.channels, job->train.n_channels, opt_ml, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, gone));
	assert_non_null(strstr(err.msg, "'train'"));
	job_free(job);
}

/* --- user code -------------------------------------------------------------------------- */

static void test_stage_code_folder(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/src", tmp);
	_cleanup_free_ char *code = pathf("%s/opt/ml/code", tmp);
	_cleanup_free_ char *uri = pathf("file://%s", src);
	_cleanup_free_ char *lnk = pathf("%s/latest.py", src);
	struct sr_error err = {0};

	put_at(src, "train.py", "print('hi')\n");
	put_at(src, "pkg/util.py", "x = 1\n");
	assert_int_equal(symlink("train.py", lnk), 0);
	mkdirs(code); /* an existing empty code folder is filled */

	assert_int_equal(chan_stage_code(uri, code, &err), 0);
	_cleanup_free_ char *a = slurp_at(code, "train.py");
	_cleanup_free_ char *b = slurp_at(code, "pkg/util.py");
	_cleanup_free_ char *c = slurp_at(code, "latest.py");
	assert_string_equal(a, "print('hi')\n");
	assert_string_equal(b, "x = 1\n");
	/* Followed, as the SDK packs the folder: a copy, not a link. */
	assert_null(link_at(code, "latest.py"));
	assert_string_equal(c, "print('hi')\n");
}

/* Issue 16: links out of a source folder (absolute, to a file and to a folder) give the
 * host what they lead to, as sourcedir.tar.gz would; one leading nowhere is named. */
static void test_stage_code_folder_links(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/src", tmp);
	_cleanup_free_ char *shared = pathf("%s/shared", tmp);
	_cleanup_free_ char *conf = pathf("%s/conf.txt", shared);
	_cleanup_free_ char *lib = pathf("%s/lib", shared);
	_cleanup_free_ char *code = pathf("%s/opt/ml/code", tmp);
	_cleanup_free_ char *p = NULL;
	struct sr_error err = {0};

	put_at(src, "train.py", "print('hi')\n");
	put_at(shared, "conf.txt", "lr=0.1\n");
	put_at(shared, "lib/util.py", "x = 1\n");
	p = pathf("%s/conf.txt", src);
	assert_int_equal(symlink(conf, p), 0);
	free(p);
	p = pathf("%s/lib", src);
	assert_int_equal(symlink(lib, p), 0);

	assert_int_equal(chan_stage_code(src, code, &err), 0);
	_cleanup_free_ char *a = slurp_at(code, "conf.txt");
	_cleanup_free_ char *b = slurp_at(code, "lib/util.py");
	assert_string_equal(a, "lr=0.1\n");
	assert_string_equal(b, "x = 1\n");
	assert_null(link_at(code, "conf.txt"));
	assert_null(link_at(code, "lib"));

	/* A link that leads nowhere fails the staging by name, leaving the folder empty. */
	_cleanup_free_ char *code2 = pathf("%s/code2", tmp);
	free(p);
	p = pathf("%s/gone.py", src);
	assert_int_equal(symlink("/nonexistent/gone.py", p), 0);
	assert_int_equal(chan_stage_code(src, code2, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "gone.py': symbolic link to '/nonexistent/gone.py'"));
	assert_int_equal(count_entries(code2), 0);
}

/* A single entry point that is a link goes in under its own name, which is what
 * sagemaker_program says, with the content of the file it links to. */
static void test_stage_code_single_file_link(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *real = pathf("%s/real/v2.py", tmp);
	_cleanup_free_ char *entry = pathf("%s/train.py", tmp);
	_cleanup_free_ char *code = pathf("%s/code", tmp);
	struct sr_error err = {0};

	put_at(tmp, "real/v2.py", "print(2)\n");
	assert_int_equal(symlink(real, entry), 0);
	assert_int_equal(chan_stage_code(entry, code, &err), 0);
	_cleanup_free_ char *a = slurp_at(code, "train.py");
	assert_string_equal(a, "print(2)\n");
	assert_int_equal(count_entries(code), 1);
}

static void test_stage_code_single_file(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/train.sh", tmp);
	_cleanup_free_ char *code = pathf("%s/opt/ml/code", tmp); /* created */
	_cleanup_free_ char *got = pathf("%s/train.sh", code);
	struct sr_error err = {0};
	struct stat st;

	put_at(tmp, "train.sh", "echo hi\n");
	assert_int_equal(chmod(src, 0751), 0);
	assert_int_equal(chan_stage_code(src, code, &err), 0);
	_cleanup_free_ char *a = slurp_at(code, "train.sh");
	assert_string_equal(a, "echo hi\n");
	assert_int_equal(stat(got, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_int_equal(count_entries(code), 1);
}

static void test_stage_code_tarball(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/src", tmp);
	_cleanup_free_ char *tar = pathf("%s/sourcedir.tar.gz", tmp);
	_cleanup_free_ char *uri = pathf("file://%s", tar);
	_cleanup_free_ char *code = pathf("%s/opt/ml/code", tmp);
	struct sr_error err = {0};

	put_at(src, "train.py", "print('tar')\n");
	put_at(src, "lib/x.py", "y = 2\n");
	const char *roots[] = {src};
	assert_int_equal(artifacts_pack(roots, 1, tar, NULL, &err), 0);

	assert_int_equal(chan_stage_code(uri, code, &err), 0);
	_cleanup_free_ char *a = slurp_at(code, "train.py");
	_cleanup_free_ char *b = slurp_at(code, "lib/x.py");
	assert_string_equal(a, "print('tar')\n");
	assert_string_equal(b, "y = 2\n");
}

/* Issue 16: a sourcedir.tar.gz whose links are harmless one by one and lead out together
 * (`l -> .`, `s -> l/l/.../../..`) is refused, and the code folder stays empty. */
static void test_stage_code_tarball_link_chain(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/src", tmp);
	_cleanup_free_ char *tar = pathf("%s/sourcedir.tar.gz", tmp);
	_cleanup_free_ char *uri = pathf("file://%s", tar);
	_cleanup_free_ char *code = pathf("%s/opt/ml/code", tmp);
	_cleanup_free_ char *l = pathf("%s/l", src);
	_cleanup_free_ char *s = pathf("%s/s", src);
	_cleanup_free_ char *cmd = pathf("tar -C '%s' -czf '%s' train.py l s", src, tar);
	struct sr_error err = {0};

	put_at(src, "train.py", "print('tar')\n");
	assert_int_equal(symlink(".", l), 0);
	assert_int_equal(symlink("l/l/l/l/l/l/l/l/l/l/l/l/../../../../../../../../../../../..", s),
			 0);
	assert_int_equal(system(cmd), 0); /* GNU tar keeps links as links */

	assert_int_equal(chan_stage_code(uri, code, &err), -EINVAL);
	assert_non_null(strstr(err.msg, tar));
	assert_non_null(strstr(err.msg, "refusing entry 's': a symbolic link to 'l/l/"));
	assert_non_null(strstr(err.msg, "leaves the destination"));
	assert_true(fs_is_dir(code));
	assert_int_equal(count_entries(code), 0);
}

static void test_stage_code_keeps_existing(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/src", tmp);
	_cleanup_free_ char *code = pathf("%s/code", tmp);
	struct sr_error err = {0};

	put_at(src, "train.py", "new\n");
	put_at(code, "train.py", "baked into the image\n");
	assert_int_equal(chan_stage_code(src, code, &err), 0);
	_cleanup_free_ char *a = slurp_at(code, "train.py");
	assert_string_equal(a, "baked into the image\n");
	assert_int_equal(count_entries(code), 1);

	/* The location is not even looked at, as in the toolkit. */
	assert_int_equal(chan_stage_code("s3://bucket/sourcedir.tar.gz", code, &err), 0);
}

static void test_stage_code_missing_source(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *src = pathf("%s/no-such-code", tmp);
	_cleanup_free_ char *code = pathf("%s/code", tmp);
	struct sr_error err = {0};

	assert_int_equal(chan_stage_code(src, code, &err), -ENOENT);
	assert_non_null(strstr(err.msg, src));
}

static void test_stage_code_bad_locations(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *code = pathf("%s/code", tmp);
	struct sr_error err = {0};

	/* An S3 code location is a tarball (the fetch itself is tested in e2e/t5002). */
	assert_int_equal(chan_stage_code("s3://bucket/job/source/code", code, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "s3://bucket/job/source/code"));
	assert_non_null(strstr(err.msg, ".tar.gz"));
	assert_int_equal(chan_stage_code("http://host/x.tar.gz", code, &err), -ENOTSUP);

	assert_int_equal(chan_stage_code("file://host/x", code, &err), -EINVAL);
	assert_int_equal(chan_stage_code("", code, &err), -EINVAL);
}

static void test_stage_code_inside_source(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *code = pathf("%s/out/job/opt/ml/code", tmp);
	struct sr_error err = {0};

	/* `--source-dir .` with the output under "."; copying would recurse into itself. */
	put_at(tmp, "train.py", "x\n");
	assert_int_equal(chan_stage_code(tmp, code, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "inside"));
	assert_int_equal(count_entries(code), 0);
}

static void test_stage_code_failure_leaves_folder_empty(void **state)
{
	const char *tmp = *state;
	_cleanup_free_ char *bad = pathf("%s/bad.tar.gz", tmp);
	_cleanup_free_ char *code = pathf("%s/code", tmp);
	struct sr_error err = {0};

	put_at(tmp, "bad.tar.gz", "this is not gzip");
	assert_true(chan_stage_code(bad, code, &err) < 0);
	assert_non_null(strstr(err.msg, bad));
	assert_true(fs_is_dir(code));
	assert_int_equal(count_entries(code), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stage_local_links, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_local_single_file, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_local_s3_not_staged, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_local_missing_folder, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_folder, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_folder_links, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_single_file, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_single_file_link, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_tarball, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_tarball_link_chain, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_keeps_existing, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_missing_source, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_bad_locations, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_inside_source, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_stage_code_failure_leaves_folder_empty, setup_tmp,
					    teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
