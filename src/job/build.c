/* build.c - one job from --spec and the flags: merge, defaults, local paths, checks.
 *
 * Order: the spec (checked value by value by spec.c), then each flag over it, field by field
 * (checked here, messages naming the flag), then defaults, then local paths, then
 * job_validate() on the result.  Errors found after merging still name their source: a
 * channel from the spec points at its S3Uri in the file, one from --channel names the flag.
 *
 * Relative paths in a spec (S3Uri, S3OutputPath) are resolved against the current folder, not
 * the spec's folder, as `aws sagemaker create-training-job` would pass them on: the spec
 * describes a job, the current folder says where it runs.
 */
#include "job/job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "job/jsonpos.h"
#include "job/rules.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Flag arguments longer than this are shortened in messages. */
#define ARG_SHOWN 60

struct build {
	const struct job_flags *flags;
	struct job *job;
	const char *text; /* the spec's text, NULL without --spec */
	size_t len;
	/* per channel: its index in the spec's InputDataConfig, or -1 with the --channel
	 * argument that made it, so late errors still say where the channel came from */
	int spec_index[JOB_CHANNELS_MAX];
	const char *flag_arg[JOB_CHANNELS_MAX];
	struct strv *warnings; /* may be NULL */
	struct sr_error *err;
};

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
}

/* `--flag 'arg': message`, or `--flag: message` without an argument to show. */
__attribute__((format(printf, 4, 5))) static int flag_fail(struct build *b, const char *flag,
							   const char *arg, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!arg)
		return sr_err(b->err, -EINVAL, "%s: %s", flag, msg ? msg : fmt);
	if (strlen(arg) > ARG_SHOWN)
		return sr_err(b->err, -EINVAL, "%s '%.*s...': %s", flag, ARG_SHOWN - 3, arg,
			      msg ? msg : fmt);
	return sr_err(b->err, -EINVAL, "%s '%s': %s", flag, arg, msg ? msg : fmt);
}

/* `FILE:LINE:COL: Path: message` for a problem found after parsing (spec.c's spec_fail() is
 * the same while parsing). */
__attribute__((format(printf, 4, 5))) static int path_fail(struct build *b,
							   const struct jsonpos_path *path,
							   enum jsonpos_what what, const char *fmt,
							   ...)
{
	_cleanup_free_ char *where = jsonpos_where(b->text, b->len, b->job->spec_path, path, what);
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return sr_err(b->err, -EINVAL, "%s: %s", where, msg ? msg : fmt);
}

static int load_spec(struct build *b, char **ret_text)
{
	const char *path = b->flags->spec_path;
	char *text = NULL;
	size_t len = 0;
	int r;

	r = fs_read_file(path, JOB_SPEC_MAX_BYTES, &text, &len, b->err);
	if (r == -EFBIG)
		return sr_err(b->err, r, "--spec '%s': larger than 1 MiB, the limit for a request",
			      path);
	if (r < 0)
		return sr_err_wrap(b->err, "--spec");
	*ret_text = text;
	b->text = text;
	b->len = len;
	b->job->spec_path = xstrdup(path);
	r = job_spec_parse(&job_kind_training, text, len, path, b->job, b->warnings, b->err);
	for (size_t i = 0; i < b->job->train.n_channels && i < JOB_CHANNELS_MAX; i++)
		b->spec_index[i] = (int)i;
	return r;
}

/* Split "KEY=VALUE" at the first '=' (VALUE may hold more of them). */
static int split_kv(struct build *b, const char *flag, const char *arg, const char *shape,
		    char **ret_key, const char **ret_value)
{
	const char *eq = strchr(arg, '=');

	if (!eq)
		return flag_fail(b, flag, arg, "expected %s", shape);
	if (eq == arg)
		return flag_fail(b, flag, arg, "expected %s, with a non-empty %.*s", shape,
				 (int)strcspn(shape, "="), shape);
	*ret_key = xstrndup(arg, (size_t)(eq - arg));
	*ret_value = eq + 1;
	return 0;
}

