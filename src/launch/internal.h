/* launch/internal.h - one local job's state and the steps the files of launch/ share.
 * launch/ only.
 *
 *   run.c          launch_run: set up, record, attempts and retries, the final state
 *   home.c         the home folder, the job folder, the store with its lost jobs recovered
 *   record.c       the record in the store and describe.json at every transition
 *   detach.c       -d: the supervisor in a session of its own
 *   backend.c      which backend, checked against the options; container settings
 *   attempt.c      one attempt: inputs staged, hosts laid out, the supervisor
 *   compose.c      launch_compose
 *   training*.c    the training kind (launch_kind_training): its inputs and checkpoints,
 *                  each host's tree (contract files, channels, code, environment, argv),
 *                  its tarballs
 *   processing*.c  the processing kind (launch_kind_processing): its code shipped as the SDK
 *                  ships it, its inputs at their LocalPaths, each host's tree, its outputs
 *                  uploaded at the end or as they are written, its ExitMessage
 *   host_mpi.c     for either kind, what a program's own mpirun needs on a host that is no
 *                  container (its launch agent, leave to run as root)
 */
#ifndef SR_LAUNCH_INTERNAL_H
#define SR_LAUNCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "hosts/hosts.h"
#include "job/status.h"
#include "launch/launch.h"
#include "util/error.h"

struct job;
struct job_report;
struct sr_error;
struct store;
struct strv;

/* What a kind of job (job/kind.h) does on this machine: how its inputs are staged, what each
 * host gets, how its outputs are exported.  One table per kind (training.c); run.c, attempt.c
 * and compose.c know no kind. */
struct local_job;

struct launch_kind {
	const struct job_kind *job_kind;
	/* The job names nothing to run but its image, whose own entry point runs
	 * (bring-your-own container): only container hosts can run it. */
	bool (*image_only)(const struct job *job);
	/* Optional, before the job is recorded: what the kind can tell cannot work here (an
	 * output folder that cannot be made), a usage error. */
	int (*check)(struct local_job *L, struct sr_error *err);
	/* Optional, before Downloading: what goes up first (script mode's code, to an S3
	 * output, as the SDK sends it). */
	int (*upload)(struct local_job *L, struct sr_error *err);
	/* Downloading, before any host is laid out: what the hosts' inputs need (S3 data into
	 * the cache); -ECANCELED when a stop came between two objects. */
	int (*stage_inputs)(struct local_job *L, struct sr_error *err);
	/* Lay out one host: its tree and the kind's files in it, its inputs, its environment
	 * and argv (what only its backend adds is hosts/'s). */
	int (*host_prepare)(struct local_job *L, struct host *h, struct sr_error *err);
	/* Optional, once every host is laid out and before any runs (checkpoints restored);
	 * -ECANCELED on a stop. */
	int (*before_run)(struct local_job *L, struct sr_error *err);
	/* How many more attempts a failure of sagerun's own gets (RetryStrategy). */
	int (*retries)(const struct job *job);
	/* Optional, before a retry: what the next attempt resumes from (checkpoints saved). */
	int (*save_progress)(struct local_job *L, struct sr_error *err);
	/* After the hosts, whatever the outcome: the outputs exported (artifacts, checkpoints).
	 * Every part is tried; the first error is returned, the others said. */
	int (*export)(struct local_job *L, struct sr_error *err);
	/* Optional: what of the job a compose file cannot do (it has no step before or after
	 * the containers), as a warning; NULL when nothing. */
	const char *(*compose_lacks)(const struct job *job);
	/* Optional: the hosts are gone (an attempt ended, or the job): what the kind runs
	 * beside them (Pipe-mode feeders) stops and L->kind_state goes. */
	void (*hosts_gone)(struct local_job *L);
	/* Optional: the FailureReason of a host that exited with `wstatus`, in the service's
	 * words for the kind (malloc'd); without it, the supervisor's own. */
	char *(*failure_reason)(struct local_job *L, const struct host *h, int wstatus);
};

extern const struct launch_kind launch_kind_training;
extern const struct launch_kind launch_kind_processing;

struct local_job {
	struct job *job; /* the caller's; launch changes only what the hosts are to see */
	const struct launch_kind *kind; /* the job's */
	const struct launch_options *opts;
	const struct job_report *rep;
	struct job_status status;
	char *home;
	char *job_dir;
	char *describe_path;
	char *log_dir;
	struct host *hosts;
	size_t n_hosts;
	const struct host_backend *backend; /* borrowed from the table */
	struct host_options host_opts;	    /* opts->hosts, with the job's own image */
	struct host_group group;
	struct host_container container; /* container backends: what group.container points at */
	char *toolkit_binary;		 /* --toolkit builtin: the static sagerun (owned) */
	char agent_secret[65];		 /* the job's rsh agent secret, hex; never printed */
	size_t said;			 /* transitions already reported */
	struct store *store;		 /* the job is recorded there once inserted */
	bool recorded;
	int lease_fd;  /* our lease on the job folder (store.h), held until we exit */
	int detach_fd; /* -d, in the detached supervisor: its launcher's pipe until recorded */
	bool source_uploaded;
	bool usage; /* the error is the user's choice (launch_result.usage) */
	/* Room kept aside for the final record: a file of the job folder, NULL once given
	 * back (launch_reserve_take). */
	char *reserve_path;
	/* What the kind keeps beside the hosts while they run (training: its pipe feeders);
	 * the kind's hosts_gone frees it. */
	void *kind_state;
	/* The final record did not reach the store: record_err says why. */
	bool record_lost;
	struct sr_error record_err;
};

