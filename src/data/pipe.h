/* pipe.h - a Pipe-mode channel, as the service gives one to an instance: a FIFO
 * <dir>/<channel>_<epoch> per pass over the channel's data, starting at _0, the next made once
 * the one before is written (before its end reaches the program, which opens the next at
 * once: SageMaker's PipeModeDataset and the algorithms read train_0, then train_1, ...).  Each pass
 * carries the channel's files in the order of their names, as they are, or each wrapped in RecordIO
 * records (RecordWrapperType RecordIO: MXNet's format, magic 0xced7230a, a file longer than a
 * record split into parts with continuation flags).
 *
 * A feeder thread per host and channel writes the passes; it never blocks the supervisor (its
 * signals blocked, its waits on the FIFO alone) and stops when asked, the FIFO it waits on
 * released by an open of its own.
 */
#ifndef SR_DATA_PIPE_H
#define SR_DATA_PIPE_H

#include <stdbool.h>

struct pipe_feed;
struct sr_error;

struct pipe_feed_opts {
	const char *dir;  /* the host's input/data folder, as sagerun sees it */
	const char *name; /* the channel's name: FIFOs <dir>/<name>_<epoch> */
	const char *src;  /* the channel's data: a folder (its files, sorted) or a file */
	bool recordio;	  /* wrap each file in RecordIO records */
};

/* Make <dir>/<name>_0 and start feeding it. */
int pipe_feed_start(const struct pipe_feed_opts *o, struct pipe_feed **ret, struct sr_error *err);
/* Stop feeding (a pass under way ends where it is), wait for the thread, free.  NULL is
 * fine. */
void pipe_feed_stop(struct pipe_feed *f);
/* The passes written to their end so far. */
unsigned pipe_feed_epochs(const struct pipe_feed *f);

/* RecordIO framing (exposed for tests): the header of a record part of `len` bytes
 * (len < 2^29) with continuation flag `cflag` (0 whole, 1 first, 2 middle, 3 last). */
void pipe_recordio_header(unsigned char out[8], unsigned len, unsigned cflag);

#endif
