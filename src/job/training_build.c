/* training_build.c - the training kind's part of job_build(): --hp, --channel, --output,
 * --checkpoints, script mode (--entry-point, --source-dir, --distribution, --framework), the
 * training defaults, and its local paths (channels, output, checkpoints) resolved and checked
 * with messages that say where each came from.
 *
 * Relative paths in a spec (S3Uri, S3OutputPath) are resolved against the current folder, not
 * the spec's folder, as `aws sagemaker create-training-job` would pass them on: the spec
 * describes a job, the current folder says where it runs.
 */
#include "job/build_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "job/rules.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

static int apply_hps(struct build *b)
{
	struct job_map *hps = &b->job->train.hyperparameters;

	for (size_t i = 0; i < b->flags->hps.n; i++) {
		const char *arg = b->flags->hps.v[i], *value;
		_cleanup_free_ char *key = NULL, *msg = NULL;
		int r = build_split_kv(b, "--hp", arg, "KEY=VALUE", &key, &value);

		if (r < 0)
			return r;
		if ((msg = job_check_string(key, 1, JOB_HP_KEY_MAX, NULL)))
			return build_fail_flag(b, "--hp", arg, "KEY %s", msg);
		if ((msg = job_check_string(value, 0, JOB_HP_VALUE_MAX, NULL)))
			return build_fail_flag(b, "--hp", arg, "VALUE %s", msg);
		if (!job_map_get(hps, key) && hps->n >= JOB_HP_MAX_KEYS)
			return build_fail_flag(b, "--hp", arg, "more than %d hyperparameters",
					       JOB_HP_MAX_KEYS);
		job_map_set(hps, key, value);
		strv_push(&b->job->train.hp_flag_keys, key);
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
		return build_fail_flag(b, "--framework", f,
				       "expected NAME or NAME:VERSION with a version like 2.1");
	if (colon == f || !*f)
		return build_fail_flag(b, "--framework", f,
				       "expected a framework name, like pytorch");
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
		return build_fail_flag(b, "--distribution", f->distribution,
				       "expected torch or mpi");
	if (f->processes_per_host && !f->distribution)
		return build_fail_flag(b, "--processes-per-host", NULL,
				       "needs --distribution torch or mpi");
	/* A ContainerEntrypoint replaces the toolkit, and with it the runners. */
	if (f->distribution && f->command) {
		build_fail_flag(b, "--distribution", f->distribution,
				"needs script mode (--entry-point), not a command");
		return sr_err_hint(b->err, "run torchrun or mpirun yourself in the command, or "
					   "give the program as --entry-point");
	}
	if (f->processes_per_host < 0 || f->processes_per_host > 1024)
		return build_fail_flag(b, "--processes-per-host", NULL,
				       "must be between 1 and 1024");
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
			return build_fail_flag(b, "--mpi-launcher", f->mpi_launcher,
					       "expected sagerun or ssh");
		/* true, or the SDK's JSON-encoded "true" (the runtime decodes either) */
		if (!on || (strcasecmp(on, "true") && strcasecmp(on, "\"true\""))) {
			build_fail_flag(b, "--mpi-launcher", f->mpi_launcher, "is for MPI jobs");
			return sr_err_hint(b->err, "add --distribution mpi (or the hyperparameter "
						   "sagemaker_mpi_enabled=true)");
		}
		job_map_set(&b->job->environment, JOB_MPI_LAUNCHER_ENV, f->mpi_launcher);
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
	return build_fail_flag(b, "--channel", arg, "%.*s: unknown value '%s' (%s)", (int)klen, seg,
			       eq + 1,
			       seg[0] == 'd'   ? "fullyreplicated or sharded"
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
		int r = build_split_kv(b, "--channel", arg, "NAME=PATH", &name, &path0);

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
		/* A remote job's local folder goes up as S3 data, which the service shards. */
		bool shard_upload = b->flags->remote && !o.compression && !o.type;

		if (any && !job_uri_is_s3(path) && !shard_upload)
			return build_fail_flag(b, "--channel", arg,
					       "%s are for s3:// channels only",
					       b->flags->remote ? "compression= and type="
								: "distribution=, compression= "
								  "and type=");
		if ((msg = job_check_string(name, 1, JOB_CHANNEL_NAME_MAX, job_rule_channel_name)))
			return build_fail_flag(b, "--channel", arg, "NAME %s", msg);
		if ((msg = job_check_string(path, 1, JOB_URI_MAX, job_rule_uri)))
			return build_fail_flag(b, "--channel", arg, "PATH %s", msg);
		for (k = 0; k < job->train.n_channels; k++)
			if (!strcmp(job->train.channels[k].name, name))
				break;
		if (k < job->train.n_channels && b->in[k].spec_index < 0)
			return build_fail_flag(b, "--channel", arg, "channel '%s' is given twice",
					       name);
		if (k == job->train.n_channels) {
			if (job->train.n_channels >= JOB_CHANNELS_MAX)
				return build_fail_flag(b, "--channel", arg, "more than %d channels",
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
		b->in[k].spec_index = -1;
		b->in[k].flag_arg = arg;
	}
	return 0;
}

static char *json_quoted(const char *s)
{
	_cleanup_json_ json_t *v = json_string(s);

	return v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
}

/* Script mode, as the SDK's framework estimators set it (reference §2.6): with --source-dir
 * the entry point is a path inside that folder, which becomes the code; without, the entry
 * point file alone is the code, and the toolkit copies it into /opt/ml/code. */
static int apply_entry_point(struct build *b)
{
	const char *ep = b->flags->entry_point;
	_cleanup_free_ char *src = NULL, *program = NULL, *submit = NULL;
	_cleanup_free_ char *q_program = NULL, *q_submit = NULL;
	struct job *job = b->job;
	int r = build_entry_point(b, ep, b->flags->source_dir, &src, &program);

	if (r < 0)
		return r;
	submit = xasprintf("file://%s", src);
	/* The SDK JSON-encodes these, quotes included: "\"train.py\"". */
	q_program = json_quoted(program);
	q_submit = json_quoted(submit);
	if (!q_program || !q_submit)
		return build_fail_flag(b, "--entry-point", ep, "path is not valid UTF-8");
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

/* ShardedByS3Key or CompressionType Gzip on a local channel (only a spec can say them: the
 * flag's distribution= and compression= are for s3:// channels): sagerun shards and
 * decompresses what it downloads, never the user's own folder, as for a processing job's local
 * input.  On the service the uploaded folder is S3 data: a remote job takes both. */
static int check_local_channel(struct build *b, size_t i)
{
	const struct job_channel *c = &b->job->train.channels[i];
	struct jsonpos_path path = {.n = 0};

	if (b->in[i].spec_index < 0)
		return 0;
	jsonpos_push_key(&path, "InputDataConfig");
	jsonpos_push_index(&path, (size_t)b->in[i].spec_index);
	/* Every host would get all of it, as if FullyReplicated (as --channel refuses). */
	if (c->distribution && !strcmp(c->distribution, "ShardedByS3Key")) {
		jsonpos_push_key(&path, "DataSource");
		jsonpos_push_key(&path, "S3DataSource");
		jsonpos_push_key(&path, "S3DataDistributionType");
		build_fail_path(b, &path, JSONPOS_VALUE,
				"ShardedByS3Key is for s3:// channels; the local channel '%s' is "
				"given whole to every host",
				c->name);
		return sr_err_hint(b->err, BUILD_LOCAL_SHARDED_HINT);
	}
	if (!c->compression || strcmp(c->compression, "Gzip"))
		return 0;
	jsonpos_push_key(&path, "CompressionType");
	build_fail_path(b, &path, JSONPOS_VALUE,
			"Gzip is for s3:// channels; the local channel '%s' is given as it is",
			c->name);
	return sr_err_hint(b->err, "decompress the folder's files (or serve them from S3), or "
				   "drop CompressionType");
}

/* What an S3 channel needs that sagerun does not do (S3DataType AugmentedManifestFile and
 * Converse: Pipe mode and Bedrock), and a local channel's Gzip or sharding, is refused now, naming
 * where it came from, rather than after the job folder is made. */
static int check_s3_channels(struct build *b)
{
	struct job *job = b->job;

	for (size_t i = 0; i < job->train.n_channels; i++) {
		const struct job_channel *c = &job->train.channels[i];
		const char *what = NULL;

		if (!job_uri_is_s3(c->uri)) {
			int r = check_local_channel(b, i);

			if (r < 0)
				return r;
			continue;
		}
		if (c->s3_data_type && strcmp(c->s3_data_type, "S3Prefix") &&
		    strcmp(c->s3_data_type, "ManifestFile"))
			what = "S3DataType";
		if (!what)
			continue;
		if (b->in[i].spec_index < 0)
			return build_fail_flag(b, "--channel", b->in[i].flag_arg, "%s %s", what,
					       S3_NOT_YET);
		struct jsonpos_path path = {.n = 0};

		channel_uri_path(&path, (size_t)b->in[i].spec_index);
		return build_fail_path(b, &path, JSONPOS_VALUE, "%s %s is %s (channel '%s')", what,
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
	if (b->in[i].spec_index < 0) {
		build_fail_flag(b, "--channel", b->in[i].flag_arg, "'%s' %s", c->local_path,
				problem);
		return sr_err_hint(b->err, "a local channel is a folder of files: create it, or "
					   "point the channel at one");
	}

	struct jsonpos_path path;

	channel_uri_path(&path, (size_t)b->in[i].spec_index);
	build_fail_path(b, &path, JSONPOS_VALUE, "channel '%s': '%s' %s", c->name, c->local_path,
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
		return build_fail_flag(b, "--output", NULL, "'%s' is not a folder",
				       job->train.output_local);
	if (b->text && jsonpos_find(b->text, b->len, &path, JSONPOS_VALUE, &line, &col) == 0)
		return build_fail_path(b, &path, JSONPOS_VALUE, "'%s' is not a folder",
				       job->train.output_local);
	build_fail_flag(b, "output", NULL, "'%s' (the default output folder) is not a folder",
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
	build_fail_path(
	    b, &path, JSONPOS_KEY,
	    "nothing to run: no ContainerEntrypoint and no sagemaker_program hyperparameter, "
	    "and no TrainingImage whose own entry point could run");
	return sr_err_hint(b->err, "add \"ContainerEntrypoint\": [\"python3\", \"train.py\"] to "
				   "AlgorithmSpecification, or run with --entry-point FILE or "
				   "-- COMMAND [ARGS...]");
}

/* --output and --checkpoints. */
static int apply_locations(struct build *b)
{
	const struct job_flags *f = b->flags;
	struct job *job = b->job;
	_cleanup_free_ char *msg = NULL;

	if (f->output) {
		if ((msg = job_check_string(f->output, 1, JOB_URI_MAX, job_rule_uri)))
			return build_fail_flag(b, "--output", NULL, "%s", msg);
		free(job->train.output_path);
		job->train.output_path = xstrdup(f->output);
	}
	if (f->checkpoints) {
		if ((msg = job_check_string(f->checkpoints, 1, JOB_URI_MAX, job_rule_uri)))
			return build_fail_flag(b, "--checkpoints", NULL, "%s", msg);
		free(job->train.checkpoint_s3_uri);
		job->train.checkpoint_s3_uri = xstrdup(f->checkpoints);
	}
	return 0;
}

static void apply_defaults(struct build *b)
{
	const struct job_flags *f = b->flags;
	struct job *job = b->job;
	_cleanup_free_ char *base = f->entry_point ? build_name_base(f->entry_point, true)
				    : f->command && f->n_command > 0
					? build_name_base(f->command[0], false)
					: NULL;

	build_defaults(b, base);
	build_set_default(&job->train.input_mode, "File");
	build_set_default(&job->train.output_path, JOB_DEFAULT_OUTPUT);
	build_set_default(&job->train.output_compression, "GZIP");
	for (size_t i = 0; i < job->train.n_channels; i++) {
		struct job_channel *c = &job->train.channels[i];

		build_set_default(&c->s3_data_type, "S3Prefix");
		build_set_default(&c->distribution, "FullyReplicated");
		build_set_default(&c->compression, "None");
		build_set_default(&c->record_wrapper, "None");
		if (!c->input_mode_set) {
			free(c->input_mode);
			c->input_mode = xstrdup(job->train.input_mode);
		}
	}
}

int training_build(struct build *b)
{
	static const struct build_limits limits = {
	    .hosts = JOB_HOSTS_MAX,
	    .max_run_s = JOB_MAX_RUN_LIMIT_S,
	    .env_key_max = JOB_ENV_KEY_MAX,
	    .env_value_max = JOB_ENV_VALUE_MAX,
	};
	const struct job_flags *f = b->flags;
	int r;

	if (!f->spec_path && !f->entry_point && !f->command)
		return sr_err(b->err, -EINVAL,
			      "nothing to run: give --spec FILE, --entry-point FILE "
			      "or -- COMMAND [ARGS...]");
	if (f->entry_point && f->command)
		return sr_err(b->err, -EINVAL, "--entry-point and -- COMMAND: give one, not both");
	if (f->source_dir && !f->entry_point)
		return build_fail_flag(b, "--source-dir", NULL,
				       "needs --entry-point, the script to run inside it");
	if (f->spec_path) {
		r = build_load_spec(b);
		if (r < 0)
			return r;
		for (size_t i = 0; i < b->job->train.n_channels && i < BUILD_ITEMS_MAX; i++)
			b->in[i].spec_index = (int)i;
	}
	r = build_apply_scalars(b, &limits);
	if (r == 0)
		r = apply_locations(b);
	if (r == 0)
		r = build_apply_envs(b, &limits);
	if (r == 0)
		r = apply_channels(b);
	if (r == 0 && f->entry_point)
		r = apply_entry_point(b);
	if (r == 0)
		r = apply_hps(b);
	if (r == 0)
		r = apply_distribution(b);
	if (r == 0)
		r = apply_framework(b);
	if (r == 0 && f->command)
		r = build_apply_command(b, false);
	/* The service reads every S3DataType itself. */
	if (r == 0 && !f->remote)
		r = check_s3_channels(b);
	if (r < 0)
		return r;
	apply_defaults(b);
	for (size_t i = 0; i < b->job->train.n_channels; i++) {
		r = resolve_channel(b, i);
		if (r < 0)
			return r;
	}
	r = resolve_output(b);
	resolve_checkpoints(b);
	if (r == 0)
		r = check_runnable(b);
	return r;
}
