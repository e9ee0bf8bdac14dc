/* Unit tests for job/: spec parsing with positioned errors, flags over the spec, defaults,
 * script mode, validation, the request JSON, names and jsonpos. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "job/job.h"
#include "job/jsonpos.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* A temp folder per test: data/ and data2/ (channel folders), code/train.py, code/sub/run.py,
 * and job.json written by each test. */
struct fx {
	char dir[PATH_MAX];
	char spec[PATH_MAX + 16];
	char cwd[PATH_MAX];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int fx_setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	char path[PATH_MAX + 32];

	strcpy(fx->dir, "/tmp/sr-test-job-XXXXXX");
	if (!mkdtemp(fx->dir) || !getcwd(fx->cwd, sizeof(fx->cwd)))
		return -1;
	snprintf(fx->spec, sizeof(fx->spec), "%s/job.json", fx->dir);
	snprintf(path, sizeof(path), "%s/data", fx->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/data2", fx->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/code", fx->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/code/sub", fx->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/code/train.py", fx->dir);
	write_file(path, "print('hi')\n");
	snprintf(path, sizeof(path), "%s/code/sub/run.py", fx->dir);
	write_file(path, "print('sub')\n");
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (chdir(fx->cwd) < 0)
		return -1;
	fs_rm_rf(fx->dir, NULL);
	free(fx);
	return 0;
}

static void append_n(struct strv *parts, char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	strv_push_take(parts, s);
}

/* Expand the placeholders of a table entry: @DIR@ is the test's folder, the others make
 * long values (@K257@: 257 'k', @V2501@, @V513@, @N64@: 64 'a') and big objects (@HP101@: 101
 * hyperparameters, @CH21@: 21 channels) without writing them out.  Expected positions count
 * the expanded text. */
static char *expand(const char *tmpl, const char *dir)
{
	struct strv parts = STRV_INIT;
	char *out = NULL;
	size_t size = 0;
	FILE *f;

	while (*tmpl) {
		const char *at = strchr(tmpl, '@');
		const char *end = at ? strchr(at + 1, '@') : NULL;

		if (!at || !end) {
			strv_push(&parts, tmpl);
			break;
		}
		strv_push_take(&parts, xstrndup(tmpl, (size_t)(at - tmpl)));
		_cleanup_free_ char *name = xstrndup(at + 1, (size_t)(end - at - 1));
		if (!strcmp(name, "DIR")) {
			strv_push(&parts, dir);
		} else if (!strcmp(name, "K257")) {
			append_n(&parts, 'k', 257);
		} else if (!strcmp(name, "V2501")) {
			append_n(&parts, 'v', 2501);
		} else if (!strcmp(name, "V513")) {
			append_n(&parts, 'v', 513);
		} else if (!strcmp(name, "N64")) {
			append_n(&parts, 'a', 64);
		} else if (!strcmp(name, "HP101")) {
			strv_push(&parts, "{");
			for (int i = 0; i < 101; i++)
				strv_pushf(&parts, "%s\"h%d\": \"v\"", i ? ", " : "", i);
			strv_push(&parts, "}");
		} else if (!strcmp(name, "CH21")) {
			for (int i = 0; i < 21; i++)
				strv_pushf(&parts,
					   "%s{\"ChannelName\": \"c%d\", \"DataSource\": "
					   "{\"S3DataSource\": {\"S3Uri\": \"s3://b/c%d\"}}}",
					   i ? ", " : "", i, i);
		} else {
			/* not a placeholder: keep the '@' and go on after it */
			strv_push(&parts, "@");
			tmpl = at + 1;
			continue;
		}
		tmpl = end + 1;
	}
	f = open_memstream(&out, &size);
	assert_non_null(f);
	for (size_t i = 0; i < parts.n; i++)
		fputs(parts.v[i], f);
	fclose(f);
	strv_release(&parts);
	return out;
}

