/* Unit tests for s3/sigv4 against published vectors: the four examples of the S3 API
 * reference ("Signature Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk": GET Object, PUT Object, GET Bucket Lifecycle, GET Bucket / list objects), and
 * get-vanilla of AWS's Signature Version 4 test suite.  Each checks the canonical request as
 * published and the signature as published. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "s3/sigv4.h"
#include "util/cleanup.h"
#include "util/sha256.h"

/* The S3 reference's example credentials (note the '/' in the secret), and the test suite's. */
static const struct sigv4_creds s3_creds = {"AKIAIOSFODNN7EXAMPLE",
					    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
static const struct sigv4_creds suite_creds = {"AKIDEXAMPLE",
					       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};

#define HOST "examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"

static void expect_signed(const struct sigv4_creds *c, const char *region, const char *service,
			  const char *date, const char *method, const char *path,
			  const struct sigv4_param *q, size_t nq, const struct sigv4_param *h,
			  size_t nh, const char *payload, const char *want_creq,
			  const char *want_auth)
{
	_cleanup_free_ char *signed_headers = NULL;
	_cleanup_free_ char *creq =
	    sigv4_canonical_request(method, path, q, nq, h, nh, payload, &signed_headers);
	_cleanup_free_ char *auth =
	    sigv4_authorization(c, region, service, date, creq, signed_headers);

	assert_string_equal(creq, want_creq);
	assert_string_equal(auth, want_auth);
}

static void test_s3_get_object(void **state)
{
	const struct sigv4_param h[] = {
	    {"Host", HOST},
	    {"Range", "bytes=0-9"},
	    {"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
	    {"x-amz-date", DATE},
	};

	(void)state;
	expect_signed(&s3_creds, "us-east-1", "s3", DATE, "GET", "/test.txt", NULL, 0, h, 4,
		      SIGV4_EMPTY_SHA256,
		      "GET\n/test.txt\n\nhost:" HOST
		      "\nrange:bytes=0-9\nx-amz-content-sha256:" SIGV4_EMPTY_SHA256
		      "\nx-amz-date:" DATE
		      "\n\nhost;range;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
		      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
		      "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
		      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void test_s3_put_object(void **state)
{
	static const char body[] = "Welcome to Amazon S3.";
	unsigned char digest[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];
	_cleanup_free_ char *path = sigv4_uri_encode("/test$file.text", true);

	(void)state;
	sha256(body, strlen(body), digest);
	sr_hex_encode(digest, sizeof(digest), hex);
	assert_string_equal(hex,
			    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	assert_string_equal(path, "/test%24file.text");

	const struct sigv4_param h[] = {
	    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
	    {"Host", HOST},
	    {"x-amz-date", DATE},
	    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
	    {"x-amz-content-sha256", hex},
	};
	expect_signed(
	    &s3_creds, "us-east-1", "s3", DATE, "PUT", path, NULL, 0, h, 5, hex,
	    "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:" HOST
	    "\nx-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b80"
	    "3f8b072\nx-amz-date:" DATE "\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
	    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
	    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	    "aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
	    "x-amz-storage-class, "
	    "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

static void test_s3_get_lifecycle(void **state)
{
	const struct sigv4_param q[] = {{"lifecycle", NULL}};
	const struct sigv4_param h[] = {
	    {"Host", HOST},
	    {"x-amz-date", DATE},
	    {"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
	};
	_cleanup_free_ char *query = sigv4_query(q, 1);

	(void)state;
	assert_string_equal(query, "lifecycle=");
	expect_signed(
	    &s3_creds, "us-east-1", "s3", DATE, "GET", "/", q, 1, h, 3, SIGV4_EMPTY_SHA256,
	    "GET\n/\nlifecycle=\nhost:" HOST "\nx-amz-content-sha256:" SIGV4_EMPTY_SHA256
	    "\nx-amz-date:" DATE "\n\nhost;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
	    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	    "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
	    "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

static void test_s3_list_objects(void **state)
{
	/* Given out of order: the canonical query sorts them. */
	const struct sigv4_param q[] = {{"prefix", "J"}, {"max-keys", "2"}};
	const struct sigv4_param h[] = {
	    {"x-amz-date", DATE},
	    {"Host", HOST},
	    {"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
	};

	(void)state;
	expect_signed(
	    &s3_creds, "us-east-1", "s3", DATE, "GET", "/", q, 2, h, 3, SIGV4_EMPTY_SHA256,
	    "GET\n/\nmax-keys=2&prefix=J\nhost:" HOST "\nx-amz-content-sha256:" SIGV4_EMPTY_SHA256
	    "\nx-amz-date:" DATE "\n\nhost;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
	    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	    "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
	    "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

static void test_suite_get_vanilla(void **state)
{
	const struct sigv4_param h[] = {
	    {"Host", "example.amazonaws.com"},
	    {"X-Amz-Date", "20150830T123600Z"},
	};

	(void)state;
	expect_signed(&suite_creds, "us-east-1", "service", "20150830T123600Z", "GET", "/", NULL, 0,
		      h, 2, SIGV4_EMPTY_SHA256,
		      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
		      "host;x-amz-date\n" SIGV4_EMPTY_SHA256,
		      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
		      "aws4_request, SignedHeaders=host;x-amz-date, "
		      "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

static void test_encoding(void **state)
{
	_cleanup_free_ char *a = sigv4_uri_encode("a b+c/d~e_f.g-h*é", true);
	_cleanup_free_ char *b = sigv4_uri_encode("a/b", false);
	const struct sigv4_param q[] = {
	    {"continuation-token", "1/2+3="}, {"list-type", "2"}, {"prefix", "data set/"}};
	_cleanup_free_ char *query = sigv4_query(q, 3);
	const struct sigv4_param h[] = {{"X-Odd", "  a   b\tc  "}, {"Host", "h"}};
	_cleanup_free_ char *signed_headers = NULL;
	_cleanup_free_ char *creq =
	    sigv4_canonical_request("HEAD", "", NULL, 0, h, 2, SIGV4_UNSIGNED, &signed_headers);

	(void)state;
	assert_string_equal(a, "a%20b%2Bc/d~e_f.g-h%2A%C3%A9");
	assert_string_equal(b, "a%2Fb");
	assert_string_equal(query,
			    "continuation-token=1%2F2%2B3%3D&list-type=2&prefix=data%20set%2F");
	assert_string_equal(signed_headers, "host;x-odd");
	assert_string_equal(creq, "HEAD\n/\n\nhost:h\nx-odd:a b c\n\nhost;x-odd\nUNSIGNED-PAYLOAD");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_s3_get_object),     cmocka_unit_test(test_s3_put_object),
	    cmocka_unit_test(test_s3_get_lifecycle),  cmocka_unit_test(test_s3_list_objects),
	    cmocka_unit_test(test_suite_get_vanilla), cmocka_unit_test(test_encoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
