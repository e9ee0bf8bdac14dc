/* clock.h - wall and monotonic time in milliseconds, and the API's timestamp format. */
#ifndef SR_UTIL_CLOCK_H
#define SR_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_wall_ms(void); /* CLOCK_REALTIME: for timestamps users read */
int64_t clock_mono_ms(void); /* CLOCK_MONOTONIC: for durations and timers */

/* ISO 8601 in UTC as the AWS CLI prints DescribeTrainingJob times:
 * "2026-11-23T18:26:57.123000+00:00".  `buf` needs 40 bytes. */
char *clock_iso8601(int64_t wall_ms, char *buf, size_t len);

/* A duration as users type it: "90" (seconds), "30s", "5m", "2h", "1d", "1h30m", "250ms".
 * 0 and *ret_ms, or -EINVAL when it is not one (the caller names the flag). */
int clock_parse_duration(const char *s, int64_t *ret_ms);

/* "YYYYMMDD-HHMMSS" in UTC, for default job names. */
char *clock_stamp(int64_t wall_ms, char *buf, size_t len);

#endif
