/* sagemaker_upload.c - a job's local parts on their way to the service, which reads S3 only.
 *
 * Where each goes is the SageMaker SDK's choice where it has one, under its default bucket
 * sagemaker-<region>-<account> (the account is the execution role's: the SDK asks STS for the
 * caller's, which is the role's own in nearly every setup, and this way a dry run needs no
 * credentials):
 *   - script mode's code (training): s3://bucket/<job>/source/sourcedir.tar.gz;
 *   - FrameworkProcessor's code: s3://bucket/<job>/source/sourcedir.tar.gz and runproc.sh;
 *   - a processing input that is a file (ScriptProcessor's --code too):
 *     s3://bucket/<job>/input/<input>/<file>;
 *   - a local output: s3://bucket/ as S3OutputPath (training), s3://bucket/<job>/output/<name>
 *     (processing).
 * A local folder (a training channel, a processing input) has no place of the SDK's: it is
 * kept under s3://bucket/sagerun/inputs/<folder name>-<hash of its path>/ and synced there,
 * so the next job of the same folder sends only what changed.
 */
#include "engines/sagemaker_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/s3_artifacts.h"
#include "data/s3_sync.h"
#include "job/job.h"
#include "job/report.h"
#include "job/rules.h"
#include "launch/launch.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/xalloc.h"

void sm_plan_release(struct sm_plan *p)
{
	for (size_t i = 0; i < p->n_up; i++) {
		free(p->up[i].local);
		free(p->up[i].uri);
		free(p->up[i].what);
	}
	for (size_t i = 0; i < p->n_down; i++) {
		free(p->down[i].uri);
		free(p->down[i].local);
	}
	if (p->work_dir)
		(void)fs_rm_rf(p->work_dir, NULL);
	free(p->up);
	free(p->down);
	free(p->work_dir);
	free(p->region);
	free(p->account);
	free(p->bucket);
	memset(p, 0, sizeof(*p));
}

static void add_up(struct sm_plan *p, enum sm_upload_how how, const char *local, char *uri,
		   char *what)
{
	p->up = xrealloc(p->up, (p->n_up + 1) * sizeof(*p->up));
	p->up[p->n_up++] = (struct sm_upload){how, xstrdup(local), uri, what};
	p->bucket_used = true;
}

static void add_down(struct sm_plan *p, char *uri, char *local)
{
	p->down = xrealloc(p->down, (p->n_down + 1) * sizeof(*p->down));
	p->down[p->n_down++] = (struct sm_download){uri, local};
}

/* s3://bucket/sagerun/inputs/<name>-<12 hex of the path>/: one place per local folder. */
static char *folder_prefix(const struct sm_plan *p, const char *dir)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	_cleanup_free_ char *clean = xstrdup(*base ? base : "root");

	/* Keys stay readable: the folder's name in the SDK's job-name alphabet. */
	for (char *c = clean; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			*c = '-';
	sha256(dir, strlen(dir), d);
	sr_hex_encode(d, sizeof(d), hex);
	return xasprintf("s3://%s/sagerun/inputs/%s-%.12s/", p->bucket, clean, hex);
}

/* "arn:aws:iam::123456789012:role/x" -> its account; NULL when it is no role ARN. */
static char *role_account(const char *role)
{
	const char *p = role, *acct;

	if (strncmp(p, "arn:aws", 7))
		return NULL;
	p = strchr(p + 7, ':');
	if (!p || strncmp(p, ":iam::", 6))
		return NULL;
	acct = p + 6;
	if (strspn(acct, "0123456789") != 12 || strncmp(acct + 12, ":role/", 6) || !acct[18])
		return NULL;
	return xstrndup(acct, 12);
}

static int plan_role(struct job *job, const char *role, struct sm_plan *p, struct sr_error *err)
{
	const char *from = "--role";

	if (!role && job->role_arn) {
		role = job->role_arn;
		from = "the spec's RoleArn";
	}
	if (!role && getenv(SM_ROLE_ENV) && *getenv(SM_ROLE_ENV)) {
		role = getenv(SM_ROLE_ENV);
		from = SM_ROLE_ENV;
	}
	if (!role) {
		sr_err(err, -EINVAL, "the sagemaker engine needs an execution role for the job");
		return sr_err_hint(
		    err,
		    "give --role arn:aws:iam::ACCOUNT:role/NAME (a role SageMaker can "
		    "assume), RoleArn in the spec, or set %s",
		    SM_ROLE_ENV);
	}
	p->account = role_account(role);
	if (!p->account)
		return sr_err(err, -EINVAL,
			      "%s '%s': not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", from,
			      role);
	if (role != job->role_arn) {
		free(job->role_arn);
		job->role_arn = xstrdup(role);
	}
	return 0;
}

