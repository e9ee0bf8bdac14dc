/* status.h - the service's status model (reference §5.3): <Kind>JobStatus + SecondaryStatus
 * with its transitions, FailureReason and times, for every kind of job.  What a status is
 * called and says is the kind's (kind.h); the supervisor reports neutral events
 * (job_status_event) that the kind names; launch/ moves the rest and writes describe.json.
 */
#ifndef SR_JOB_STATUS_H
#define SR_JOB_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct job;
struct job_kind;
struct sr_error;

enum job_state {
	JOB_IN_PROGRESS,
	JOB_COMPLETED,
	JOB_FAILED,
	JOB_STOPPING,
	JOB_STOPPED,
	JOB_STATE_MAX
};

enum job_secondary {
	SEC_STARTING,
	SEC_DOWNLOADING,
	SEC_RUNNING, /* the hosts run the job's code: "Training" (the kind names it) */
	SEC_UPLOADING,
	SEC_STOPPING,
	SEC_STOPPED,
	SEC_MAX_RUNTIME_EXCEEDED,
	SEC_COMPLETED,
	SEC_FAILED,
	SEC_RESTARTING, /* RetryStrategy: a new attempt after an internal error */
	SEC_MAX
};

struct job_transition {
	enum job_secondary status;
	int64_t start_ms; /* wall clock */
	int64_t end_ms;	  /* 0 while current */
	char *message;	  /* StatusMessage */
};

/* What happened to one host, for describe's `Hosts` and for messages. */
struct job_host_status {
	char name[16];	  /* algo-N */
	int started;	  /* 1 once its process was started */
	int exited;	  /* 1 once reaped */
	int exit_code;	  /* valid when exited and !signal */
	int signal;	  /* terminating signal, 0 when it exited normally */
	int64_t start_ms; /* wall clock, 0 when not started */
	int64_t end_ms;
};

struct job_status {
	enum job_state state;
	enum job_secondary secondary;
	struct job_transition *transitions;
	size_t n_transitions;
	size_t cap_transitions;
	char *failure_reason; /* <= 1024 chars, NULL unless Failed */
	int64_t creation_ms;
	int64_t start_ms; /* 0 until SEC_RUNNING (TrainingStartTime) */
	int64_t end_ms;	  /* 0 until the job ends */
	int64_t last_modified_ms;
	struct job_host_status *hosts; /* n = job->instance_count */
	size_t n_hosts;
	char *model_artifacts; /* S3ModelArtifacts (a path or s3:// URI), NULL until known */
	char *exit_message;    /* processing: ExitMessage (<= 1024 chars), NULL when none */
};

/* Starting, with the kind's message. */
void job_status_init(struct job_status *st, const struct job_kind *k, size_t n_hosts,
		     int64_t now_ms);
void job_status_release(struct job_status *st);

/* Move to (state, secondary) with a StatusMessage: closes the current transition and opens
 * a new one.  Moving to the secondary status already current only updates `state`. */
void job_status_set(struct job_status *st, enum job_state state, enum job_secondary secondary,
		    const char *message, int64_t now_ms);

/* Move to (state, secondary) with the kind's StatusMessage for it. */
void job_status_to(struct job_status *st, const struct job_kind *k, enum job_state state,
		   enum job_secondary secondary, int64_t now_ms);

/* What the supervisor says of a job's hosts, kind-neutral; the kind names the status each
 * one moves to. */
enum job_event {
	JOB_EV_HOSTS_STARTED, /* every host runs: the running status ("Training") */
	JOB_EV_STOP_ASKED,    /* Ctrl-C, SIGTERM, sagerun stop: Stopping */
	JOB_EV_MAX_RUNTIME,   /* MaxRuntimeInSeconds ran out: Stopping */
	JOB_EV_HOSTS_ENDED,   /* every host is gone: Uploading (still Stopping after a stop) */
};
void job_status_event(struct job_status *st, const struct job_kind *k, enum job_event ev,
		      int64_t now_ms);

/* Record the failure reason, truncated to 1024 characters as the service does. */
void job_status_set_failure(struct job_status *st, const char *reason);

/* "InProgress", "Completed", ... */
const char *job_state_name(enum job_state s);
/* "Starting", "Training", "MaxRuntimeExceeded", ... as the kind calls it. */
const char *job_secondary_name(const struct job_kind *k, enum job_secondary s);

/* The job's Describe<Kind>Job response (the kind's describe_json).  New reference. */
struct json_t *job_describe_json(const struct job *job, const struct job_status *st);
/* What every kind's describe output shares: an ISO 8601 time, and `Hosts` (each host's state,
 * exit code or signal, times).  New references. */
struct json_t *job_time_json(int64_t ms);
struct json_t *job_hosts_json(const struct job_status *st);
/* In a stored Describe*Job response: every host still running becomes Lost, ended now. */
void job_hosts_json_lost(struct json_t *d, int64_t now_ms);

/* Write describe.json atomically into `path`. */
int job_describe_write(const struct job *job, const struct job_status *st, const char *path,
		       struct sr_error *err);

#endif
