/* test_files.h - files in a scratch folder, for the unit tests of what reads and writes trees
 * (test_artifacts.c, test_channels.c, test_proc_outputs.c): a folder per test that cmocka's
 * setup makes and teardown removes (its path is the test's state), paths built as printf
 * does, writes that make their folders first, reads.  Include after <cmocka.h>; every helper
 * fails the test on an error, except read_at, which answers NULL. */
#ifndef SR_TEST_FILES_H
#define SR_TEST_FILES_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* The folder: /tmp/sr-<test program>.XXXXXX, so that one left by a crash says whose it is. */
static inline int setup_tmp(void **state)
{
	char *dir = NULL;

	assert_true(asprintf(&dir, "/tmp/sr-%s.XXXXXX", program_invocation_short_name) > 0);
	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static inline int teardown_tmp(void **state)
{
	struct sr_error err = {0};

	assert_int_equal(fs_rm_rf(*state, &err), 0);
	free(*state);
	return 0;
}

static inline char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *pathf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	assert_true(vasprintf(&p, fmt, ap) >= 0);
	va_end(ap);
	return p;
}

static inline void mkdirs(const char *path)
{
	struct sr_error err = {0};

	assert_int_equal(fs_mkdir_p(path, 0755, &err), 0);
}

/* Write `content` at `path`, creating parent folders. */
static inline void put(const char *path, const char *content)
{
	_cleanup_free_ char *dir = xstrdup(path);
	struct sr_error err = {0};

	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	assert_int_equal(fs_write_atomic(path, content, strlen(content), 0644, &err), 0);
}

static inline void put_at(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);

	put(p, content);
}

/* What `root`/`rel` holds (up to 1 MiB), or NULL where it cannot be read. */
static inline char *read_at(const char *root, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);
	struct sr_error err = {0};
	char *data = NULL;

	if (fs_read_file(p, 1 << 20, &data, NULL, &err) < 0)
		return NULL;
	return data;
}

/* What `path` holds (up to 1 MiB); the test fails where it cannot be read. */
static inline char *slurp(const char *path)
{
	struct sr_error err = {0};
	char *data = NULL;

	assert_int_equal(fs_read_file(path, 1 << 20, &data, NULL, &err), 0);
	return data;
}

static inline char *slurp_at(const char *root, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", root, rel);

	return slurp(p);
}

/* Entries of `dir`, less . and .. */
static inline int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

#endif
