/* build.c - one job from --spec and the flags: merge, defaults, local paths, checks.
 *
 * Order: the spec (checked value by value by spec.c), then each flag over it, field by field
 * (checked here, messages naming the flag), then defaults, then local paths, then
 * job_validate() on the result.  Errors found after merging still name their source: an item
 * from the spec points at its place in the file, one from a flag names the flag.
 *
 * This file holds what every kind's flags do and job_build(); each kind's own flags are in
 * <kind>_build.c (build_internal.h).
 */
#include "job/build_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "job/kind.h"
#include "job/rules.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Flag arguments longer than this are shortened in messages. */
#define ARG_SHOWN 60

void job_flags_init(struct job_flags *f)
{
	memset(f, 0, sizeof(*f));
	f->hosts = -1;
	f->max_run_s = -1;
	f->stop_grace_s = -1;
}

void job_flags_release(struct job_flags *f)
{
	strv_release(&f->hps);
	strv_release(&f->channels);
	strv_release(&f->envs);
	strv_release(&f->inputs);
	strv_release(&f->outputs);
}

static int vfail_flag(struct build *b, const char *flag, const char *arg, const char *fmt,
		      va_list ap)
{
	_cleanup_free_ char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (!arg)
		return sr_err(b->err, -EINVAL, "%s: %s", flag, msg ? msg : fmt);
	if (strlen(arg) > ARG_SHOWN)
		return sr_err(b->err, -EINVAL, "%s '%.*s...': %s", flag, ARG_SHOWN - 3, arg,
			      msg ? msg : fmt);
	return sr_err(b->err, -EINVAL, "%s '%s': %s", flag, arg, msg ? msg : fmt);
}

static int vfail_path(struct build *b, const struct jsonpos_path *path, enum jsonpos_what what,
		      const char *fmt, va_list ap)
{
	_cleanup_free_ char *where = jsonpos_where(b->text, b->len, b->job->spec_path, path, what);
	_cleanup_free_ char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	return sr_err(b->err, -EINVAL, "%s: %s", where, msg ? msg : fmt);
}

int build_fail_flag(struct build *b, const char *flag, const char *arg, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_flag(b, flag, arg, fmt, ap);
	va_end(ap);
	return r;
}

int build_fail_path(struct build *b, const struct jsonpos_path *path, enum jsonpos_what what,
		    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_path(b, path, what, fmt, ap);
	va_end(ap);
	return r;
}

int build_fail_item(struct build *b, const struct build_origin *o, const char *flag,
		    const struct jsonpos_path *path, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = o->spec_index < 0 ? vfail_flag(b, flag, o->flag_arg, fmt, ap)
			      : vfail_path(b, path, JSONPOS_VALUE, fmt, ap);
	va_end(ap);
	return r;
}

int build_load_spec(struct build *b)
{
	const char *path = b->flags->spec_path;
	size_t len = 0;
	int r;

	r = fs_read_file(path, JOB_SPEC_MAX_BYTES, &b->text, &len, b->err);
	if (r == -EFBIG)
		return sr_err(b->err, r, "--spec '%s': larger than 1 MiB, the limit for a request",
			      path);
	if (r < 0)
		return sr_err_wrap(b->err, "--spec");
	b->len = len;
	b->job->spec_path = xstrdup(path);
	/* What the spec parser warns of is what this machine does not honour: nothing to say of
	 * a job that runs elsewhere. */
	return job_spec_parse(b->job->kind, b->text, len, path, b->job,
			      b->flags->remote ? NULL : b->warnings, b->err);
}

int build_split_kv(struct build *b, const char *flag, const char *arg, const char *shape,
		   char **ret_key, const char **ret_value)
{
	const char *eq = strchr(arg, '=');

	if (!eq)
		return build_fail_flag(b, flag, arg, "expected %s", shape);
	if (eq == arg)
		return build_fail_flag(b, flag, arg, "expected %s, with a non-empty %.*s", shape,
				       (int)strcspn(shape, "="), shape);
	*ret_key = xstrndup(arg, (size_t)(eq - arg));
	*ret_value = eq + 1;
	return 0;
}

