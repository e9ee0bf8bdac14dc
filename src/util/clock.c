#include "util/clock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
	return now_ms(CLOCK_REALTIME);
}

int64_t clock_mono_ms(void)
{
	return now_ms(CLOCK_MONOTONIC);
}

char *clock_iso8601(int64_t wall_ms, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;
	char date[32];

	gmtime_r(&s, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d000+00:00", date, (int)(wall_ms % 1000));
	return buf;
}

char *clock_stamp(int64_t wall_ms, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y%m%d-%H%M%S", &tm);
	return buf;
}

int clock_parse_duration(const char *s, int64_t *ret_ms)
{
	const char *orig = s;
	int64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		int64_t n = 0, unit;
		const char *start = s;

		while (*s >= '0' && *s <= '9') {
			if (n > INT64_MAX / 10 / 86400000)
				return -EINVAL;
			n = n * 10 + (*s++ - '0');
		}
		if (s == start)
			return -EINVAL;
		if (!*s && start == orig)
			unit = 1000; /* a bare number: seconds */
		else if (!strncmp(s, "ms", 2))
			unit = 1, s += 2;
		else if (*s == 's')
			unit = 1000, s++;
		else if (*s == 'm')
			unit = 60000, s++;
		else if (*s == 'h')
			unit = 3600000, s++;
		else if (*s == 'd')
			unit = 86400000, s++;
		else
			return -EINVAL;
		if (n > (INT64_MAX - total) / unit)
			return -EINVAL;
		total += n * unit;
	}
	*ret_ms = total;
	return 0;
}