static int apply_hps(struct build *b)
{
	struct job_map *hps = &b->job->train.hyperparameters;

	for (size_t i = 0; i < b->flags->hps.n; i++) {
		const char *arg = b->flags->hps.v[i], *value;
		_cleanup_free_ char *key = NULL, *msg = NULL;
		int r = split_kv(b, "--hp", arg, "KEY=VALUE", &key, &value);

		if (r < 0)
			return r;
		if ((msg = job_check_string(key, 1, JOB_HP_KEY_MAX, NULL)))
			return flag_fail(b, "--hp", arg, "KEY %s", msg);
		if ((msg = job_check_string(value, 0, JOB_HP_VALUE_MAX, NULL)))
			return flag_fail(b, "--hp", arg, "VALUE %s", msg);
		if (!job_map_get(hps, key) && hps->n >= JOB_HP_MAX_KEYS)
			return flag_fail(b, "--hp", arg, "more than %d hyperparameters",
					 JOB_HP_MAX_KEYS);
		job_map_set(hps, key, value);
	}
	return 0;
}

/* --framework NAME[:VERSION]: the name is checked where the frameworks are known
 * (launch/), the version here: dotted numbers, as the SDK's framework_version. */
static int apply_framework(struct build *b)
{
	const char *f = b->flags->framework, *colon;

	if (!f)
		return 0;
	colon = strchr(f, ':');
	if (colon && (!colon[1] || strspn(colon + 1, "0123456789.") != strlen(colon + 1)))
		return flag_fail(b, "--framework", f,
				 "expected NAME or NAME:VERSION with a version like 2.1");
	if (colon == f || !*f)
		return flag_fail(b, "--framework", f, "expected a framework name, like pytorch");
	b->job->framework = colon ? xstrndup(f, (size_t)(colon - f)) : xstrdup(f);
	b->job->framework_version = colon ? xstrdup(colon + 1) : NULL;
	return 0;
}

/* --distribution and --processes-per-host: the hyperparameters the SageMaker SDK sets for
 * distribution={"torch_distributed": {"enabled": True}} and {"mpi": {"enabled": True,
 * "processes_per_host": K}}, which the runtime reads as the toolkit does (reference §2.8). */
static int apply_distribution(struct build *b)
{
	const struct job_flags *f = b->flags;
	struct job_map *hps = &b->job->train.hyperparameters;

	if (f->distribution && !strcmp(f->distribution, "torch"))
		job_map_set(hps, "sagemaker_torch_distributed_enabled", "true");
	else if (f->distribution && !strcmp(f->distribution, "mpi"))
		job_map_set(hps, "sagemaker_mpi_enabled", "true");
	else if (f->distribution)
		return flag_fail(b, "--distribution", f->distribution, "expected torch or mpi");
	if (f->processes_per_host && !f->distribution)
		return flag_fail(b, "--processes-per-host", NULL,
				 "needs --distribution torch or mpi");
	/* A ContainerEntrypoint replaces the toolkit, and with it the runners. */
	if (f->distribution && f->command) {
		flag_fail(b, "--distribution", f->distribution,
			  "needs script mode (--entry-point), not a command");
		return sr_err_hint(b->err, "run torchrun or mpirun yourself in the command, or "
					   "give the program as --entry-point");
	}
	if (f->processes_per_host < 0 || f->processes_per_host > 1024)
		return flag_fail(b, "--processes-per-host", NULL, "must be between 1 and 1024");
	if (f->processes_per_host > 0) {
		char n[16];

		snprintf(n, sizeof(n), "%d", f->processes_per_host);
		job_map_set(hps, "sagemaker_mpi_num_of_processes_per_host", n);
	}
	/* The runtime reads the launcher from its environment (runtime/mpi.h), where it also
	 * reaches a container on the real service. */
	if (f->mpi_launcher) {
		const char *on = job_map_get(hps, "sagemaker_mpi_enabled");

		if (strcmp(f->mpi_launcher, "ssh") && strcmp(f->mpi_launcher, "sagerun"))
			return flag_fail(b, "--mpi-launcher", f->mpi_launcher,
					 "expected sagerun or ssh");
		/* true, or the SDK's JSON-encoded "true" (the runtime decodes either) */
		if (!on || (strcasecmp(on, "true") && strcasecmp(on, "\"true\""))) {
			flag_fail(b, "--mpi-launcher", f->mpi_launcher, "is for MPI jobs");
			return sr_err_hint(b->err, "add --distribution mpi (or the hyperparameter "
						   "sagemaker_mpi_enabled=true)");
		}
		job_map_set(&b->job->environment, JOB_MPI_LAUNCHER_ENV, f->mpi_launcher);
	}
	return 0;
}

