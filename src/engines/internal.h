/* engines/internal.h - what the files of one engine share.  engines/ only. */
#ifndef SR_ENGINES_INTERNAL_H
#define SR_ENGINES_INTERNAL_H

struct engine_logs_options;
struct sr_error;
struct store_job_row;

/* The local engine's logs: each host's log file in the job folder, merged in time order;
 * followed until the supervisor lets go of the job (local_logs.c). */
int local_logs(const struct store_job_row *row, const struct engine_logs_options *o,
	       struct sr_error *err);

#endif
