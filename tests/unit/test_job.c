/* Unit tests for job/: the request JSON for describe output (with secrets redacted),
 * job_validate(), names, the ordered map and jsonpos.  The spec parser is tested in
 * test_job_spec.c, job_build() in test_job_build.c. */
#include "test_job_fixture.h"

static void test_request_json(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {.kind = &job_kind_training};
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
	    "\"File\", \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"file://@DIR@/data\"}}}],\n"
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

		assert_int_equal(job_spec_parse(&job_kind_training, text, strlen(text), "req.json",
						&back, NULL, &err),
				 0);
		assert_string_equal(back.name, job.name);
		assert_int_equal(back.instance_count, job.instance_count);
		assert_string_equal(back.train.channels[0].uri, job.train.channels[0].uri);
		assert_string_equal(back.arguments.v[1], "--x");
		assert_int_equal(back.train.max_retry_attempts, 3);
		job_release(&back);
	}
	job_release(&job);
	job_flags_release(&flags);
}

static void test_validate(void **state)
{
	struct fx *fx = *state;
	struct job job = {.kind = &job_kind_training};
	struct sr_error err = {0};

	if (build_spec(
		fx,
		"{\"AlgorithmSpecification\": {\"TrainingInputMode\": \"File\", "
		"\"ContainerEntrypoint\": [\"true\"]}, \"InputDataConfig\": [{\"ChannelName\": "
		"\"a\", \"DataSource\": {\"S3DataSource\": {\"S3Uri\": \"@DIR@/data\"}}}]}",
		NULL, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job_validate(&job, &err), 0);
	job.instance_count = 0;
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg,
			    "ResourceConfig.InstanceCount: must be between 1 and 256 (got 0)");
	job.instance_count = 1;
	free(job.train.channels[0].distribution);
	job.train.channels[0].distribution = xstrdup("Sharded");
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg, "InputDataConfig[0].DataSource.S3DataSource."
				     "S3DataDistributionType: must be FullyReplicated or "
				     "ShardedByS3Key (got \"Sharded\")");
	free(job.train.channels[0].distribution);
	job.train.channels[0].distribution = xstrdup("ShardedByS3Key");
	free(job.train.input_mode);
	job.train.input_mode = xstrdup("Stream");
	assert_true(job_validate(&job, &err) < 0);
	assert_non_null(strstr(err.msg, "must be File, FastFile or Pipe"));
	free(job.train.input_mode);
	job.train.input_mode = xstrdup("File");
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

/* Environment values whose names say they hold a secret keep their key with "(redacted)"; the
 * test is by name, in any case. */
static void test_request_redacts_secrets(void **state)
{
	static const char *const secret[] = {
	    "AWS_ACCESS_KEY_ID",
	    "aws_access_key_id",
	    "AWS_SECRET_ACCESS_KEY",
	    "AWS_SESSION_TOKEN",
	    "AWS_SECURITY_TOKEN",
	    "DB_PASSWORD",
	    "db_passwd",
	    "hf_token",
	    "GITHUB_TOKEN",
	    "MY_SECRET",
	    "GOOGLE_APPLICATION_CREDENTIALS",
	    "ssh_private_key",
	    "Api_Credential",
	    "WANDB_API_KEY",
	    "MINIO_ACCESS_KEY",
	    "AWS_ACCESS_KEY",
	};
	static const char *const plain[] = {
	    "PLAIN", "AWS_REGION", "API_URL", "KEY_ID", "PRIVATE", "PASS", "SECRE_T",
	};
	struct job job = {.kind = &job_kind_training};
	_cleanup_json_ json_t *req = NULL;
	_cleanup_free_ char *dump = NULL;
	json_t *env;

	(void)state;
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		job_map_set(&job.environment, secret[i], "hunter2-value");
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		job_map_set(&job.environment, plain[i], "visible");
	req = job_request_json(&job);
	dump = json_dumps(req, JSON_COMPACT);
	assert_null(strstr(dump, "hunter2"));
	env = json_object_get(req, "Environment");
	assert_int_equal(json_object_size(env), job.environment.n);
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (strcmp(json_string_value(json_object_get(env, secret[i])), "(redacted)"))
			fail_msg("%s: not redacted", secret[i]);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(json_string_value(json_object_get(env, plain[i])), "visible"))
			fail_msg("%s: redacted", plain[i]);
	job_release(&job);
}

/* No message about an Environment entry shows its value: the spec parser's, --env's and
 * job_validate()'s. */
static void test_env_errors_hide_values(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {.kind = &job_kind_training};
	struct sr_error err = {0};
	char long_value[600];

	memset(long_value, 'S', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	memcpy(long_value, "hunter2", 7);

	/* the spec parser's */
	{
		_cleanup_free_ char *text =
		    xasprintf("{\"Environment\": {\"TOKEN\": \"%s\"}}", long_value);

		assert_true(build_spec(fx, text, NULL, &job, NULL, &err) < 0);
		assert_non_null(strstr(err.msg,
				       "job.json:1:27: Environment.TOKEN: value longer than "
				       "512 characters (got 599)"));
		assert_null(strstr(err.msg, "hunter2"));
		assert_null(strstr(err.hint, "hunter2"));
		job_release(&job);
	}

	/* --env's */
	job_flags_init(&flags);
	flags.command = (char *[]){"true", NULL};
	flags.n_command = 1;
	strv_pushf(&flags.envs, "TOKEN=%s", long_value);
	assert_true(job_build(&flags, &job, NULL, &err) < 0);
	assert_string_equal(err.msg,
			    "--env 'TOKEN=...': VALUE longer than 512 characters (got 599)");
	job_flags_release(&flags);

	/* job_validate()'s */
	assert_null(job.name);
	job.kind = &job_kind_training;
	job.name = xstrdup("a");
	job.train.input_mode = xstrdup("File");
	job_map_set(&job.environment, "TOKEN", long_value);
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg,
			    "Environment[\"TOKEN\"]: longer than 512 characters (got 599)");
	job_release(&job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_request_json),
	    FX_TEST(test_request_redacts_secrets),
	    FX_TEST(test_env_errors_hide_values),
	    FX_TEST(test_validate),
	    FX_TEST(test_names),
	    FX_TEST(test_map),
	    FX_TEST(test_jsonpos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