static int apply_envs(struct build *b)
{
	struct job_map *env = &b->job->environment;

	for (size_t i = 0; i < b->flags->envs.n; i++) {
		const char *arg = b->flags->envs.v[i], *value;
		_cleanup_free_ char *key = NULL, *msg = NULL, *shown = NULL;
		int r = split_kv(b, "--env", arg, "KEY=VALUE", &key, &value);

		if (r < 0)
			return r;
		/* never echo the value: environments carry secrets */
		shown = xasprintf("%s=...", key);
		if ((msg = job_check_string(key, 1, JOB_ENV_KEY_MAX, job_rule_env_key)))
			return flag_fail(b, "--env", shown, "KEY %s", msg);
		if ((msg = job_check_string(value, 0, JOB_ENV_VALUE_MAX, NULL)))
			return flag_fail(b, "--env", shown, "VALUE %s", msg);
		if (!job_map_get(env, key) && env->n >= JOB_ENV_MAX_KEYS)
			return flag_fail(b, "--env", shown, "more than %d environment variables",
					 JOB_ENV_MAX_KEYS);
		job_map_set(env, key, value);
	}
	return 0;
}

struct channel_opts {
	const char *distribution, *compression, *type; /* the API's spellings; NULL: unset */
};

/* One ",key=value" of --channel: 1 when `seg` is one (and taken), 0 when it is not an option
 * (then it belongs to the URI: S3 keys may hold commas), < 0 for a bad value. */
static int channel_opt(struct build *b, const char *arg, const char *seg, struct channel_opts *o)
{
	static const struct {
		const char *key, *value, *api;
	} table[] = {
	    {"distribution", "fullyreplicated", "FullyReplicated"},
	    {"distribution", "sharded", "ShardedByS3Key"},
	    {"distribution", "shardedbys3key", "ShardedByS3Key"},
	    {"compression", "none", "None"},
	    {"compression", "gzip", "Gzip"},
	    {"type", "s3prefix", "S3Prefix"},
	    {"type", "prefix", "S3Prefix"},
	    {"type", "manifest", "ManifestFile"},
	    {"type", "manifestfile", "ManifestFile"},
	};
	const char *eq = strchr(seg, '=');
	size_t klen = eq ? (size_t)(eq - seg) : 0;
	bool known = false;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strlen(table[i].key) != klen || strncmp(seg, table[i].key, klen))
			continue;
		known = true;
		if (strcasecmp(eq + 1, table[i].value))
			continue;
		if (table[i].key[0] == 'd')
			o->distribution = table[i].api;
		else if (table[i].key[0] == 'c')
			o->compression = table[i].api;
		else
			o->type = table[i].api;
		return 1;
	}
	if (!known)
		return 0;
	return flag_fail(b, "--channel", arg, "%.*s: unknown value '%s' (%s)", (int)klen, seg,
			 eq + 1,
			 seg[0] == 'd'	 ? "fullyreplicated or sharded"
			 : seg[0] == 'c' ? "none or gzip"
					 : "s3prefix or manifest");
}

/* --channel NAME=PATH replaces the spec's channel of that name, or adds one.  An s3:// PATH
 * may end in options: ,distribution=fullyreplicated|sharded ,compression=none|gzip
 * ,type=s3prefix|manifest. */
