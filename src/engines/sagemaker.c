/* sagemaker.c - the sagemaker engine: the job runs on Amazon SageMaker itself, submitted with
 * Create<Kind>Job from the same struct job the local engine runs, watched with
 * Describe<Kind>Job, stopped with Stop<Kind>Job, its logs read from CloudWatch Logs (the JSON
 * 1.1 protocol on the S3 client's transport: s3/awsjson.h).  No Python, no SDK.
 *
 * Every job is recorded in the store like a local one (engine "sagemaker"), with a folder of
 * its own in the home holding the request sent (request.json) and the last Describe answer
 * (describe.json); the record is the service's own answer, refreshed whenever a command asks
 * (ps, describe, wait, logs -f).  Nothing watches a job submitted with -d: it runs on where it
 * runs, and its record is as old as the last command that asked.
 */
#include "engines/engine.h"
#include "engines/internal.h"
#include "engines/sagemaker_internal.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "job/job.h"
#include "job/kind.h"
#include "job/report.h"
#include "s3/awsjson.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/secret.h"
#include "util/xalloc.h"

/* The local engine's options make no sense here: said, not ignored. */
static int check_local_options(const struct engine_options *o, struct sr_error *err)
{
	const struct host_options *h = &o->local.hosts;
	const char *flag = o->local.backend && strcmp(o->local.backend, "auto") ? "--backend"
			   : h->network_host					? "--network"
			   : h->subnet						? "--subnet"
			   : h->toolkit_builtin					? "--toolkit"
			   : h->gpus						? "--gpus-per-host"
			   : h->shm_bytes					? "--shm-size"
			   : h->privileged					? "--privileged"
			   : h->keep_layers					? "--keep-layers"
										: NULL;

	if (!flag)
		return 0;
	sr_err(err, -EINVAL,
	       "%s: the local engine's option; the sagemaker engine runs the job on "
	       "the service's instances",
	       flag);
	return sr_err_hint(err, "the instances are --instance-type and --hosts");
}

