/* Unit tests for job/'s spec parser: positioned errors for malformed requests, syntax errors,
 * and the warnings for fields accepted but not honoured locally. */
#include "test_job_fixture.h"

struct bad_spec {
	const char *title;
	const char *text;
	const char *expect; /* substring of the error, with @DIR@ expanded */
};

/* Each expected LINE:COL was counted independently of jsonpos, by marking the character the
 * error must point at in the expanded text (1-based, columns in characters). */
static const struct bad_spec bad_specs[] = {
    {"top-level array", "[1, 2]",
     "job.json:1:1: expected an object (a CreateTrainingJob request), got a list"},
    {"top-level string", "\"hello\"",
     "job.json:1:1: expected an object (a CreateTrainingJob request), got a string"},
    {"unknown top-level field", "{\"TrainingJobName\": \"a\", \"HyperParameter\": {}}",
     "job.json:1:26: HyperParameter: unknown field (did you mean \"HyperParameters\"?)"},
    {"unknown field, case only", "{\"trainingjobname\": \"a\"}",
     "job.json:1:2: trainingjobname: unknown field (did you mean \"TrainingJobName\"?)"},
    {"nested field at top level", "{\"InstanceCount\": 2}",
     "job.json:1:2: InstanceCount: unknown field (did you mean ResourceConfig.InstanceCount?)"},
    {"unknown nested field", "{\"ResourceConfig\": {\"InstanceCont\": 2}}",
     "job.json:1:21: ResourceConfig.InstanceCont: unknown field (did you mean \"InstanceCount\"?)"},
    {"unknown nested field, no suggestion",
     "{\"ResourceConfig\": {\"InstanceCount\": 1,\n  \"Banana\": 2}}",
     "job.json:2:3: ResourceConfig.Banana: unknown field"},
    {"unknown channel field", "{\"InputDataConfig\": [{\"Chanelname\": \"x\"}]}",
     "job.json:1:23: InputDataConfig[0].Chanelname: unknown field (did you mean \"ChannelName\"?)"},
    {"InstanceCount string", "{\"ResourceConfig\": {\"InstanceCount\": \"2\"}}",
     "job.json:1:38: ResourceConfig.InstanceCount: expected an integer, got a string"},
    {"InstanceCount real", "{\"ResourceConfig\": {\"InstanceCount\": 2.5}}",
     "job.json:1:38: ResourceConfig.InstanceCount: expected an integer, got a number with a "
     "fraction"},
    {"InstanceCount 0", "{\"ResourceConfig\": {\"InstanceCount\": 0}}",
     "job.json:1:38: ResourceConfig.InstanceCount: must be at least 1 (got 0)"},
    {"InstanceCount too many", "{\"ResourceConfig\": {\"InstanceCount\": 300}}",
     "job.json:1:38: ResourceConfig.InstanceCount: must be at most 256 hosts on one machine (got "
     "300)"},
    {"InstanceType", "{\"ResourceConfig\": {\"InstanceType\": \"m5.large\"}}",
     "job.json:1:37: ResourceConfig.InstanceType: must be an ml.* instance type such as "
     "ml.m5.large (got \"m5.large\")"},
    {"bad name pattern", "{\"TrainingJobName\": \"my_job\"}",
     "job.json:1:21: TrainingJobName: must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"},
    {"name ends in hyphen", "{\"TrainingJobName\": \"job-\"}",
     "job.json:1:21: TrainingJobName: must match"},
    {"name too long", "{\"TrainingJobName\": \"@N64@\"}",
     "job.json:1:21: TrainingJobName: longer than 63 characters (got 64)"},
    {"name empty", "{\"TrainingJobName\": \"\"}",
     "job.json:1:21: TrainingJobName: must not be empty"},
    {"channel name with space",
     "{\n  \"InputDataConfig\": [\n    {\"ChannelName\": \"train\", \"DataSource\": "
     "{\"S3DataSource\": {\"S3Uri\": \"s3://b/x\"}}},\n    {\"ChannelName\": \"bad name\", "
     "\"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"s3://b/y\"}}}\n  ]\n}",
     "job.json:4:21: InputDataConfig[1].ChannelName: must match [A-Za-z0-9.\\-_]+ (got \"bad "
     "name\")"},
    {"channel name too long", "{\"InputDataConfig\": [{\"ChannelName\": \"@N64@a\"}]}",
     "job.json:1:38: InputDataConfig[0].ChannelName: longer than 64 characters (got 65)"},
    {"duplicate channels",
     "{\"InputDataConfig\": [\n  {\"ChannelName\": \"train\", \"DataSource\": {\"S3DataSource\": "
     "{\"S3Uri\": \"s3://b/x\"}}},\n  {\"ChannelName\": \"train\", \"DataSource\": "
     "{\"S3DataSource\": {\"S3Uri\": \"s3://b/y\"}}}]}",
     "job.json:3:19: InputDataConfig[1].ChannelName: duplicate channel name \"train\" "
     "(InputDataConfig[0] has it too)"},
    {"missing ChannelName",
     "{\"InputDataConfig\": [{\"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"s3://b/x\"}}}]}",
     "job.json:1:22: InputDataConfig[0]: missing required field ChannelName"},
    /* The duplicate check of the next channel once compared with no name (tests/fuzz). */
    {"missing ChannelName, then a channel",
     "{\"InputDataConfig\": [{\"ChanelName\": \"a\"},\n  {\"ChannelName\": \"b\", "
     "\"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"s3://b/y\"}}}]}",
     "job.json:1:23: InputDataConfig[0].ChanelName: unknown field (did you mean "
     "\"ChannelName\"?)"},
    {"missing DataSource", "{\"InputDataConfig\": [{\"ChannelName\": \"train\"}]}",
     "job.json:1:22: InputDataConfig[0]: missing required field DataSource"},
    {"missing S3DataSource",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"DataSource\": {\"FileSystemDataSource\": "
     "{}}}]}",
     "job.json:1:57: InputDataConfig[0].DataSource: missing S3DataSource"},
    {"missing S3Uri",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"DataSource\": {\"S3DataSource\": "
     "{\"S3DataType\": \"S3Prefix\"}}}]}",
     "job.json:1:74: InputDataConfig[0].DataSource.S3DataSource: missing required field S3Uri"},
    {"bad S3Uri scheme",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"DataSource\": {\"S3DataSource\": "
     "{\"S3Uri\": \"gs://b/x\"}}}]}",
     "job.json:1:84: InputDataConfig[0].DataSource.S3DataSource.S3Uri: must be s3://BUCKET/PREFIX, "
     "file://PATH or a local path (got \"gs://b/x\")"},
    {"bad S3DataDistributionType",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"DataSource\": {\"S3DataSource\": "
     "{\"S3Uri\": \"s3://b/x\",\n    \"S3DataDistributionType\": \"Sharded\"}}}]}",
     "job.json:2:31: InputDataConfig[0].DataSource.S3DataSource.S3DataDistributionType: must be "
     "FullyReplicated or ShardedByS3Key (got \"Sharded\")"},
    {"bad S3DataType",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"DataSource\": {\"S3DataSource\": "
     "{\"S3DataType\": \"Prefix\", \"S3Uri\": \"s3://b/x\"}}}]}",
     "job.json:1:89: InputDataConfig[0].DataSource.S3DataSource.S3DataType: must be S3Prefix, "
     "ManifestFile, AugmentedManifestFile or Converse (got \"Prefix\")"},
    {"local ManifestFile",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"DataSource\": {\"S3DataSource\": "
     "{\"S3DataType\": \"ManifestFile\", \"S3Uri\": \"/data/m.json\"}}}]}",
     "job.json:1:89: InputDataConfig[0].DataSource.S3DataSource.S3DataType: a local channel must "
     "be an S3Prefix folder (got \"ManifestFile\")"},
    {"bad channel CompressionType",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"CompressionType\": \"Zip\"}]}",
     "job.json:1:62: InputDataConfig[0].CompressionType: must be None or Gzip (got \"Zip\")"},
    {"bad RecordWrapperType",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"RecordWrapperType\": \"recordio\"}]}",
     "job.json:1:64: InputDataConfig[0].RecordWrapperType: must be None or RecordIO (got "
     "\"recordio\")"},
    {"channel input mode in lower case",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"InputMode\": \"pipe\"}]}",
     "job.json:1:56: InputDataConfig[0].InputMode: must be File, FastFile or Pipe (got \"pipe\")"},
    {"101 hyperparameters", "{\"HyperParameters\": @HP101@}",
     "job.json:1:21: HyperParameters: more than 100 entries (got 101)"},
    {"hp key too long", "{\"HyperParameters\": {\"@K257@\": \"v\"}}",
     "job.json:1:22: HyperParameters.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...: key longer than 256 "
     "characters (got 257)"},
    {"hp value too long", "{\"HyperParameters\": {\"lr\": \"@V2501@\"}}",
     "job.json:1:28: HyperParameters.lr: value longer than 2500 characters (got 2501)"},
    {"hp value not a string", "{\"HyperParameters\": {\n\t\"epochs\": 10}}",
     "job.json:2:12: HyperParameters.epochs: expected a string, got an integer"},
    {"hp odd key", "{\"HyperParameters\": {\"a b\": false}}",
     "job.json:1:29: HyperParameters[\"a b\"]: expected a string, got a boolean"},
    {"HyperParameters not an object", "{\"HyperParameters\": [\"a\"]}",
     "job.json:1:21: HyperParameters: expected an object of strings, got a list"},
    {"MaxRuntimeInSeconds 0", "{\"StoppingCondition\": {\"MaxRuntimeInSeconds\": 0}}",
     "job.json:1:47: StoppingCondition.MaxRuntimeInSeconds: must be at least 1 (got 0)"},
    {"MaxRuntimeInSeconds over 28 days",
     "{\"StoppingCondition\": {\"MaxRuntimeInSeconds\": 2419201}}",
     "job.json:1:47: StoppingCondition.MaxRuntimeInSeconds: must be at most 2419200 seconds (28 "
     "days) (got 2419201)"},
    {"MaxRuntimeInSeconds INT64_MAX (overflowed * 1000)",
     "{\"StoppingCondition\": {\"MaxRuntimeInSeconds\": 9223372036854775807}}",
     "job.json:1:47: StoppingCondition.MaxRuntimeInSeconds: must be at most 2419200 seconds (28 "
     "days) (got 9223372036854775807)"},
    {"bad Environment key", "{\"Environment\": {\"OK\": \"1\", \"1BAD\": \"x\"}}",
     "job.json:1:29: Environment.1BAD: key must match [a-zA-Z_][a-zA-Z0-9_]* (got \"1BAD\")"},
    {"Environment key with dash", "{\"Environment\": {\"MY-VAR\": \"x\"}}",
     "job.json:1:18: Environment.MY-VAR: key must match [a-zA-Z_][a-zA-Z0-9_]* (got \"MY-VAR\")"},
    {"env value too long", "{\"Environment\": {\"X\": \"@V513@\"}}",
     "job.json:1:23: Environment.X: value longer than 512 characters (got 513)"},
    {"TrainingInputMode Stream",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"Stream\"}}",
     "job.json:1:50: AlgorithmSpecification.TrainingInputMode: must be File, FastFile or Pipe "
     "(got \"Stream\")"},
    {"TrainingInputMode invalid", "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"file\"}}",
     "job.json:1:50: AlgorithmSpecification.TrainingInputMode: must be File, FastFile or Pipe (got "
     "\"file\")"},
    {"TrainingInputMode missing",
     "{\"AlgorithmSpecification\": {\"ContainerEntrypoint\": [\"x\"]}}",
     "job.json:1:28: AlgorithmSpecification: missing required field TrainingInputMode (File or "
     "FastFile)"},
    {"ContainerEntrypoint not a list",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "\"python\"}}",
     "job.json:1:81: AlgorithmSpecification.ContainerEntrypoint: expected a list of strings, got a "
     "string"},
    {"ContainerEntrypoint empty",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": []}}",
     "job.json:1:81: AlgorithmSpecification.ContainerEntrypoint: must have at least 1 item (got "
     "none)"},
    {"ContainerArguments item not a string",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\",\n \"ContainerArguments\": "
     "[\"-v\", 3]}}",
     "job.json:2:31: AlgorithmSpecification.ContainerArguments[1]: expected a string, got an "
     "integer"},
    {"InputDataConfig not a list", "{\"InputDataConfig\": {}}",
     "job.json:1:21: InputDataConfig: expected a list of channels, got an object"},
    {"InputDataConfig empty", "{\"InputDataConfig\": []}",
     "job.json:1:21: InputDataConfig: must list 1 to 20 channels (got none)"},
    {"21 channels", "{\"InputDataConfig\": [@CH21@]}",
     "job.json:1:21: InputDataConfig: more than 20 channels (got 21)"},
    {"bad output CompressionType",
     "{\"OutputDataConfig\": {\"S3OutputPath\": \"s3://b/o\", \"CompressionType\": \"gzip\"}}",
     "job.json:1:70: OutputDataConfig.CompressionType: must be GZIP or NONE (got \"gzip\")"},
    {"missing S3OutputPath", "{\"OutputDataConfig\": {\"CompressionType\": \"NONE\"}}",
     "job.json:1:22: OutputDataConfig: missing required field S3OutputPath"},
    {"bad RoleArn", "{\"RoleArn\": \"arn:aws:iam::1234:role/x\"}",
     "job.json:1:13: RoleArn: must match "
     "arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+ (got "
     "\"arn:aws:iam::1234:role/x\")"},
    {"RoleArn not a string", "{\"RoleArn\": null}",
     "job.json:1:13: RoleArn: expected a string, got null"},
    {"EnableNetworkIsolation string", "{\"EnableNetworkIsolation\": \"yes\"}",
     "job.json:1:28: EnableNetworkIsolation: expected a boolean, got a string"},
    {"RetryStrategy 31", "{\"RetryStrategy\": {\"MaximumRetryAttempts\": 31}}",
     "job.json:1:44: RetryStrategy.MaximumRetryAttempts: must be at most 30 (got 31)"},
    {"CheckpointConfig without S3Uri",
     "{\"CheckpointConfig\": {\"LocalPath\": \"/opt/ml/checkpoints\"}}",
     "job.json:1:22: CheckpointConfig: missing required field S3Uri"},
    {"InstanceGroups",
     "{\"ResourceConfig\": {\"InstanceGroups\": [{\"InstanceGroupName\": \"a\"}]}}",
     "job.json:1:39: ResourceConfig.InstanceGroups: heterogeneous clusters are not supported "
     "locally"},
    {"columns count characters",
     "{\"Environment\": {\"A\": \"h\xc3\xa9"
     "llo \xc3\xbc"
     "\"}, \"ResourceConfig\": {\"InstanceCount\": -1}}",
     "job.json:1:71: ResourceConfig.InstanceCount: must be at least 1 (got -1)"},
    {"escaped key", "{\"ResourceConfig\": {\"Instance\\u0043ount\": 0}}",
     "job.json:1:43: ResourceConfig.InstanceCount: must be at least 1 (got 0)"},
    {"channel path missing",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"InputDataConfig\": [{\"ChannelName\": \"train\", \"DataSource\": "
     "{\"S3DataSource\": {\"S3Uri\": \"file://@DIR@/nope\"}}}]}",
     "job.json:2:88: InputDataConfig[0].DataSource.S3DataSource.S3Uri: channel 'train': "
     "'@DIR@/nope' does not exist"},
    {"channel path not a folder",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"InputDataConfig\": [{\"ChannelName\": \"train\", \"DataSource\": "
     "{\"S3DataSource\": {\"S3Uri\": \"@DIR@/code/train.py\"}}}]}",
     "job.json:2:88: InputDataConfig[0].DataSource.S3DataSource.S3Uri: channel 'train': "
     "'@DIR@/code/train.py' is not a folder"},
    {"metric definition without a name",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"],\n \"MetricDefinitions\": [{\"Name\": \"\", \"Regex\": \"loss=(.*)\"}]}}",
     "job.json:2:33: AlgorithmSpecification.MetricDefinitions[0].Name: must not be empty"},
    {"a channel with two sources",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"InputDataConfig\": [{\"ChannelName\": \"train\", \"DataSource\": "
     "{\"S3DataSource\": {\"S3Uri\": \"s3://b/p\"}, \"FileSystemDataSource\": {}}}]}",
     "job.json:2:61: InputDataConfig[0].DataSource: give S3DataSource or FileSystemDataSource, "
     "not both"},
    {"spot training without MaxWaitTimeInSeconds",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"EnableManagedSpotTraining\": true}",
     "job.json:2:31: EnableManagedSpotTraining: managed spot training needs "
     "StoppingCondition.MaxWaitTimeInSeconds"},
    {"MaxWaitTimeInSeconds below MaxRuntimeInSeconds",
     "{\"StoppingCondition\": {\"MaxRuntimeInSeconds\": 600, \"MaxWaitTimeInSeconds\": 60}}",
     "job.json:1:76: StoppingCondition.MaxWaitTimeInSeconds: must be at least MaxRuntimeInSeconds "
     "(600) (got 60)"},
    {"a CreateProcessingJob request",
     "{\"ProcessingJobName\": \"p\", \"AppSpecification\": {\"ImageUri\": \"img\"}}",
     "job.json:1:2: ProcessingJobName: this is a CreateProcessingJob request, not a "
     "CreateTrainingJob one"},
    {"nothing runnable: no algorithm", "{\"TrainingJobName\": \"a\"}",
     "job.json:1:1: nothing to run: no ContainerEntrypoint and no sagemaker_program "
     "hyperparameter"},
    {"output is a file",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"OutputDataConfig\": {\"S3OutputPath\": \"file://@DIR@/code/train.py\"}}",
     "job.json:2:39: OutputDataConfig.S3OutputPath: '@DIR@/code/train.py' is not a folder"},
    {"S3 output without a bucket",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"OutputDataConfig\": {\"S3OutputPath\": \"s3:///p\"}}",
     "job.json:2:39: OutputDataConfig.S3OutputPath: must be s3://BUCKET/PREFIX, file://PATH or "
     "a local path (got \"s3:///p\")"},
    {"S3 channel from an augmented manifest (Pipe mode only)",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"InputDataConfig\": [{\"ChannelName\": \"train\", \"DataSource\": "
     "{\"S3DataSource\": {\"S3Uri\": \"s3://b/t\", \"S3DataType\": \"AugmentedManifestFile\"}}}]}",
     "job.json:2:88: InputDataConfig[0].DataSource.S3DataSource.S3Uri: S3DataType "
     "AugmentedManifestFile is not supported for S3 channels (File mode takes S3Prefix or "
     "ManifestFile) (channel 'train')"},
};