static int apply_channels(struct build *b)
{
	struct job *job = b->job;

	for (size_t i = 0; i < b->flags->channels.n; i++) {
		const char *arg = b->flags->channels.v[i], *path0;
		_cleanup_free_ char *name = NULL, *msg = NULL, *path = NULL;
		struct channel_opts o = {0};
		bool any = false;
		char *comma;
		size_t k;
		int r = split_kv(b, "--channel", arg, "NAME=PATH", &name, &path0);

		if (r < 0)
			return r;
		path = xstrdup(path0);
		while ((comma = strrchr(path, ',')) &&
		       (r = channel_opt(b, arg, comma + 1, &o)) > 0) {
			*comma = '\0';
			any = true;
		}
		if (r < 0)
			return r;
		if (any && !job_uri_is_s3(path))
			return flag_fail(b, "--channel", arg,
					 "distribution=, compression= and type= are for s3:// "
					 "channels only");
		if ((msg = job_check_string(name, 1, JOB_CHANNEL_NAME_MAX, job_rule_channel_name)))
			return flag_fail(b, "--channel", arg, "NAME %s", msg);
		if ((msg = job_check_string(path, 1, JOB_URI_MAX, job_rule_uri)))
			return flag_fail(b, "--channel", arg, "PATH %s", msg);
		for (k = 0; k < job->train.n_channels; k++)
			if (!strcmp(job->train.channels[k].name, name))
				break;
		if (k < job->train.n_channels && b->spec_index[k] < 0)
			return flag_fail(b, "--channel", arg, "channel '%s' is given twice", name);
		if (k == job->train.n_channels) {
			if (job->train.n_channels >= JOB_CHANNELS_MAX)
				return flag_fail(b, "--channel", arg, "more than %d channels",
						 JOB_CHANNELS_MAX);
			job->train.channels =
			    xrealloc(job->train.channels,
				     (job->train.n_channels + 1) * sizeof(*job->train.channels));
			job->train.n_channels++;
		} else {
			job_channel_release(&job->train.channels[k]);
		}
		memset(&job->train.channels[k], 0, sizeof(job->train.channels[k]));
		job->train.channels[k].name = TAKE_PTR(name);
		job->train.channels[k].uri = xstrdup(path);
		if (o.distribution)
			job->train.channels[k].distribution = xstrdup(o.distribution);
		if (o.compression)
			job->train.channels[k].compression = xstrdup(o.compression);
		if (o.type)
			job->train.channels[k].s3_data_type = xstrdup(o.type);
		b->spec_index[k] = -1;
		b->flag_arg[k] = arg;
	}
	return 0;
}

static char *json_quoted(const char *s)
{
	_cleanup_json_ json_t *v = json_string(s);

	return v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
}