/* The request as shown and kept: credentials' values redacted, as describe shows them. */
static char *request_text(json_t *req)
{
	_cleanup_json_ json_t *copy = json_deep_copy(req);
	json_t *env = json_object_get(copy, "Environment"), *v;
	const char *k;

	json_object_foreach (env, k, v) {
		if (sr_name_is_credential(k))
			json_object_set_new(env, k, json_string("(redacted)"));
	}
	return json_dumps(copy, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
}

static void say_plan(const struct sm_plan *p, const struct job_report *rep, const char *name)
{
	for (size_t i = 0; i < p->n_up; i++)
		job_say(rep, JOB_SAY_NOTE, name, "would send %s '%s' to %s", p->up[i].what,
			p->up[i].local, p->up[i].uri);
}

/* The job's folder in the home (its request and last answer) and its record, before anything
 * is sent: a name taken here is refused before the service sees it. */
static int record(struct job *job, struct store **ret_s, char **ret_dir,
		  const struct job_report *rep, struct sr_error *err)
{
	_cleanup_free_ char *home = launch_home_dir();
	_cleanup_free_ char *jobs = xasprintf("%s/jobs", home);
	char *dir = xasprintf("%s/%s", jobs, job->name);
	struct store_job_rec rec = {
	    .name = job->name, .engine = "sagemaker", .backend = "", .folder = dir};
	struct job_status st;
	int r = fs_mkdir_private(home, err);

	if (r >= 0)
		r = fs_mkdir_p(jobs, 0755, err);
	if (r >= 0 && mkdir(dir, 0755) < 0) {
		r = errno == EEXIST ? sr_err(err, -EEXIST, "a job named '%s' already exists (%s)",
					     job->name, dir)
				    : sr_err_errno(err, errno, "create job folder '%s'", dir);
		if (r == -EEXIST)
			sr_err_hint(err, "choose another --name, or remove the job: sagerun rm %s",
				    job->name);
		free(dir);
		return r;
	}
	if (r < 0) {
		free(dir);
		return r;
	}
	job_status_init(&st, job->kind, (size_t)job->instance_count, clock_wall_ms());
	r = engine_store_open(ret_s, rep, err);
	if (r >= 0)
		r = store_job_insert(*ret_s, &rec, job, &st, err);
	job_status_release(&st);
	if (r < 0) {
		(void)fs_rm_rf(dir, NULL);
		free(dir);
		store_close(*ret_s);
		*ret_s = NULL;
		return r;
	}
	*ret_dir = dir;
	return 0;
}

/* A job that never reached the service leaves nothing here either. */
static void unrecord(struct store *s, const char *name, const char *dir)
{
	/* Ended first: the store removes no running job. */
	struct store_remote_status u = {.status = "Failed", .describe = "{}"};

	if (s && store_job_set_remote(s, name, &u, NULL) >= 0)
		(void)store_job_remove(s, name, NULL);
	if (dir)
		(void)fs_rm_rf(dir, NULL);
}

/* Send the request; the service's ARN becomes the job's. */
static int create(struct aws_json_client *sm, struct job *job, json_t *req, struct sr_error *err)
{
	_cleanup_free_ char *op = xasprintf("Create%s", job->kind->api);
	_cleanup_free_ char *field = xasprintf("%sArn", job->kind->api);
	json_t *ans = NULL;
	const char *arn;
	int r = aws_json_call(sm, op, req, &ans, err);

	if (r < 0)
		return r;
	arn = json_string_value(json_object_get(ans, field));
	if (arn) {
		free(job->arn);
		job->arn = xstrdup(arn);
	}
	json_decref(ans);
	return 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *withnl = xasprintf("%s\n", text);

	(void)fs_write_atomic(path, withnl, strlen(withnl), 0600, NULL);
}

static int sm_submit(struct job *job, const struct engine_options *o, const struct job_report *rep,
		     struct launch_result *res, struct sr_error *err)
{
	struct sm_plan plan;
	struct aws_json_client *sm = NULL;
	struct store *s = NULL;
	_cleanup_json_ json_t *req = NULL;
	_cleanup_free_ char *dir = NULL, *shown = NULL;
	struct sm_watch_result w;
	int r;

	memset(res, 0, sizeof(*res));
	r = check_local_options(o, err);
	if (r >= 0)
		r = sm_plan_make(job, o->role, o->local.hosts.image, o->download, &plan, rep, err);
	else
		memset(&plan, 0, sizeof(plan));
	if (r >= 0 && !(req = sm_request_json(job, err)))
		r = -ENOMEM;
	if (r < 0) {
		res->usage = r == -EINVAL;
		sm_plan_release(&plan);
		return r;
	}
	shown = request_text(req);
	if (o->dry_run) {
		say_plan(&plan, rep, job->name);
		res->request = TAKE_PTR(shown);
		sm_plan_release(&plan);
		return 0;
	}
	r = aws_json_client_new(&aws_sagemaker, &sm, err);
	if (r >= 0)
		r = record(job, &s, &dir, rep, err);
	if (r == -EEXIST)
		res->usage = true;
	if (r >= 0)
		r = sm_plan_upload(&plan, rep, job->name, err);
	if (r >= 0) {
		r = create(sm, job, req, err);
		/* The service found the request wrong: the user's to change. */
		if (r == -EINVAL || r == -EEXIST)
			res->usage = true;
	}
	if (r < 0) {
		unrecord(s, job->name, dir);
		goto out;
	}
	write_file(dir, "request.json", shown);
	job_say(rep, JOB_SAY_INFO, job->name, "submitted to SageMaker: %s", job->arn);
	if (o->detach) {
		res->detached = true;
		goto out;
	}
	r = sm_watch(sm, job, true, true, rep, &w, err);
	if (r < 0)
		goto out;
	res->state = w.left_running ? JOB_STOPPED : w.state;
	if (w.state == JOB_COMPLETED && plan.n_down) {
		struct sr_error derr = {0};

		if (sm_plan_download(&plan, rep, job->name, &derr) < 0)
			job_say_error(rep, JOB_SAY_ERROR, job->name, &derr);
	}
out:
	store_close(s);
	aws_json_client_free(sm);
	sm_plan_release(&plan);
	return r;
}

/* The service's answer for a recorded job, recorded and kept in its folder. */
static int refresh(struct store *s, const struct store_job_row *row, json_t **ret,
		   struct sr_error *err)
{
	const struct job_kind *kind = job_kind_find(row->type);
	struct aws_json_client *sm = NULL;
	_cleanup_json_ json_t *req = NULL;
	_cleanup_free_ char *op = NULL, *text = NULL;
	json_t *d = NULL;
	int r;

	if (!kind)
		return sr_err(err, -EINVAL, "job '%s': unknown type '%s'", row->name, row->type);
	req = sm_name_request(kind, row->name);
	op = xasprintf("Describe%s", kind->api);
	r = aws_json_client_new(&aws_sagemaker, &sm, err);
	if (r >= 0)
		r = aws_json_call(sm, op, req, &d, err);
	aws_json_client_free(sm);
	if (r >= 0)
		r = sm_record(s, row->name, kind, d, err);
	if (r >= 0 && (text = json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER)) &&
	    fs_is_dir(row->folder))
		write_file(row->folder, "describe.json", text);
	if (r >= 0 && ret)
		*ret = json_incref(d);
	json_decref(d);
	return r;
}

