/* supervise.h - run a job's hosts to the end under one event loop.
 *
 * One epoll loop over pidfds (host exits), the hosts' stdout/stderr pipes (log multiplexer),
 * a signalfd (Ctrl-C, SIGTERM) and timerfds (MaxRuntimeInSeconds, the stop grace).  Policy as
 * the service: the first host to exit non-zero fails the job and the others get SIGTERM (the
 * kind's stop signal), then
 * SIGKILL after the stop grace; Ctrl-C/SIGTERM stops the job the same way (a second one kills
 * at once); MaxRuntimeInSeconds stops it the same way.  It knows no kind of job: it reports
 * neutral events (job_event: hosts started, stop asked, ...) that the caller names in the
 * job's terms (job_status_event), and keeps each host's state and the failure reason in the
 * job's status.
 */
#ifndef SR_SUPERVISE_SUPERVISE_H
#define SR_SUPERVISE_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job/status.h"

struct host;
struct sr_error;

/* Log lines longer than this are split, each piece ending with SUP_SPLIT_MARKER. */
#define SUP_LINE_MAX	 65536
#define SUP_SPLIT_MARKER " [sagerun: line split]"
/* How many of the failing host's last log lines go into a FailureReason without a failure file. */
#define SUP_TAIL_LINES 10
/* Longer limits are cut to these (the timers count milliseconds in an int64_t): 28 days, the
 * service's largest MaxRuntimeInSeconds, and a year of stop grace. */
#define SUP_MAX_RUN_S_MAX    2419200
#define SUP_STOP_GRACE_S_MAX 31536000

struct sup_config {
	struct host *hosts; /* borrowed, n_hosts of them, prepared but not started */
	size_t n_hosts;
	const char *log_dir; /* each host's log goes to <log_dir>/<name>.log */
	/* Prefixed stdout lines go to out_fd (usually 1), stderr lines to err_fd (usually 2).
	 * Neither is changed (no O_NONBLOCK on the shell's description): a pipe or terminal
	 * that is slow to read gets lines through a bounded queue and loses whole lines when
	 * it is full (the log files keep them all), so it never holds up the supervisor. */
	int out_fd;
	int err_fd;
	bool color;	      /* colour the "algo-N | " prefixes */
	int64_t max_run_s;    /* 0 = no limit; at most SUP_MAX_RUN_S_MAX */
	int64_t stop_grace_s; /* at most SUP_STOP_GRACE_S_MAX */
	/* Borrowed: each host's start and exit, and the failure reason, are kept here. */
	struct job_status *status;
	/* Called at every event of the hosts (the caller moves the status on, prints it, writes
	 * describe.json); may be NULL. */
	void (*on_event)(void *ctx, enum job_event ev);
	void *ctx;
	/* The signal that stops a host (the job's kind's: SIGTERM for training, SIGINT for
	 * processing); 0 is SIGTERM.  SIGKILL follows after the stop grace. */
	int stop_signal;
	/* Optional: the FailureReason of a host that exited with `wstatus` (malloc'd), in the
	 * job's kind's words; NULL (or no callback) gives the default below. */
	char *(*failure_reason)(void *ctx, const struct host *h, int wstatus);
	/* Out, may be NULL: the negative errno of the first host that could not be started
	 * (the job then fails), 0 when every host started. */
	int *start_error;
};

enum sup_outcome { SUP_COMPLETED, SUP_FAILED, SUP_STOPPED, SUP_MAX_RUNTIME, SUP_OUTCOME_MAX };

/* Start every host, supervise until all have exited, and return the outcome.  On return the
 * hosts have ended (JOB_EV_HOSTS_ENDED was the last event; the caller packages artifacts and
 * sets the final state), the hosts' exit details are in status->hosts, and a Failed outcome
 * has status->failure_reason set:
 * the failure_reason callback's, else
 * the first 1024 characters of the failing host's <opt_ml>/output/failure if present, else
 * "AlgorithmError: algo-N exited with code X" (or "was killed by signal SIGKILL") plus its
 * last log lines.  A host that cannot be started fails the job the same way.  Lines still
 * queued for a slow terminal get up to 2 s after the hosts are gone, then are given up.
 * Returns < 0 only for sagerun's own errors (epoll, signalfd), after stopping every started
 * host. */
int sup_run(const struct sup_config *cfg, enum sup_outcome *ret_outcome, struct sr_error *err);

#endif
