/* home.c - where local jobs live: the home folder ($SAGERUN_HOME), each job's folder under
 * jobs/, and the store, opened with the jobs of a lost supervisor recovered. */
#include "launch/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "job/job.h"
#include "job/report.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

char *launch_home_dir(void)
{
	const char *home = getenv("SAGERUN_HOME");
	const char *xdg = getenv("XDG_DATA_HOME");

	if (home && *home)
		return fs_abspath(home);
	if (xdg && *xdg)
		return xasprintf("%s/sagerun", xdg);
	home = getenv("HOME");
	return xasprintf("%s/.local/share/sagerun", home && *home ? home : "/root");
}

int launch_job_dir_make(struct local_job *L, struct sr_error *err)
{
	_cleanup_free_ char *jobs_dir = xasprintf("%s/jobs", L->home);
	char *dir = xasprintf("%s/%s", jobs_dir, L->job->name);
	/* The home first, private (store.c says why), before anything is made in it. */
	int r = fs_mkdir_private(L->home, err);

	if (r >= 0)
		r = fs_mkdir_p(jobs_dir, 0755, err);

	if (r >= 0 && mkdir(dir, 0755) < 0) {
		if (errno == EEXIST) {
			L->usage = true;
			r = sr_err(err, -EEXIST, "a job named '%s' already exists (%s)",
				   L->job->name, dir);
			sr_err_hint(err, "choose another --name, or remove the job: sagerun rm %s",
				    L->job->name);
		} else {
			r = sr_err_errno(err, errno, "create job folder '%s'", dir);
		}
	}
	if (r < 0) {
		free(dir);
		return r;
	}
	L->job_dir = dir;
	return 0;
}

/* Whatever the hosts of a job may have left (a lost supervisor's, or kept by an engine that
 * was down), removed by the backend that ran them; what it could not remove is said. */
static void leftovers_cleanup(const char *backend, const char *dir, const char *name,
			      const struct job_report *rep)
{
	struct strv warnings = STRV_INIT;

	host_leftovers_cleanup(backend, dir, &warnings);
	for (size_t i = 0; i < warnings.n; i++)
		job_say(rep, JOB_SAY_WARNING, name, "%s", warnings.v[i]);
	strv_release(&warnings);
}

int launch_store_open(struct store **ret, const struct job_report *rep, struct sr_error *err)
{
	_cleanup_free_ char *home = launch_home_dir();
	struct store_job_row *lost = NULL;
	struct sr_error rerr = {0};
	size_t n = 0;
	int r = store_open(home, ret, err);

	if (r < 0)
		return r;
	/* Recovery is every command's chore, never a reason to refuse its own work. */
	if (store_recover(*ret, &lost, &n, &rerr) < 0)
		job_say(rep, JOB_SAY_WARNING, NULL, "recovering lost jobs: %s", rerr.msg);
	for (size_t i = 0; i < n; i++) {
		/* Marked lost, or its end found in its describe.json (store_recover): each said as
		 * what it is, since a job that ended did not lose its supervisor. */
		if (lost[i].failure_reason && !strcmp(lost[i].failure_reason, STORE_LOST_REASON))
			job_say(rep, JOB_SAY_NOTE, NULL,
				"job '%s' lost its supervisor; marked Failed (%s)", lost[i].name,
				STORE_LOST_REASON);
		else
			job_say(rep, JOB_SAY_NOTE, NULL,
				"job '%s' ended %s; recorded from its describe.json", lost[i].name,
				lost[i].status);
		leftovers_cleanup(lost[i].backend, lost[i].folder, lost[i].name, rep);
		store_job_row_release(&lost[i]);
	}
	free(lost);
	return 0;
}

int launch_job_remove(struct store *s, const char *name, const struct job_report *rep,
		      struct sr_error *err)
{
	struct store_job_row row = {0};
	/* No record: a folder whose supervisor died before recording it, which store_job_remove
	 * frees too; its hosts never started. */
	bool recorded = store_job_get(s, name, &row, NULL, NULL) >= 0;
	int r = store_job_remove(s, name, err);

	/* A job whose leftovers an engine that was down kept until now. */
	if (r >= 0 && recorded)
		leftovers_cleanup(row.backend, row.folder, name, rep);
	store_job_row_release(&row);
	return r;
}

/* A folder is made and removed in the deepest part of the path that exists, so nothing of
 * the check stays. */
int launch_check_output_folder(const char *path, const char *what, const char *hint,
			       struct sr_error *err)
{
	_cleanup_free_ char *at = xstrdup(path);
	_cleanup_free_ char *probe = NULL;
	char *slash;

	while (!fs_exists(at) && (slash = strrchr(at, '/')) && slash != at)
		*slash = '\0';
	if (!fs_is_dir(at))
		return sr_err(err, -ENOTDIR, "%s: '%s' is not a folder", what, at);
	probe = xasprintf("%s/.sagerun-check-XXXXXX", at);
	if (!mkdtemp(probe)) {
		sr_err_errno(err, errno, "%s: cannot make a folder in '%s'", what, at);
		return sr_err_hint(err, "%s", hint);
	}
	(void)rmdir(probe);
	return 0;
}
