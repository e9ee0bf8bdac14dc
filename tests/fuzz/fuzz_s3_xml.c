/* fuzz_s3_xml.c - S3's XML answers: s3_xml_walk() (listings, multipart results) and the
 * <Error> reading of s3_xfer_error() that every failed request goes through.
 *
 * Beyond no crash and no leak:
 * - every element reported has a name without its namespace (no ' '), text that is a
 *   C string no longer than expat's expansion limit allows, and a parent that is "" only for
 *   the root, which comes last and once;
 * - a callback's error stops the walk at once: no call after it, and the walk returns it;
 * - an error answer gives the code of its HTTP status and a message of the request's shape
 *   ("get s3://bucket/key: HTTP 403 ...") that never holds the client's secret key or token,
 *   whatever the body says.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "s3/internal.h"
#include "s3/xml.h"
#include "util/error.h"

#define SECRET "fuzz/Secret+Key/wJalrXUtnFEMI"
#define TOKEN  "fuzz-session-token-IQoJb3JpZ2lu"

struct walk_check {
	size_t size;	    /* of the document */
	unsigned calls;	    /* callbacks so far */
	unsigned stop_at;   /* the call that returns an error (0: none) */
	unsigned roots;	    /* calls with parent "" */
	bool root_was_last; /* the last call so far had parent "" */
};

static int on_element(void *ctx, const char *parent, const char *name, const char *text)
{
	struct walk_check *w = ctx;
	/* expat refuses entity expansion past 100 times the input once it passes 8 MiB */
	size_t text_max = 100 * w->size + (8u << 20);

	w->calls++;
	FUZZ_CHECK(!w->stop_at || w->calls <= w->stop_at, "call %u after the error of call %u",
		   w->calls, w->stop_at);
	FUZZ_CHECK(parent && name && text, "a NULL string");
	FUZZ_CHECK(*name && !strchr(name, ' '), "name '%s'", name);
	FUZZ_CHECK(!strchr(parent, ' '), "parent '%s'", parent);
	FUZZ_CHECK(strlen(text) <= text_max, "text of %zu bytes from %zu", strlen(text), w->size);
	w->roots += !*parent;
	w->root_was_last = !*parent;
	return w->calls == w->stop_at ? -ECANCELED : 0;
}

static void check_walk(const uint8_t *data, size_t size, unsigned stop_at)
{
	struct walk_check w = {.size = size, .stop_at = stop_at};
	int r = s3_xml_walk((const char *)data, size, on_element, &w);

	if (stop_at && w.calls == stop_at) {
		FUZZ_CHECK(r == -ECANCELED, "stopped at call %u, returned %d", stop_at, r);
		return;
	}
	FUZZ_CHECK(r == 0 || r == -EBADMSG, "returned %d", r);
	FUZZ_CHECK(w.roots <= 1, "%u roots", w.roots);
	if (r == 0 && w.calls)
		FUZZ_CHECK(w.roots == 1 && w.root_was_last, "the root is not the last element");
}

static void check_error_answer(const uint8_t *data, size_t size, uint32_t h)
{
	static const long statuses[] = {403, 404, 400, 409, 500, 503};
	struct s3_client c = {0};
	struct sr_error err = {0};
	struct xfer x;
	char want[128];
	int r, code;

	c.creds.access_key = "AKIDFUZZ";
	c.creds.secret_key = SECRET;
	c.creds.session_token = TOKEN;
	c.creds.source = "environment";
	s3_xfer_init(&x, h & 1 ? "HEAD" : "GET", "bucket", "dir/key");
	x.status = statuses[(h >> 1) % (sizeof(statuses) / sizeof(statuses[0]))];
	x.mem = malloc(size + 1);
	FUZZ_CHECK(x.mem, "out of memory");
	memcpy(x.mem, data, size);
	x.mem[size] = '\0';
	x.mem_len = size;
	code = x.status == 404 ? -ENOENT : x.status == 403 ? -EACCES : -EIO;

	r = s3_xfer_error(&c, &x, "get", &err);
	FUZZ_CHECK(r == code && err.code == code, "HTTP %ld: %d", x.status, r);
	snprintf(want, sizeof(want), "get s3://bucket/dir/key: HTTP %ld", x.status);
	FUZZ_CHECK(!strncmp(err.msg, want, strlen(want)), "message: %s", err.msg);
	/* a body that carries them itself is echoed, rightly: S3 wrote it */
	if (!memmem(data, size, SECRET, strlen(SECRET)) &&
	    !memmem(data, size, TOKEN, strlen(TOKEN)))
		FUZZ_CHECK(!strstr(err.msg, SECRET) && !strstr(err.msg, TOKEN) &&
			       !strstr(err.hint, SECRET) && !strstr(err.hint, TOKEN),
			   "a credential in: %s (hint: %s)", err.msg, err.hint);
	s3_xfer_release(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u; /* FNV-1a: choices made from the input, so runs repeat */

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	check_walk(data, size, 0);
	check_walk(data, size, 1 + h % 8);
	check_error_answer(data, size, h >> 3);
	return 0;
}
