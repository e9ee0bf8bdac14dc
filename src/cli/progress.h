/* progress.h - a transfer's progress on a terminal, one line redrawn in place:
 *
 *   37.5 MiB / 1.00 GiB  3 %  112.4 MiB/s  ETA 0:09
 *
 * Drawn only when the stream is a TTY (and at most every 200 ms: s3_client_set_progress);
 * quiet otherwise, so scripts and logs get nothing of it. */
#ifndef SR_CLI_PROGRESS_H
#define SR_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress_bar {
	int fd;
	bool on;
	bool drawn;
	int64_t total; /* bytes expected, -1 when unknown */
	int64_t base;  /* the client's count when this transfer began */
	int64_t last;
	int64_t start_ms;
};

void progress_init(struct progress_bar *p, int fd, bool tty);
/* What is about to move: the counter's value now, and the bytes expected (-1: unknown). */
void progress_begin(struct progress_bar *p, int64_t moved_now, int64_t total);
/* An s3_progress_fn. */
void progress_update(void *ctx, int64_t moved);
/* The final count drawn and the line ended, so that what follows starts on a line of its own. */
void progress_end(struct progress_bar *p);

/* "1.00 GiB", "37.5 MiB", "512 B" into buf (32 bytes). */
char *progress_bytes(int64_t n, char *buf, size_t len);

#endif