int build_apply_envs(struct build *b, const struct build_limits *lim)
{
	struct job_map *env = &b->job->environment;

	for (size_t i = 0; i < b->flags->envs.n; i++) {
		const char *arg = b->flags->envs.v[i], *value;
		_cleanup_free_ char *key = NULL, *msg = NULL, *shown = NULL;
		int r = build_split_kv(b, "--env", arg, "KEY=VALUE", &key, &value);

		if (r < 0)
			return r;
		/* never echo the value: environments carry secrets */
		shown = xasprintf("%s=...", key);
		if ((msg = job_check_string(key, 1, lim->env_key_max, job_rule_env_key)))
			return build_fail_flag(b, "--env", shown, "KEY %s", msg);
		if ((msg = job_check_string(value, 0, lim->env_value_max, NULL)))
			return build_fail_flag(b, "--env", shown, "VALUE %s", msg);
		if (!job_map_get(env, key) && env->n >= JOB_ENV_MAX_KEYS)
			return build_fail_flag(b, "--env", shown,
					       "more than %d environment variables",
					       JOB_ENV_MAX_KEYS);
		job_map_set(env, key, value);
	}
	return 0;
}

int build_apply_command(struct build *b, bool args_only)
{
	const struct job_flags *f = b->flags;
	struct job *job = b->job;
	const char *what = args_only ? "-- ARGS" : "-- COMMAND";
	int first = args_only ? 0 : 1; /* where the arguments start */

	if (!args_only && (f->n_command < 1 || !f->command[0]))
		return build_fail_flag(b, "--", NULL, "expected COMMAND [ARGS...] after it");
	if (f->n_command - first > JOB_CONTAINER_ARGS_MAX)
		return build_fail_flag(b, what, NULL, "more than %d arguments (got %d)",
				       JOB_CONTAINER_ARGS_MAX, f->n_command - first);
	for (int i = 0; i < f->n_command; i++) {
		_cleanup_free_ char *msg =
		    job_check_string(f->command[i], i < first ? 1 : 0, JOB_CONTAINER_ARG_MAX, NULL);

		if (msg && i < first)
			return build_fail_flag(b, what, f->command[0], "%s", msg);
		if (msg)
			return build_fail_flag(b, what, f->command[0], "argument %d %s",
					       i + 1 - first, msg);
	}
	if (!args_only) {
		strv_release(&job->entrypoint);
		strv_push(&job->entrypoint, f->command[0]);
	}
	strv_release(&job->arguments);
	for (int i = first; i < f->n_command; i++)
		strv_push(&job->arguments, f->command[i]);
	return 0;
}

int build_apply_scalars(struct build *b, const struct build_limits *lim)
{
	const struct job_flags *f = b->flags;
	struct job *job = b->job;
	int64_t max_run_limit = lim->max_run_s;
	_cleanup_free_ char *msg = NULL;

	if (f->name) {
		if ((msg = job_check_string(f->name, 1, JOB_NAME_MAX, job_rule_name)))
			return build_fail_flag(b, "--name", NULL, "%s", msg);
		free(job->name);
		job->name = xstrdup(f->name);
	}
	if (f->hosts != -1) {
		if (f->hosts < 1 || f->hosts > lim->hosts)
			return build_fail_flag(b, "--hosts", NULL,
					       "must be between 1 and %d (got %d)", lim->hosts,
					       f->hosts);
		job->instance_count = f->hosts;
	}
	if (f->instance_type) {
		if ((msg = job_check_string(f->instance_type, 1, JOB_INSTANCE_TYPE_MAX,
					    job_rule_instance_type)))
			return build_fail_flag(b, "--instance-type", NULL, "%s", msg);
		free(job->instance_type);
		job->instance_type = xstrdup(f->instance_type);
	}
	if (f->max_run_s != -1) {
		if (f->max_run_s < 1 || f->max_run_s > max_run_limit)
			return build_fail_flag(b, "--max-run", NULL,
					       "must be between 1 and %lld seconds (%lld days) "
					       "(got %lld)",
					       (long long)max_run_limit,
					       (long long)max_run_limit / 86400,
					       (long long)f->max_run_s);
		job->max_run_s = f->max_run_s;
	}
	/* ours, not the API's: the spec has no field for it */
	if (f->stop_grace_s != -1 &&
	    (f->stop_grace_s < 0 || f->stop_grace_s > JOB_STOP_GRACE_LIMIT_S))
		return build_fail_flag(b, "--stop-grace", NULL,
				       "must be between 0 and %d seconds (1 day) (got %lld)",
				       JOB_STOP_GRACE_LIMIT_S, (long long)f->stop_grace_s);
	job->stop_grace_s = f->stop_grace_s >= 0 ? f->stop_grace_s : JOB_DEFAULT_STOP_GRACE_S;
	return 0;
}

void build_set_default(char **field, const char *value)
{
	if (!*field)
		*field = xstrdup(value);
}

char *build_name_base(const char *s, bool drop_ext)
{
	const char *slash, *dot;

	if (!s)
		return xstrdup("sagerun");
	slash = strrchr(s, '/');
	if (slash)
		s = slash + 1;
	dot = drop_ext ? strrchr(s, '.') : NULL;
	return dot && dot != s ? xstrndup(s, (size_t)(dot - s)) : xstrdup(s);
}

