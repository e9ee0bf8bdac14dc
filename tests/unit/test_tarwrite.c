/* test_tarwrite.c - data/tarwrite: what ustar cannot hold goes into a pax header, a short
 * file is padded to its size, too much data is refused; read back with libarchive. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/tarwrite.h"
#include "util/error.h"
#include "util/lazylib.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	if (lazylib_archive_load(NULL) < 0) /* libarchive reads the tarballs back */
		return -1;
	snprintf(path, sizeof(path), "/tmp/sr-tarwrite-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* Write entries into a fresh tarball at `path`. */
static void write_entries(const struct tarw_entry *e, size_t n, const char *data)
{
	struct sr_error err = {0};
	struct tarw *w = NULL;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(tarw_open(&w, fd, "t.tar.gz", &err), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(tarw_header(w, &e[i], &err), 0);
		if (e[i].type == TARW_FILE && data)
			assert_int_equal(tarw_data(w, data, strlen(data), &err), 0);
		assert_int_equal(tarw_end_entry(w, &err), 0);
	}
	assert_int_equal(tarw_close(w, &err), 0);
	tarw_free(w);
	close(fd);
}

static struct archive *open_back(void)
{
	struct archive *a = archive_read_new();

	assert_non_null(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
	return a;
}

static void test_pax_fields(void **state)
{
	char long_path[400], long_target[300];
	struct archive_entry *ae;
	struct archive *a;
	char buf[64];

	(void)state;
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	memset(long_target, 't', sizeof(long_target) - 1);
	long_target[sizeof(long_target) - 1] = '\0';
	const struct tarw_entry e[] = {
	    {.path = "plain.txt",
	     .type = TARW_FILE,
	     .perm = 0640,
	     .uid = 1000,
	     .gid = 1000,
	     .mtime = 1700000000,
	     .size = 5},
	    {.path = long_path, .type = TARW_FILE, .perm = 0644, .mtime = 1, .size = 5},
	    {.path = "link", .type = TARW_SYMLINK, .perm = 0777, .linkname = long_target},
	    {.path = "ids",
	     .type = TARW_DIR,
	     .perm = 0755,
	     .uid = 3000000,
	     .gid = 4000000,
	     .mtime = -5},
	};

	write_entries(e, 4, "hello");
	a = open_back();

	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(ae), "plain.txt");
	assert_int_equal(archive_entry_perm(ae), 0640);
	assert_int_equal(archive_entry_uid(ae), 1000);
	assert_int_equal(archive_entry_mtime(ae), 1700000000);
	assert_int_equal(archive_entry_size(ae), 5);
	assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);

	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(ae), long_path); /* pax path */

	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_int_equal(archive_entry_filetype(ae), AE_IFLNK);
	assert_string_equal(archive_entry_symlink(ae), long_target); /* pax linkpath */

	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(ae), "ids/"); /* a folder gets its '/' */
	assert_int_equal(archive_entry_filetype(ae), AE_IFDIR);
	assert_int_equal(archive_entry_uid(ae), 3000000); /* pax uid: above 7 octal digits */
	assert_int_equal(archive_entry_gid(ae), 4000000);
	assert_int_equal(archive_entry_mtime(ae), -5); /* pax mtime: before 1970 */

	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_EOF);
	archive_read_free(a);
}

/* A file that shrank after its header was written: its entry is padded with zeros, and the
 * entries after it are still found. */
static void test_short_file_padded(void **state)
{
	const struct tarw_entry e[] = {
	    {.path = "shrank", .type = TARW_FILE, .perm = 0644, .size = 1000},
	    {.path = "after", .type = TARW_FILE, .perm = 0644, .size = 2},
	};
	struct sr_error err = {0};
	struct archive_entry *ae;
	struct tarw *w = NULL;
	struct archive *a;
	char buf[2048];
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	(void)state;
	assert_int_equal(tarw_open(&w, fd, "t.tar.gz", &err), 0);
	assert_int_equal(tarw_header(w, &e[0], &err), 0);
	assert_int_equal(tarw_data(w, "abc", 3, &err), 0);
	/* More than the size is refused, and says so. */
	assert_int_equal(tarw_data(w, buf, sizeof(buf), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "t.tar.gz"));
	assert_int_equal(tarw_end_entry(w, &err), 0);
	assert_int_equal(tarw_header(w, &e[1], &err), 0);
	assert_int_equal(tarw_data(w, "ok", 2, &err), 0);
	assert_int_equal(tarw_close(w, &err), 0);
	tarw_free(w);
	close(fd);

	a = open_back();
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_int_equal(archive_entry_size(ae), 1000);
	assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 1000);
	assert_memory_equal(buf, "abc", 3);
	for (size_t i = 3; i < 1000; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(ae), "after");
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_EOF);
	archive_read_free(a);
}

/* A header before the last file's data is complete is a bug of the caller's: refused. */
static void test_header_inside_entry(void **state)
{
	const struct tarw_entry e = {.path = "f", .type = TARW_FILE, .perm = 0644, .size = 4};
	struct sr_error err = {0};
	struct tarw *w = NULL;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	(void)state;
	assert_int_equal(tarw_open(&w, fd, "t.tar.gz", &err), 0);
	assert_int_equal(tarw_header(w, &e, &err), 0);
	assert_int_equal(tarw_header(w, &e, &err), -EINVAL);
	tarw_free(w);
	close(fd);
}

/* The same entries give the same bytes (no timestamp in the gzip header). */
static void test_deterministic(void **state)
{
	const struct tarw_entry e[] = {
	    {.path = "a", .type = TARW_DIR, .perm = 0755, .mtime = 10},
	    {.path = "a/b", .type = TARW_FILE, .perm = 0644, .mtime = 10, .size = 5},
	};
	char first[4096], second[4096];
	ssize_t n1, n2;
	int fd;

	(void)state;
	write_entries(e, 2, "hello");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n1 = read(fd, first, sizeof(first));
	close(fd);
	sleep(1);
	write_entries(e, 2, "hello");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n2 = read(fd, second, sizeof(second));
	close(fd);
	assert_true(n1 > 20);
	assert_int_equal(n1, n2);
	assert_memory_equal(first, second, (size_t)n1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pax_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_file_padded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_inside_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
