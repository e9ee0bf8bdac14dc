/* Unit tests for the sagemaker engine's plan and request (engines/sagemaker_upload.c,
 * sagemaker_request.c, sagemaker_dlc.c): a job built from flags as `sagerun train|process
 * --engine sagemaker` builds it, then where each local part goes in S3 and the request the
 * service would get, field by field.  Nothing is sent: the plan alone makes no request. */
#include "test_job_fixture.h"

#include "engines/engine.h"
#include "engines/sagemaker_internal.h"
#include "job/report.h"

#define ROLE   "arn:aws:iam::123456789012:role/SageMakerRole"
#define IMAGE  "123456789012.dkr.ecr.us-west-2.amazonaws.com/mine:1"
#define BUCKET "sagemaker-us-west-2-123456789012"

/* The region and nothing else from the environment: no profile, endpoint or role. */
static int env_setup(void **state)
{
	(void)state;
	setenv("AWS_REGION", "us-west-2", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_SAGEMAKER");
	unsetenv(SM_ROLE_ENV);
	return 0;
}

static void build_ok(struct job_flags *flags, struct job *job, struct strv *warnings)
{
	struct sr_error err = {0};

	flags->remote = true;
	if (job_build(flags, job, warnings, &err) < 0)
		fail_msg("job_build: %s", err.msg);
}

static void plan_ok(struct job *job, const char *image, bool download, struct sm_plan *plan)
{
	struct sr_error err = {0};

	if (sm_plan_make(job, ROLE, image, download, plan, NULL, &err) < 0)
		fail_msg("sm_plan_make: %s (%s)", err.msg, err.hint);
}

static json_t *request_ok(const struct job *job)
{
	struct sr_error err = {0};
	json_t *req = sm_request_json(job, &err);

	if (!req)
		fail_msg("sm_request_json: %s", err.msg);
	return req;
}

/* One job of a test: the flags, the job built from them as for --engine sagemaker, its plan. */
struct smc {
	struct job_flags flags;
	struct job job;
	struct sm_plan plan;
	struct strv warnings;
};

static void smc_init(struct smc *c)
{
	memset(c, 0, sizeof(*c));
	job_flags_init(&c->flags);
	c->warnings = (struct strv)STRV_INIT;
}

static void smc_plan(struct smc *c, const char *image, bool download)
{
	build_ok(&c->flags, &c->job, &c->warnings);
	plan_ok(&c->job, image, download, &c->plan);
}

static void smc_release(struct smc *c)
{
	sm_plan_release(&c->plan);
	job_release(&c->job);
	job_flags_release(&c->flags);
	strv_release(&c->warnings);
}

/* The string at a path of objects ("A.B.C") and array indexes ("A.0.B"). */
static const char *at(json_t *v, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(k, NULL, 10))
				     : json_object_get(v, k);
	return json_string_value(v);
}

/* Script mode from a local folder: the code where the SDK puts it, the hyperparameters the
 * SDK's framework estimator sends (every value JSON-encoded), the local channel synced under
 * the bucket, the local output replaced by the bucket (the SDK's default output). */