/* --image, else the spec's, else the framework's container as the SDK finds it. */
static int plan_image(struct job *job, const char *image, const char *region, struct sr_error *err)
{
	if (image) {
		free(job->image);
		job->image = xstrdup(image);
	}
	if (job->image)
		return 0;
	if (job->framework)
		return sm_dlc_image(job->framework, job->framework_version, region,
				    job->instance_type, &job->image, err);
	sr_err(err, -EINVAL, "the sagemaker engine runs images only, and the job names none");
	return sr_err_hint(err,
			   "give --image with an image in Amazon ECR "
			   "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG)%s, or %s in the spec",
			   job->kind == &job_kind_training ? ", --framework pytorch:VERSION" : "",
			   job->kind == &job_kind_training ? "AlgorithmSpecification.TrainingImage"
							   : "AppSpecification.ImageUri");
}

/* The SDK's default container_log_level, logging.INFO. */
#define SM_CONTAINER_LOG_LEVEL "20"

/* JSON-quoted, as the SDK sets sagemaker_submit_directory. */
static char *json_quoted(const char *s)
{
	_cleanup_json_ json_t *v = json_string(s);

	return v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
}

/* A --hp value as the SDK's framework estimators send it: each value json.dumps'd, so that
 * hyperparameters={"epochs": 2, "optimizer": "adam"} goes as "2" and "\"adam\"".  A value
 * that reads as JSON (2, 0.1, true, [1, 2], "adam" quoted) is one already; any other is the
 * string it is. */
static void encode_flag_hps(struct job_training *t)
{
	for (size_t i = 0; i < t->hp_flag_keys.n; i++) {
		const char *key = t->hp_flag_keys.v[i],
			   *value = job_map_get(&t->hyperparameters, key);
		_cleanup_json_ json_t *v = value ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;
		_cleanup_free_ char *q = NULL;

		if (!value || v)
			continue;
		q = json_quoted(value);
		if (q)
			job_map_set(&t->hyperparameters, key, q);
	}
}

/* Script mode's hyperparameters as the SDK's Framework._script_mode_hyperparam_update sets
 * them once the code is in S3, JSON-encoded like every other: the code's place, the entry
 * point (job_build's), the container's log level (logging.INFO unless given), the job's name
 * and the region.  The user's --hp values are encoded the same way. */
static void script_mode_hps(struct job *job, const struct sm_plan *p, const char *code_uri)
{
	struct job_training *t = &job->train;
	_cleanup_free_ char *q_uri = json_quoted(code_uri);
	_cleanup_free_ char *q_name = json_quoted(job->name);
	_cleanup_free_ char *q_region = json_quoted(p->region);

	encode_flag_hps(t);
	job_map_set(&t->hyperparameters, "sagemaker_submit_directory", q_uri);
	if (!job_map_get(&t->hyperparameters, "sagemaker_container_log_level"))
		job_map_set(&t->hyperparameters, "sagemaker_container_log_level",
			    SM_CONTAINER_LOG_LEVEL);
	job_map_set(&t->hyperparameters, "sagemaker_job_name", q_name);
	job_map_set(&t->hyperparameters, "sagemaker_region", q_region);
}