/* Write `tmpl` (expanded) as job.json and build a job from it plus `flags` (may be NULL). */
static int build_spec(struct fx *fx, const char *tmpl, struct job_flags *flags, struct job *job,
		      struct strv *warnings, struct sr_error *err)
{
	_cleanup_free_ char *text = expand(tmpl, fx->dir);
	struct job_flags local;
	int r;

	write_file(fx->spec, text);
	if (!flags) {
		job_flags_init(&local);
		flags = &local;
	}
	flags->spec_path = fx->spec;
	r = job_build(flags, job, warnings, err);
	if (flags == &local)
		job_flags_release(&local);
	return r;
}

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
    {"channel Pipe mode",
     "{\"InputDataConfig\": [{\"ChannelName\": \"t\", \"InputMode\": \"Pipe\"}]}",
     "job.json:1:56: InputDataConfig[0].InputMode: Pipe mode is not supported locally yet"},
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
    {"bad Environment key", "{\"Environment\": {\"OK\": \"1\", \"1BAD\": \"x\"}}",
     "job.json:1:29: Environment.1BAD: key must match [a-zA-Z_][a-zA-Z0-9_]* (got \"1BAD\")"},
    {"Environment key with dash", "{\"Environment\": {\"MY-VAR\": \"x\"}}",
     "job.json:1:18: Environment.MY-VAR: key must match [a-zA-Z_][a-zA-Z0-9_]* (got \"MY-VAR\")"},
    {"env value too long", "{\"Environment\": {\"X\": \"@V513@\"}}",
     "job.json:1:23: Environment.X: value longer than 512 characters (got 513)"},
    {"Pipe mode", "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"Pipe\"}}",
     "job.json:1:50: AlgorithmSpecification.TrainingInputMode: Pipe mode is not supported locally "
     "yet: use File"},
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
    {"nothing runnable: image only",
     "{\"TrainingJobName\": \"a\",\n \"AlgorithmSpecification\": {\"TrainingImage\": \"img:1\", "
     "\"TrainingInputMode\": \"File\"}}",
     "job.json:2:2: AlgorithmSpecification: nothing to run: a TrainingImage alone needs a "
     "container backend"},
    {"nothing runnable: no algorithm", "{\"TrainingJobName\": \"a\"}",
     "job.json:1:1: nothing to run: no ContainerEntrypoint and no sagemaker_program "
     "hyperparameter"},
    {"output is a file",
     "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": "
     "[\"true\"]},\n \"OutputDataConfig\": {\"S3OutputPath\": \"file://@DIR@/code/train.py\"}}",
     "job.json:2:39: OutputDataConfig.S3OutputPath: '@DIR@/code/train.py' is not a folder"},
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