static char *make_arn(const struct job_kind *kind, const char *name)
{
	const char *region = getenv("AWS_REGION");
	const char *partition = "aws";

	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = JOB_DEFAULT_REGION;
	/* China and GovCloud regions live in their own partitions */
	if (!strncmp(region, "cn-", 3))
		partition = "aws-cn";
	else if (!strncmp(region, "us-gov-", 7))
		partition = "aws-us-gov";
	return xasprintf("arn:%s:sagemaker:%s:%s:%s/%s", partition, region, JOB_DEFAULT_ACCOUNT,
			 kind->arn_type, name);
}

void build_defaults(struct build *b, const char *name_base)
{
	struct job *job = b->job;

	if (!job->name)
		job->name = job_default_name(name_base ? name_base : "sagerun", clock_wall_ms());
	if (job->instance_count == 0)
		job->instance_count = 1;
	build_set_default(&job->instance_type, JOB_DEFAULT_INSTANCE_TYPE);
	if (job->volume_size_gb == 0)
		job->volume_size_gb = JOB_DEFAULT_VOLUME_GB;
	if (job->max_run_s == 0)
		job->max_run_s = JOB_DEFAULT_MAX_RUN_S;
	free(job->arn);
	job->arn = make_arn(job->kind, job->name);
}

const char *build_path_inside(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[1] ? path + 1 : NULL;
	if (strncmp(path, dir, n) || path[n] != '/' || !path[n + 1])
		return NULL;
	return path + n + 1;
}

bool build_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int build_entry_point(struct build *b, const char *ep, const char *src, char **ret_src,
		      char **ret_rel)
{
	_cleanup_free_ char *abs_src = NULL, *abs_ep = NULL;

	if (!*ep)
		return build_fail_flag(b, "--entry-point", NULL, "must not be empty");
	if (!src) {
		abs_ep = fs_abspath(ep);
		if (!fs_exists(abs_ep))
			return build_fail_flag(b, "--entry-point", ep, "no such file");
		if (!build_is_file(abs_ep)) {
			build_fail_flag(b, "--entry-point", ep, "not a file");
			return sr_err_hint(b->err, "to ship a folder, give it as --source-dir and "
						   "the script inside it as --entry-point");
		}
		*ret_rel = xstrdup(strrchr(abs_ep, '/') + 1);
		*ret_src = TAKE_PTR(abs_ep);
		return 0;
	}

	const char *rel;

	abs_src = fs_abspath(src);
	if (!fs_is_dir(abs_src))
		return build_fail_flag(b, "--source-dir", src, "%s",
				       fs_exists(abs_src) ? "not a folder" : "no such folder");
	if (ep[0] == '/') {
		abs_ep = fs_abspath(ep);
	} else {
		_cleanup_free_ char *joined = xasprintf("%s/%s", abs_src, ep);

		abs_ep = fs_abspath(joined);
	}
	rel = build_path_inside(abs_src, abs_ep);
	if (!rel)
		return build_fail_flag(b, "--entry-point", ep,
				       "must be a file inside --source-dir '%s'", src);
	if (!build_is_file(abs_ep)) {
		_cleanup_free_ char *here = fs_abspath(ep);
		const char *try = build_path_inside(abs_src, here);

		build_fail_flag(b, "--entry-point", ep, "no file '%s' in --source-dir '%s'", rel,
				src);
		if (try && build_is_file(here))
			return sr_err_hint(b->err,
					   "with --source-dir, --entry-point is a path inside "
					   "that folder: try --entry-point %s",
					   try);
		return b->err ? b->err->code : -EINVAL;
	}
	*ret_rel = xstrdup(rel);
	*ret_src = TAKE_PTR(abs_src);
	return 0;
}

int job_build(const struct job_flags *flags, struct job *ret, struct strv *warnings,
	      struct sr_error *err)
{
	_cleanup_(job_release) struct job job = {0};
	struct build b = {.flags = flags, .job = &job, .warnings = warnings, .err = err};
	int r;

	job.kind = flags->kind ? flags->kind : &job_kind_training;
	for (size_t i = 0; i < BUILD_ITEMS_MAX; i++)
		b.in[i].spec_index = b.out[i].spec_index = -1;
	r = job.kind->build(&b);
	if (r == 0)
		r = job_validate(&job, err);
	free(b.text);
	if (r < 0)
		return r;
	*ret = job;
	memset(&job, 0, sizeof(job)); /* ownership moved to *ret */
	return 0;
}
