/* Unit tests for util/dl and util/lazylib: all-or-nothing symbol tables, errors that say what
 * to install, and the real libcurl and libarchive loaded through the forwarders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <curl/curl.h>
#include <string.h>

#include "util/dl.h"
#include "util/error.h"
#include "util/lazylib.h"

static void test_missing_library(void **state)
{
	void *f = (void *)1;
	struct dl_sym syms[] = {DL_SYM(f, strlen)};
	struct sr_error err = {0};

	(void)state;
	assert_true(dl_open_syms("libsagerun-none.so.9", "libsagerun-none9", syms, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "load libsagerun-none.so.9"));
	assert_string_equal(err.hint, "install it: apt-get install libsagerun-none9");
	assert_ptr_equal(f, (void *)1);
}

static void test_missing_symbol_resets_all(void **state)
{
	void *a = NULL, *b = NULL;
	struct dl_sym syms[] = {DL_SYM(a, strlen), DL_SYM(b, sagerun_no_such_function)};
	struct sr_error err = {0};

	(void)state;
	assert_true(dl_open_syms("libc.so.6", "libc6", syms, 2, &err) < 0);
	assert_string_equal(err.msg,
			    "libc.so.6 has no sagerun_no_such_function: too old a version?");
	assert_null(a);
	assert_null(b);
}

static void test_symbols_resolved(void **state)
{
	size_t (*my_strlen)(const char *) = NULL;
	struct dl_sym syms[] = {DL_SYM(my_strlen, strlen)};

	(void)state;
	assert_int_equal(dl_open_syms("libc.so.6", "libc6", syms, 1, NULL), 0);
	assert_non_null(my_strlen);
	assert_int_equal(my_strlen("sagerun"), 7);
}

/* The forwarders carry every argument type through: a long, a string, an off_t option and a
 * getinfo pointer on a real handle. */
static void test_curl_forwarders(void **state)
{
	const char *url = NULL;
	long verbose = -1;
	CURL *h;

	(void)state;
	assert_int_equal(lazylib_curl_load(NULL), 0);
	assert_int_equal(lazylib_curl_load(NULL), 0); /* once is enough; twice is harmless */
	h = curl_easy_init();
	assert_non_null(h);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:9/x"), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_VERBOSE, 0L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)1 << 40),
			 CURLE_OK);
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url), CURLE_OK);
	assert_string_equal(url, "http://127.0.0.1:9/x");
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &verbose), CURLE_OK);
	assert_int_equal(verbose, 0);
	assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
	curl_easy_cleanup(h);
}

static void test_archive_forwarders(void **state)
{
	struct archive *a;

	(void)state;
	assert_int_equal(lazylib_archive_load(NULL), 0);
	a = archive_read_new();
	assert_non_null(a);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_library),
	    cmocka_unit_test(test_missing_symbol_resets_all),
	    cmocka_unit_test(test_symbols_resolved),
	    cmocka_unit_test(test_curl_forwarders),
	    cmocka_unit_test(test_archive_forwarders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