/* The part of `path` inside folder `dir` (both absolute and normalised), or NULL. */
static const char *path_inside(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[1] ? path + 1 : NULL;
	if (strncmp(path, dir, n) || path[n] != '/' || !path[n + 1])
		return NULL;
	return path + n + 1;
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Script mode, as the SDK's framework estimators set it (reference §2.6): with --source-dir
 * the entry point is a path inside that folder, which becomes the code; without, the entry
 * point file alone is the code, and the toolkit copies it into /opt/ml/code. */
static int apply_entry_point(struct build *b)
{
	const char *ep = b->flags->entry_point, *src = b->flags->source_dir;
	_cleanup_free_ char *abs_src = NULL, *abs_ep = NULL, *program = NULL, *submit = NULL;
	_cleanup_free_ char *q_program = NULL, *q_submit = NULL;
	struct job *job = b->job;

	if (!*ep)
		return flag_fail(b, "--entry-point", NULL, "must not be empty");
	if (src) {
		const char *rel;

		abs_src = fs_abspath(src);
		if (!fs_is_dir(abs_src))
			return flag_fail(b, "--source-dir", src, "%s",
					 fs_exists(abs_src) ? "not a folder" : "no such folder");
		if (ep[0] == '/') {
			abs_ep = fs_abspath(ep);
		} else {
			_cleanup_free_ char *joined = xasprintf("%s/%s", abs_src, ep);

			abs_ep = fs_abspath(joined);
		}
		rel = path_inside(abs_src, abs_ep);
		if (!rel)
			return flag_fail(b, "--entry-point", ep,
					 "must be a file inside --source-dir "
					 "'%s'",
					 src);
		if (!is_file(abs_ep)) {
			_cleanup_free_ char *here = fs_abspath(ep);
			const char *try = path_inside(abs_src, here);

			flag_fail(b, "--entry-point", ep, "no file '%s' in --source-dir '%s'", rel,
				  src);
			if (try && is_file(here))
				return sr_err_hint(b->err,
						   "with --source-dir, --entry-point is a "
						   "path inside that folder: try --entry-point %s",
						   try);
			return b->err ? b->err->code : -EINVAL;
		}
		program = xstrdup(rel);
		submit = xasprintf("file://%s", abs_src);
	} else {
		abs_ep = fs_abspath(ep);
		if (!fs_exists(abs_ep))
			return flag_fail(b, "--entry-point", ep, "no such file");
		if (!is_file(abs_ep)) {
			flag_fail(b, "--entry-point", ep, "not a file");
			return sr_err_hint(b->err, "to ship a folder, give it as --source-dir and "
						   "the script inside it as --entry-point");
		}
		program = xstrdup(strrchr(abs_ep, '/') + 1);
		submit = xasprintf("file://%s", abs_ep);
	}
	/* The SDK JSON-encodes these, quotes included: "\"train.py\"". */
	q_program = json_quoted(program);
	q_submit = json_quoted(submit);
	if (!q_program || !q_submit)
		return flag_fail(b, "--entry-point", ep, "path is not valid UTF-8");
	if (job->entrypoint.n && b->warnings)
		strv_pushf(b->warnings,
			   "--entry-point: replaces AlgorithmSpecification."
			   "ContainerEntrypoint from %s",
			   job->spec_path);
	strv_release(&job->entrypoint);
	strv_release(&job->arguments);
	job_map_set(&job->train.hyperparameters, "sagemaker_program", q_program);
	job_map_set(&job->train.hyperparameters, "sagemaker_submit_directory", q_submit);
	return 0;
}

/* -- COMMAND ARGS...: ContainerEntrypoint [COMMAND] and ContainerArguments ARGS. */
static int apply_command(struct build *b)
{
	const struct job_flags *f = b->flags;
	struct job *job = b->job;

	if (f->n_command < 1 || !f->command[0])
		return flag_fail(b, "--", NULL, "expected COMMAND [ARGS...] after it");
	if (f->n_command - 1 > JOB_CONTAINER_ARGS_MAX)
		return flag_fail(b, "-- COMMAND", NULL, "more than %d arguments (got %d)",
				 JOB_CONTAINER_ARGS_MAX, f->n_command - 1);
	for (int i = 0; i < f->n_command; i++) {
		_cleanup_free_ char *msg =
		    job_check_string(f->command[i], i == 0 ? 1 : 0, JOB_CONTAINER_ARG_MAX, NULL);

		if (msg && i == 0)
			return flag_fail(b, "-- COMMAND", f->command[0], "%s", msg);
		if (msg)
			return flag_fail(b, "-- COMMAND", f->command[0], "argument %d %s", i, msg);
	}
	strv_release(&job->entrypoint);
	strv_release(&job->arguments);
	strv_push(&job->entrypoint, f->command[0]);
	for (int i = 1; i < f->n_command; i++)
		strv_push(&job->arguments, f->command[i]);
	return 0;
}

static int apply_scalars(struct build *b)
{
	const struct job_flags *f = b->flags;
	struct job *job = b->job;
	_cleanup_free_ char *msg = NULL;

	if (f->name) {
		if ((msg = job_check_string(f->name, 1, JOB_NAME_MAX, job_rule_name)))
			return flag_fail(b, "--name", NULL, "%s", msg);
		free(job->name);
		job->name = xstrdup(f->name);
	}
	if (f->hosts != -1) {
		if (f->hosts < 1 || f->hosts > JOB_HOSTS_MAX)
			return flag_fail(b, "--hosts", NULL, "must be between 1 and %d (got %d)",
					 JOB_HOSTS_MAX, f->hosts);
		job->instance_count = f->hosts;
	}
	if (f->instance_type) {
		if ((msg = job_check_string(f->instance_type, 1, JOB_INSTANCE_TYPE_MAX,
					    job_rule_instance_type)))
			return flag_fail(b, "--instance-type", NULL, "%s", msg);
		free(job->instance_type);
		job->instance_type = xstrdup(f->instance_type);
	}
	if (f->output) {
		if ((msg = job_check_string(f->output, 1, JOB_URI_MAX, job_rule_uri)))
			return flag_fail(b, "--output", NULL, "%s", msg);
		free(job->train.output_path);
		job->train.output_path = xstrdup(f->output);
	}
	if (f->checkpoints) {
		if ((msg = job_check_string(f->checkpoints, 1, JOB_URI_MAX, job_rule_uri)))
			return flag_fail(b, "--checkpoints", NULL, "%s", msg);
		free(job->train.checkpoint_s3_uri);
		job->train.checkpoint_s3_uri = xstrdup(f->checkpoints);
	}
	if (f->max_run_s != -1) {
		if (f->max_run_s < 1 || f->max_run_s > JOB_MAX_RUN_LIMIT_S)
			return flag_fail(b, "--max-run", NULL,
					 "must be between 1 and %d seconds (28 days) (got %lld)",
					 JOB_MAX_RUN_LIMIT_S, (long long)f->max_run_s);
		job->max_run_s = f->max_run_s;
	}
	/* ours, not the API's: the spec has no field for it */
	if (f->stop_grace_s != -1 &&
	    (f->stop_grace_s < 0 || f->stop_grace_s > JOB_STOP_GRACE_LIMIT_S))
		return flag_fail(b, "--stop-grace", NULL,
				 "must be between 0 and %d seconds (1 day) (got %lld)",
				 JOB_STOP_GRACE_LIMIT_S, (long long)f->stop_grace_s);
	job->stop_grace_s = f->stop_grace_s >= 0 ? f->stop_grace_s : JOB_DEFAULT_STOP_GRACE_S;
	return 0;
}

static void set_default(char **field, const char *value)
{
	if (!*field)
		*field = xstrdup(value);
}

/* "train.py" -> "train", "/usr/bin/python3" -> "python3": the base of a default name. */
static char *name_base(const struct job_flags *f)
{
	const char *s = f->entry_point			 ? f->entry_point
			: f->command && f->n_command > 0 ? f->command[0]
							 : NULL;
	const char *slash, *dot;

	if (!s)
		return xstrdup("sagerun");
	slash = strrchr(s, '/');
	if (slash)
		s = slash + 1;
	dot = f->entry_point ? strrchr(s, '.') : NULL;
	return dot && dot != s ? xstrndup(s, (size_t)(dot - s)) : xstrdup(s);
}

static char *make_arn(const char *name)
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
	return xasprintf("arn:%s:sagemaker:%s:%s:training-job/%s", partition, region,
			 JOB_DEFAULT_ACCOUNT, name);
}