static void test_bad_specs(void **state)
{
	struct fx *fx = *state;
	size_t failures = 0;

	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		const struct bad_spec *c = &bad_specs[i];
		_cleanup_free_ char *expect = expand(c->expect, fx->dir);
		struct job job = {0};
		struct strv warnings = STRV_INIT;
		struct sr_error err = {0};
		int r = build_spec(fx, c->text, NULL, &job, &warnings, &err);

		if (r >= 0 || !strstr(err.msg, expect)) {
			print_error("case '%s':\n  expected: %s\n  got (%d): %s\n", c->title,
				    expect, r, err.msg);
			failures++;
		}
		job_release(&job);
		strv_release(&warnings);
	}
	assert_int_equal(failures, 0);
}

/* Every spec error starts with the file name and a position, never with the JSON path alone. */
static void test_bad_specs_count(void **state)
{
	(void)state;
	assert_true(sizeof(bad_specs) / sizeof(bad_specs[0]) >= 30);
}

static void test_syntax_errors(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};

	/* jansson's own position and text, then a hint */
	assert_true(build_spec(fx, "{\"TrainingJobName\": \"a\",}", NULL, &job, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "job.json:1:25: invalid JSON: "));
	assert_non_null(strstr(err.hint, "--cli-input-json"));
	job_release(&job);
	expect_spec_error(fx, "{\n  \"TrainingJobName\": \"a\"\n  \"RoleArn\": \"x\"}",
			  "job.json:3:11: invalid JSON: ");
	expect_spec_error(fx, "{\"TrainingJobName\": \"a\", \"TrainingJobName\": \"b\"}",
			  "invalid JSON: duplicate object key");
	expect_spec_error(fx, "", "job.json: empty file");
	expect_spec_error(fx, " \n\t", "job.json: empty file");
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* jansson's message ends with `near '<token>'`, the text it stopped in: a credential in the
 * spec must not come back in the error.  Line and column are kept. */