static bool running(const char *status)
{
	return !strcmp(status, "InProgress") || !strcmp(status, "Stopping");
}

static int sm_refresh(struct store *s, const struct store_job_row *row,
		      const struct job_report *rep, struct sr_error *err)
{
	(void)rep;
	return refresh(s, row, NULL, err);
}

/* Until the service says it ended, recorded at every answer. */
static int sm_watch_row(const struct store_job_row *row, const struct job_report *rep,
			struct sr_error *err)
{
	struct store *s = NULL;
	int delay = 250, r = engine_store_open(&s, rep, err);

	while (r >= 0) {
		json_t *d = NULL;
		struct job_status st;
		bool ended;

		r = refresh(s, row, &d, err);
		if (r < 0)
			break;
		sm_describe_status(job_kind_find(row->type), d, &st);
		ended =
		    st.state == JOB_COMPLETED || st.state == JOB_FAILED || st.state == JOB_STOPPED;
		job_status_release(&st);
		json_decref(d);
		if (ended)
			break;
		(void)poll(NULL, 0, delay);
		delay = delay * 2 > 5000 ? 5000 : delay * 2;
	}
	store_close(s);
	return r;
}

static int sm_stop(const struct store_job_row *row, const struct job_report *rep,
		   struct sr_error *err)
{
	const struct job_kind *kind = job_kind_find(row->type);
	_cleanup_json_ json_t *req = NULL;
	_cleanup_free_ char *op = NULL;
	struct aws_json_client *sm = NULL;
	json_t *ans = NULL;
	int r;

	if (!kind)
		return sr_err(err, -EINVAL, "job '%s': unknown type '%s'", row->name, row->type);
	if (!strcmp(row->status, "Stopping"))
		return 1;
	if (!running(row->status)) {
		job_say(rep, JOB_SAY_INFO, row->name, "already ended: %s", row->status);
		return 0;
	}
	req = sm_name_request(kind, row->name);
	op = xasprintf("Stop%s", kind->api);
	r = aws_json_client_new(&aws_sagemaker, &sm, err);
	if (r >= 0)
		r = aws_json_call(sm, op, req, &ans, err);
	json_decref(ans);
	aws_json_client_free(sm);
	/* ValidationException: it ended since it was recorded; the wait reads how. */
	if (r == -EINVAL) {
		sr_err_clear(err);
		return 1;
	}
	if (r < 0)
		return r;
	job_say(rep, JOB_SAY_INFO, row->name, "Stopping");
	return 1;
}

/* The service's own Describe answer; the recorded one when the service cannot be asked. */
static int sm_status(const struct store_job_row *row, const struct job_report *rep, char **ret_json,
		     struct sr_error *err)
{
	struct store *s = NULL;
	json_t *d = NULL;
	struct sr_error rerr = {0};
	int r = engine_store_open(&s, rep, err);

	if (r < 0)
		return r;
	if (refresh(s, row, &d, &rerr) < 0) {
		job_say_error(rep, JOB_SAY_WARNING, row->name, &rerr);
		job_say(rep, JOB_SAY_WARNING, row->name, "showing the state recorded last");
		r = store_job_get(s, row->name, NULL, ret_json, err);
	} else {
		*ret_json = json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		json_decref(d);
	}
	store_close(s);
	return r;
}

/* Forgotten here; the job, its logs and its outputs stay on AWS. */
static int sm_remove(struct store *s, const struct store_job_row *row, const struct job_report *rep,
		     struct sr_error *err)
{
	(void)rep;
	return store_job_remove(s, row->name, err);
}

const struct engine engine_sagemaker = {
    .name = "sagemaker",
    .summary = "Amazon SageMaker itself: the job on the service's instances, from an image\n"
	       "in ECR, its code and local data sent to S3 first",
    .submit = sm_submit,
    .watch = sm_watch_row,
    .stop = sm_stop,
    .logs = sm_logs_cmd,
    .status = sm_status,
    .remove = sm_remove,
    .refresh = sm_refresh,
};
