/* fuzz_spec.c - a --spec file: job_spec_parse() with each kind (training, processing), then,
 * for a spec a kind takes, job_build() (defaults, paths, job_validate()) as `sagerun train
 * --spec` and `sagerun process --spec` do.
 *
 * Beyond no crash and no leak, for each kind:
 * - a refused spec has a negative code and a message that names the file first
 *   ("FILE:LINE:COL: Json.Path: ..." or "FILE: ...");
 * - a job that builds is echoed as its request JSON (describe's); that JSON, given back as a
 *   spec, builds again into the same request (users feed describe output back as --spec);
 * - credentials never show: each credential-named Environment value is replaced by a marker
 *   and the spec built again; the marker must be in no error, hint, warning or request JSON.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "job/job.h"
#include "job/kind.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/secret.h"
#include "util/strv.h"

#define ORIGIN "fuzz.json"
#define MARKER "sr-fuzz-credential-5c1e7a"

/* job_build() reads its spec from a file: this one, in a folder of our own. */
static char dir[PATH_MAX];
static char spec_path[PATH_MAX + 16];

static void remove_dir(void)
{
	(void)fs_rm_rf(dir, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/sagerun-fuzz-spec.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir), "mkdtemp '%s': %s", dir, strerror(errno));
	snprintf(spec_path, sizeof(spec_path), "%s/job.json", dir);
	atexit(remove_dir);
	return 0;
}

static const struct job_kind *const kinds[] = {&job_kind_training, &job_kind_processing};

/* `sagerun train --spec` (`process`, as `kind` says) of `text`: the request JSON (new
 * reference), or NULL and `err`. */
static json_t *build(const struct job_kind *kind, const char *text, size_t len,
		     struct strv *warnings, struct sr_error *err)
{
	struct job_flags flags;
	struct job job = {0};
	json_t *req = NULL;
	int r = fs_write_fresh(spec_path, text, len, 0644, err);

	FUZZ_CHECK(r == 0, "%s", err->msg);
	job_flags_init(&flags);
	flags.kind = kind;
	flags.spec_path = spec_path;
	r = job_build(&flags, &job, warnings, err);
	if (r < 0)
		FUZZ_CHECK(r == err->code && err->msg[0], "returned %d, error %d '%s'", r,
			   err->code, err->msg);
	else
		req = job_request_json(&job);
	job_release(&job);
	job_flags_release(&flags);
	return req;
}

/* The request JSON of a built job, read back as a spec, is the same request. */
static void check_echo(const struct job_kind *kind, const json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT);
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	json_t *again;

	FUZZ_CHECK(text, "the request JSON does not dump");
	again = build(kind, text, strlen(text), &warnings, &err);
	FUZZ_CHECK(again, "echoed %s request refused: %s\n  request: %s", kind->name, err.msg,
		   text);
	if (!json_equal(req, again)) {
		char *t2 = json_dumps(again, JSON_COMPACT);

		FUZZ_CHECK(false, "%s echo differs:\n  first: %s\n second: %s", kind->name, text,
			   t2);
	}
	json_decref(again);
	strv_release(&warnings);
	free(text);
}

/* Replace every credential-named Environment value of `root` by MARKER; how many. */
static size_t mark_credentials(json_t *root)
{
	json_t *env = json_object_get(root, "Environment");
	const char *key;
	json_t *v;
	size_t n = 0;

	if (!json_is_object(env))
		return 0;
	json_object_foreach (env, key, v) {
		if (json_is_string(v) && sr_name_is_credential(key)) {
			json_object_set_new(env, key, json_string(MARKER));
			n++;
		}
	}
	return n;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

static void check_credentials(const struct job_kind *kind, json_t *root)
{
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	size_t n = mark_credentials(root);
	char *text = n ? json_dumps(root, JSON_COMPACT) : NULL;
	json_t *req;

	/* the marker anywhere else in the spec (a name, a path) may rightly be echoed */
	if (!text || count(text, MARKER) != n) {
		free(text);
		return;
	}
	req = build(kind, text, strlen(text), &warnings, &err);
	FUZZ_CHECK(!strstr(err.msg, MARKER), "credential in the error: %s", err.msg);
	FUZZ_CHECK(!strstr(err.hint, MARKER), "credential in the hint: %s", err.hint);
	for (size_t i = 0; i < warnings.n; i++)
		FUZZ_CHECK(!strstr(warnings.v[i], MARKER), "credential in a warning: %s",
			   warnings.v[i]);
	if (req) {
		char *echo = json_dumps(req, JSON_COMPACT);

		FUZZ_CHECK(echo && !strstr(echo, MARKER), "credential in the request: %s", echo);
		free(echo);
		json_decref(req);
	}
	strv_release(&warnings);
	free(text);
}

/* One kind's promises for `text`. */
static void check_kind(const struct job_kind *kind, const char *text, size_t size)
{
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	struct job job = {0};
	json_t *req, *root;
	int r = job_spec_parse(kind, text, size, ORIGIN, &job, &warnings, &err);

	job_release(&job);
	strv_release(&warnings);
	if (r < 0) {
		FUZZ_CHECK(r == err.code, "%s: returned %d, error says %d", kind->name, r,
			   err.code);
		FUZZ_CHECK(!strncmp(err.msg, ORIGIN, strlen(ORIGIN)), "%s: message: %s", kind->name,
			   err.msg);
		return;
	}
	req = build(kind, text, size, &warnings, &err);
	if (req)
		check_echo(kind, req);
	json_decref(req);
	strv_release(&warnings);
	root = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
	check_credentials(kind, root);
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		check_kind(kinds[i], (const char *)data, size);
	return 0;
}