static void test_syntax_errors_hide_tokens(void **state)
{
	static const struct {
		const char *text;
		const char *expect;
	} cases[] = {
	    {"{\"Environment\": {\"AWS_SECRET_ACCESS_KEY\": \"AKIAsecretvalue",
	     "job.json:1:58: invalid JSON: premature end of input"},
	    {"{\"Environment\": {\"K\": \"AKIAsecret\n\"}}", "job.json:1:33: invalid JSON: "
							     "unexpected newline"},
	    {"{\"Environment\": {\"K\": AKIAsecret}}", "job.json:1:32: invalid JSON: invalid "
						       "token"},
	    {"{\"RoleArn\": \"x\"} AKIAsecret", "job.json:1:27: invalid JSON: end of file "
						"expected"},
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct job job = {0};
		struct sr_error err = {0};

		assert_true(build_spec(fx, cases[i].text, NULL, &job, NULL, &err) < 0);
		if (strstr(err.msg, "AKIA") || strstr(err.msg, "near") || strstr(err.hint, "AKIA"))
			fail_msg("case %zu: the token leaked: '%s'", i, err.msg);
		if (!ends_with(err.msg, cases[i].expect))
			fail_msg("case %zu: expected '...%s', got '%s'", i, cases[i].expect,
				 err.msg);
		job_release(&job);
	}
}

