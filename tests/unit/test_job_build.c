/* Unit tests for job_build(): flags over the spec, defaults, script mode, flag errors and the
 * refusal of S3 locations. */
#include "test_job_fixture.h"

static void test_flags_override_spec(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	_cleanup_free_ char *data2 = xasprintf("train=%s/data2", fx->dir);
	_cleanup_free_ char *data2_abs = xasprintf("%s/data2", fx->dir);
	_cleanup_free_ char *out = xasprintf("file://%s/out", fx->dir);
	_cleanup_free_ char *out_abs = xasprintf("%s/out", fx->dir);
	_cleanup_free_ char *extra = xasprintf("extra=file://%s/data", fx->dir);
	_cleanup_free_ char *data_abs = xasprintf("%s/data", fx->dir);
	/* the S3 channel and output are replaced by flags: nothing S3 is left to refuse */
	const char *spec =
	    "{\"TrainingJobName\": \"from-spec\",\n"
	    " \"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
	    "\"ContainerEntrypoint\": [\"true\"]},\n"
	    " \"HyperParameters\": {\"a\": \"1\", \"b\": \"2\"},\n"
	    " \"Environment\": {\"E1\": \"x\"},\n"
	    " \"ResourceConfig\": {\"InstanceCount\": 2, \"InstanceType\": \"ml.c5.xlarge\"},\n"
	    " \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 100},\n"
	    " \"InputDataConfig\": [{\"ChannelName\": \"train\", \"ContentType\": \"text/csv\",\n"
	    "   \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"s3://b/train\"}}},\n"
	    "   {\"ChannelName\": \"test\", \"InputMode\": \"FastFile\",\n"
	    "   \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"@DIR@/data\"}}}],\n"
	    " \"OutputDataConfig\": {\"S3OutputPath\": \"s3://b/out\"}}";
	int r;

	job_flags_init(&flags);
	flags.name = "from-flags";
	flags.hosts = 3;
	flags.instance_type = "ml.g5.2xlarge";
	flags.max_run_s = 50;
	flags.stop_grace_s = 0;
	flags.output = out;
	strv_push(&flags.hps, "b=3");
	strv_push(&flags.hps, "c=x=y");
	strv_push(&flags.envs, "E2=a=b");
	strv_push(&flags.channels, data2);
	strv_push(&flags.channels, extra);
	r = build_spec(fx, spec, &flags, &job, &warnings, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.name, "from-flags");
	assert_int_equal(job.instance_count, 3);
	assert_string_equal(job.instance_type, "ml.g5.2xlarge");
	assert_int_equal(job.max_run_s, 50);
	assert_int_equal(job.stop_grace_s, 0);
	assert_string_equal(job.train.output_path, out);
	assert_string_equal(job.train.output_local, out_abs);
	/* hyperparameters: spec order kept, b replaced in place, c added */
	assert_int_equal(job.train.hyperparameters.n, 3);
	assert_string_equal(job.train.hyperparameters.items[1].key, "b");
	assert_string_equal(job.train.hyperparameters.items[1].value, "3");
	assert_string_equal(job_map_get(&job.train.hyperparameters, "c"), "x=y");
	assert_string_equal(job_map_get(&job.environment, "E1"), "x");
	assert_string_equal(job_map_get(&job.environment, "E2"), "a=b");
	/* train replaced whole (its ContentType is gone), test kept, extra added */
	assert_int_equal(job.train.n_channels, 3);
	assert_string_equal(job.train.channels[0].name, "train");
	assert_string_equal(job.train.channels[0].local_path, data2_abs);
	assert_null(job.train.channels[0].content_type);
	assert_string_equal(job.train.channels[1].name, "test");
	assert_string_equal(job.train.channels[1].input_mode, "FastFile");
	assert_string_equal(job.train.channels[2].name, "extra");
	assert_string_equal(job.train.channels[2].uri, extra + strlen("extra="));
	assert_string_equal(job.train.channels[2].local_path, data_abs);
	assert_string_equal(job.train.channels[2].input_mode, "File");
	assert_false(job.train.channels[2].input_mode_set);
	assert_string_equal(job.train.channels[2].s3_data_type, "S3Prefix");
	job_flags_release(&flags);
	job_release(&job);
	strv_release(&warnings);
}

