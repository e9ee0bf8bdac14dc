/* Unit tests for util/sha256: FIPS 180-2 appendix B vectors and RFC 4231 HMAC cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/sha256.h"

static void hex_of(const unsigned char d[SHA256_DIGEST_LEN], char out[65])
{
	sr_hex_encode(d, SHA256_DIGEST_LEN, out);
}

static void check_sha(const void *data, size_t len, const char *want)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[65];

	sha256(data, len, d);
	hex_of(d, hex);
	assert_string_equal(hex, want);
}

static void test_fips_abc(void **state)
{
	(void)state;
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_fips_448(void **state)
{
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	(void)state;
	check_sha(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_fips_million_a(void **state)
{
	static char chunk[997]; /* an odd size so updates straddle block boundaries */
	unsigned char d[SHA256_DIGEST_LEN];
	struct sha256 s;
	size_t left = 1000000;
	char hex[65];

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		sha256_update(&s, chunk, n);
		left -= n;
	}
	sha256_final(&s, d);
	hex_of(d, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void check_hmac(const unsigned char *key, size_t klen, const void *data, size_t dlen,
		       const char *want, size_t want_bytes)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[65];

	hmac_sha256(key, klen, data, dlen, d);
	hex_of(d, hex);
	assert_memory_equal(hex, want, want_bytes * 2);
}

static void test_rfc4231(void **state)
{
	unsigned char k[131], d[50];
	const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	const char *t7 = "This is a test using a larger than block-size key and a larger than "
			 "block-size data. The key needs to be hashed before being used by the "
			 "HMAC algorithm.";

	(void)state;
	/* 1 */
	memset(k, 0x0b, 20);
	check_hmac(k, 20, "Hi There", 8,
		   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32);
	/* 2 */
	check_hmac((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28,
		   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);
	/* 3 */
	memset(k, 0xaa, 20);
	memset(d, 0xdd, 50);
	check_hmac(k, 20, d, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
		   32);
	/* 4 */
	for (int i = 0; i < 25; i++)
		k[i] = (unsigned char)(i + 1);
	memset(d, 0xcd, 50);
	check_hmac(k, 25, d, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
		   32);
	/* 6 */
	memset(k, 0xaa, 131);
	check_hmac(k, 131, t6, strlen(t6),
		   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32);
	/* 7 */
	check_hmac(k, 131, t7, strlen(t7),
		   "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32);
}

static void test_streaming_hmac_and_helpers(void **state)
{
	unsigned char a[SHA256_DIGEST_LEN], b[SHA256_DIGEST_LEN], back[4];
	struct hmac_sha256 m;
	char hex[9];

	(void)state;
	hmac_sha256("key", 3, "hello world", 11, a);
	hmac_sha256_init(&m, "key", 3);
	hmac_sha256_update(&m, "hello", 5);
	hmac_sha256_update(&m, " world", 6);
	hmac_sha256_final(&m, b);
	assert_true(sr_memeq_ct(a, b, sizeof(a)));
	b[31] ^= 1;
	assert_false(sr_memeq_ct(a, b, sizeof(a)));

	sr_hex_encode((const unsigned char *)"\x00\xff\x10\xab", 4, hex);
	assert_string_equal(hex, "00ff10ab");
	assert_true(sr_hex_decode("00FF10ab", back, 4));
	assert_memory_equal(back, "\x00\xff\x10\xab", 4);
	assert_false(sr_hex_decode("00ff10a", back, 4));
	assert_false(sr_hex_decode("00ff10abc", back, 4));
	assert_false(sr_hex_decode("00ff10ag", back, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fips_abc),
	    cmocka_unit_test(test_fips_448),
	    cmocka_unit_test(test_fips_million_a),
	    cmocka_unit_test(test_rfc4231),
	    cmocka_unit_test(test_streaming_hmac_and_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