static void test_spec_too_big(void **state)
{
	struct fx *fx = *state;
	char *big = xmalloc(1024 * 1024 + 2);
	struct job job = {0};
	struct sr_error err = {0};

	memset(big, ' ', 1024 * 1024 + 1);
	big[0] = '{';
	big[1024 * 1024] = '}';
	big[1024 * 1024 + 1] = '\0';
	assert_true(build_spec(fx, big, NULL, &job, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "larger than 1 MiB"));
	assert_true(job_spec_parse(&job_kind_training, big, strlen(big), "x.json", &job, NULL,
				   &err) == -EFBIG);
	free(big);
	job_release(&job);
}

static void test_spec_missing_file(void **state)
{
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};

	(void)state;
	job_flags_init(&flags);
	flags.spec_path = "/nonexistent/job.json";
	assert_true(job_build(&flags, &job, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "--spec: "));
	assert_non_null(strstr(err.msg, "/nonexistent/job.json"));
	job_flags_release(&flags);
}

static void test_unknown_field_hint_lists_fields(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};

	assert_true(
	    build_spec(fx, "{\"StoppingCondition\": {\"Zzz\": 1}}", NULL, &job, NULL, &err) < 0);
	assert_string_equal(err.hint, "StoppingCondition takes: MaxRuntimeInSeconds, "
				      "MaxWaitTimeInSeconds, MaxPendingTimeInSeconds");
	job_release(&job);
}

