/* fuzz_ini.c - the AWS config and credentials files: s3_ini_get() (s3/creds.c) reading the
 * input as a file, for the section and key the input's first line names ("section key"), and
 * for the names the AWS chain asks (default, profile default; aws_access_key_id, region).
 *
 * Beyond no crash and no leak:
 * - a value found is trimmed: no space or tab at either end, no line feed in it;
 * - what is written is read back: the input's rest, after "[section]\nkey = ", gives the first
 *   line of that rest, trimmed (when it is no longer than a line may be).
 * The file is a memfd, read through /proc/self/fd/N: no disk, no temp folder to clean.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "s3/creds.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* s3_ini_get reads lines of up to this many bytes. */
#define LINE_MAX_BYTES 4000

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static void check_trimmed(const char *v)
{
	size_t n;

	if (!v)
		return;
	n = strlen(v);
	FUZZ_CHECK(!strchr(v, '\n'), "line feed in '%s'", v);
	FUZZ_CHECK(!n || (!blank(v[0]) && !blank(v[n - 1])), "untrimmed '%s'", v);
}

/* The file `data`, then s3_ini_get(section, key). */
static char *ini_get(const void *data, size_t size, const char *section, const char *key)
{
	_cleanup_close_ int fd = memfd_create("fuzz-ini", MFD_CLOEXEC);
	char path[64];

	FUZZ_CHECK(fd >= 0, "memfd_create");
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size, "write");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return s3_ini_get(path, section, key);
}

/* A name from the start of `s` up to a blank or the end: a section or key. */
static char *word(const char **s)
{
	const char *b = *s, *e;

	while (blank(*b))
		b++;
	e = b;
	while (*e && !blank(*e) && *e != '\n' && *e != '\r' && *e != '[' && *e != ']' &&
	       *e != '=' && *e != '#' && *e != ';')
		e++;
	*s = e;
	return xstrndup(b, (size_t)(e - b));
}

static void check_round_trip(const char *section, const char *key, const char *rest)
{
	_cleanup_free_ char *file = NULL, *want = NULL, *got = NULL;
	const char *nl = strchr(rest, '\n');
	const char *b = rest, *e = nl ? nl : rest + strlen(rest);

	/* a carriage return inside a line is kept (botocore would end the line there) */
	if (!*section || !*key || (size_t)(e - b) > LINE_MAX_BYTES / 2 ||
	    memchr(b, '\r', (size_t)(e - b)))
		return;
	while (b < e && blank(*b))
		b++;
	while (e > b && blank(e[-1]))
		e--;
	want = xstrndup(b, (size_t)(e - b));
	file = xasprintf("[%s]\n%s = %s", section, key, rest);
	got = ini_get(file, strlen(file), section, key);
	/* a later line of the rest may set the key again: then any value will do */
	if (strstr(rest, key))
		return;
	FUZZ_CHECK(got && !strcmp(got, want), "[%s] %s: '%s', written '%s'", section, key,
		   got ? got : "(none)", want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[][2] = {{"default", "aws_access_key_id"},
					       {"profile default", "region"},
					       {"default", "aws_session_token"}};
	_cleanup_free_ char *s = xstrndup((const char *)data, size);
	_cleanup_free_ char *section = NULL, *key = NULL;
	const char *p = s;

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		_cleanup_free_ char *v = ini_get(data, size, names[i][0], names[i][1]);

		check_trimmed(v);
	}
	section = word(&p);
	key = word(&p);
	{
		_cleanup_free_ char *v = ini_get(data, size, section, key);

		check_trimmed(v);
	}
	if (*p == '\n')
		check_round_trip(section, key, p + 1);
	return 0;
}
