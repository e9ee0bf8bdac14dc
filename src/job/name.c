/* name.c - training job names: the service's pattern and sagerun's default names. */
#include "job/job.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "job/rules.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* "-YYYYMMDD-HHMMSS-xxxx" */
#define NAME_SUFFIX_LEN 21

bool job_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	/* [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} with the 63-character limit: alphanumerics and
	 * hyphens, first and last alphanumeric. */
	if (n == 0 || n > JOB_NAME_MAX)
		return false;
	if (!job_is_alnum(name[0]) || !job_is_alnum(name[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!job_is_alnum(name[i]) && name[i] != '-')
			return false;
	return true;
}

/* Four characters of [a-z0-9] so that two jobs started in the same second get different
 * names; unpredictability does not matter, so a failing getrandom() falls back to the clock. */
static void random_tag(char out[5], int64_t wall_ms)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[4];

	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		uint64_t x = (uint64_t)wall_ms * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();

		for (int i = 0; i < 4; i++, x >>= 8)
			b[i] = (unsigned char)x;
	}
	for (int i = 0; i < 4; i++)
		out[i] = alphabet[b[i] % (sizeof(alphabet) - 1)];
	out[4] = '\0';
}

char *job_default_name(const char *base, int64_t wall_ms)
{
	const size_t base_max = JOB_NAME_MAX - NAME_SUFFIX_LEN;
	_cleanup_free_ char *clean = xmalloc(base_max + 1);
	char stamp[32], tag[5];
	size_t n = 0;

	/* Anything outside [a-zA-Z0-9] becomes one hyphen ("train.py" -> "train-py"); the base
	 * must start with an alphanumeric, and is cut so the whole name fits 63 characters. */
	for (const char *s = base ? base : ""; *s && n < base_max; s++) {
		if (job_is_alnum(*s))
			clean[n++] = *s;
		else if (n > 0 && clean[n - 1] != '-')
			clean[n++] = '-';
	}
	while (n > 0 && clean[n - 1] == '-')
		n--;
	clean[n] = '\0';
	clock_stamp(wall_ms, stamp, sizeof(stamp));
	random_tag(tag, wall_ms);
	return xasprintf("%s-%s-%s", n ? clean : "sagerun", stamp, tag);
}
