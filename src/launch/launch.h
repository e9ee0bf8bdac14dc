/* launch.h - one job on this machine, from a built struct job to its final status.
 *
 *   launch_run()      the job folder and home, the record in the store, -d, the backend
 *                     chosen from the table's capabilities, every host laid out (contract
 *                     files of the job's kind, channels, code, environment), attempts and
 *                     retries under the supervisor, checkpoints and packaging, the final state
 *   launch_compose()  the same hosts laid out, written as a docker-compose.yml instead
 *   launch_store_open()  the store, with the jobs of a lost supervisor recovered and what their
 *                     hosts left behind removed by their backend
 *
 * Nothing here prints: errors come back as sr_errors, everything else through the job_report
 * callbacks (job/report.h).  This is the only layer (with engines/) that knows both a job's
 * kind and a host backend.
 */
#ifndef SR_LAUNCH_LAUNCH_H
#define SR_LAUNCH_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "hosts/hosts.h"
#include "job/status.h"

struct job;
struct job_report;
struct sr_error;
struct store;
struct strv;

struct launch_options {
	const char *backend;	   /* "auto" (NULL too) or a backend's name */
	struct host_options hosts; /* network, image and container settings */
	bool detach;		   /* -d: return once the job is recorded; it runs on, detached */
	bool color;		   /* colour the hosts' "algo-N | " prefixes */
};

struct launch_result {
	enum job_state state; /* the final state, when the job ran to its end */
	bool detached;	      /* -d: recorded and running on in the background */
	/* The error came from what the user asked (a taken name, a backend that cannot run
	 * here, an option the backend refuses), not from running the job: exit status 2. */
	bool usage;
	/* This process was the detached supervisor of a job that could not start: its
	 * launcher got the error and reports it; nothing more is to be said here. */
	bool quiet;
	/* --dry-run (an engine that submits jobs elsewhere): the request that would have been
	 * sent, for stdout; nothing was sent, nothing recorded.  Caller frees. */
	char *request;
};

/* Run `job` (built and validated) to its end, or until it is recorded with -d.  0 once the job
 * was recorded: res->state is final, or res->detached.  < 0 when it could not start; nothing
 * of it is left behind then (folder, record, hosts). */
int launch_run(struct job *job, const struct launch_options *o, const struct job_report *rep,
	       struct launch_result *res, struct sr_error *err);

/* `sagerun compose`: lay out the job's hosts under <folder of out>/sagerun-<job>/ and write
 * the compose file `out` (absolute).  Credentials written by name only go to `by_name`. */
int launch_compose(struct job *job, const struct launch_options *o, const char *out,
		   const struct job_report *rep, struct strv *by_name, struct launch_result *res,
		   struct sr_error *err);

/* Open the job store under the home folder; every job whose supervisor died is marked Failed
 * and whatever its hosts left (processes, containers) is removed by its backend; each such
 * job is said through `rep`. */
int launch_store_open(struct store **ret, const struct job_report *rep, struct sr_error *err);

/* Remove an ended job: its record and folder, then what its backend may still hold of it (a
 * Docker engine that was down when its supervisor died). */
int launch_job_remove(struct store *s, const char *name, const struct job_report *rep,
		      struct sr_error *err);

/* A processing job's FrameworkProcessor code (--source-dir), made as the SDK makes it:
 * sourcedir.tar.gz and runproc.sh in `dir`, and the inputs "code" and "entrypoint" pointed
 * at them.  Nothing to do (0) without a source folder.  The local engine ships them to its
 * hosts as inputs, the sagemaker engine uploads them. */
int launch_processing_code(struct job *job, const char *dir, struct sr_error *err);

/* The host backends, in the order `--backend auto` tries them: the i-th's name (and its
 * summary, for help), NULL past the end; and whether `name` is one ("auto" is). */
const char *launch_backend_name(size_t i, const char **ret_summary);
bool launch_backend_known(const char *name);

/* $SAGERUN_HOME, else $XDG_DATA_HOME/sagerun, else ~/.local/share/sagerun (caller frees). */
char *launch_home_dir(void);

#endif