static void expect_spec_error(struct fx *fx, const char *text, const char *expect)
{
	_cleanup_free_ char *want = expand(expect, fx->dir);
	struct job job = {0};
	struct sr_error err = {0};
	int r = build_spec(fx, text, NULL, &job, NULL, &err);

	if (r >= 0 || !strstr(err.msg, want))
		fail_msg("expected '%s', got (%d) '%s'", want, r, err.msg);
	job_release(&job);
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
	assert_true(job_spec_parse(big, strlen(big), "x.json", &job, NULL, &err) == -EFBIG);
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

/* The example request of reference §5.1, with a local channel. */
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
    "  \"OutputDataConfig\": {\"S3OutputPath\": \"s3://bkt/output\"},\n"
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
	int r = build_spec(fx, full_spec, NULL, &job, &warnings, &err);

	if (r < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(warnings.n, 0);
	assert_string_equal(job.name, "my-job-2024-01-01-00-00-00-000");
	assert_string_equal(job.arn + strlen(job.arn) -
				strlen("training-job/my-job-2024-01-01-00-00-00-000"),
			    "training-job/my-job-2024-01-01-00-00-00-000");
	assert_string_equal(job.role_arn, "arn:aws:iam::111122223333:role/SageMakerRole");
	assert_string_equal(job.image, "111122223333.dkr.ecr.us-west-2.amazonaws.com/img:latest");
	assert_string_equal(job.input_mode, "File");
	assert_int_equal(job.entrypoint.n, 0);
	assert_int_equal(job.hyperparameters.n, 3);
	assert_string_equal(job_map_get(&job.hyperparameters, "epochs"), "10");
	assert_string_equal(job_map_get(&job.hyperparameters, "sagemaker_program"), "\"train.py\"");
	assert_int_equal(job.n_channels, 1);
	assert_string_equal(job.channels[0].name, "training");
	assert_string_equal(job.channels[0].local_path, data);
	assert_string_equal(job.channels[0].content_type, "text/csv");
	assert_string_equal(job.channels[0].compression, "None");
	assert_string_equal(job.channels[0].record_wrapper, "None");
	assert_string_equal(job.channels[0].distribution, "FullyReplicated");
	assert_true(job.channels[0].input_mode_set);
	assert_string_equal(job.output_path, "s3://bkt/output");
	assert_null(job.output_local);
	assert_string_equal(job.output_compression, "GZIP");
	assert_string_equal(job.instance_type, "ml.m5.xlarge");
	assert_int_equal(job.instance_count, 2);
	assert_int_equal(job.volume_size_gb, 30);
	assert_int_equal(job.max_run_s, 86400);
	assert_int_equal(job.stop_grace_s, JOB_DEFAULT_STOP_GRACE_S);
	assert_string_equal(job_map_get(&job.environment, "MY_FLAG"), "1");
	assert_string_equal(job.checkpoint_s3_uri, "s3://bkt/ckpt/");
	assert_string_equal(job.checkpoint_local_path, "/opt/ml/checkpoints");
	assert_int_equal(job.max_retry_attempts, 2);
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
	    "  \"VpcConfig\": {\"SecurityGroupIds\": [\"sg-1\"], \"Subnets\": [\"subnet-1\"]},\n"
	    "  \"EnableManagedSpotTraining\": true,\n"
	    "  \"EnableInterContainerTrafficEncryption\": false,\n"
	    "  \"Tags\": [],\n"
	    "  \"EnableNetworkIsolation\": true\n"
	    "}\n";
	int r = build_spec(fx, spec, NULL, &job, &warnings, &err);

	if (r < 0)
		fail_msg("%s", err.msg);
	/* false and [] ask for nothing: no warning for them */
	assert_int_equal(warnings.n, 3);
	assert_non_null(strstr(warnings.v[0],
			       "job.json:2:30: AlgorithmSpecification."
			       "TrainingInputMode: FastFile behaves as File locally"));
	assert_non_null(strstr(warnings.v[1], "job.json:4:3: VpcConfig: accepted but not "
					      "honoured locally (jobs run on this machine)"));
	assert_non_null(strstr(warnings.v[2], "job.json:5:3: EnableManagedSpotTraining: "
					      "accepted but not honoured locally"));
	assert_true(job.network_isolation);
	assert_string_equal(job.input_mode, "FastFile");
	job_release(&job);
	strv_release(&warnings);
}

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
	const char *spec =
	    "{\"TrainingJobName\": \"from-spec\",\n"
	    " \"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
	    "\"ContainerEntrypoint\": [\"true\"]},\n"
	    " \"HyperParameters\": {\"a\": \"1\", \"b\": \"2\"},\n"
	    " \"Environment\": {\"E1\": \"x\"},\n"
	    " \"ResourceConfig\": {\"InstanceCount\": 2, \"InstanceType\": \"ml.c5.xlarge\"},\n"
	    " \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 100},\n"
	    " \"InputDataConfig\": [{\"ChannelName\": \"train\", \"ContentType\": \"text/csv\",\n"
	    "   \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"file://@DIR@/data\"}}},\n"
	    "   {\"ChannelName\": \"test\", \"InputMode\": \"FastFile\",\n"
	    "   \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"@DIR@/data\"}}}]}";
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
	strv_push(&flags.channels, "extra=s3://bkt/extra/");
	r = build_spec(fx, spec, &flags, &job, &warnings, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.name, "from-flags");
	assert_int_equal(job.instance_count, 3);
	assert_string_equal(job.instance_type, "ml.g5.2xlarge");
	assert_int_equal(job.max_run_s, 50);
	assert_int_equal(job.stop_grace_s, 0);
	assert_string_equal(job.output_path, out);
	assert_string_equal(job.output_local, out_abs);
	/* hyperparameters: spec order kept, b replaced in place, c added */
	assert_int_equal(job.hyperparameters.n, 3);
	assert_string_equal(job.hyperparameters.items[1].key, "b");
	assert_string_equal(job.hyperparameters.items[1].value, "3");
	assert_string_equal(job_map_get(&job.hyperparameters, "c"), "x=y");
	assert_string_equal(job_map_get(&job.environment, "E1"), "x");
	assert_string_equal(job_map_get(&job.environment, "E2"), "a=b");
	/* train replaced whole (its ContentType is gone), test kept, extra added */
	assert_int_equal(job.n_channels, 3);
	assert_string_equal(job.channels[0].name, "train");
	assert_string_equal(job.channels[0].local_path, data2_abs);
	assert_null(job.channels[0].content_type);
	assert_string_equal(job.channels[1].name, "test");
	assert_string_equal(job.channels[1].input_mode, "FastFile");
	assert_string_equal(job.channels[2].name, "extra");
	assert_string_equal(job.channels[2].uri, "s3://bkt/extra/");
	assert_null(job.channels[2].local_path);
	assert_string_equal(job.channels[2].input_mode, "File");
	assert_false(job.channels[2].input_mode_set);
	assert_string_equal(job.channels[2].s3_data_type, "S3Prefix");
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
	const char *spec = "{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
			   "\"ContainerEntrypoint\": [\"true\"]},\n"
			   " \"InputDataConfig\": [{\"ChannelName\": \"train\", \"DataSource\": "
			   "{\"S3DataSource\": {\"S3Uri\": \"s3://b/p\"}}}]}";
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
	assert_string_equal(job.output_path, "./sagerun-output");
	out = xasprintf("%s/sagerun-output", fx->dir);
	assert_string_equal(job.output_local, out);
	assert_string_equal(job.input_mode, "File");
	assert_string_equal(job.output_compression, "GZIP");
	assert_int_equal(job.stop_grace_s, 120);
	assert_int_equal(job.max_run_s, 86400);
	assert_int_equal(job.volume_size_gb, 30);
	assert_string_equal(job.channels[0].s3_data_type, "S3Prefix");
	assert_string_equal(job.channels[0].distribution, "FullyReplicated");
	assert_string_equal(job.channels[0].compression, "None");
	assert_string_equal(job.channels[0].record_wrapper, "None");
	assert_string_equal(job.channels[0].input_mode, "File");
	assert_null(job.channels[0].local_path);
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
	assert_string_equal(job.channels[0].local_path, want);
	assert_string_equal(job.channels[1].local_path, want);
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

	/* without --source-dir: the file alone is the code */
	job_flags_init(&flags);
	flags.entry_point = ep;
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job_map_get(&job.hyperparameters, "sagemaker_program"), "\"train.py\"");
	assert_string_equal(job_map_get(&job.hyperparameters, "sagemaker_submit_directory"),
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
	assert_string_equal(job_map_get(&job.hyperparameters, "sagemaker_program"), "\"train.py\"");
	assert_string_equal(job_map_get(&job.hyperparameters, "sagemaker_submit_directory"),
			    want_dir);
	job_release(&job);

	flags.source_dir = src;
	flags.entry_point = "sub/run.py";
	strv_push(&flags.hps, "epochs=3");
	if (job_build(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job_map_get(&job.hyperparameters, "sagemaker_program"),
			    "\"sub/run.py\"");
	assert_string_equal(job_map_get(&job.hyperparameters, "epochs"), "3");
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
	assert_string_equal(job_map_get(&job.hyperparameters, "sagemaker_program"), "\"train.py\"");
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
    {"--max-run 0", fl_max_run_0, "--max-run: must be at least 1 second (got 0)"},
    {"--stop-grace negative", fl_stop_grace, "--stop-grace: must be at least 0 seconds"},
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

static void test_request_json(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *dump = NULL;
	_cleanup_json_ json_t *req = NULL;
	json_t *algo, *ch, *env;
	int r;

	job_flags_init(&flags);
	strv_push(&flags.envs, "AWS_SECRET_ACCESS_KEY=SECRETVALUE123");
	strv_push(&flags.envs, "AWS_SESSION_TOKEN=TOKENVALUE456");
	strv_push(&flags.envs, "AWS_ACCESS_KEY_ID=AKIDVALUE789");
	strv_push(&flags.envs, "PLAIN=visible");
	strv_push(&flags.hps, "epochs=3");
	r = build_spec(
	    fx,
	    "{\"TrainingJobName\": \"req\", \"AlgorithmSpecification\": "
	    "{\"TrainingInputMode\": \"File\", \"ContainerEntrypoint\": [\"python3\"], "
	    "\"ContainerArguments\": [\"train.py\", \"--x\"]},\n"
	    " \"RoleArn\": \"arn:aws:iam::111122223333:role/R\",\n"
	    " \"InputDataConfig\": [{\"ChannelName\": \"train\", \"InputMode\": "
	    "\"File\", \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"s3://b/t\"}}}],\n"
	    " \"CheckpointConfig\": {\"S3Uri\": \"s3://b/ck\"},\n"
	    " \"RetryStrategy\": {\"MaximumRetryAttempts\": 3}}",
	    &flags, &job, NULL, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	req = job_request_json(&job);
	dump = json_dumps(req, JSON_COMPACT);
	assert_null(strstr(dump, "SECRETVALUE123"));
	assert_null(strstr(dump, "TOKENVALUE456"));
	assert_null(strstr(dump, "AKIDVALUE789"));
	env = json_object_get(req, "Environment");
	assert_string_equal(json_string_value(json_object_get(env, "AWS_SECRET_ACCESS_KEY")),
			    "(redacted)");
	assert_string_equal(json_string_value(json_object_get(env, "PLAIN")), "visible");
	assert_string_equal(json_string_value(json_object_get(req, "TrainingJobName")), "req");
	assert_string_equal(json_string_value(json_object_get(req, "RoleArn")),
			    "arn:aws:iam::111122223333:role/R");
	algo = json_object_get(req, "AlgorithmSpecification");
	assert_string_equal(json_string_value(json_object_get(algo, "TrainingInputMode")), "File");
	assert_null(json_object_get(algo, "TrainingImage"));
	assert_int_equal(json_array_size(json_object_get(algo, "ContainerArguments")), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(req, "HyperParameters"), "epochs")),
	    "3");
	ch = json_array_get(json_object_get(req, "InputDataConfig"), 0);
	assert_string_equal(json_string_value(json_object_get(ch, "ChannelName")), "train");
	assert_string_equal(json_string_value(json_object_get(ch, "InputMode")), "File");
	assert_string_equal(json_string_value(json_object_get(ch, "CompressionType")), "None");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(ch, "DataSource"), "S3DataSource"),
				"S3DataDistributionType")),
			    "FullyReplicated");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(req, "ResourceConfig"),
							    "VolumeSizeInGB")),
			 30);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(req, "StoppingCondition"), "MaxRuntimeInSeconds")),
			 86400);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(req, "OutputDataConfig"), "CompressionType")),
			    "GZIP");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(req, "RetryStrategy"),
							    "MaximumRetryAttempts")),
			 3);
	assert_non_null(json_object_get(req, "CheckpointConfig"));
	assert_true(json_is_false(json_object_get(req, "EnableNetworkIsolation")));

	/* round trip: the request parses back into the same job */
	{
		_cleanup_free_ char *text = json_dumps(req, JSON_INDENT(2));
		struct job back = {0};

		assert_int_equal(job_spec_parse(text, strlen(text), "req.json", &back, NULL, &err),
				 0);
		assert_string_equal(back.name, job.name);
		assert_int_equal(back.instance_count, job.instance_count);
		assert_string_equal(back.channels[0].uri, "s3://b/t");
		assert_string_equal(back.arguments.v[1], "--x");
		assert_int_equal(back.max_retry_attempts, 3);
		job_release(&back);
	}
	job_release(&job);
	job_flags_release(&flags);
}