/* The example request of reference §5.1, with a local channel and output. */
static const char full_spec[] =
    "{\n"
    "  \"TrainingJobName\": \"my-job-2024-01-01-00-00-00-000\",\n"
    "  \"RoleArn\": \"arn:aws:iam::111122223333:role/SageMakerRole\",\n"
    "  \"AlgorithmSpecification\": {\"TrainingImage\": "
    "\"111122223333.dkr.ecr.us-west-2.amazonaws.com/img:latest\",\n"
    "                             \"TrainingInputMode\": \"File\"},\n"
    "  \"HyperParameters\": {\"epochs\": \"10\", \"sagemaker_program\": \"\\\"train.py\\\"\",\n"
    "                      \"sagemaker_submit_directory\": "
    "\"\\\"s3://bkt/my-job/source/sourcedir.tar.gz\\\"\"},\n"
    "  \"InputDataConfig\": [{\"ChannelName\": \"training\",\n"
    "                       \"DataSource\": {\"S3DataSource\": {\"S3DataType\": "
    "\"S3Prefix\", \"S3Uri\": \"file://@DIR@/data\",\n"
    "                                                       \"S3DataDistributionType\": "
    "\"FullyReplicated\"}},\n"
    "                       \"ContentType\": \"text/csv\", \"CompressionType\": \"None\", "
    "\"InputMode\": \"File\"}],\n"
    "  \"OutputDataConfig\": {\"S3OutputPath\": \"file://@DIR@/out\"},\n"
    "  \"ResourceConfig\": {\"InstanceType\": \"ml.m5.xlarge\", \"InstanceCount\": 2, "
    "\"VolumeSizeInGB\": 30},\n"
    "  \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 86400},\n"
    "  \"Environment\": {\"MY_FLAG\": \"1\"},\n"
    "  \"CheckpointConfig\": {\"S3Uri\": \"s3://bkt/ckpt/\", \"LocalPath\": "
    "\"/opt/ml/checkpoints\"},\n"
    "  \"RetryStrategy\": {\"MaximumRetryAttempts\": 2}\n"
    "}\n";

