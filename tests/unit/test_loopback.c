/* Unit tests for hosts/loopback.c: --network host jobs' blocks of loopback addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "hosts/loopback.h"
#include "util/error.h"

static void test_host_addr(void **state)
{
	static const struct {
		unsigned block;
		size_t index;
		const char *want;
	} cases[] = {
	    {100, 0, "127.100.0.1"},
	    {100, 254, "127.100.0.255"},
	    {100, 255, "127.100.1.0"},
	    {101, 1, "127.101.0.2"},
	    {254, LOOPBACK_HOSTS_MAX - 1, "127.254.255.254"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = loopback_host_addr(cases[i].block, cases[i].index);

		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

/* Two claims at once never share a block; a block given back can be claimed again.  (Another
 * job of this machine may hold blocks meanwhile: only what two claims of ours must do.  The
 * error when every block is taken is not tested: holding all 155 would fail any --network
 * host job that starts meanwhile, another test's among them.) */
static void test_claims(void **state)
{
	struct sr_error err = {0};
	unsigned a = 0, b = 0, c = 0;
	int fa, fb, fc;

	(void)state;
	fa = loopback_claim(&a, &err);
	assert_true(fa >= 0);
	fb = loopback_claim(&b, &err);
	assert_true(fb >= 0);
	assert_int_not_equal(a, b);
	assert_in_range(a, LOOPBACK_FIRST_BLOCK, LOOPBACK_LAST_BLOCK);
	assert_in_range(b, LOOPBACK_FIRST_BLOCK, LOOPBACK_LAST_BLOCK);
	close(fa);
	fc = loopback_claim(&c, &err);
	assert_true(fc >= 0);
	assert_int_not_equal(c, b);
	close(fb);
	close(fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_addr),
	    cmocka_unit_test(test_claims),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
