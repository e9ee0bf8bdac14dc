/* engine.h - where a whole job runs, and how it is watched and controlled there.
 *
 * An engine runs a whole job somewhere and reports on it in the job's own terms; a host
 * backend (hosts/) makes one host on this machine.  `local` runs jobs on this machine through
 * launch/ (and only it has backends); the SageMaker service and Slurm come as engines of their
 * own, each a file here implementing this table.  Every job, wherever it runs, is recorded in
 * the store with its engine's name, so ps, describe, logs, stop, wait and rm find the engine
 * that answers for it.
 */
#ifndef SR_ENGINES_ENGINE_H
#define SR_ENGINES_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launch/launch.h"

struct job;
struct job_report;
struct sr_error;
struct store;
struct store_job_row;

struct engine_options {
	bool detach;		     /* -d: return once the job is submitted */
	struct launch_options local; /* the local engine's: its backend and host options */
	/* The sagemaker engine's (--image is local.hosts.image). */
	const char *role; /* --role: the execution role's ARN */
	bool dry_run;	  /* --dry-run: the request to stdout, nothing sent */
	bool download;	  /* --download: the outputs into the local output folder at the end */
};

/* What `sagerun logs` asks for. */
struct engine_logs_options {
	bool follow;	  /* -f: until the job ends */
	const char *host; /* only this host's lines (no prefix); NULL: all, merged */
	int64_t tail;	  /* only the last N lines of each host; -1: all */
	int64_t since_ms; /* only lines from this wall-clock time on; 0: all */
	bool timestamps;  /* each line starts with its time */
};

struct engine {
	const char *name;
	const char *summary;
	/* Start `job` (built and validated) and, unless o->detach, watch it to its end.  0 once
	 * it was submitted (res: its final state, or detached); < 0 when it could not start,
	 * with nothing of it left behind. */
	int (*submit)(struct job *job, const struct engine_options *o, const struct job_report *rep,
		      struct launch_result *res, struct sr_error *err);
	/* Block until the recorded job ends. */
	int (*watch)(const struct store_job_row *row, const struct job_report *rep,
		     struct sr_error *err);
	/* Ask the recorded job to stop (as Stop*Job): 1 when a stop was sent or is under way,
	 * 0 when the job had ended already. */
	int (*stop)(const struct store_job_row *row, const struct job_report *rep,
		    struct sr_error *err);
	/* The job's hosts' output on stdout. */
	int (*logs)(const struct store_job_row *row, const struct engine_logs_options *o,
		    struct sr_error *err);
	/* The job's status in its own terms: the Describe*Job response JSON (caller frees). */
	int (*status)(const struct store_job_row *row, const struct job_report *rep,
		      char **ret_json, struct sr_error *err);
	/* Forget an ended job here (its record, and what this machine holds of it); never
	 * anything the engine keeps elsewhere. */
	int (*remove)(struct store *s, const struct store_job_row *row,
		      const struct job_report *rep, struct sr_error *err);
	/* Optional: bring the record of a running job up to date from where it runs (ps). */
	int (*refresh)(struct store *s, const struct store_job_row *row,
		       const struct job_report *rep, struct sr_error *err);
};

/* NULL when unknown.  Known: "local", "sagemaker". */
const struct engine *engine_find(const char *name);
/* The i-th engine of the table, NULL past the end (for --engine's help). */
const struct engine *engine_at(size_t i);
/* The engine a recorded job runs on, with an error naming it when this sagerun lacks it. */
const struct engine *engine_of(const struct store_job_row *row, struct sr_error *err);

/* The store, with whatever every engine finds of its jobs that lost their watcher
 * (recovered, said through `rep`). */
int engine_store_open(struct store **ret, const struct job_report *rep, struct sr_error *err);
/* One recorded job's row (and describe JSON when ret_describe is not NULL) from a store
 * opened for it. */
int engine_job_get(const char *name, struct store_job_row *row, char **ret_describe,
		   const struct job_report *rep, struct sr_error *err);
/* A recorded job's row and the engine that answers for it; an error names a job that is not
 * recorded or an engine this sagerun lacks. */
int engine_job_open(const char *name, struct store_job_row *row, const struct engine **ret,
		    const struct job_report *rep, struct sr_error *err);
/* Every running job whose engine refreshes its record, refreshed; a failure is a warning
 * (ps shows what the store has). */
void engine_jobs_refresh(struct store *s, const struct job_report *rep);
/* Wait for the job to end and read its final row. */
int engine_job_wait(const char *name, struct store_job_row *final, const struct job_report *rep,
		    struct sr_error *err);

extern const struct engine engine_local;
extern const struct engine engine_sagemaker;

#endif