static void test_full_example(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	_cleanup_free_ char *data = xasprintf("%s/data", fx->dir);
	_cleanup_free_ char *out = xasprintf("file://%s/out", fx->dir);
	int r = build_spec(fx, full_spec, NULL, &job, &warnings, &err);

	if (r < 0)
		fail_msg("%s", err.msg);
	/* RetryStrategy and CheckpointConfig are honoured; whether the TrainingImage runs is
	 * the backend's to say (launch/): no warning */
	assert_int_equal(warnings.n, 0);
	assert_string_equal(job.name, "my-job-2024-01-01-00-00-00-000");
	assert_string_equal(job.arn + strlen(job.arn) -
				strlen("training-job/my-job-2024-01-01-00-00-00-000"),
			    "training-job/my-job-2024-01-01-00-00-00-000");
	assert_string_equal(job.role_arn, "arn:aws:iam::111122223333:role/SageMakerRole");
	assert_string_equal(job.image, "111122223333.dkr.ecr.us-west-2.amazonaws.com/img:latest");
	assert_string_equal(job.train.input_mode, "File");
	assert_int_equal(job.entrypoint.n, 0);
	assert_int_equal(job.train.hyperparameters.n, 3);
	assert_string_equal(job_map_get(&job.train.hyperparameters, "epochs"), "10");
	assert_string_equal(job_map_get(&job.train.hyperparameters, "sagemaker_program"),
			    "\"train.py\"");
	assert_int_equal(job.train.n_channels, 1);
	assert_string_equal(job.train.channels[0].name, "training");
	assert_string_equal(job.train.channels[0].local_path, data);
	assert_string_equal(job.train.channels[0].content_type, "text/csv");
	assert_string_equal(job.train.channels[0].compression, "None");
	assert_string_equal(job.train.channels[0].record_wrapper, "None");
	assert_string_equal(job.train.channels[0].distribution, "FullyReplicated");
	assert_true(job.train.channels[0].input_mode_set);
	assert_string_equal(job.train.output_path, out);
	assert_string_equal(job.train.output_local, out + strlen("file://"));
	assert_string_equal(job.train.output_compression, "GZIP");
	assert_string_equal(job.instance_type, "ml.m5.xlarge");
	assert_int_equal(job.instance_count, 2);
	assert_int_equal(job.volume_size_gb, 30);
	assert_int_equal(job.max_run_s, 86400);
	assert_int_equal(job.stop_grace_s, JOB_DEFAULT_STOP_GRACE_S);
	assert_string_equal(job_map_get(&job.environment, "MY_FLAG"), "1");
	assert_string_equal(job.train.checkpoint_s3_uri, "s3://bkt/ckpt/");
	assert_string_equal(job.train.checkpoint_local_path, "/opt/ml/checkpoints");
	assert_int_equal(job.train.max_retry_attempts, 2);
	assert_false(job.network_isolation);
	assert_string_equal(job.spec_path, fx->spec);
	assert_int_equal(job_validate(&job, &err), 0);
	job_release(&job);
	strv_release(&warnings);
}