static void test_validate(void **state)
{
	struct fx *fx = *state;
	struct job job = {0};
	struct sr_error err = {0};

	if (build_spec(
		fx,
		"{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
		"\"ContainerEntrypoint\": [\"true\"]}, \"InputDataConfig\": [{\"ChannelName\": "
		"\"a\", \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"s3://b/a\"}}}]}",
		NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job_validate(&job, &err), 0);
	job.instance_count = 0;
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg,
			    "ResourceConfig.InstanceCount: must be between 1 and 256 (got 0)");
	job.instance_count = 1;
	free(job.channels[0].distribution);
	job.channels[0].distribution = xstrdup("Sharded");
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg, "InputDataConfig[0].DataSource.S3DataSource."
				     "S3DataDistributionType: must be FullyReplicated or "
				     "ShardedByS3Key (got \"Sharded\")");
	free(job.channels[0].distribution);
	job.channels[0].distribution = xstrdup("ShardedByS3Key");
	free(job.input_mode);
	job.input_mode = xstrdup("Pipe");
	assert_true(job_validate(&job, &err) < 0);
	assert_non_null(strstr(err.msg, "Pipe mode is not supported locally yet"));
	free(job.input_mode);
	job.input_mode = xstrdup("File");
	job_map_set(&job.environment, "BAD-KEY", "x");
	assert_true(job_validate(&job, &err) < 0);
	assert_non_null(strstr(err.msg, "Environment key \"BAD-KEY\": must match"));
	job_map_release(&job.environment);
	strv_release(&job.entrypoint);
	assert_true(job_validate(&job, &err) < 0);
	assert_non_null(strstr(err.msg, "nothing to run"));
	job_release(&job);
}