static void apply_defaults(struct build *b)
{
	struct job *job = b->job;

	if (!job->name) {
		_cleanup_free_ char *base = name_base(b->flags);

		job->name = job_default_name(base, clock_wall_ms());
	}
	if (job->instance_count == 0)
		job->instance_count = 1;
	set_default(&job->instance_type, JOB_DEFAULT_INSTANCE_TYPE);
	set_default(&job->train.input_mode, "File");
	set_default(&job->train.output_path, JOB_DEFAULT_OUTPUT);
	set_default(&job->train.output_compression, "GZIP");
	if (job->volume_size_gb == 0)
		job->volume_size_gb = JOB_DEFAULT_VOLUME_GB;
	if (job->max_run_s == 0)
		job->max_run_s = JOB_DEFAULT_MAX_RUN_S;
	for (size_t i = 0; i < job->train.n_channels; i++) {
		struct job_channel *c = &job->train.channels[i];

		set_default(&c->s3_data_type, "S3Prefix");
		set_default(&c->distribution, "FullyReplicated");
		set_default(&c->compression, "None");
		set_default(&c->record_wrapper, "None");
		if (!c->input_mode_set) {
			free(c->input_mode);
			c->input_mode = xstrdup(job->train.input_mode);
		}
	}
	free(job->arn);
	job->arn = make_arn(job->name);
}