static void test_ignored_fields_warn_once_each(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	const char *spec =
	    "{\n"
	    "  \"AlgorithmSpecification\": {\"TrainingInputMode\": \"FastFile\",\n"
	    "    \"ContainerEntrypoint\": [\"true\"]},\n"
	    "  \"VpcConfig\": {\"SecurityGroupIds\": [\"sg-1\"], \"Subnets\": [\"subnet-1\"]}, "
	    "\"StoppingCondition\": {\"MaxWaitTimeInSeconds\": 86400},\n"
	    "  \"EnableManagedSpotTraining\": true,\n"
	    "  \"EnableInterContainerTrafficEncryption\": false,\n"
	    "  \"Tags\": [],\n"
	    "  \"EnableNetworkIsolation\": true\n"
	    "}\n";
	int r = build_spec(fx, spec, NULL, &job, &warnings, &err);

	if (r < 0)
		fail_msg("%s", err.msg);
	/* false and [] ask for nothing: no warning for them; EnableNetworkIsolation is the
	 * backend's to honour or warn about (launch/) */
	assert_int_equal(warnings.n, 3);
	assert_non_null(strstr(warnings.v[0],
			       "job.json:2:30: AlgorithmSpecification."
			       "TrainingInputMode: FastFile behaves as File locally"));
	assert_non_null(strstr(warnings.v[1], "job.json:4:3: VpcConfig: accepted but not "
					      "honoured locally (jobs run on this machine)"));
	assert_non_null(strstr(warnings.v[2], "job.json:5:3: EnableManagedSpotTraining: "
					      "accepted but not honoured locally"));
	assert_true(job.network_isolation);
	assert_string_equal(job.train.input_mode, "FastFile");
	job_release(&job);
	strv_release(&warnings);
}

/* Fields sagerun reads but cannot honour warn once each when they ask for something, and stay
 * quiet at their defaults (what describe output echoes back). */