static void test_names(void **state)
{
	regex_t re;
	char *n;
	char long_base[120];

	(void)state;
	assert_true(job_name_valid("a"));
	assert_true(job_name_valid("my-job--2"));
	assert_false(job_name_valid(""));
	assert_false(job_name_valid("-a"));
	assert_false(job_name_valid("a-"));
	assert_false(job_name_valid("a_b"));
	assert_false(job_name_valid("a.b"));
	memset(long_base, 'x', 63);
	long_base[63] = '\0';
	assert_true(job_name_valid(long_base));
	long_base[63] = 'x';
	long_base[64] = '\0';
	assert_false(job_name_valid(long_base));

	/* 2026-01-02 03:04:05 UTC */
	n = job_default_name("My_Script.v2!!", INT64_C(1767323045000));
	assert_int_equal(regcomp(&re, "^My-Script-v2-20260102-030405-[a-z0-9]{4}$", REG_EXTENDED),
			 0);
	assert_int_equal(regexec(&re, n, 0, NULL, 0), 0);
	regfree(&re);
	free(n);
	n = job_default_name("..--", 0);
	assert_true(!strncmp(n, "sagerun-19700101-000000-", 24));
	free(n);
	n = job_default_name(NULL, 0);
	assert_true(!strncmp(n, "sagerun-", 8));
	free(n);
	memset(long_base, 'b', 100);
	long_base[41] = '-'; /* the cut lands after a hyphen: it must not stay */
	long_base[100] = '\0';
	n = job_default_name(long_base, 0);
	assert_true(strlen(n) <= JOB_NAME_MAX);
	assert_true(job_name_valid(n));
	free(n);
}

