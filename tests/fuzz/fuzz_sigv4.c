/* fuzz_sigv4.c - SigV4's canonicalisation (s3/sigv4.c): UriEncode, the query string, the
 * canonical request and the Authorization header.
 *
 * The input is lines: method, object key, region, x-amz-date, secret key, then query
 * parameters "name=value" ("name" alone: valueless) up to an empty line, then headers
 * "Name:value" (tests/fuzz/corpus/sigv4 has examples).
 *
 * Beyond no crash and no leak:
 * - UriEncode gives only A-Z a-z 0-9 - . _ ~, "%XX" with upper-case hex, and '/' for a key
 *   path only, and decodes back to its input;
 * - the query string holds every parameter once, encoded, sorted, and decodes back to the
 *   parameters given; neither it nor the canonical request depends on their order;
 * - the canonical request has its lines in place: method, path, query, each header lowercased
 *   and trimmed with inner spaces collapsed, sorted, a blank line, the signed list, the
 *   payload hash;
 * - the Authorization header is exactly "AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/
 *   s3/aws4_request, SignedHeaders=<list>, Signature=<64 hex>": no secret in it, and another
 *   secret gives another signature.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "s3/sigv4.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define N_MAX 8

struct input {
	char *lines; /* the input, NUL-terminated lines */
	const char *method, *key, *region, *date, *secret;
	struct sigv4_param q[N_MAX], h[N_MAX];
	size_t nq, nh;
};

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Check that `enc` is UriEncode's alphabet and return its decoding (caller frees). */
static char *check_decode(const char *enc, bool keep_slash)
{
	char *out = xmalloc(strlen(enc) + 1), *o = out;

	for (const char *s = enc; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '%') {
			int hi = unhex(s[1]), lo = hi < 0 ? -1 : unhex(s[2]);

			FUZZ_CHECK(hi >= 0 && lo >= 0, "bad escape in '%s'", enc);
			*o++ = (char)(hi << 4 | lo);
			s += 2;
			continue;
		}
		FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			       (c >= '0' && c <= '9') || strchr("-._~", c) ||
			       (keep_slash && c == '/'),
			   "'%c' unencoded in '%s'", c, enc);
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static void check_encode(const char *s, bool keep_slash)
{
	_cleanup_free_ char *enc = sigv4_uri_encode(s, keep_slash);
	_cleanup_free_ char *dec = check_decode(enc, keep_slash);

	FUZZ_CHECK(!strcmp(dec, s), "'%s' -> '%s' -> '%s'", s, enc, dec);
}

static int pair_cmp(const void *a, const void *b)
{
	const struct sigv4_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

/* The query string decodes back to the parameters (as a multiset), in encoded order. */
static void check_query(const struct input *in, const char *query)
{
	struct sigv4_param want[N_MAX], got[N_MAX];
	_cleanup_free_ char *copy = xstrdup(query);
	char *save = NULL, *prev = NULL;
	size_t n = 0;

	FUZZ_CHECK(in->nq || !*query, "query '%s' without parameters", query);
	for (char *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');

		FUZZ_CHECK(n < in->nq && eq && !strchr(eq + 1, '='), "query '%s'", query);
		*eq = '\0';
		FUZZ_CHECK(!prev || strcmp(prev, p) <= 0, "'%s' after '%s'", p, prev);
		prev = p;
		got[n].name = check_decode(p, false);
		got[n++].value = check_decode(eq + 1, false);
	}
	FUZZ_CHECK(n == in->nq, "%zu parameters in '%s', %zu given", n, query, in->nq);
	memcpy(want, in->q, n * sizeof(*want));
	qsort(want, n, sizeof(*want), pair_cmp);
	qsort(got, n, sizeof(*got), pair_cmp);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(!pair_cmp(&want[i], &got[i]), "'%s=%s' came back as '%s=%s'",
			   want[i].name, want[i].value ? want[i].value : "", got[i].name,
			   got[i].value);
		free((char *)got[i].name);
		free((char *)got[i].value);
	}
}

/* "name:value" lines of the canonical request, from the one at `*p` on. */
static void check_headers(const struct input *in, char **p)
{
	char *prev = NULL;

	for (size_t i = 0; i < in->nh; i++) {
		char *line = strsep(p, "\n"), *colon = line ? strchr(line, ':') : NULL;

		FUZZ_CHECK(colon, "header line %zu missing", i);
		for (char *c = line; c < colon; c++)
			FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'), "upper case in '%s'", line);
		FUZZ_CHECK(!strchr(colon, '\t') && !strstr(colon, "  ") && colon[1] != ' ' &&
			       (!colon[1] || colon[strlen(colon) - 1] != ' '),
			   "value not trimmed: '%s'", line);
		*colon = '\0'; /* the names alone are sorted (then the values) */
		FUZZ_CHECK(!prev || strcmp(prev, line) <= 0, "'%s' after '%s'", line, prev);
		prev = line;
	}
}

