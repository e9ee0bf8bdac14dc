/* sigv4.h - AWS Signature Version 4 for S3 requests, computed entirely here.
 *
 * Debian 12's libcurl (7.88) signs the path and query as given, unsorted and unencoded, and
 * does not add x-amz-content-sha256 (peers-and-apis.md §6.1), so sagerun builds the canonical
 * request itself and hands curl finished headers:
 *
 *   struct sigv4_param q[] = {{"list-type", "2"}, {"prefix", "data/"}};
 *   struct sigv4_param h[] = {{"Host", "127.0.0.1:4568"}, {"x-amz-date", date}, ...};
 *   creq = sigv4_canonical_request("GET", "/bucket", q, 2, h, n, payload_hex, &signed);
 *   auth = sigv4_authorization(&creds, "us-east-1", "s3", date, creq, signed);
 *   url  = ... + sigv4_query(q, 2)           the same encoding and order that was signed
 *
 * The algorithm is AWS's "Signature Calculations for the Authorization Header" (the S3 API
 * reference, sig-v4-header-based-auth): UriEncode with A-Z a-z 0-9 - . _ ~ unreserved,
 * '/' kept in the path only; query parameters sorted by encoded name (then value), a valueless
 * parameter as "name="; header names lowercased, values trimmed with inner runs of spaces
 * collapsed, sorted by name.  Secrets pass through here and nowhere else; nothing is printed.
 */
#ifndef SR_S3_SIGV4_H
#define SR_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

/* SHA-256 of an empty payload, in hex. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED	   "UNSIGNED-PAYLOAD"

struct sigv4_creds {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL when none; sent as x-amz-security-token */
};

/* A query parameter (raw, not encoded; value NULL or "" for a valueless one) or a header. */
struct sigv4_param {
	const char *name;
	const char *value;
};

/* AWS UriEncode of `s`; '/' is kept when `keep_slash` (object key paths).  Caller frees. */
char *sigv4_uri_encode(const char *s, bool keep_slash);

/* The query string as sent and as signed: encoded, sorted, '&'-joined ("" for none). */
char *sigv4_query(const struct sigv4_param *q, size_t n);

/* The canonical request; `path` is already encoded (sigv4_uri_encode(key, true)).  The
 * signed header list ("host;x-amz-date") goes to *ret_signed.  Caller frees both. */
char *sigv4_canonical_request(const char *method, const char *path, const struct sigv4_param *q,
			      size_t nq, const struct sigv4_param *h, size_t nh,
			      const char *payload_sha256_hex, char **ret_signed);

/* "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,
 * SignedHeaders=..., Signature=<64 hex>" for `amz_date` ("20130524T000000Z").  Caller frees. */
char *sigv4_authorization(const struct sigv4_creds *c, const char *region, const char *service,
			  const char *amz_date, const char *canonical_request,
			  const char *signed_headers);

#endif