static int plan_training(struct job *job, bool download, struct sm_plan *p, struct sr_error *err)
{
	struct job_training *t = &job->train;
	const char *hp = job_map_get(&t->hyperparameters, "sagemaker_submit_directory");
	_cleanup_json_ json_t *v = hp ? json_loads(hp, JSON_DECODE_ANY, NULL) : NULL;
	const char *src = json_string_value(v);

	/* job_build made local code file:///absolute. */
	if (src && !strncmp(src, "file://", 7)) {
		char *uri = xasprintf("s3://%s/%s/source/sourcedir.tar.gz", p->bucket, job->name);

		add_up(p, SM_UP_SOURCEDIR, src + 7, xstrdup(uri), xstrdup("source"));
		script_mode_hps(job, p, uri);
		free(uri);
	}
	for (size_t i = 0; i < t->n_channels; i++) {
		struct job_channel *c = &t->channels[i];

		if (!c->local_path)
			continue;
		free(c->uri);
		c->uri = folder_prefix(p, c->local_path);
		add_up(p, SM_UP_SYNC, c->local_path, xstrdup(c->uri),
		       xasprintf("channel '%s'", c->name));
		free(c->local_path);
		c->local_path = NULL;
	}
	if (t->checkpoint_s3_uri && !job_uri_is_s3(t->checkpoint_s3_uri)) {
		sr_err(err, -EINVAL, "checkpoints '%s': the service saves checkpoints to S3 only",
		       t->checkpoint_s3_uri);
		return sr_err_hint(err, "give --checkpoints s3://BUCKET/PREFIX");
	}
	if (t->output_local || download) {
		_cleanup_free_ char *dflt = fs_abspath(JOB_DEFAULT_OUTPUT);
		const char *dir = t->output_local ? t->output_local : dflt;

		if (t->output_local) {
			/* The SDK's default output: the bucket itself. */
			free(t->output_path);
			t->output_path = xasprintf("s3://%s/", p->bucket);
			p->bucket_used = true;
		}
		if (download) {
			_cleanup_free_ char *base = xstrdup(t->output_path);
			size_t n = strlen(base);

			while (n && base[n - 1] == '/')
				base[--n] = '\0';
			add_down(p, xasprintf("%s/%s/output/", base, job->name),
				 xasprintf("%s/%s/output", dir, job->name));
		}
		free(t->output_local);
		t->output_local = NULL;
	}
	return 0;
}

