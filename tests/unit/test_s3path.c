/* Unit tests for s3_key_local_path: where a listed key lands under a local folder, and the
 * keys refused because they would land outside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3/client.h"
#include "util/error.h"

static void expect_path(const char *prefix, const char *key, const char *want)
{
	struct sr_error err = {0};
	char *path = NULL;

	if (s3_key_local_path("/d", prefix, key, &path, &err) < 0)
		fail_msg("'%s' under '%s': %s", key, prefix, err.msg);
	assert_string_equal(path, want);
	free(path);
}

static void expect_refused(const char *prefix, const char *key, const char *why)
{
	struct sr_error err = {0};
	char *path = NULL;

	assert_int_equal(s3_key_local_path("/d", prefix, key, &path, &err), -EINVAL);
	assert_null(path);
	if (!strstr(err.msg, why) || !strstr(err.msg, key))
		fail_msg("'%s': %s", key, err.msg);
}

static void test_paths(void **state)
{
	(void)state;
	expect_path("data/", "data/part-0", "/d/part-0");
	expect_path("data", "data/a/b.csv", "/d/a/b.csv");
	expect_path("", "x/y", "/d/x/y");
	expect_path("da", "data.csv", "/d/ta.csv"); /* a prefix is a string, as on S3 */
	expect_path("p/", "p/..x/.y", "/d/..x/.y");
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("data/", "data/../etc/passwd", "would land outside");
	expect_refused("data/", "data/a/../../x", "would land outside");
	expect_refused("data/", "data/./x", "would land outside");
	expect_refused("data/", "data//x", "would land outside");
	expect_refused("data/", "data/x/", "would land outside");
	expect_refused("", "/abs", "would land outside");
	expect_refused("", "..", "would land outside");
	expect_refused("data/", "data/", "names the prefix itself");
	expect_refused("data/", "other/x", "not under the prefix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