static void test_training_local_code(void **state)
{
	struct fx *fx = *state;
	struct smc c;
	_cleanup_free_ char *code = xasprintf("%s/code", fx->dir);
	_cleanup_free_ char *data = xasprintf("%s/data", fx->dir);
	_cleanup_free_ char *channel = xasprintf("train=%s", data);
	_cleanup_free_ char *out = xasprintf("%s/out", fx->dir);
	_cleanup_free_ char *down = xasprintf("%s/out/tj/output", fx->dir);
	_cleanup_json_ json_t *req = NULL;
	_cleanup_json_ json_t *want = NULL;
	json_error_t jerr;

	smc_init(&c);
	c.flags.name = "tj";
	c.flags.entry_point = "train.py";
	c.flags.source_dir = code;
	c.flags.output = out;
	strv_push(&c.flags.hps, "epochs=2");
	strv_push(&c.flags.hps, "optimizer=adam");
	strv_push(&c.flags.hps, "layers=[64, 32]");
	strv_push(&c.flags.channels, channel);
	smc_plan(&c, IMAGE, true);

	assert_string_equal(c.plan.region, "us-west-2");
	assert_string_equal(c.plan.bucket, BUCKET);
	assert_int_equal(c.plan.n_up, 2);
	assert_int_equal(c.plan.up[0].how, SM_UP_SOURCEDIR);
	assert_string_equal(c.plan.up[0].local, code);
	assert_string_equal(c.plan.up[0].uri, "s3://" BUCKET "/tj/source/sourcedir.tar.gz");
	assert_int_equal(c.plan.up[1].how, SM_UP_SYNC);
	assert_string_equal(c.plan.up[1].local, data);
	assert_int_equal(strncmp(c.plan.up[1].uri, "s3://" BUCKET "/sagerun/inputs/data-", 42), 0);
	assert_int_equal(c.plan.n_down, 1);
	assert_string_equal(c.plan.down[0].uri, "s3://" BUCKET "/tj/output/");
	assert_string_equal(c.plan.down[0].local, down);

	req = request_ok(&c.job);
	want = json_loads("{\"epochs\": \"2\", \"optimizer\": \"\\\"adam\\\"\","
			  " \"layers\": \"[64, 32]\","
			  " \"sagemaker_program\": \"\\\"train.py\\\"\","
			  " \"sagemaker_submit_directory\":"
			  " \"\\\"s3://" BUCKET "/tj/source/sourcedir.tar.gz\\\"\","
			  " \"sagemaker_container_log_level\": \"20\","
			  " \"sagemaker_job_name\": \"\\\"tj\\\"\","
			  " \"sagemaker_region\": \"\\\"us-west-2\\\"\"}",
			  0, &jerr);
	assert_non_null(want);
	if (!json_equal(json_object_get(req, "HyperParameters"), want)) {
		_cleanup_free_ char *got =
		    json_dumps(json_object_get(req, "HyperParameters"), JSON_SORT_KEYS);
		fail_msg("HyperParameters: %s", got);
	}
	assert_string_equal(at(req, "TrainingJobName"), "tj");
	assert_string_equal(at(req, "RoleArn"), ROLE);
	assert_string_equal(at(req, "AlgorithmSpecification.TrainingImage"), IMAGE);
	assert_null(
	    json_object_get(json_object_get(req, "AlgorithmSpecification"), "ContainerEntrypoint"));
	assert_string_equal(at(req, "OutputDataConfig.S3OutputPath"), "s3://" BUCKET "/");
	assert_string_equal(at(req, "InputDataConfig.0.ChannelName"), "train");
	assert_string_equal(at(req, "InputDataConfig.0.DataSource.S3DataSource.S3Uri"),
			    c.plan.up[1].uri);
	smc_release(&c);
}

/* A spec's own hyperparameters are the request's as written; only --hp values are encoded,
 * and a log level given is kept. */
static void test_training_spec_hps_kept(void **state)
{
	struct fx *fx = *state;
	struct smc c;
	_cleanup_free_ char *code = xasprintf("%s/code", fx->dir);
	_cleanup_json_ json_t *req = NULL;

	write_file(fx->spec, "{\"HyperParameters\": {\"mode\": \"fast\","
			     " \"sagemaker_container_log_level\": \"10\"},"
			     " \"OutputDataConfig\": {\"S3OutputPath\": \"s3://b/out\"}}");
	smc_init(&c);
	c.flags.spec_path = fx->spec;
	c.flags.name = "tk";
	c.flags.entry_point = "sub/run.py";
	c.flags.source_dir = code;
	strv_push(&c.flags.hps, "tag=v1");
	smc_plan(&c, IMAGE, false);
	req = request_ok(&c.job);
	assert_string_equal(at(req, "HyperParameters.mode"), "fast");
	assert_string_equal(at(req, "HyperParameters.tag"), "\"v1\"");
	assert_string_equal(at(req, "HyperParameters.sagemaker_container_log_level"), "10");
	assert_string_equal(at(req, "HyperParameters.sagemaker_program"), "\"sub/run.py\"");
	assert_string_equal(at(req, "OutputDataConfig.S3OutputPath"), "s3://b/out");
	assert_int_equal(c.plan.n_down, 0);
	smc_release(&c);
}

/* A command job sends no script-mode hyperparameters, and --hp values as given. */
static void test_training_command(void **state)
{
	struct smc c;
	char *argv[] = {"python3", "train.py", NULL};
	_cleanup_json_ json_t *req = NULL;

	(void)state;
	smc_init(&c);
	c.flags.name = "tc";
	c.flags.output = "s3://b/out";
	c.flags.command = argv;
	c.flags.n_command = 2;
	strv_push(&c.flags.hps, "optimizer=adam");
	smc_plan(&c, IMAGE, false);
	req = request_ok(&c.job);
	assert_int_equal(c.plan.n_up, 0);
	assert_false(c.plan.bucket_used);
	assert_string_equal(at(req, "HyperParameters.optimizer"), "adam");
	assert_null(at(req, "HyperParameters.sagemaker_region"));
	assert_string_equal(at(req, "AlgorithmSpecification.ContainerEntrypoint.0"), "python3");
	smc_release(&c);
}

