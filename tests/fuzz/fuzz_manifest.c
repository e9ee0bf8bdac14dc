/* fuzz_manifest.c - a ManifestFile channel's manifest: s3_manifest_parse() (data/s3_channel.c),
 * the JSON a user's S3 object hands sagerun before any request is made of its keys.
 *
 * Beyond no crash and no leak:
 * - an error names the manifest's URI and leaves nothing in the out-parameters;
 * - a manifest taken gives one key per entry after the first, each the prefix's key and then
 *   the entry itself, none empty after the prefix; the bucket is not empty;
 * - it was a JSON array whose first member's "prefix" starts with "s3://".
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/s3_channel.h"
#include "fuzz.h"
#include "util/error.h"
#include "util/strv.h"

#define URI "s3://fuzz-bucket/manifests/train.manifest"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv keys = STRV_INIT;
	struct sr_error err = {0};
	char *bucket = NULL, *prefix = NULL;
	json_t *root, *pv;
	int r;

	r = s3_manifest_parse((const char *)data, size, URI, &bucket, &prefix, &keys, &err);
	if (r < 0) {
		FUZZ_CHECK(strstr(err.msg, URI), "error without the manifest: %s", err.msg);
		FUZZ_CHECK(!bucket && !prefix && keys.n == 0, "an error left results behind");
		return 0;
	}
	FUZZ_CHECK(r == 0, "%d", r);
	FUZZ_CHECK(bucket && *bucket && prefix, "no bucket or prefix");
	root = json_loadb((const char *)data, size, 0, NULL);
	FUZZ_CHECK(json_is_array(root), "taken, but not an array");
	pv = json_object_get(json_array_get(root, 0), "prefix");
	FUZZ_CHECK(json_is_string(pv) && !strncmp(json_string_value(pv), "s3://", 5),
		   "taken without an s3:// prefix");
	FUZZ_CHECK(keys.n == json_array_size(root) - 1, "%zu keys for %zu entries", keys.n,
		   json_array_size(root));
	for (size_t i = 0; i < keys.n; i++) {
		const char *entry = json_string_value(json_array_get(root, i + 1));
		size_t plen = strlen(prefix);

		FUZZ_CHECK(entry && *entry, "[%zu] taken, but not a key", i + 1);
		FUZZ_CHECK(!strncmp(keys.v[i], prefix, plen) && !strcmp(keys.v[i] + plen, entry),
			   "[%zu]: '%s' is not '%s' + '%s'", i + 1, keys.v[i], prefix, entry);
	}
	json_decref(root);
	strv_release(&keys);
	free(bucket);
	free(prefix);
	return 0;
}