/* Where the S3Uri of the spec's InputDataConfig[index] is. */
static void channel_uri_path(struct jsonpos_path *path, size_t index)
{
	path->n = 0;
	jsonpos_push_key(path, "InputDataConfig");
	jsonpos_push_index(path, index);
	jsonpos_push_key(path, "DataSource");
	jsonpos_push_key(path, "S3DataSource");
	jsonpos_push_key(path, "S3Uri");
}

#define S3_NOT_YET "not supported for S3 channels (File mode takes S3Prefix or ManifestFile)"

/* What an S3 channel needs that sagerun does not do (S3DataType AugmentedManifestFile and
 * Converse: Pipe mode and Bedrock) is refused now, naming where it came from, rather than
 * after the job folder is made. */
static int check_s3_channels(struct build *b)
{
	struct job *job = b->job;

	for (size_t i = 0; i < job->train.n_channels; i++) {
		const struct job_channel *c = &job->train.channels[i];
		const char *what = NULL;

		if (!job_uri_is_s3(c->uri))
			continue;
		if (c->s3_data_type && strcmp(c->s3_data_type, "S3Prefix") &&
		    strcmp(c->s3_data_type, "ManifestFile"))
			what = "S3DataType";
		if (!what)
			continue;
		if (b->spec_index[i] < 0)
			return flag_fail(b, "--channel", b->flag_arg[i], "%s %s", what, S3_NOT_YET);
		struct jsonpos_path path = {.n = 0};

		channel_uri_path(&path, (size_t)b->spec_index[i]);
		return path_fail(b, &path, JSONPOS_VALUE, "%s %s is %s (channel '%s')", what,
				 c->s3_data_type, S3_NOT_YET, c->name);
	}
	return 0;
}

/* Resolve a channel's local folder and check it is one; errors point at where it came from. */
static int resolve_channel(struct build *b, size_t i)
{
	struct job_channel *c = &b->job->train.channels[i];
	const char *problem;

	free(c->local_path);
	c->local_path = job_uri_local_path(c->uri);
	if (!c->local_path)
		return 0; /* s3://: downloaded while Downloading */
	if (fs_is_dir(c->local_path))
		return 0;
	problem = fs_exists(c->local_path) ? "is not a folder" : "does not exist";
	if (b->spec_index[i] < 0) {
		flag_fail(b, "--channel", b->flag_arg[i], "'%s' %s", c->local_path, problem);
		return sr_err_hint(b->err, "a local channel is a folder of files: create it, or "
					   "point the channel at one");
	}

	struct jsonpos_path path;

	channel_uri_path(&path, (size_t)b->spec_index[i]);
	path_fail(b, &path, JSONPOS_VALUE, "channel '%s': '%s' %s", c->name, c->local_path,
		  problem);
	if (c->uri[0] != '/' && strncmp(c->uri, "file:///", 8))
		return sr_err_hint(b->err, "relative paths in a spec are resolved against the "
					   "current folder, not the spec's");
	return sr_err_hint(b->err, "a local channel is a folder of files: create it, or point "
				   "S3Uri at one");
}

/* A local CheckpointConfig.S3Uri as an absolute path: the supervisor may run elsewhere. */
static void resolve_checkpoints(struct build *b)
{
	struct job *job = b->job;
	char *local =
	    job->train.checkpoint_s3_uri ? job_uri_local_path(job->train.checkpoint_s3_uri) : NULL;

	if (local) {
		free(job->train.checkpoint_s3_uri);
		job->train.checkpoint_s3_uri = local;
	}
}