/* The SDK's image_uris.retrieve("pytorch", ...) for training, from its pytorch.json. */
static void test_framework_image(void **state)
{
	static const struct {
		const char *version, *region, *type, *want;
	} cases[] = {
	    {"2.5", "us-west-2", "ml.p4d.24xlarge",
	     "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.5-gpu-py311"},
	    {"2.8.0", "af-south-1", "ml.g5.xlarge",
	     "626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-training:2.8.0-gpu-py312"},
	    {"1.13", "cn-northwest-1", "ml.c5.xlarge",
	     "727897471807.dkr.ecr.cn-northwest-1.amazonaws.com.cn/pytorch-training:1.13-cpu-py39"},
	    {"2.1.0", "us-gov-west-1", "ml.m5.large",
	     "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310"},
	    {"2.3", "eu-central-2", "ml.g4dn.xlarge",
	     "380420809688.dkr.ecr.eu-central-2.amazonaws.com/pytorch-training:2.3-gpu-py311"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_error err = {0};
		char *got = NULL;

		if (sm_dlc_image("pytorch", cases[i].version, cases[i].region, cases[i].type, &got,
				 &err) < 0)
			fail_msg("%s %s: %s", cases[i].version, cases[i].region, err.msg);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void expect_dlc_error(const char *framework, const char *version, const char *region,
			     const char *type, const char *in_msg)
{
	struct sr_error err = {0};
	char *got = NULL;

	assert_int_equal(sm_dlc_image(framework, version, region, type, &got, &err), -EINVAL);
	assert_null(got);
	if (!strstr(err.msg, in_msg))
		fail_msg("'%s' not in: %s", in_msg, err.msg);
	assert_true(strlen(err.hint) > 0);
}

/* What the SDK refuses, refused with what is known. */
static void test_framework_image_errors(void **state)
{
	(void)state;
	expect_dlc_error("pytorch", "9.9", "us-west-2", "ml.m5.large", "2.8.0");
	expect_dlc_error("pytorch", NULL, "us-west-2", "ml.m5.large", "needs its version");
	expect_dlc_error("pytorch", "2.5", "xx-nowhere-1", "ml.m5.large", "us-west-2");
	expect_dlc_error("pytorch", "2.5", "us-west-2", "ml.trn1.2xlarge", "Neuron");
	expect_dlc_error("pytorch", "2.5", "us-west-2", "m5.large", "ml.FAMILY.SIZE");
	expect_dlc_error("tensorflow", "2.14", "us-west-2", "ml.m5.large", "known: pytorch");
}

/* --framework with no image: the plan picks the container for the region and instance type;
 * --image wins over it. */
static void test_framework_plan(void **state)
{
	struct job_flags flags;
	struct job job = {0}, job2 = {0};
	struct sm_plan plan, plan2;
	struct strv warnings = STRV_INIT;
	char *argv[] = {"python3", "t.py", NULL};

	(void)state;
	job_flags_init(&flags);
	flags.name = "fw";
	flags.framework = "pytorch:2.2";
	flags.instance_type = "ml.p3.2xlarge";
	flags.output = "s3://b/out";
	flags.command = argv;
	flags.n_command = 2;
	build_ok(&flags, &job, &warnings);
	plan_ok(&job, NULL, false, &plan);
	assert_string_equal(
	    job.image,
	    "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.2-gpu-py310");
	build_ok(&flags, &job2, &warnings);
	plan_ok(&job2, IMAGE, false, &plan2);
	assert_string_equal(job2.image, IMAGE);
	sm_plan_release(&plan);
	sm_plan_release(&plan2);
	job_release(&job);
	job_release(&job2);
	job_flags_release(&flags);
	strv_release(&warnings);
}

/* ScriptProcessor with local inputs: the code and a file input under the job's input/<name>/,
 * a folder synced under sagerun/inputs/, a local output under the job's output/<name>, an S3
 * one left alone. */
static void test_processing_local_inputs(void **state)
{
	struct fx *fx = *state;
	struct smc c;
	_cleanup_free_ char *in_dir = xasprintf("a=%s/data", fx->dir);
	_cleanup_free_ char *in_file =
	    xasprintf("f=%s/code/train.py,destination=/opt/ml/processing/f", fx->dir);
	_cleanup_free_ char *code = xasprintf("%s/code/sub/run.py", fx->dir);
	_cleanup_free_ char *out_local = xasprintf("o=%s/mine", fx->dir);
	_cleanup_json_ json_t *req = NULL;
	json_t *inputs;
	size_t i;
	json_t *in;
	int seen = 0;

	smc_init(&c);
	c.flags.kind = &job_kind_processing;
	c.flags.name = "pj";
	c.flags.code = code;
	strv_push(&c.flags.inputs, in_dir);
	strv_push(&c.flags.inputs, in_file);
	strv_push(&c.flags.outputs, out_local);
	strv_push(&c.flags.outputs, "s=s3://b/s");
	smc_plan(&c, IMAGE, false);
	assert_int_equal(c.plan.n_up, 3);
	req = request_ok(&c.job);
	assert_string_equal(at(req, "AppSpecification.ImageUri"), IMAGE);
	inputs = json_object_get(req, "ProcessingInputs");
	json_array_foreach (inputs, i, in) {
		const char *name = at(in, "InputName"), *uri = at(in, "S3Input.S3Uri");

		if (!strcmp(name, "a")) {
			assert_int_equal(strncmp(uri, "s3://" BUCKET "/sagerun/inputs/data-", 42),
					 0);
			seen |= 1;
		} else if (!strcmp(name, "f")) {
			assert_string_equal(uri, "s3://" BUCKET "/pj/input/f/train.py");
			assert_string_equal(at(in, "S3Input.LocalPath"), "/opt/ml/processing/f");
			seen |= 2;
		} else if (!strcmp(name, "code")) {
			assert_string_equal(uri, "s3://" BUCKET "/pj/input/code/run.py");
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	for (size_t k = 0; k < c.plan.n_up; k++)
		assert_int_equal(
		    strncmp(c.plan.up[k].uri, "s3://" BUCKET "/", 5 + strlen(BUCKET) + 1), 0);
	assert_string_equal(at(req, "ProcessingOutputConfig.Outputs.0.OutputName"), "o");
	assert_string_equal(at(req, "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri"),
			    "s3://" BUCKET "/pj/output/o");
	assert_string_equal(at(req, "ProcessingOutputConfig.Outputs.1.S3Output.S3Uri"), "s3://b/s");
	assert_string_equal(at(req, "AppSpecification.ContainerEntrypoint.1"),
			    "/opt/ml/processing/input/code/run.py");
	smc_release(&c);
}

/* FrameworkProcessor: sourcedir.tar.gz and runproc.sh made in the plan's own folder (gone
 * with the plan), each sent to the job's source/. */
static void source_dir_case(struct fx *fx, const char *command, const char *want_pip,
			    const char *want_run)
{
	struct job_flags flags;
	struct job job = {0};
	struct sm_plan plan;
	struct strv warnings = STRV_INIT;
	_cleanup_free_ char *code = xasprintf("%s/code", fx->dir);
	_cleanup_free_ char *work = NULL;
	int seen = 0;

	job_flags_init(&flags);
	flags.kind = &job_kind_processing;
	flags.name = "pf";
	flags.source_dir = code;
	flags.entry_point = "train.py";
	flags.proc_command = command;
	build_ok(&flags, &job, &warnings);
	plan_ok(&job, IMAGE, false, &plan);
	assert_non_null(plan.work_dir);
	work = xstrdup(plan.work_dir);
	for (size_t k = 0; k < plan.n_up; k++) {
		if (!strcmp(plan.up[k].uri, "s3://" BUCKET "/pf/source/sourcedir.tar.gz"))
			seen |= 1;
		if (!strcmp(plan.up[k].uri, "s3://" BUCKET "/pf/source/runproc.sh")) {
			_cleanup_free_ char *text = NULL;
			struct sr_error err = {0};

			seen |= 2;
			if (fs_read_file(plan.up[k].local, 1 << 16, &text, NULL, &err) < 0)
				fail_msg("%s", err.msg);
			/* the requirements go to the command's Python, or `python` as the SDK's */
			assert_non_null(strstr(text, want_pip));
			assert_non_null(strstr(text, want_run));
		}
		assert_true(fs_exists(plan.up[k].local));
		assert_int_equal(strncmp(plan.up[k].local, work, strlen(work)), 0);
	}
	assert_int_equal(seen, 3);
	sm_plan_release(&plan);
	assert_false(fs_exists(work));
	job_release(&job);
	job_flags_release(&flags);
	strv_release(&warnings);
}

static void test_processing_source_dir(void **state)
{
	source_dir_case(*state, NULL, "\n    python3 -m pip install -r requirements.txt\n",
			"\npython3 train.py \"$@\"\n");
	source_dir_case(*state, "/usr/bin/python3.11 -u",
			"\n    /usr/bin/python3.11 -m pip uninstall --yes typing\n",
			"\n/usr/bin/python3.11 -u train.py \"$@\"\n");
	source_dir_case(*state, "Rscript", "\n    python -m pip install -r requirements.txt\n",
			"\nRscript train.py \"$@\"\n");
}

/* What the spec parser says this machine does not honour is not said of a remote job. */
static void test_no_local_warnings(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0}, job2 = {0};
	struct strv local = STRV_INIT, remote = STRV_INIT;
	struct sr_error err = {0};

	write_file(fx->spec, "{\"AlgorithmSpecification\": {\"TrainingImage\": \"" IMAGE "\","
			     " \"TrainingInputMode\": \"File\"},"
			     " \"OutputDataConfig\": {\"S3OutputPath\": \"s3://b/out\"},"
			     " \"VpcConfig\": {\"SecurityGroupIds\": [\"sg-1\"],"
			     " \"Subnets\": [\"subnet-1\"]}}");
	job_flags_init(&flags);
	flags.spec_path = fx->spec;
	if (job_build(&flags, &job, &local, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(local.n, 1);
	assert_non_null(strstr(local.v[0], "not honoured locally"));
	build_ok(&flags, &job2, &remote);
	assert_int_equal(remote.n, 0);
	job_release(&job);
	job_release(&job2);
	job_flags_release(&flags);
	strv_release(&local);
	strv_release(&remote);
}

/* The engine's dry run: the request as text, credentials' values redacted, nothing sent; the
 * local engine's host options refused as a usage error. */
static void test_submit_dry_run(void **state)
{
	struct job_flags flags;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct engine_options eo = {0};
	struct launch_result res;
	struct sr_error err = {0};
	char *argv[] = {"true", NULL};
	_cleanup_json_ json_t *shown = NULL;

	(void)state;
	job_flags_init(&flags);
	flags.name = "dr";
	flags.output = "s3://b/out";
	flags.command = argv;
	flags.n_command = 1;
	strv_push(&flags.envs, "API_TOKEN=topsecret");
	build_ok(&flags, &job, &warnings);
	eo.role = ROLE;
	eo.dry_run = true;
	eo.local.hosts.image = IMAGE;
	if (engine_sagemaker.submit(&job, &eo, NULL, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(res.request);
	assert_null(strstr(res.request, "topsecret"));
	shown = json_loads(res.request, 0, NULL);
	assert_non_null(shown);
	assert_string_equal(at(shown, "Environment.API_TOKEN"), "(redacted)");
	assert_string_equal(at(shown, "AlgorithmSpecification.TrainingImage"), IMAGE);
	free(res.request);

	eo.local.backend = "process";
	assert_int_equal(engine_sagemaker.submit(&job, &eo, NULL, &res, &err), -EINVAL);
	assert_true(res.usage);
	assert_non_null(strstr(err.msg, "--backend"));
	job_release(&job);
	job_flags_release(&flags);
	strv_release(&warnings);
}

/* No role, no image: usage errors that say where to give them. */
static void test_plan_refusals(void **state)
{
	struct smc c;
	struct sr_error err = {0};
	char *argv[] = {"true", NULL};

	(void)state;
	smc_init(&c);
	c.flags.output = "s3://b/out";
	c.flags.command = argv;
	c.flags.n_command = 1;
	build_ok(&c.flags, &c.job, &c.warnings);
	assert_int_equal(sm_plan_make(&c.job, NULL, IMAGE, false, &c.plan, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.hint, SM_ROLE_ENV));
	sm_plan_release(&c.plan);
	sr_err_clear(&err);
	assert_int_equal(sm_plan_make(&c.job, ROLE, NULL, false, &c.plan, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "images only"));
	assert_non_null(strstr(err.hint, "--framework"));
	sm_plan_release(&c.plan);
	sr_err_clear(&err);
	assert_int_equal(
	    sm_plan_make(&c.job, "arn:aws:iam::12:role/x", IMAGE, false, &c.plan, NULL, &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "not an IAM role ARN"));
	smc_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_training_local_code, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_training_spec_hps_kept, fx_setup, fx_teardown),
	    cmocka_unit_test(test_training_command),
	    cmocka_unit_test(test_framework_image),
	    cmocka_unit_test(test_framework_image_errors),
	    cmocka_unit_test(test_framework_plan),
	    cmocka_unit_test_setup_teardown(test_processing_local_inputs, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_processing_source_dir, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_no_local_warnings, fx_setup, fx_teardown),
	    cmocka_unit_test(test_submit_dry_run),
	    cmocka_unit_test(test_plan_refusals),
	};

	return cmocka_run_group_tests(tests, env_setup, NULL);
}
