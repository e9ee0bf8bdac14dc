/* keys.c - names, with no request: an s3:// URI split into bucket and key, and the local path
 * a listed key lands on under a folder (refused when it would land outside it).
 *
 * Here because both are pure string work on names that come from users and from listings:
 * apart from the client and its requests they are easy to test alone (test_s3path.c). */
#include "s3/client.h"

#include <errno.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"

int s3_uri_parse(const char *uri, char **ret_bucket, char **ret_key, struct sr_error *err)
{
	const char *b, *slash;

	if (strncmp(uri, "s3://", 5) || !uri[5] || uri[5] == '/')
		return sr_err(err, -EINVAL, "'%s' is not an S3 URI (s3://bucket/key)", uri);
	b = uri + 5;
	slash = strchr(b, '/');
	*ret_bucket = slash ? xstrndup(b, (size_t)(slash - b)) : xstrdup(b);
	*ret_key = xstrdup(slash ? slash + 1 : "");
	return 0;
}

int s3_key_local_path(const char *dir, const char *prefix, const char *key, char **ret,
		      struct sr_error *err)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	const char *rel;

	if (plen && strncmp(key, prefix, plen))
		return sr_err(err, -EINVAL, "key '%s' is not under the prefix '%s'", key, prefix);
	rel = key + plen;
	/* "data" as prefix of "data/x": the separator is not a segment of its own. */
	if (plen && prefix[plen - 1] != '/' && *rel == '/')
		rel++;
	if (!*rel)
		return sr_err(err, -EINVAL,
			      "key '%s' names the prefix itself, not an object under it", key);
	for (const char *p = rel; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
			return sr_err(
			    err, -EINVAL,
			    "key '%s' would land outside '%s' (an empty, '.' or '..' part); "
			    "nothing was written for it",
			    key, dir);
		if (!*e)
			break;
		p = e + 1;
		if (!*p) /* "a/": a trailing slash is an empty last part */
			return sr_err(err, -EINVAL,
				      "key '%s' would land outside '%s' (an empty, '.' or '..' "
				      "part); nothing was written for it",
				      key, dir);
	}
	*ret = xasprintf("%s/%s", dir, rel);
	return 0;
}
