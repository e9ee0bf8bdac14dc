/* training_package.c - a training job's tarballs: model.tar.gz and output.tar.gz from every host's
 * tree, packed side by side, then uploaded when the job's output is on S3. */
#include "launch/internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "data/artifacts.h"
#include "data/s3_artifacts.h"
#include "job/job.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Pack <opt_ml>/<sub> of every host that has a tree into `dest`. */
static int pack_hosts(const struct local_job *L, const char *sub, const char *dest,
		      struct strv *warnings, struct sr_error *err)
{
	struct strv roots = STRV_INIT;
	int r;

	/* A host that could not be prepared has no tree: nothing of it to pack. */
	for (size_t i = 0; i < L->n_hosts; i++)
		if (L->hosts[i].opt_ml)
			strv_pushf(&roots, "%s/%s", L->hosts[i].opt_ml, sub);
	r = artifacts_pack((const char *const *)roots.v, roots.n, dest, warnings, err);
	strv_release(&roots);
	return r;
}

struct pack_task {
	const struct local_job *L;
	const char *sub, *dest;
	struct strv warnings;
	struct sr_error err;
	int r;
};

static void *pack_task_main(void *arg)
{
	struct pack_task *t = arg;

	t->r = pack_hosts(t->L, t->sub, t->dest, &t->warnings, &t->err);
	return NULL;
}

/* Both tarballs at once, model.tar.gz in a thread of its own: each is read, compressed and
 * synced to disk on its own, so a big model and a big output take the time of the larger.  Warnings
 * come model's first, and so does the error when both fail; without a thread, one after the other.
 */
static int pack_both(const struct local_job *L, const char *model, const char *output,
		     struct strv *warnings, struct sr_error *err)
{
	struct pack_task t = {.L = L, .sub = "model", .dest = model, .warnings = STRV_INIT};
	struct sr_error oerr = {0};
	sigset_t all, old;
	pthread_t tid;
	bool threaded;
	int r;

	/* The thread takes no signal: those are for the supervisor's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	threaded = pthread_create(&tid, NULL, pack_task_main, &t) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!threaded)
		pack_task_main(&t);
	r = pack_hosts(L, "output/data", output, warnings, &oerr);
	if (threaded)
		pthread_join(tid, NULL);
	for (size_t i = 0; i < warnings->n; i++)
		strv_push(&t.warnings, warnings->v[i]);
	strv_release(warnings);
	*warnings = t.warnings;
	if (t.r < 0 || r < 0) {
		if (err)
			*err = t.r < 0 ? t.err : oerr;
		return t.r < 0 ? t.r : r;
	}
	return 0;
}

int training_package(struct local_job *L, struct sr_error *err)
{
	const struct job *job = L->job;
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *model = NULL;
	_cleanup_free_ char *output = NULL;
	struct strv warnings = STRV_INIT;
	int r;

	/* An S3 output: packed into the job folder first, then uploaded. */
	dir = job->train.output_local
		  ? xasprintf("%s/%s/output", job->train.output_local, job->name)
		  : xasprintf("%s/output", L->job_dir);
	model = xasprintf("%s/model.tar.gz", dir);
	output = xasprintf("%s/output.tar.gz", dir);
	r = fs_mkdir_p(dir, 0755, err);
	if (r >= 0)
		r = pack_both(L, model, output, &warnings, err);
	for (size_t i = 0; i < warnings.n; i++)
		job_say(L->rep, JOB_SAY_WARNING, NULL, "%s", warnings.v[i]);
	strv_release(&warnings);
	if (r >= 0 && !job->train.output_local) {
		char *uri = NULL;

		r = s3_artifacts_upload(job->train.output_path, job->name, model, output, &uri,
					err);
		free(model);
		model = uri;
	}
	if (r >= 0) {
		free(L->status.model_artifacts);
		L->status.model_artifacts = TAKE_PTR(model);
	}
	return r;
}