static int resolve_output(struct build *b)
{
	struct job *job = b->job;
	struct jsonpos_path path = {.n = 0};
	int line, col;

	free(job->train.output_local);
	job->train.output_local = job_uri_local_path(job->train.output_path);
	if (!job->train.output_local || !fs_exists(job->train.output_local) ||
	    fs_is_dir(job->train.output_local))
		return 0;
	jsonpos_push_key(&path, "OutputDataConfig");
	jsonpos_push_key(&path, "S3OutputPath");
	if (b->flags->output)
		return flag_fail(b, "--output", NULL, "'%s' is not a folder",
				 job->train.output_local);
	if (b->text && jsonpos_find(b->text, b->len, &path, JSONPOS_VALUE, &line, &col) == 0)
		return path_fail(b, &path, JSONPOS_VALUE, "'%s' is not a folder",
				 job->train.output_local);
	flag_fail(b, "output", NULL, "'%s' (the default output folder) is not a folder",
		  job->train.output_local);
	return sr_err_hint(b->err, "give another folder with --output DIR");
}

/* A spec alone must name something to run: a command, a program, or an image whose own
 * entry point runs (bring-your-own container: which backend can run it is launch/'s to say). */
static int check_runnable(struct build *b)
{
	struct job *job = b->job;
	struct jsonpos_path path = {.n = 0};
	int line, col;

	/* ContainerArguments alone: job_validate says what they need. */
	if (job->entrypoint.n || job_map_get(&job->train.hyperparameters, "sagemaker_program") ||
	    job->image || job->arguments.n)
		return 0;
	if (!b->text) /* unreachable: without a spec there is an entry point or a command */
		return sr_err(b->err, -EINVAL, "nothing to run");
	jsonpos_push_key(&path, "AlgorithmSpecification");
	if (jsonpos_find(b->text, b->len, &path, JSONPOS_KEY, &line, &col) < 0)
		jsonpos_pop(&path);
	path_fail(b, &path, JSONPOS_KEY,
		  "nothing to run: no ContainerEntrypoint and no sagemaker_program hyperparameter, "
		  "and no TrainingImage whose own entry point could run");
	return sr_err_hint(b->err, "add \"ContainerEntrypoint\": [\"python3\", \"train.py\"] to "
				   "AlgorithmSpecification, or run with --entry-point FILE or "
				   "-- COMMAND [ARGS...]");
}

int job_build(const struct job_flags *flags, struct job *ret, struct strv *warnings,
	      struct sr_error *err)
{
	_cleanup_(job_release) struct job job = {0};
	_cleanup_free_ char *text = NULL;
	struct build b = {.flags = flags, .job = &job, .warnings = warnings, .err = err};
	int r;

	job.kind = &job_kind_training; /* the flags of `sagerun train` make a training job */
	if (!flags->spec_path && !flags->entry_point && !flags->command)
		return sr_err(err, -EINVAL,
			      "nothing to run: give --spec FILE, --entry-point FILE "
			      "or -- COMMAND [ARGS...]");
	if (flags->entry_point && flags->command)
		return sr_err(err, -EINVAL, "--entry-point and -- COMMAND: give one, not both");
	if (flags->source_dir && !flags->entry_point)
		return flag_fail(&b, "--source-dir", NULL,
				 "needs --entry-point, the script to "
				 "run inside it");
	if (flags->spec_path) {
		r = load_spec(&b, &text);
		if (r < 0)
			return r;
	}
	r = apply_scalars(&b);
	if (r == 0)
		r = apply_envs(&b);
	if (r == 0)
		r = apply_channels(&b);
	if (r == 0 && flags->entry_point)
		r = apply_entry_point(&b);
	if (r == 0)
		r = apply_hps(&b);
	if (r == 0)
		r = apply_distribution(&b);
	if (r == 0)
		r = apply_framework(&b);
	if (r == 0 && flags->command)
		r = apply_command(&b);
	if (r == 0)
		r = check_s3_channels(&b);
	if (r < 0)
		return r;
	apply_defaults(&b);
	for (size_t i = 0; i < job.train.n_channels; i++) {
		r = resolve_channel(&b, i);
		if (r < 0)
			return r;
	}
	r = resolve_output(&b);
	resolve_checkpoints(&b);
	if (r == 0)
		r = check_runnable(&b);
	if (r == 0)
		r = job_validate(&job, err);
	if (r < 0)
		return r;
	*ret = job;
	memset(&job, 0, sizeof(job)); /* ownership moved to *ret */
	return 0;
}