/* Zero `L` for `job`; launch_release undoes everything whatever step was reached. */
void launch_init(struct local_job *L, struct job *job, const struct launch_options *o,
		 const struct job_report *rep);
void launch_release(struct local_job *L);
/* The hosts and their group for the chosen backend, the job's status with them. */
void launch_hosts_init(struct local_job *L);

/* host_mpi.c: for a host that is no container, what a program's own `mpirun` needs to reach
 * the other hosts without sshd: OMPI_MCA_plm_rsh_agent naming sagerun's rsh client (when the
 * host serves an rsh agent) and, run as root, Open MPI's leave to run so; the job's
 * Environment wins over either. */
void launch_host_mpi_env(const struct local_job *L, const struct host *h, struct strv *env);

/* home.c: <home>/jobs/<name>, made with mkdir so two runs of one name cannot both win. */
int launch_job_dir_make(struct local_job *L, struct sr_error *err);

/* backend.c: the backend (--backend auto takes the first of the table that can make hosts
 * here, docker when --image is given), checked against the options and the job.  Errors are
 * usage errors (L->usage). */
int launch_backend_pick(struct local_job *L, struct sr_error *err);
/* Point the group at the container settings, filled for this job (its folder known). */
void launch_container_bind(struct local_job *L);

/* record.c: a file of the job folder holding the room the final record will need (a full
 * disk must not keep a job's end from the store), or an error naming the home when there is
 * no room to start; given back just before the final record. */
int launch_reserve_take(struct local_job *L, struct sr_error *err);
void launch_reserve_give(struct local_job *L);
/* Take the job folder's lease and insert the job in the store. */
int launch_record(struct local_job *L, struct sr_error *err);
/* Move the job's status and report it: the user's line, the store, describe.json; with the
 * kind's message for it, or with `msg`. */
void launch_status_to(struct local_job *L, enum job_state state, enum job_secondary sec);
void launch_set_status(struct local_job *L, enum job_state state, enum job_secondary sec,
		       const char *msg);
/* The status moved on: report it, record it, rewrite describe.json. */
void launch_status_changed(void *ctx, const struct job_status *st);
/* The supervisor's callback: an event of the hosts, named by the job's kind. */
void launch_hosts_event(void *ctx, enum job_event ev);

/* detach.c: -d.  In the launcher, 1 once the detached supervisor recorded the job, or its
 * error; in the supervisor, 0 (L->detach_fd set). */
int launch_detach(struct local_job *L, struct sr_error *err);
/* In the detached supervisor: stdio to the job folder, before the job is recorded. */
int launch_detach_stdio(struct local_job *L, struct sr_error *err);
/* In the detached supervisor: tell the launcher the job is recorded, or why it failed. */
void launch_detach_release(struct local_job *L, const struct sr_error *err);

/* attempt.c: one attempt, from staging to the supervisor's outcome; < 0 for a failure before
 * or around the hosts (the caller decides about retries); *start_error is a host that could
 * not be started. */
enum sup_outcome;
int launch_attempt(struct local_job *L, enum sup_outcome *outcome, bool *stopped, int *start_error,
		   struct sr_error *err);
/* Before a retry: every host gone, its tree laid out anew. */
int launch_hosts_reset(struct local_job *L, struct sr_error *err);
/* A Ctrl-C or SIGTERM that arrived while the stop signals are held (before the hosts
 * start). */
bool launch_stop_requested(void);
/* For a data/ function's `cancelled`: a stop was asked (launch_stop_requested). */
bool launch_stop_asked(void *ctx);
/* Where host `h`'s tree goes (<job>/hosts/algo-N; nothing is made yet). */
void launch_host_paths(struct local_job *L, struct host *h);
/* Each line of a data/ report said as the job's; the report is released. */
void launch_say_report(struct local_job *L, struct strv *report);

/* The training kind's parts (training.c): each host's tree (training_host.c), the
 * tarballs (training_package.c: model.tar.gz and output.tar.gz under <output>/<job>/output/
 * from every host, uploaded when the output is on S3; the status's model_artifacts says
 * where). */
int training_host_prepare(struct local_job *L, struct host *h, struct sr_error *err);
void training_pipes_stop(struct local_job *L);
int training_package(struct local_job *L, struct sr_error *err);

/* The processing kind's parts (processing.c): each host's tree (processing_host.c), the code
 * FrameworkProcessor ships (processing_code.c: sourcedir.tar.gz and runproc.sh made under
 * <job>/source and the two inputs pointed at them), and the folder host `index` gets for
 * input `i`. */
int processing_host_prepare(struct local_job *L, struct host *h, struct sr_error *err);
int processing_ship_code(struct local_job *L, struct sr_error *err);
char *processing_input_dir(const struct local_job *L, size_t i, size_t index);

/* home.c: a local output folder that sagerun can make (the deepest part of its path that
 * exists is a folder where a folder can be made), checked before the job is recorded;
 * `what` names it in the message ("output 'x'"). */
int launch_check_output_folder(const char *path, const char *what, const char *hint,
			       struct sr_error *err);

#endif
