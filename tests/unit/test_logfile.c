/* Unit tests for supervise/logfile: the log and its time index, read back whole, tailed and
 * followed while it grows; and util/clock's duration parser used by logs and prune. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervise/logfile.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/xalloc.h"

struct files {
	char dir[64];
	char *log, *ts;
	int log_fd, ts_fd;
};

static void files_open(struct files *f)
{
	strcpy(f->dir, "/tmp/sr-test-logfile-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->log = xasprintf("%s/algo-1.log", f->dir);
	f->ts = xasprintf("%s/algo-1.log" LOGFILE_TS_SUFFIX, f->dir);
	f->log_fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	f->ts_fd = open(f->ts, O_WRONLY | O_CREAT | O_APPEND, 0644);
	assert_true(f->log_fd >= 0 && f->ts_fd >= 0);
}

static void files_close(struct files *f)
{
	close(f->log_fd);
	close(f->ts_fd);
	fs_rm_rf(f->dir, NULL);
	free(f->log);
	free(f->ts);
}

static void put(struct files *f, const char *line, int64_t t)
{
	assert_int_equal(logfile_ts_append(f->ts_fd, t), 0);
	assert_int_equal(write(f->log_fd, line, strlen(line)), (ssize_t)strlen(line));
}

static void expect_line(struct logfile_reader *r, const char *want, int64_t want_t)
{
	const char *line;
	size_t len;
	int64_t t;

	assert_int_equal(logfile_reader_next(r, &line, &len, &t), 1);
	assert_string_equal(line, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(t, want_t);
}

static void expect_none(struct logfile_reader *r)
{
	const char *line;
	size_t len;
	int64_t t;

	assert_int_equal(logfile_reader_next(r, &line, &len, &t), 0);
}

static void test_read_and_follow(void **state)
{
	struct files f;
	struct logfile_reader r;

	(void)state;
	files_open(&f);
	put(&f, "one\n", 1000);
	put(&f, "two\n", 2000);
	assert_int_equal(logfile_reader_open(&r, f.log, NULL), 0);
	expect_line(&r, "one", 1000);
	expect_line(&r, "two", 2000);
	expect_none(&r);
	/* A line still being written is not returned half. */
	assert_int_equal(logfile_ts_append(f.ts_fd, 3000), 0);
	assert_int_equal(write(f.log_fd, "thr", 3), 3);
	expect_none(&r);
	assert_int_equal(write(f.log_fd, "ee\n", 3), 3);
	expect_line(&r, "three", 3000);
	/* An empty line is a line. */
	put(&f, "\n", 4000);
	expect_line(&r, "", 4000);
	logfile_reader_close(&r);
	files_close(&f);
}

static void test_tail_and_missing_index(void **state)
{
	struct files f;
	struct logfile_reader r;
	char line[32];

	(void)state;
	files_open(&f);
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "line %d\n", i);
		put(&f, line, i);
	}
	assert_int_equal(logfile_reader_open(&r, f.log, NULL), 0);
	assert_int_equal(logfile_reader_tail(&r, 2), 0);
	expect_line(&r, "line 998", 998);
	expect_line(&r, "line 999", 999);
	expect_none(&r);
	logfile_reader_close(&r);

	/* More than there is: everything.  Without the index: time 0. */
	unlink(f.ts);
	assert_int_equal(logfile_reader_open(&r, f.log, NULL), 0);
	assert_int_equal(logfile_reader_tail(&r, 5000), 0);
	expect_line(&r, "line 0", 0);
	expect_line(&r, "line 1", 0);
	logfile_reader_close(&r);

	assert_int_equal(logfile_reader_open(&r, "/nonexistent/x.log", NULL), -ENOENT);
	files_close(&f);
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
	    {"90", 90000},	{"30s", 30000}, {"5m", 300000}, {"2h", 7200000},  {"1d", 86400000},
	    {"1h30m", 5400000}, {"250ms", 250}, {"0", 0},	{"1m30s", 90000},
	};
	static const char *const bad[] = {"", "s", "5x", "-5s", "1.5h", "1h30", "m5", " 5s"};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(clock_parse_duration(ok[i].s, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (clock_parse_duration(bad[i], &ms) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_and_follow),
	    cmocka_unit_test(test_tail_and_missing_index),
	    cmocka_unit_test(test_parse_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