static void check_canonical(const struct input *in, const char *path, const char *query,
			    const char *creq, const char *signed_h)
{
	_cleanup_free_ char *copy = xstrdup(creq);
	char *p = copy;
	const char *line;

	FUZZ_CHECK(!strcmp(strsep(&p, "\n"), in->method), "method line of:\n%s", creq);
	line = strsep(&p, "\n");
	FUZZ_CHECK(line && !strcmp(line, *path ? path : "/"), "path line of:\n%s", creq);
	line = strsep(&p, "\n");
	FUZZ_CHECK(line && !strcmp(line, query), "query line of:\n%s", creq);
	check_headers(in, &p);
	line = strsep(&p, "\n");
	FUZZ_CHECK(line && !*line, "no blank line after the headers:\n%s", creq);
	line = strsep(&p, "\n");
	FUZZ_CHECK(line && !strcmp(line, signed_h), "signed list of:\n%s", creq);
	FUZZ_CHECK(p && !strcmp(p, SIGV4_EMPTY_SHA256), "payload line of:\n%s", creq);
}

static void check_authorization(const struct input *in, const char *creq, const char *signed_h)
{
	struct sigv4_creds c = {"AKIDFUZZ", in->secret, NULL};
	_cleanup_free_ char *auth =
	    sigv4_authorization(&c, in->region, "s3", in->date, creq, signed_h);
	_cleanup_free_ char *other_secret = xasprintf("%s!", in->secret);
	struct sigv4_creds c2 = {"AKIDFUZZ", other_secret, NULL};
	_cleanup_free_ char *auth2 =
	    sigv4_authorization(&c2, in->region, "s3", in->date, creq, signed_h);
	_cleanup_free_ char *want = xasprintf(
	    "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/%.8s/%s/s3/aws4_request, SignedHeaders=%s, "
	    "Signature=",
	    in->date, in->region, signed_h);
	size_t n = strlen(want);

	FUZZ_CHECK(!strncmp(auth, want, n) && strlen(auth) == n + 64 &&
		       strspn(auth + n, "0123456789abcdef") == 64,
		   "authorization: %s", auth);
	FUZZ_CHECK(strcmp(auth + n, auth2 + n), "the same signature with another secret");
}

/* Split the input into its fields; false when it has too few lines. */
static bool input_parse(const uint8_t *data, size_t size, struct input *in)
{
	char *p, *line;
	const char **fixed[] = {&in->method, &in->key, &in->region, &in->date, &in->secret};
	bool headers = false;

	memset(in, 0, sizeof(*in));
	in->lines = p = xstrndup((const char *)data, size);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!(*fixed[i] = strsep(&p, "\n")))
			return false;
	while ((line = strsep(&p, "\n"))) {
		char *sep = strchr(line, headers ? ':' : '=');

		if (!headers && !*line) {
			headers = true;
		} else if (!headers && in->nq < N_MAX) {
			if (sep)
				*sep = '\0';
			in->q[in->nq++] = (struct sigv4_param){line, sep ? sep + 1 : NULL};
		} else if (headers && sep && in->nh < N_MAX) {
			*sep = '\0';
			in->h[in->nh++] = (struct sigv4_param){line, sep + 1};
		}
	}
	return true;
}

static void reverse(struct sigv4_param *v, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct sigv4_param t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	_cleanup_free_ char *enc = NULL, *path = NULL, *query = NULL, *query2 = NULL;
	_cleanup_free_ char *creq = NULL, *creq2 = NULL, *signed_h = NULL, *signed_h2 = NULL;

	if (!input_parse(data, size, &in)) {
		free(in.lines);
		return 0;
	}
	check_encode(in.key, true);
	check_encode(in.key, false);
	enc = sigv4_uri_encode(in.key, true);
	path = xasprintf("/%s", enc); /* as s3/xfer.c makes it */
	query = sigv4_query(in.q, in.nq);
	check_query(&in, query);
	creq = sigv4_canonical_request(in.method, path, in.q, in.nq, in.h, in.nh,
				       SIGV4_EMPTY_SHA256, &signed_h);
	check_canonical(&in, path, query, creq, signed_h);
	check_authorization(&in, creq, signed_h);

	reverse(in.q, in.nq);
	reverse(in.h, in.nh);
	query2 = sigv4_query(in.q, in.nq);
	creq2 = sigv4_canonical_request(in.method, path, in.q, in.nq, in.h, in.nh,
					SIGV4_EMPTY_SHA256, &signed_h2);
	FUZZ_CHECK(!strcmp(query, query2), "order matters: '%s' vs '%s'", query, query2);
	FUZZ_CHECK(!strcmp(creq, creq2) && !strcmp(signed_h, signed_h2),
		   "header order matters:\n%s\nvs\n%s", creq, creq2);
	free(in.lines);
	return 0;
}
