/* fuzz_s3path.c - where S3 names go: s3_uri_parse() (s3/keys.c) of the whole input, and
 * s3_key_local_path() of the input's first line as the prefix and its rest as the key.
 *
 * Beyond no crash and no leak:
 * - a URI taken is "s3://" + bucket, then "/" + key when there is a slash: it joins back into
 *   exactly the input, and the bucket is neither empty nor holds a slash;
 * - a key taken lands under the folder: "<dir>/" then the key less the prefix, with no empty,
 *   "." or ".." part, so nothing an S3 server lists can be written beside the folder; a key
 *   refused gives no path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

#define DIR "/fuzz/dest"

static void check_uri(const char *uri)
{
	_cleanup_free_ char *bucket = NULL, *key = NULL, *joined = NULL;
	struct sr_error err = {0};

	if (s3_uri_parse(uri, &bucket, &key, &err) < 0) {
		FUZZ_CHECK(err.msg[0], "refused without a message: '%s'", uri);
		return;
	}
	FUZZ_CHECK(*bucket && !strchr(bucket, '/'), "bucket '%s' of '%s'", bucket, uri);
	joined = strchr(uri + 5, '/') ? xasprintf("s3://%s/%s", bucket, key)
				      : xasprintf("s3://%s", bucket);
	FUZZ_CHECK(!strcmp(joined, uri), "'%s' joins back as '%s'", uri, joined);
}

/* Every part of `rel` is a name: not empty, not "." or "..". */
static int parts_are_names(const char *rel)
{
	for (const char *p = rel;;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
			return 0;
		if (!*e)
			return 1;
		p = e + 1;
	}
}

static void check_key(const char *prefix, const char *key)
{
	_cleanup_free_ char *path = NULL;
	struct sr_error err = {0};
	const char *rel;

	if (s3_key_local_path(DIR, prefix, key, &path, &err) < 0) {
		FUZZ_CHECK(!path && err.msg[0], "key '%s' refused without a message", key);
		return;
	}
	FUZZ_CHECK(!strncmp(path, DIR "/", strlen(DIR) + 1), "'%s' -> '%s'", key, path);
	rel = path + strlen(DIR) + 1;
	FUZZ_CHECK(parts_are_names(rel), "key '%s' (prefix '%s') lands at '%s'", key, prefix, path);
	FUZZ_CHECK(strlen(rel) <= strlen(key) && !strcmp(rel, key + strlen(key) - strlen(rel)),
		   "'%s' is not the end of the key '%s'", rel, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = xstrndup((const char *)data, size);
	char *nl = strchr(s, '\n');

	check_uri(s);
	if (nl) {
		*nl = '\0';
		check_key(s, nl + 1);
	} else {
		check_key("", s);
	}
	return 0;
}