static int plan_processing(struct job *job, bool download, struct sm_plan *p, struct sr_error *err)
{
	struct job_processing *pr = &job->proc;
	int r;

	if (pr->source_dir) {
		p->work_dir = xstrdup("/tmp/sagerun-code-XXXXXX");
		if (getenv("TMPDIR") && *getenv("TMPDIR")) {
			free(p->work_dir);
			p->work_dir = xasprintf("%s/sagerun-code-XXXXXX", getenv("TMPDIR"));
		}
		if (!mkdtemp(p->work_dir)) {
			r = sr_err_errno(err, errno, "make a folder for the code in '%s'",
					 p->work_dir);
			free(p->work_dir);
			p->work_dir = NULL;
			return r;
		}
		r = launch_processing_code(job, p->work_dir, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < pr->n_inputs; i++) {
		struct job_channel *c = &pr->inputs[i];
		const char *local = c->local_path ? c->local_path : c->uri;
		const char *base;
		char *uri;

		if (job_uri_is_s3(c->uri) || !local || local[0] != '/')
			continue;
		base = strrchr(local, '/') + 1;
		if (fs_is_dir(local)) {
			uri = folder_prefix(p, local);
			add_up(p, SM_UP_SYNC, local, xstrdup(uri),
			       xasprintf("input '%s'", c->name));
		} else if (pr->source_dir && (!strcmp(c->name, JOB_PROC_CODE_INPUT) ||
					      !strcmp(c->name, JOB_PROC_ENTRYPOINT_INPUT))) {
			uri = xasprintf("s3://%s/%s/source/%s", p->bucket, job->name, base);
			add_up(p, SM_UP_FILE, local, xstrdup(uri),
			       xasprintf("input '%s'", c->name));
		} else {
			uri = xasprintf("s3://%s/%s/input/%s/%s", p->bucket, job->name, c->name,
					base);
			add_up(p, SM_UP_FILE, local, xstrdup(uri),
			       xasprintf("input '%s'", c->name));
		}
		free(c->uri);
		c->uri = uri;
		free(c->local_path);
		c->local_path = NULL;
	}
	for (size_t i = 0; i < pr->n_outputs; i++) {
		struct job_proc_output *o = &pr->outputs[i];

		if (!o->local_path) {
			if (download)
				add_down(p, xasprintf("%s/", o->uri),
					 xasprintf("%s/%s/output/%s", JOB_DEFAULT_OUTPUT, job->name,
						   o->name));
			continue;
		}
		free(o->uri);
		o->uri = xasprintf("s3://%s/%s/output/%s", p->bucket, job->name, o->name);
		p->bucket_used = true;
		if (download)
			add_down(p, xasprintf("%s/", o->uri), xstrdup(o->local_path));
		free(o->local_path);
		o->local_path = NULL;
	}
	return 0;
}

int sm_plan_make(struct job *job, const char *role, const char *image, bool download,
		 struct sm_plan *p, const struct job_report *rep, struct sr_error *err)
{
	struct s3_config cfg;
	int r;

	(void)rep;
	memset(p, 0, sizeof(*p));
	r = s3_config_load_for(&cfg, "AWS_ENDPOINT_URL_SAGEMAKER", err);
	if (r < 0)
		return r;
	p->region = xstrdup(cfg.region);
	s3_config_release(&cfg);
	r = plan_role(job, role, p, err);
	if (r >= 0)
		r = plan_image(job, image, p->region, err);
	if (r < 0)
		return r;
	p->bucket = xasprintf("sagemaker-%s-%s", p->region, p->account);
	return job->kind == &job_kind_training ? plan_training(job, download, p, err)
					       : plan_processing(job, download, p, err);
}

/* The session bucket, made when missing (as the SDK's default_bucket()). */
static int bucket_ensure(struct s3_client *c, const struct sm_plan *p, const struct job_report *rep,
			 const char *job_name, struct sr_error *err)
{
	int r = s3_bucket_exists(c, p->bucket, err);

	if (r != 0)
		return r < 0 ? r : 0;
	job_say(rep, JOB_SAY_NOTE, job_name, "creating the bucket s3://%s", p->bucket);
	return s3_bucket_create(c, p->bucket, p->region, err);
}

static int upload_one(struct s3_client *c, const struct sm_plan *p, const struct sm_upload *u,
		      const struct job_report *rep, const char *job_name, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *key = NULL;
	struct s3_sync_opts o = {.changed_only = true, .delete_extra = true};
	struct s3_sync_stats st = {0};
	int r;

	switch (u->how) {
	case SM_UP_SOURCEDIR: {
		_cleanup_free_ char *uri = NULL;
		_cleanup_free_ char *work =
		    xasprintf("%s/sagerun-src-XXXXXX",
			      getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		_cleanup_free_ char *out = xasprintf("s3://%s", p->bucket);

		if (!mkdtemp(work))
			return sr_err_errno(err, errno, "make a folder in '%s'", work);
		r = s3_sourcedir_upload(out, job_name, u->local, work, &uri, err);
		(void)fs_rm_rf(work, NULL);
		if (r >= 0)
			job_say(rep, JOB_SAY_INFO, job_name, "source: %s", uri);
		return r;
	}
	case SM_UP_FILE:
		r = s3_uri_parse(u->uri, &bucket, &key, err);
		if (r >= 0)
			r = s3_put_file(c, bucket, key, u->local, err);
		if (r >= 0)
			job_say(rep, JOB_SAY_INFO, job_name, "%s: %s", u->what, u->uri);
		return r < 0 ? sr_err_wrap(err, "%s", u->what) : r;
	case SM_UP_SYNC:
		r = s3_sync_up(c, u->local, u->uri, &o, &st, err);
		if (r >= 0)
			job_say(rep, JOB_SAY_INFO, job_name, "%s: %s (%zu of %zu files sent)",
				u->what, u->uri, st.copied, st.files);
		return r < 0 ? sr_err_wrap(err, "%s", u->what) : r;
	}
	return 0;
}

int sm_plan_upload(const struct sm_plan *p, const struct job_report *rep, const char *job_name,
		   struct sr_error *err)
{
	struct s3_client *c = NULL;
	int r;

	if (!p->bucket_used && !p->n_up)
		return 0;
	r = s3_client_new(&c, err);
	if (r >= 0)
		r = bucket_ensure(c, p, rep, job_name, err);
	for (size_t i = 0; r >= 0 && i < p->n_up; i++)
		r = upload_one(c, p, &p->up[i], rep, job_name, err);
	s3_client_free(c);
	return r;
}

int sm_plan_download(const struct sm_plan *p, const struct job_report *rep, const char *job_name,
		     struct sr_error *err)
{
	struct s3_client *c = NULL;
	int r = p->n_down ? s3_client_new(&c, err) : 0;

	for (size_t i = 0; r >= 0 && i < p->n_down; i++) {
		struct s3_sync_opts o = {0};
		struct s3_sync_stats st = {0};

		r = fs_mkdir_p(p->down[i].local, 0755, err);
		if (r >= 0)
			r = s3_sync_down(c, p->down[i].uri, p->down[i].local, &o, &st, err);
		if (r >= 0)
			job_say(rep, JOB_SAY_INFO, job_name, "downloaded %s to %s (%zu files)",
				p->down[i].uri, p->down[i].local, st.copied);
	}
	s3_client_free(c);
	return r;
}
