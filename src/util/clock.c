#include "util/clock.h"

#include <stdio.h>
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