static void test_unhonoured_fields_warn(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	const char *set =
	    "{\n"
	    "  \"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\",\n"
	    "    \"TrainingImage\": \"img:1\", \"ContainerEntrypoint\": [\"true\"]},\n"
	    "  \"OutputDataConfig\": {\"CompressionType\": \"NONE\", "
	    "\"S3OutputPath\": \"@DIR@/out\"},\n"
	    "  \"ResourceConfig\": {\"VolumeSizeInGB\": 100},\n"
	    "  \"EnableNetworkIsolation\": true,\n"
	    "  \"CheckpointConfig\": {\"S3Uri\": \"s3://b/ck\"},\n"
	    "  \"RetryStrategy\": {\"MaximumRetryAttempts\": 1}\n"
	    "}\n";
	const char *defaults =
	    "{\n"
	    "  \"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\",\n"
	    "    \"ContainerEntrypoint\": [\"true\"]},\n"
	    "  \"OutputDataConfig\": {\"S3OutputPath\": \"@DIR@/out\", \"CompressionType\": "
	    "\"GZIP\"},\n"
	    "  \"ResourceConfig\": {\"VolumeSizeInGB\": 30},\n"
	    "  \"EnableNetworkIsolation\": false\n"
	    "}\n";
	static const char *const expect[] = {
	    "job.json:4:24: OutputDataConfig.CompressionType: accepted but not honoured locally "
	    "(artifacts are still gzip tarballs)",
	    "job.json:5:22: ResourceConfig.VolumeSizeInGB: accepted but not honoured locally "
	    "(hosts "
	    "share this machine's disk, with no volume limit)",
	    /* CheckpointConfig (line 7) and RetryStrategy (line 8) are honoured: no warning */
	};

	/* an s3:// checkpoint location is taken as given (synced by data/checkpoints.c) */
	if (build_spec(fx, set, NULL, &job, &warnings, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(warnings.n, sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < warnings.n; i++)
		if (!strstr(warnings.v[i], expect[i]))
			fail_msg("warning %zu:\n  expected: %s\n  got: %s", i, expect[i],
				 warnings.v[i]);
	assert_string_equal(job.train.checkpoint_s3_uri, "s3://b/ck");
	assert_int_equal(job.volume_size_gb, 100);
	job_release(&job);
	strv_release(&warnings);

	if (build_spec(fx, defaults, NULL, &job, &warnings, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(warnings.n, 0);
	job_release(&job);
	strv_release(&warnings);
}

/* 28 days is the service's own maximum, and a valid value. */
/* Every problem of a spec in one error, one a line, in the order of the text; a hint follows
 * its own problem. */
static void test_every_problem_at_once(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};
	const char *spec = "{\"TrainingJobName\": \"\",\n"
			   " \"RoleArn\": \"x\",\n"
			   " \"ResourceConfig\": {\"InstanceCount\": 0}}\n";

	assert_true(build_spec(fx, spec, NULL, &job, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "job.json:1:21: TrainingJobName: must not be empty\n"));
	assert_non_null(strstr(err.msg, "job.json:2:13: RoleArn: shorter than 20 characters (got "
					"1)\nhint: RoleArn is optional locally"));
	assert_non_null(
	    strstr(err.msg, "job.json:3:38: ResourceConfig.InstanceCount: must be at least 1"));
	assert_true(strstr(err.msg, "TrainingJobName") < strstr(err.msg, "InstanceCount"));
	job_release(&job);
}

/* Bring-your-own container: a TrainingImage and nothing else to run is a job; its image's own
 * entry point runs on container hosts (launch/ refuses it on the others). */
static void test_image_only_builds(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};

	if (build_spec(fx,
		       "{\"TrainingJobName\": \"byoc\",\n \"AlgorithmSpecification\": "
		       "{\"TrainingImage\": \"img:1\", \"TrainingInputMode\": \"File\"}}",
		       NULL, &job, &warnings, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.image, "img:1");
	assert_int_equal(job.entrypoint.n, 0);
	assert_null(job_map_get(&job.train.hyperparameters, "sagemaker_program"));
	assert_int_equal(warnings.n, 0);
	job_release(&job);
	strv_release(&warnings);
}

static void test_max_runtime_limit(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};

	if (build_spec(fx,
		       "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
		       "\"ContainerEntrypoint\": [\"true\"]},\n"
		       " \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 2419200}}",
		       NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.max_run_s, 2419200);
	assert_int_equal(job_validate(&job, &err), 0);
	job.max_run_s = INT64_MAX;
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg, "StoppingCondition.MaxRuntimeInSeconds: must be between 1 and "
				     "2419200 seconds (28 days) (got 9223372036854775807)");
	job.max_run_s = 60;
	job.stop_grace_s = 86401;
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg,
			    "stop grace: must be between 0 and 86400 seconds (1 day) (got 86401)");
	job_release(&job);
}

/* `test_job_spec --dump DIR`: the fixture and the bad-spec table as files in DIR (NNN.json,
 * NNN.expect), for tests/e2e/t0101-spec-table.sh to run each case through the real binary. */
static int dump_bad_specs(const char *dir)
{
	char path[PATH_MAX + 32];

	fx_populate(dir);
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		_cleanup_free_ char *text = expand(bad_specs[i].text, dir);
		_cleanup_free_ char *expect = expand(bad_specs[i].expect, dir);

		snprintf(path, sizeof(path), "%s/%03zu.json", dir, i);
		write_file(path, text);
		snprintf(path, sizeof(path), "%s/%03zu.expect", dir, i);
		write_file(path, expect);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return dump_bad_specs(argv[2]);

	const struct CMUnitTest tests[] = {
	    FX_TEST(test_bad_specs),
	    FX_TEST(test_bad_specs_count),
	    FX_TEST(test_syntax_errors),
	    FX_TEST(test_syntax_errors_hide_tokens),
	    FX_TEST(test_spec_too_big),
	    FX_TEST(test_spec_missing_file),
	    FX_TEST(test_unknown_field_hint_lists_fields),
	    FX_TEST(test_full_example),
	    FX_TEST(test_ignored_fields_warn_once_each),
	    FX_TEST(test_unhonoured_fields_warn),
	    FX_TEST(test_every_problem_at_once),
	    FX_TEST(test_image_only_builds),
	    FX_TEST(test_max_runtime_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
