#include "s3/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/sha256.h"
#include "util/xalloc.h"

/* ASCII only, whatever the locale: a byte >= 0x80 is always encoded. */
static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

char *sigv4_uri_encode(const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(3 * n + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

struct kv {
	char *k, *v;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

char *sigv4_query(const struct sigv4_param *q, size_t n)
{
	struct kv *kv = xcalloc(n ? n : 1, sizeof(*kv));
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		abort(); /* as xmalloc: nothing sensible to do without memory */
	for (size_t i = 0; i < n; i++) {
		kv[i].k = sigv4_uri_encode(q[i].name, false);
		kv[i].v = sigv4_uri_encode(q[i].value ? q[i].value : "", false);
	}
	qsort(kv, n, sizeof(*kv), kv_cmp);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s=%s", i ? "&" : "", kv[i].k, kv[i].v);
		free(kv[i].k);
		free(kv[i].v);
	}
	free(kv);
	fclose(f);
	return out;
}

/* Lowercase name; value trimmed, inner runs of spaces and tabs collapsed to one space. */
static void header_canon(const struct sigv4_param *h, struct kv *out)
{
	const char *v = h->value ? h->value : "";
	size_t n = strlen(v), o = 0;

	out->k = xstrdup(h->name);
	for (char *p = out->k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	out->v = xmalloc(n + 1);
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			if (o && out->v[o - 1] != ' ')
				out->v[o++] = ' ';
			continue;
		}
		out->v[o++] = *v;
	}
	while (o && out->v[o - 1] == ' ')
		o--;
	out->v[o] = '\0';
}

char *sigv4_canonical_request(const char *method, const char *path, const struct sigv4_param *q,
			      size_t nq, const struct sigv4_param *h, size_t nh,
			      const char *payload_sha256_hex, char **ret_signed)
{
	_cleanup_free_ char *query = sigv4_query(q, nq);
	struct kv *kv = xcalloc(nh ? nh : 1, sizeof(*kv));
	char *out = NULL, *sig = NULL;
	size_t len = 0, slen = 0;
	FILE *f = open_memstream(&out, &len);
	FILE *s = open_memstream(&sig, &slen);

	if (!f || !s)
		abort();
	for (size_t i = 0; i < nh; i++)
		header_canon(&h[i], &kv[i]);
	qsort(kv, nh, sizeof(*kv), kv_cmp);
	fprintf(f, "%s\n%s\n%s\n", method, path && *path ? path : "/", query);
	for (size_t i = 0; i < nh; i++) {
		fprintf(f, "%s:%s\n", kv[i].k, kv[i].v);
		fprintf(s, "%s%s", i ? ";" : "", kv[i].k);
		free(kv[i].k);
		free(kv[i].v);
	}
	free(kv);
	fclose(s);
	fprintf(f, "\n%s\n%s", sig, payload_sha256_hex);
	fclose(f);
	*ret_signed = sig;
	return out;
}

static void hmac_str(const unsigned char *key, size_t key_len, const char *msg,
		     unsigned char out[SHA256_DIGEST_LEN])
{
	hmac_sha256(key, key_len, msg, strlen(msg), out);
}

char *sigv4_authorization(const struct sigv4_creds *c, const char *region, const char *service,
			  const char *amz_date, const char *canonical_request,
			  const char *signed_headers)
{
	unsigned char digest[SHA256_DIGEST_LEN], k[SHA256_DIGEST_LEN];
	char creq_hex[2 * SHA256_DIGEST_LEN + 1], sig_hex[2 * SHA256_DIGEST_LEN + 1];
	char date[9];
	_cleanup_free_ char *scope = NULL, *sts = NULL, *secret = NULL;
	char *auth;

	snprintf(date, sizeof(date), "%.8s", amz_date);
	scope = xasprintf("%s/%s/%s/aws4_request", date, region, service);
	sha256(canonical_request, strlen(canonical_request), digest);
	sr_hex_encode(digest, sizeof(digest), creq_hex);
	sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hex);

	/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
	 */
	secret = xasprintf("AWS4%s", c->secret_key);
	hmac_str((const unsigned char *)secret, strlen(secret), date, k);
	explicit_bzero(secret, strlen(secret));
	hmac_str(k, sizeof(k), region, k);
	hmac_str(k, sizeof(k), service, k);
	hmac_str(k, sizeof(k), "aws4_request", k);
	hmac_str(k, sizeof(k), sts, digest);
	explicit_bzero(k, sizeof(k));
	sr_hex_encode(digest, sizeof(digest), sig_hex);

	auth = xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			 c->access_key, scope, signed_headers, sig_hex);
	return auth;
}
