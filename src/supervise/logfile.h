/* logfile.h - a host's log on disk, as the supervisor writes it and `sagerun logs` reads it.
 *
 *   logs/algo-N.log      the host's output, line by line, exactly as printed (for people)
 *   logs/algo-N.log.ts   one little-endian int64 per line of algo-N.log: the wall-clock
 *                        milliseconds at which the supervisor read that line
 *
 * The time of line k is written before line k, so a reader that holds a whole line always
 * finds its time.  A log without its .ts file (or shorter) reads with time 0.
 */
#ifndef SR_SUPERVISE_LOGFILE_H
#define SR_SUPERVISE_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sr_error;

#define LOGFILE_TS_SUFFIX ".ts"

/* Open the .ts of the log `path` (open as `log_fd`) for appending, only where it stays in step
 * with the log: a new log, or one whose .ts has a record for each of its lines (a retried
 * job's host log).  -1 when it cannot be (the log is read with time 0 then). */
int logfile_ts_open(const char *path, int log_fd);

/* Append one time record to an open .ts file.  0 or a negative errno. */
int logfile_ts_append(int ts_fd, int64_t time_ms);

struct logfile_reader {
	int fd;	   /* the .log */
	int ts_fd; /* the .ts, -1 when missing */
	char *ts_path;
	bool ts_retried; /* opened again once a whole line was there (it follows the .log) */
	char *buf;	 /* bytes read and not yet returned */
	size_t len, cap;
	size_t consumed; /* bytes of buf already returned */
	uint64_t line;	 /* index of the next line */
};

/* Open `path` (a .log) and its .ts.  -ENOENT when the log does not exist (yet). */
int logfile_reader_open(struct logfile_reader *r, const char *path, struct sr_error *err);
void logfile_reader_close(struct logfile_reader *r);

/* The next whole line: 1 and *line (NUL-terminated, without its '\n', valid until the next
 * call), *len and *time_ms; 0 when no whole line is there yet (the file may grow: call again
 * later); a negative errno on a read error. */
int logfile_reader_next(struct logfile_reader *r, const char **line, size_t *len, int64_t *time_ms);

/* Skip to the last `n` lines of what the file holds now. */
int logfile_reader_tail(struct logfile_reader *r, uint64_t n);

#endif