static void test_defaults(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *data = xasprintf("%s/data", fx->dir);
	const char *spec = "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
			   "\"ContainerEntrypoint\": [\"true\"]},\n"
			   " \"InputDataConfig\": [{\"ChannelName\": \"train\", \"DataSource\": "
			   "{\"S3DataSource\": {\"S3Uri\": \"data\"}}}]}";
	regex_t re;

	assert_int_equal(chdir(fx->dir), 0);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	if (build_spec(fx, spec, NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(regcomp(&re, "^sagerun-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, job.name, 0, NULL, 0), 0);
	regfree(&re);
	assert_true(!strncmp(job.arn,
			     "arn:aws:sagemaker:us-east-1:000000000000:training-job/sagerun-", 62));
	assert_int_equal(job.instance_count, 1);
	assert_string_equal(job.instance_type, "ml.m5.large");
	assert_string_equal(job.train.output_path, "./sagerun-output");
	out = xasprintf("%s/sagerun-output", fx->dir);
	assert_string_equal(job.train.output_local, out);
	assert_string_equal(job.train.input_mode, "File");
	assert_string_equal(job.train.output_compression, "GZIP");
	assert_int_equal(job.stop_grace_s, 120);
	assert_int_equal(job.max_run_s, 86400);
	assert_int_equal(job.volume_size_gb, 30);
	assert_string_equal(job.train.channels[0].s3_data_type, "S3Prefix");
	assert_string_equal(job.train.channels[0].distribution, "FullyReplicated");
	assert_string_equal(job.train.channels[0].compression, "None");
	assert_string_equal(job.train.channels[0].record_wrapper, "None");
	assert_string_equal(job.train.channels[0].input_mode, "File");
	assert_string_equal(job.train.channels[0].local_path, data);
	job_release(&job);
}

static void test_arn_region(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};
	const char *spec =
	    "{\"TrainingJobName\": \"My-Job\", \"AlgorithmSpecification\": "
	    "{\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": [\"true\"]}}";

	setenv("AWS_REGION", "", 1);
	setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
	if (build_spec(fx, spec, NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.arn,
			    "arn:aws:sagemaker:eu-west-1:000000000000:training-job/My-Job");
	job_release(&job);
	setenv("AWS_REGION", "cn-north-1", 1);
	if (build_spec(fx, spec, NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.arn,
			    "arn:aws-cn:sagemaker:cn-north-1:000000000000:training-job/My-Job");
	job_release(&job);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
}

/* Relative paths in a spec are resolved against the current folder, not the spec's. */
static void test_relative_paths_against_cwd(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *want = xasprintf("%s/data", fx->dir);
	const char *spec = "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
			   "\"ContainerEntrypoint\": [\"true\"]},\n"
			   " \"InputDataConfig\": [{\"ChannelName\": \"a\", \"DataSource\": "
			   "{\"S3DataSource\": {\"S3Uri\": \"data\"}}},\n"
			   "  {\"ChannelName\": \"b\", \"DataSource\": "
			   "{\"S3DataSource\": {\"S3Uri\": \"file://./data/\"}}}]}";

	assert_int_equal(chdir(fx->dir), 0);
	if (build_spec(fx, spec, NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.train.channels[0].local_path, want);
	assert_string_equal(job.train.channels[1].local_path, want);
	job_release(&job);

	/* and the message for a missing one says so */
	assert_int_equal(chdir("code"), 0);
	assert_true(build_spec(fx, spec, NULL, &job, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "job.json:2:84: InputDataConfig[0].DataSource."
					"S3DataSource.S3Uri: channel 'a': "));
	assert_non_null(strstr(err.hint, "current folder, not the spec's"));
	job_release(&job);
}

static void test_script_mode(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *ep = xasprintf("%s/code/train.py", fx->dir);
	_cleanup_free_ char *src = xasprintf("%s/code", fx->dir);
	_cleanup_free_ char *want_file = xasprintf("\"file://%s/code/train.py\"", fx->dir);
	_cleanup_free_ char *want_dir = xasprintf("\"file://%s/code\"", fx->dir);
	regex_t re;

	/* --mpi-launcher reaches the runtime through the job's Environment */
	job_flags_init(&flags);
	flags.entry_point = ep;
	flags.distribution = "mpi";
	flags.mpi_launcher = "ssh";
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job_map_get(&job.environment, "SAGERUN_MPI_LAUNCHER"), "ssh");
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_mpi_enabled"),
			    "true");
	job_release(&job);
	job_flags_release(&flags);
	memset(&job, 0, sizeof(job));

	/* without --source-dir: the file alone is the code */
	job_flags_init(&flags);
	flags.entry_point = ep;
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_program"),
			    "\"train.py\"");
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_submit_directory"),
			    want_file);
	assert_int_equal(job.entrypoint.n, 0);
	assert_int_equal(regcomp(&re, "^train-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, job.name, 0, NULL, 0), 0);
	regfree(&re);
	job_release(&job);

	/* with --source-dir: a path inside it */
	assert_int_equal(chdir(fx->dir), 0);
	flags.source_dir = "code";
	flags.entry_point = "./train.py";
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_program"),
			    "\"train.py\"");
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_submit_directory"),
			    want_dir);
	job_release(&job);

	flags.source_dir = src;
	flags.entry_point = "sub/run.py";
	strv_push(&flags.hps, "epochs=3");
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_program"),
			    "\"sub/run.py\"");
	assert_string_equal(job_map_get(&job.train.hyperparameters, "epochs"), "3");
	job_release(&job);

	/* the classic mistake: the entry point given relative to the current folder */
	flags.source_dir = "code";
	flags.entry_point = "code/train.py";
	assert_true(job_build(&flags, &job, NULL, &err) < 0);
	assert_string_equal(
	    err.msg, "--entry-point 'code/train.py': no file 'code/train.py' in --source-dir "
		     "'code'");
	assert_string_equal(err.hint, "with --source-dir, --entry-point is a path inside that "
				      "folder: try --entry-point train.py");
	job_release(&job);
	job_flags_release(&flags);
}

static void test_entry_point_over_spec(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	_cleanup_free_ char *ep = xasprintf("%s/code/train.py", fx->dir);

	job_flags_init(&flags);
	flags.entry_point = ep;
	if (build_spec(fx,
		       "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
		       "\"ContainerEntrypoint\": [\"bash\"], \"ContainerArguments\": [\"x\"]}}",
		       &flags, &job, &warnings, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.entrypoint.n, 0);
	assert_int_equal(job.arguments.n, 0);
	assert_int_equal(warnings.n, 1);
	assert_non_null(strstr(warnings.v[0], "--entry-point: replaces AlgorithmSpecification."
					      "ContainerEntrypoint from "));
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_program"),
			    "\"train.py\"");
	job_release(&job);
	strv_release(&warnings);
	job_flags_release(&flags);
}

static void test_command(void **state)
{
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	char *cmd[] = {"/usr/bin/python3", "-c", "print(1)", NULL};

	(void)state;
	job_flags_init(&flags);
	flags.command = cmd;
	flags.n_command = 3;
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.entrypoint.n, 1);
	assert_string_equal(job.entrypoint.v[0], "/usr/bin/python3");
	assert_int_equal(job.arguments.n, 2);
	assert_string_equal(job.arguments.v[1], "print(1)");
	assert_true(!strncmp(job.name, "python3-", 8));
	job_release(&job);
	job_flags_release(&flags);
}

struct flag_case {
	const char *title;
	void (*set)(struct job_flags *f, const char *dir);
	const char *expect; /* @DIR@ expanded */
};

static void fl_nothing(struct job_flags *f, const char *dir)
{
	(void)f;
	(void)dir;
}

static char *cmd_true[] = {"true", NULL};

static void fl_hp_no_eq(struct job_flags *f, const char *dir)
{
	(void)dir;
	f->command = cmd_true;
	f->n_command = 1;
	strv_push(&f->hps, "lr");
}

static void fl_hp_empty_key(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	strv_push(&f->hps, "=1");
}

static void fl_hp_long_value(struct job_flags *f, const char *dir)
{
	char *v = xmalloc(3 + 2501 + 1);

	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	memcpy(v, "lr=", 3);
	memset(v + 3, 'v', 2501);
	v[3 + 2501] = '\0';
	strv_push_take(&f->hps, v);
}

static void fl_channel_no_eq(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	strv_push(&f->channels, "train");
}

static void fl_channel_bad_name(struct job_flags *f, const char *dir)
{
	fl_channel_no_eq(f, dir);
	strv_release(&f->channels);
	strv_push(&f->channels, "my train=/tmp");
}

static void fl_channel_missing(struct job_flags *f, const char *dir)
{
	fl_channel_no_eq(f, dir);
	strv_release(&f->channels);
	strv_pushf(&f->channels, "train=%s/nope", dir);
}

static void fl_channel_twice(struct job_flags *f, const char *dir)
{
	fl_channel_no_eq(f, dir);
	strv_release(&f->channels);
	strv_pushf(&f->channels, "train=%s/data", dir);
	strv_pushf(&f->channels, "train=%s/data2", dir);
}

static void fl_channel_gs(struct job_flags *f, const char *dir)
{
	fl_channel_no_eq(f, dir);
	strv_release(&f->channels);
	strv_push(&f->channels, "train=gs://b/x");
}

static void fl_hosts_0(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->hosts = 0;
}

static void fl_env_bad_key(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	strv_push(&f->envs, "1X=secret");
}

static void fl_name_bad(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->name = "my_job";
}

static void fl_max_run_0(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->max_run_s = 0;
}

static void fl_instance_type(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->instance_type = "large";
}

static void fl_output_file(struct job_flags *f, const char *dir)
{
	static char out[PATH_MAX + 32];

	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	snprintf(out, sizeof(out), "%s/code/train.py", dir);
	f->output = out;
}

static void fl_entry_missing(struct job_flags *f, const char *dir)
{
	(void)dir;
	f->entry_point = "nope.py";
}

static void fl_entry_is_dir(struct job_flags *f, const char *dir)
{
	static char ep[PATH_MAX + 32];

	snprintf(ep, sizeof(ep), "%s/code", dir);
	f->entry_point = ep;
}

static void fl_source_dir_missing(struct job_flags *f, const char *dir)
{
	(void)dir;
	f->entry_point = "train.py";
	f->source_dir = "/nonexistent/src";
}

static void fl_source_dir_escape(struct job_flags *f, const char *dir)
{
	static char src[PATH_MAX + 32];

	snprintf(src, sizeof(src), "%s/code", dir);
	f->source_dir = src;
	f->entry_point = "../data";
}

static void fl_source_dir_alone(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->source_dir = "/tmp";
}

static void fl_entry_and_command(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->entry_point = "train.py";
}

static void fl_launcher_unknown(struct job_flags *f, const char *dir)
{
	static char ep[PATH_MAX + 32];

	snprintf(ep, sizeof(ep), "%s/code/train.py", dir);
	f->entry_point = ep;
	f->distribution = "mpi";
	f->mpi_launcher = "rsh";
}

static void fl_launcher_without_mpi(struct job_flags *f, const char *dir)
{
	fl_launcher_unknown(f, dir);
	f->distribution = "torch";
	f->mpi_launcher = "ssh";
}

static void fl_empty_command(struct job_flags *f, const char *dir)
{
	static char *none[] = {NULL};

	(void)dir;
	f->command = none;
	f->n_command = 0;
}

static void fl_long_argument(struct job_flags *f, const char *dir)
{
	static char arg[300];
	static char *cmd[3] = {"echo", arg, NULL};

	(void)dir;
	memset(arg, 'a', 257);
	arg[257] = '\0';
	f->command = cmd;
	f->n_command = 2;
}

static void fl_stop_grace(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->stop_grace_s = -5;
}

static void fl_stop_grace_long(struct job_flags *f, const char *dir)
{
	fl_stop_grace(f, dir);
	f->stop_grace_s = 86401;
}

static void fl_max_run_long(struct job_flags *f, const char *dir)
{
	fl_max_run_0(f, dir);
	f->max_run_s = 2419201;
}

/* what cli/train.c lets through: 100 years, which overflowed in milliseconds */
static void fl_max_run_huge(struct job_flags *f, const char *dir)
{
	fl_max_run_0(f, dir);
	f->max_run_s = INT64_C(100) * 365 * 86400;
}

static void fl_output_s3(struct job_flags *f, const char *dir)
{
	fl_hp_no_eq(f, dir);
	strv_release(&f->hps);
	f->output = "s3:///p";
}

static const struct flag_case flag_cases[] = {
    {"no spec, entry point or command", fl_nothing,
     "nothing to run: give --spec FILE, --entry-point FILE or -- COMMAND [ARGS...]"},
    {"--hp without =", fl_hp_no_eq, "--hp 'lr': expected KEY=VALUE"},
    {"--hp empty key", fl_hp_empty_key, "--hp '=1': expected KEY=VALUE, with a non-empty KEY"},
    {"--hp value too long", fl_hp_long_value, "': VALUE longer than 2500 characters (got 2501)"},
    {"--channel without =", fl_channel_no_eq, "--channel 'train': expected NAME=PATH"},
    {"--channel bad name", fl_channel_bad_name,
     "--channel 'my train=/tmp': NAME must match [A-Za-z0-9.\\-_]+ (got \"my train\")"},
    {"--channel missing folder", fl_channel_missing,
     "--channel 'train=@DIR@/nope': '@DIR@/nope' does not exist"},
    {"--channel twice", fl_channel_twice, "': channel 'train' is given twice"},
    {"--channel gs://", fl_channel_gs, "--channel 'train=gs://b/x': PATH must be s3://"},
    {"--hosts 0", fl_hosts_0, "--hosts: must be between 1 and 256 (got 0)"},
    {"--env bad key", fl_env_bad_key, "--env '1X=...': KEY must match [a-zA-Z_][a-zA-Z0-9_]*"},
    {"--name bad", fl_name_bad, "--name: must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"},
    {"--max-run 0", fl_max_run_0,
     "--max-run: must be between 1 and 2419200 seconds (28 days) (got 0)"},
    {"--max-run over 28 days", fl_max_run_long,
     "--max-run: must be between 1 and 2419200 seconds (28 days) (got 2419201)"},
    {"--max-run 100 years", fl_max_run_huge,
     "--max-run: must be between 1 and 2419200 seconds (28 days) (got 3153600000)"},
    {"--stop-grace negative", fl_stop_grace,
     "--stop-grace: must be between 0 and 86400 seconds (1 day) (got -5)"},
    {"--stop-grace over a day", fl_stop_grace_long,
     "--stop-grace: must be between 0 and 86400 seconds (1 day) (got 86401)"},
    {"--output s3:// without a bucket", fl_output_s3,
     "--output: must be s3://BUCKET/PREFIX, file://PATH or a local path (got \"s3:///p\")"},
    {"--instance-type", fl_instance_type, "--instance-type: must be an ml.* instance type"},
    {"--output a file", fl_output_file, "--output: '@DIR@/code/train.py' is not a folder"},
    {"--entry-point missing", fl_entry_missing, "--entry-point 'nope.py': no such file"},
    {"--entry-point a folder", fl_entry_is_dir, "--entry-point '@DIR@/code': not a file"},
    {"--source-dir missing", fl_source_dir_missing,
     "--source-dir '/nonexistent/src': no such folder"},
    {"--entry-point outside --source-dir", fl_source_dir_escape,
     "--entry-point '../data': must be a file inside --source-dir"},
    {"--source-dir alone", fl_source_dir_alone, "--source-dir: needs --entry-point"},
    {"--entry-point and command", fl_entry_and_command,
     "--entry-point and -- COMMAND: give one, not both"},
    {"-- without command", fl_empty_command, "--: expected COMMAND [ARGS...] after it"},
    {"--mpi-launcher unknown", fl_launcher_unknown,
     "--mpi-launcher 'rsh': expected sagerun or ssh"},
    {"--mpi-launcher without MPI", fl_launcher_without_mpi,
     "--mpi-launcher 'ssh': is for MPI jobs"},
    {"long argument", fl_long_argument,
     "-- COMMAND 'echo': argument 1 longer than 256 characters (got 257)"},
};

static void test_flag_errors(void **state)
{
	struct fx *fx = *state;
	size_t failures = 0;

	for (size_t i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
		const struct flag_case *c = &flag_cases[i];
		_cleanup_free_ char *expect = expand(c->expect, fx->dir);
		struct job_flags flags;
		struct job job = {0};
		struct sr_error err = {0};
		int r;

		job_flags_init(&flags);
		c->set(&flags, fx->dir);
		r = job_build(&flags, &job, NULL, &err);
		if (r >= 0 || !strstr(err.msg, expect)) {
			print_error("case '%s':\n  expected: %s\n  got (%d): %s\n", c->title,
				    expect, r, err.msg);
			failures++;
		}
		/* an environment value never shows up in a message */
		if (strstr(err.msg, "secret"))
			failures++;
		job_release(&job);
		job_flags_release(&flags);
	}
	assert_int_equal(failures, 0);
}

/* S3 is refused before anything is made, naming the flag or the place in the spec, with a
 * hint; a flag that replaces the spec's S3 location with a local one is fine. */
static void test_s3_locations(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *local = xasprintf("train=%s/data", fx->dir);
	_cleanup_free_ char *out = xasprintf("%s/out", fx->dir);
	const char *spec = "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
			   "\"ContainerEntrypoint\": [\"true\"]},\n"
			   " \"InputDataConfig\": [{\"ChannelName\": \"train\", \"DataSource\": "
			   "{\"S3DataSource\": {\"S3Uri\": \"s3://b/t\"}}}],\n"
			   " \"OutputDataConfig\": {\"S3OutputPath\": \"s3://b/o\"}}";

	assert_int_equal(chdir(fx->dir), 0);
	/* S3 channels and outputs are staged and uploaded by the run: nothing local to check */
	if (build_spec(fx, spec, NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_null(job.train.channels[0].local_path);
	assert_string_equal(job.train.channels[0].uri, "s3://b/t");
	job_release(&job);

	/* the channel replaced by a flag: an S3 output is fine, uploaded after the job */
	job_flags_init(&flags);
	strv_push(&flags.channels, local);
	if (build_spec(fx, spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.train.output_path, "s3://b/o");
	assert_null(job.train.output_local);
	job_release(&job);

	/* both replaced: fine */
	flags.output = out;
	if (build_spec(fx, spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.train.output_local, out);
	job_release(&job);
	job_flags_release(&flags);

	/* an S3 output makes no local folder, not even one named "s3:" */
	job_flags_init(&flags);
	flags.command = cmd_true;
	flags.n_command = 1;
	flags.output = "s3://b/p";
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_null(job.train.output_local);
	assert_false(fs_exists("sagerun-output"));
	assert_false(fs_exists("s3:"));
	job_release(&job);
	job_flags_release(&flags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_flags_override_spec),
	    FX_TEST(test_defaults),
	    FX_TEST(test_arn_region),
	    FX_TEST(test_relative_paths_against_cwd),
	    FX_TEST(test_script_mode),
	    FX_TEST(test_entry_point_over_spec),
	    FX_TEST(test_command),
	    FX_TEST(test_flag_errors),
	    FX_TEST(test_s3_locations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