static void test_map(void **state)
{
	struct job_map m = {0};

	(void)state;
	job_map_set(&m, "a", "1");
	job_map_set(&m, "b", "2");
	job_map_set(&m, "a", "3");
	assert_int_equal(m.n, 2);
	assert_string_equal(m.items[0].key, "a");
	assert_string_equal(m.items[0].value, "3");
	/* setting a value from the entry itself */
	job_map_set(&m, "b", job_map_get(&m, "b"));
	assert_string_equal(job_map_get(&m, "b"), "2");
	assert_null(job_map_get(&m, "c"));
	job_map_release(&m);
	assert_int_equal(m.n, 0);
}

static void test_jsonpos(void **state)
{
	const char *text = "{\n  \"a\": [1, {\"b\": \"x,]}\\\"\", \"c\": {\"d\": true}}],\n"
			   "\t\"\\u00e9t\\u00e9\": null, \"f\": \"\xc3\xa9\", \"g\": 2\n}";
	struct jsonpos_path p = {.n = 0};
	int line, col;
	char *s;

	(void)state;
	assert_int_equal(jsonpos_find(text, strlen(text), &p, JSONPOS_VALUE, &line, &col), 0);
	assert_int_equal(line, 1);
	assert_int_equal(col, 1);
	jsonpos_push_key(&p, "a");
	jsonpos_push_index(&p, 1);
	jsonpos_push_key(&p, "c");
	jsonpos_push_key(&p, "d");
	assert_int_equal(jsonpos_find(text, strlen(text), &p, JSONPOS_VALUE, &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 39);
	assert_int_equal(jsonpos_find(text, strlen(text), &p, JSONPOS_KEY, &line, &col), 0);
	assert_int_equal(col, 34);
	s = jsonpos_path_str(&p);
	assert_string_equal(s, "a[1].c.d");
	free(s);
	p.n = 0;
	jsonpos_push_key(&p, "\xc3\xa9t\xc3\xa9"); /* written with \u escapes in the text */
	assert_int_equal(jsonpos_find(text, strlen(text), &p, JSONPOS_VALUE, &line, &col), 0);
	assert_int_equal(line, 3);
	assert_int_equal(col, 19);
	s = jsonpos_path_str(&p);
	assert_string_equal(s, "[\"\xc3\xa9t\xc3\xa9\"]");
	free(s);
	jsonpos_pop(&p);
	jsonpos_push_key(&p, "g");
	assert_int_equal(jsonpos_find(text, strlen(text), &p, JSONPOS_VALUE, &line, &col), 0);
	assert_int_equal(line, 3);
	assert_int_equal(col, 40);
	jsonpos_pop(&p);
	jsonpos_push_key(&p, "nope");
	assert_int_equal(jsonpos_find(text, strlen(text), &p, JSONPOS_VALUE, &line, &col), -ENOENT);
	jsonpos_pop(&p);
	jsonpos_push_key(&p, "a");
	jsonpos_push_index(&p, 2);
	assert_int_equal(jsonpos_find(text, strlen(text), &p, JSONPOS_VALUE, &line, &col), -ENOENT);
	s = jsonpos_where(text, strlen(text), "f.json", &p, JSONPOS_VALUE);
	assert_string_equal(s, "f.json: a[2]");
	free(s);
	/* truncated text: not found rather than a read past the end */
	assert_int_equal(jsonpos_find(text, 10, &p, JSONPOS_VALUE, &line, &col), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	    T(test_bad_specs),
	    T(test_bad_specs_count),
	    T(test_syntax_errors),
	    T(test_spec_too_big),
	    T(test_spec_missing_file),
	    T(test_unknown_field_hint_lists_fields),
	    T(test_full_example),
	    T(test_ignored_fields_warn_once_each),
	    T(test_flags_override_spec),
	    T(test_defaults),
	    T(test_arn_region),
	    T(test_relative_paths_against_cwd),
	    T(test_script_mode),
	    T(test_entry_point_over_spec),
	    T(test_command),
	    T(test_flag_errors),
	    T(test_request_json),
	    T(test_validate),
	    T(test_names),
	    T(test_map),
	    T(test_jsonpos),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
