/* test_contract.c - the SageMaker contract, byte for byte (reference §1.2-1.5, §2.2-2.7).
 *
 * Expected strings were produced by CPython 3.11 (json.dumps, str, repr) and the toolkit's
 * rules, not by this code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract/contract.h"
#include "job/job.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* ---- helpers: a struct job by hand (the job module's code is not linked in on purpose) ---- */

static void map_set(struct job_map *m, const char *key, const char *value)
{
	xgrow(&m->items, &m->cap, m->n + 1, sizeof(*m->items));
	m->items[m->n].key = xstrdup(key);
	m->items[m->n].value = xstrdup(value);
	m->n++;
}

static void add_channel(struct job *job, const char *name, const char *content_type)
{
	struct job_channel *ch;

	job->train.channels = xrealloc(job->train.channels,
				       (job->train.n_channels + 1) * sizeof(*job->train.channels));
	ch = &job->train.channels[job->train.n_channels++];
	memset(ch, 0, sizeof(*ch));
	ch->name = xstrdup(name);
	ch->content_type = xstrdup_or_null(content_type);
	ch->input_mode = xstrdup("File");
	ch->distribution = xstrdup("FullyReplicated");
	ch->record_wrapper = xstrdup("None");
	ch->compression = xstrdup("None");
}

static void free_job(struct job *job)
{
	for (size_t i = 0; i < job->train.hyperparameters.n; i++) {
		free(job->train.hyperparameters.items[i].key);
		free(job->train.hyperparameters.items[i].value);
	}
	free(job->train.hyperparameters.items);
	for (size_t i = 0; i < job->train.n_channels; i++) {
		struct job_channel *ch = &job->train.channels[i];

		free(ch->name);
		free(ch->content_type);
		free(ch->input_mode);
		free(ch->distribution);
		free(ch->record_wrapper);
		free(ch->compression);
	}
	free(job->train.channels);
	free(job->instance_type);
	free(job->name);
	memset(job, 0, sizeof(*job));
}

/* The 2-host job most tests use. */
static void make_job(struct job *job)
{
	memset(job, 0, sizeof(*job));
	job->name = xstrdup("my-job");
	job->instance_type = xstrdup("ml.p4d.24xlarge");
	job->instance_count = 2;
	map_set(&job->train.hyperparameters, "epochs", "2");
	map_set(&job->train.hyperparameters, "batch-size", "32");
	map_set(&job->train.hyperparameters, "learning-rate", "0.001");
	map_set(&job->train.hyperparameters, "model_dir", "s3://bucket/model");
	map_set(&job->train.hyperparameters, "bf16", "true");
	map_set(&job->train.hyperparameters, "lr", "0.00001");
	map_set(&job->train.hyperparameters, "sagemaker_program", "\"train.py\"");
	map_set(&job->train.hyperparameters, "sagemaker_submit_directory",
		"\"s3://bkt/src/sourcedir.tar.gz\"");
	map_set(&job->train.hyperparameters, "sagemaker_container_log_level", "20");
	map_set(&job->train.hyperparameters, "sagemaker_job_name", "\"my-job\"");
	map_set(&job->train.hyperparameters, "sagemaker_region", "\"us-west-2\"");
	map_set(&job->train.hyperparameters, "sagemaker_mpi_enabled", "true");
	map_set(&job->train.hyperparameters, "_tuning_objective_metric", "\"loss\"");
	map_set(&job->train.hyperparameters, "default_user_module_name", "x");
	add_channel(job, "training", NULL);
	add_channel(job, "validation", "text/csv");
}

static char *json_of(const char *text)
{
	json_t *v = contract_py_decode(text);
	char *s = contract_py_json(v);

	json_decref(v);
	return s;
}

static char *str_of(const char *text)
{
	json_t *v = contract_py_decode(text);
	char *s = contract_py_str(v);

	json_decref(v);
	return s;
}

static void check_real(double d, const char *want)
{
	json_t *v = json_real(d);
	_cleanup_free_ char *s = contract_py_json(v);
	_cleanup_free_ char *t = contract_py_str(v);

	assert_string_equal(s, want);
	assert_string_equal(t, want);
	json_decref(v);
}

#define assert_json(text, want)                                                                    \
	do {                                                                                       \
		_cleanup_free_ char *_s = json_of(text);                                           \
		assert_string_equal(_s, want);                                                     \
	} while (0)

#define assert_str(text, want)                                                                     \
	do {                                                                                       \
		_cleanup_free_ char *_s = str_of(text);                                            \
		assert_string_equal(_s, want);                                                     \
	} while (0)

/* ---- pyfmt ---- */

static void test_float_repr(void **state)
{
	(void)state;
	check_real(0.1, "0.1");
	check_real(0.001, "0.001");
	check_real(1e-05, "1e-05");
	check_real(0.0001, "0.0001");
	check_real(1e16, "1e+16");
	check_real(1.5e16, "1.5e+16");
	check_real(1e15, "1000000000000000.0");
	check_real(100000.0, "100000.0");
	check_real(1.5, "1.5");
	check_real(-0.0, "-0.0");
	check_real(0.0, "0.0");
	check_real(2.0 / 3.0, "0.6666666666666666");
	check_real(123456789.123, "123456789.123");
	check_real(-1.5e-7, "-1.5e-07");
	check_real(1e22, "1e+22");
	check_real(5e-324, "5e-324");
	check_real(1.7976931348623157e308, "1.7976931348623157e+308");
	/* a power of two, where the correctly rounded 16 digits do not read back but the
	 * neighbour above does (CPython's shortest repr) */
	check_real(ldexp(1.0, -1017), "7.120236347223045e-307");
}

static void test_json_dumps(void **state)
{
	(void)state;
	assert_json("\"\\u00e9\\n\\\"\\\\\\t\\u0001\\u007f\\ud83d\\ude00/\"",
		    "\"\\u00e9\\n\\\"\\\\\\t\\u0001\\u007f\\ud83d\\ude00/\"");
	/* raw UTF-8 in, \u escapes out */
	{
		json_t *v = json_string("caf\xc3\xa9 \xf0\x9f\x98\x80 \b\f\r");
		_cleanup_free_ char *s = contract_py_json(v);

		assert_string_equal(s, "\"caf\\u00e9 \\ud83d\\ude00 \\b\\f\\r\"");
		json_decref(v);
	}
	assert_json("{\"b\": 1, \"U\": [true, false, null], \"a\": {\"z\": 1.0, \"y\": -3}}",
		    "{\"U\":[true,false,null],\"a\":{\"y\":-3,\"z\":1.0},\"b\":1}");
	assert_json("12", "12");
	assert_json("-0", "0");
	assert_json("1E2", "100.0");
}

static void test_py_str(void **state)
{
	(void)state;
	assert_str("\"plain text\"", "plain text");
	assert_str("not json at all", "not json at all");
	assert_str("true", "True");
	assert_str("false", "False");
	assert_str("null", "None");
	assert_str("4.0", "4.0");
	assert_str("[\"1\", [\"2\", \"3\"]]", "['1', ['2', '3']]");
	assert_str("{\"a\": 1, \"b\": [1, 3]}", "{'a': 1, 'b': [1, 3]}");
	/* dicts keep their order in str() (only json.dumps sorts) */
	assert_str("{\"b\": null, \"a\": true}", "{'b': None, 'a': True}");
	assert_str("[\"it's\"]", "[\"it's\"]");
	assert_str("[\"say \\\"hi\\\"\"]", "['say \"hi\"']");
	assert_str("[\"it's \\\"x\\\"\"]", "['it\\'s \"x\"']");
	assert_str("[\"a\\\\b\\n\\t\\u0001\\u007f\\u00e9\\u00a0\\u2028\\ud83d\\ude00\"]",
		   "['a\\\\b\\n\\t\\x01\\x7f\xc3\xa9\\xa0\\u2028\xf0\x9f\x98\x80']");
	assert_str("[1.5, 1e-05, -0.0]", "[1.5, 1e-05, -0.0]");
}

static void test_py_decode(void **state)
{
	json_t *v;

	(void)state;
	v = contract_py_decode("  42\n");
	assert_true(json_is_integer(v));
	assert_int_equal(json_integer_value(v), 42);
	json_decref(v);
	v = contract_py_decode("1 2");
	assert_string_equal(json_string_value(v), "1 2");
	json_decref(v);
	v = contract_py_decode("");
	assert_string_equal(json_string_value(v), "");
	json_decref(v);
	/* what json.loads() takes and jansson cannot hold */
	assert_json("NaN", "NaN");
	assert_str("NaN", "nan");
	assert_json(" -Infinity ", "-Infinity");
	assert_str("Infinity", "inf");
	assert_json("1e400", "Infinity");
	assert_str("-1e400", "-inf");
	assert_json("123456789012345678901234567890", "123456789012345678901234567890");
	assert_str("123456789012345678901234567890", "123456789012345678901234567890");
	/* not JSON numbers: the raw string */
	assert_json("0123", "\"0123\"");
	assert_json("nan", "\"nan\"");
	/* the same inside a list or an object as on their own, as json.loads() */
	assert_json("[1, NaN]", "[1,NaN]");
	assert_str("[1, NaN]", "[1, nan]");
	assert_str(" {\"a\": [Infinity, -Infinity], \"b\": 1e400} ",
		   "{'a': [inf, -inf], 'b': inf}");
	assert_str("{\"n\": 123456789012345678901234567890, \"s\": \"x\\\"y\", \"t\": true}",
		   "{'n': 123456789012345678901234567890, 's': 'x\"y', 't': True}");
	assert_str("[[], {}, null, false, -0.5]", "[[], {}, None, False, -0.5]");
	/* still not JSON: the raw string, whole */
	assert_json("[1, NaN", "\"[1, NaN\"");
	assert_json("[1, nan]", "\"[1, nan]\"");
	assert_json("[NaN] x", "\"[NaN] x\"");
	assert_json("{\"a\" NaN}", "\"{\\\"a\\\" NaN}\"");
	assert_json("{\"\\u0000k\": NaN}", "\"{\\\"\\\\u0000k\\\": NaN}\"");
}

/* ---- config ---- */

static void test_host_names_sorted(void **state)
{
	static const char *const want[] = {"algo-1", "algo-10", "algo-11", "algo-12",
					   "algo-2", "algo-3",	"algo-4",  "algo-5",
					   "algo-6", "algo-7",	"algo-8",  "algo-9"};
	struct contract_config cfg = {0};
	struct sr_error err = {0};
	struct job job;
	json_t *hosts, *ghosts;

	(void)state;
	{
		_cleanup_free_ char *h = contract_host_name(11);

		assert_string_equal(h, "algo-12");
	}
	make_job(&job);
	job.instance_count = 12;
	assert_int_equal(contract_config_from_job(&job, "algo-7", &cfg, &err), 0);
	hosts = json_object_get(cfg.resource, "hosts");
	ghosts = json_object_get(
	    json_array_get(json_object_get(cfg.resource, "instance_groups"), 0), "hosts");
	assert_int_equal(json_array_size(hosts), 12);
	for (size_t i = 0; i < 12; i++) {
		assert_string_equal(json_string_value(json_array_get(hosts, i)), want[i]);
		assert_string_equal(json_string_value(json_array_get(ghosts, i)), want[i]);
	}
	contract_config_release(&cfg);

	assert_int_equal(contract_config_from_job(&job, "algo-13", &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "algo-13"));
	assert_null(cfg.resource);
	free_job(&job);
}

static void test_config_from_job(void **state)
{
	struct contract_config cfg = {0};
	struct sr_error err = {0};
	struct job job;
	_cleanup_free_ char *res = NULL, *input = NULL;

	(void)state;
	make_job(&job);
	assert_int_equal(contract_config_from_job(&job, "algo-2", &cfg, &err), 0);
	res = json_dumps(cfg.resource, JSON_COMPACT);
	assert_string_equal(res,
			    "{\"current_group_name\":\"homogeneousCluster\",\"current_host\":"
			    "\"algo-2\",\"current_instance_type\":\"ml.p4d.24xlarge\","
			    "\"hosts\":[\"algo-1\",\"algo-2\"],\"instance_groups\":[{\"hosts\":"
			    "[\"algo-1\",\"algo-2\"],\"instance_group_name\":"
			    "\"homogeneousCluster\",\"instance_type\":\"ml.p4d.24xlarge\"}],"
			    "\"network_interface_name\":\"eth0\"}");
	input = json_dumps(cfg.input_data, JSON_COMPACT);
	assert_string_equal(input,
			    "{\"training\":{\"TrainingInputMode\":\"File\","
			    "\"S3DistributionType\":\"FullyReplicated\",\"RecordWrapperType\":"
			    "\"None\"},\"validation\":{\"ContentType\":\"text/csv\","
			    "\"TrainingInputMode\":\"File\",\"S3DistributionType\":"
			    "\"FullyReplicated\",\"RecordWrapperType\":\"None\"}}");
	assert_int_equal(json_object_size(cfg.hyperparameters), job.train.hyperparameters.n);
	assert_string_equal(json_string_value(json_object_get(cfg.hyperparameters, "lr")),
			    "0.00001");
	contract_config_release(&cfg);
	free_job(&job);
}

static void test_layout_roundtrip(void **state)
{
	static const char *const dirs[] = {"input/config", "input/data",	  "model",
					   "output/data",  "output/intermediate", "code",
					   "checkpoints"};
	char tmpl[] = "/tmp/test_contract.XXXXXX";
	struct contract_config cfg = {0}, back = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *base = NULL, *path = NULL, *text = NULL;
	struct job job;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	base = xasprintf("%s/algo-1/", tmpl); /* a trailing slash must not double up */
	make_job(&job);
	assert_int_equal(contract_config_from_job(&job, "algo-1", &cfg, &err), 0);
	assert_int_equal(contract_training_layout(base, &cfg, &err), 0);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		_cleanup_free_ char *d = xasprintf("%s/algo-1/%s", tmpl, dirs[i]);

		assert_true(fs_is_dir(d));
	}
	/* json.dump(obj, f) as the SDK's local mode writes it */
	path = xasprintf("%s/algo-1/input/config/inputdataconfig.json", tmpl);
	assert_int_equal(fs_read_file(path, 1 << 20, &text, NULL, &err), 0);
	assert_string_equal(text,
			    "{\"training\": {\"TrainingInputMode\": \"File\", "
			    "\"S3DistributionType\": \"FullyReplicated\", "
			    "\"RecordWrapperType\": \"None\"}, \"validation\": {\"ContentType\": "
			    "\"text/csv\", \"TrainingInputMode\": \"File\", "
			    "\"S3DistributionType\": \"FullyReplicated\", "
			    "\"RecordWrapperType\": \"None\"}}");

	assert_int_equal(contract_config_read(base, &back, &err), 0);
	assert_true(json_equal(cfg.resource, back.resource));
	assert_true(json_equal(cfg.hyperparameters, back.hyperparameters));
	assert_true(json_equal(cfg.input_data, back.input_data));
	contract_config_release(&back);

	/* a broken file is named with its line and column */
	{
		_cleanup_free_ char *hp =
		    xasprintf("%s/algo-1/input/config/hyperparameters.json", tmpl);

		assert_int_equal(fs_write_atomic(hp, "{\n  \"a\": ,\n}", 12, 0644, &err), 0);
		assert_int_equal(contract_config_read(base, &back, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "hyperparameters.json:2:"));
		assert_null(back.resource);
	}
	/* a missing one too */
	{
		_cleanup_free_ char *none = xasprintf("%s/nowhere", tmpl);

		assert_int_equal(contract_config_read(none, &back, &err), -ENOENT);
		assert_non_null(strstr(err.msg, "resourceconfig.json"));
		assert_true(err.hint[0] != '\0');
	}
	contract_config_release(&cfg);
	free_job(&job);
	assert_int_equal(fs_rm_rf(tmpl, &err), 0);
}

/* ---- env ---- */

static void config_with_hps(struct contract_config *cfg, const char *hps_json)
{
	json_error_t jerr;

	cfg->resource =
	    json_loads("{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\"]}", 0, &jerr);
	cfg->hyperparameters = json_loads(hps_json, 0, &jerr);
	cfg->input_data = json_object();
	assert_non_null(cfg->resource);
	assert_non_null(cfg->hyperparameters);
}

static void check_args(const char *hps_json, const char *const *want, size_t n)
{
	struct contract_config cfg = {0};
	struct strv args = STRV_INIT;
	struct sr_error err = {0};

	config_with_hps(&cfg, hps_json);
	assert_int_equal(contract_cmd_args(&cfg, &args, &err), 0);
	assert_int_equal(args.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(args.v[i], want[i]);
	strv_release(&args);
	contract_config_release(&cfg);
}

static void test_cmd_args(void **state)
{
	(void)state;
	{
		static const char *const want[] = {"--da-sh", "1", "--un_der", "2"};

		check_args("{\"un_der\": \"2\", \"da-sh\": \"1\"}", want, 4);
	}
	{
		static const char *const want[] = {"-T", "", "-U", "1", "-b", "2"};

		check_args("{\"U\": \"1\", \"b\": \"2\", \"T\": \"\"}", want, 6);
	}
	{
		static const char *const want[] = {"-a",	"True",
						   "-b",	"False",
						   "-c",	"4.0",
						   "-d",	"['1', ['2', '3']]",
						   "-e",	"a=[1, 3, 4],b=None,c=x",
						   "-f",	"",
						   "-\xc3\xa9", "x"};

		check_args(
		    "{\"a\": \"true\", \"b\": \"false\", \"c\": \"4.0\", "
		    "\"d\": \"[\\\"1\\\", [\\\"2\\\", \\\"3\\\"]]\", "
		    "\"e\": \"{\\\"c\\\": \\\"x\\\", \\\"a\\\": [1, 3, 4], \\\"b\\\": null}\", "
		    "\"f\": \"null\", \"\xc3\xa9\": \"x\", "
		    "\"sagemaker_program\": \"\\\"t.py\\\"\", \"_tuning_objective_metric\": \"m\"}",
		    want, 14);
	}
}

static const char *get(const struct strv *env, const char *name)
{
	const char *v = strv_env_get(env, name);

	if (!v)
		fail_msg("%s is not set", name);
	return v;
}

#define BASE "/tmp/sr-test/algo-2"

static const char training_env_want[] =
    "{\"additional_framework_parameters\":{\"sagemaker_mpi_enabled\":true},"
    "\"channel_input_dirs\":{\"training\":\"" BASE "/input/data/training\","
    "\"validation\":\"" BASE "/input/data/validation\"},"
    "\"current_host\":\"algo-2\",\"current_instance_group\":\"homogeneousCluster\","
    "\"current_instance_group_hosts\":[\"algo-1\",\"algo-2\"],"
    "\"current_instance_type\":\"ml.p4d.24xlarge\",\"distribution_hosts\":[\"algo-1\","
    "\"algo-2\"],\"distribution_instance_groups\":[\"homogeneousCluster\"],"
    "\"framework_module\":null,\"hosts\":[\"algo-1\",\"algo-2\"],\"hyperparameters\":{"
    "\"batch-size\":32,\"bf16\":true,\"epochs\":2,\"learning-rate\":0.001,\"lr\":1e-05,"
    "\"model_dir\":\"s3://bucket/model\"},\"input_config_dir\":\"" BASE "/input/config\","
    "\"input_data_config\":{\"training\":{\"RecordWrapperType\":\"None\","
    "\"S3DistributionType\":\"FullyReplicated\",\"TrainingInputMode\":\"File\"},"
    "\"validation\":{\"ContentType\":\"text/csv\",\"RecordWrapperType\":\"None\","
    "\"S3DistributionType\":\"FullyReplicated\",\"TrainingInputMode\":\"File\"}},"
    "\"input_dir\":\"" BASE "/input\",\"instance_groups\":[\"homogeneousCluster\"],"
    "\"instance_groups_dict\":{\"homogeneousCluster\":{\"hosts\":[\"algo-1\",\"algo-2\"],"
    "\"instance_group_name\":\"homogeneousCluster\",\"instance_type\":\"ml.p4d.24xlarge\"}},"
    "\"is_hetero\":false,\"is_master\":false,\"is_modelparallel_enabled\":null,"
    "\"is_smddpmprun_installed\":false,\"is_smddprun_installed\":false,"
    "\"job_name\":\"my-job\",\"log_level\":20,\"master_hostname\":\"algo-1\","
    "\"model_dir\":\"" BASE "/model\",\"module_dir\":\"s3://bkt/src/sourcedir.tar.gz\","
    "\"module_name\":\"train\",\"network_interface_name\":\"eth0\",\"num_cpus\":4,"
    "\"num_gpus\":0,\"num_neurons\":0,\"output_data_dir\":\"" BASE "/output/data\","
    "\"output_dir\":\"" BASE "/output\",\"output_intermediate_dir\":\"" BASE
    "/output/intermediate\",\"resource_config\":{\"current_group_name\":"
    "\"homogeneousCluster\",\"current_host\":\"algo-2\",\"current_instance_type\":"
    "\"ml.p4d.24xlarge\",\"hosts\":[\"algo-1\",\"algo-2\"],\"instance_groups\":[{\"hosts\":"
    "[\"algo-1\",\"algo-2\"],\"instance_group_name\":\"homogeneousCluster\","
    "\"instance_type\":\"ml.p4d.24xlarge\"}],\"network_interface_name\":\"eth0\"},"
    "\"topology\":[],\"user_entry_point\":\"train.py\"}";

static void test_env_two_hosts(void **state)
{
	struct contract_env_opts opts = {
	    .base_dir = BASE,
	    .job_name = "my-job",
	    .region = "eu-north-1",
	    .num_cpus = 4,
	    .pythonpath_tail = "/usr/lib/python3",
	};
	struct contract_config cfg = {0};
	struct strv env = STRV_INIT;
	struct sr_error err = {0};
	struct job job;
	json_t *te;
	json_error_t jerr;

	(void)state;
	unsetenv("SAGEMAKER_PROGRAM");
	unsetenv("SM_HP_MP_PARAMETERS");
	make_job(&job);
	assert_int_equal(contract_config_from_job(&job, "algo-2", &cfg, &err), 0);
	strv_env_set(&env, "SM_HPS", "stale");
	assert_int_equal(contract_env(&cfg, &opts, &env, &err), 0);

	assert_string_equal(get(&env, "SM_HOSTS"), "[\"algo-1\",\"algo-2\"]");
	assert_string_equal(get(&env, "SM_CURRENT_HOST"), "algo-2");
	assert_string_equal(get(&env, "SM_CURRENT_INSTANCE_TYPE"), "ml.p4d.24xlarge");
	assert_string_equal(get(&env, "SM_CURRENT_INSTANCE_GROUP"), "homogeneousCluster");
	assert_string_equal(get(&env, "SM_CURRENT_INSTANCE_GROUP_HOSTS"),
			    "[\"algo-1\",\"algo-2\"]");
	assert_string_equal(get(&env, "SM_INSTANCE_GROUPS"), "[\"homogeneousCluster\"]");
	assert_string_equal(get(&env, "SM_INSTANCE_GROUPS_DICT"),
			    "{\"homogeneousCluster\":{\"hosts\":[\"algo-1\",\"algo-2\"],"
			    "\"instance_group_name\":\"homogeneousCluster\",\"instance_type\":"
			    "\"ml.p4d.24xlarge\"}}");
	assert_string_equal(get(&env, "SM_DISTRIBUTION_INSTANCE_GROUPS"),
			    "[\"homogeneousCluster\"]");
	assert_string_equal(get(&env, "SM_IS_HETERO"), "false");
	assert_string_equal(get(&env, "SM_NETWORK_INTERFACE_NAME"), "eth0");
	assert_string_equal(get(&env, "SM_NUM_CPUS"), "4");
	assert_string_equal(get(&env, "SM_NUM_GPUS"), "0");
	assert_string_equal(get(&env, "SM_NUM_NEURONS"), "0");
	assert_string_equal(get(&env, "SM_CHANNELS"), "[\"training\",\"validation\"]");
	assert_string_equal(get(&env, "SM_CHANNEL_TRAINING"), BASE "/input/data/training");
	assert_string_equal(get(&env, "SM_CHANNEL_VALIDATION"), BASE "/input/data/validation");
	assert_string_equal(get(&env, "SM_HPS"),
			    "{\"batch-size\":32,\"bf16\":true,\"epochs\":2,\"learning-rate\":0.001,"
			    "\"lr\":1e-05,\"model_dir\":\"s3://bucket/model\"}");
	assert_string_equal(get(&env, "SM_HP_BATCH-SIZE"), "32");
	assert_string_equal(get(&env, "SM_HP_BF16"), "true");
	assert_string_equal(get(&env, "SM_HP_LEARNING-RATE"), "0.001");
	assert_string_equal(get(&env, "SM_HP_LR"), "1e-05");
	assert_string_equal(get(&env, "SM_HP_MODEL_DIR"), "s3://bucket/model");
	assert_null(strv_env_get(&env, "SM_HP_SAGEMAKER_PROGRAM"));
	assert_null(strv_env_get(&env, "SM_HP__TUNING_OBJECTIVE_METRIC"));
	assert_null(strv_env_get(&env, "SM_HP_DEFAULT_USER_MODULE_NAME"));
	assert_string_equal(get(&env, "SM_USER_ARGS"),
			    "[\"--batch-size\",\"32\",\"--bf16\",\"True\",\"--epochs\",\"2\","
			    "\"--learning-rate\",\"0.001\",\"--lr\",\"1e-05\",\"--model_dir\","
			    "\"s3://bucket/model\"]");
	assert_string_equal(get(&env, "SM_USER_ENTRY_POINT"), "train.py");
	assert_string_equal(get(&env, "SM_MODULE_NAME"), "train");
	assert_string_equal(get(&env, "SM_MODULE_DIR"), "s3://bkt/src/sourcedir.tar.gz");
	assert_string_equal(get(&env, "SM_FRAMEWORK_MODULE"), "");
	assert_string_equal(get(&env, "SM_FRAMEWORK_PARAMS"), "{\"sagemaker_mpi_enabled\":true}");
	assert_string_equal(get(&env, "SM_LOG_LEVEL"), "20");
	assert_string_equal(get(&env, "SM_MODEL_DIR"), BASE "/model");
	assert_string_equal(get(&env, "SM_INPUT_DIR"), BASE "/input");
	assert_string_equal(get(&env, "SM_INPUT_CONFIG_DIR"), BASE "/input/config");
	assert_string_equal(get(&env, "SM_OUTPUT_DIR"), BASE "/output");
	assert_string_equal(get(&env, "SM_OUTPUT_DATA_DIR"), BASE "/output/data");
	assert_string_equal(get(&env, "SM_OUTPUT_INTERMEDIATE_DIR"), BASE "/output/intermediate");
	assert_string_equal(get(&env, "SM_RESOURCE_CONFIG"),
			    "{\"current_group_name\":\"homogeneousCluster\",\"current_host\":"
			    "\"algo-2\",\"current_instance_type\":\"ml.p4d.24xlarge\",\"hosts\":"
			    "[\"algo-1\",\"algo-2\"],\"instance_groups\":[{\"hosts\":[\"algo-1\","
			    "\"algo-2\"],\"instance_group_name\":\"homogeneousCluster\","
			    "\"instance_type\":\"ml.p4d.24xlarge\"}],\"network_interface_name\":"
			    "\"eth0\"}");
	assert_string_equal(get(&env, "SM_INPUT_DATA_CONFIG"),
			    "{\"training\":{\"RecordWrapperType\":\"None\",\"S3DistributionType\":"
			    "\"FullyReplicated\",\"TrainingInputMode\":\"File\"},\"validation\":{"
			    "\"ContentType\":\"text/csv\",\"RecordWrapperType\":\"None\","
			    "\"S3DistributionType\":\"FullyReplicated\",\"TrainingInputMode\":"
			    "\"File\"}}");
	assert_string_equal(get(&env, "SM_TRAINING_ENV"), training_env_want);
	assert_null(strv_env_get(&env, "SM_TOPOLOGY"));
	assert_null(strv_env_get(&env, "SM_IS_MASTER"));
	assert_null(strv_env_get(&env, "TRAINING_JOB_NAME"));
	assert_string_equal(get(&env, "CURRENT_HOST"), "algo-2");
	assert_string_equal(get(&env, "SAGEMAKER_JOB_NAME"), "my-job");
	assert_string_equal(get(&env, "SAGEMAKER_REGION"), "us-west-2");
	assert_string_equal(get(&env, "PYTHONPATH"), BASE "/code:/usr/lib/python3");
	assert_string_equal(get(&env, "SAGEMAKER_BASE_DIR"), BASE);

	te = json_loads(get(&env, "SM_TRAINING_ENV"), 0, &jerr);
	assert_non_null(te);
	assert_int_equal(json_object_size(te), 37);
	assert_string_equal(json_string_value(json_object_get(te, "master_hostname")), "algo-1");
	assert_true(json_is_false(json_object_get(te, "is_master")));
	json_decref(te);

	strv_release(&env);
	contract_config_release(&cfg);
	free_job(&job);
}

static void test_env_defaults(void **state)
{
	struct contract_env_opts opts = {
	    .base_dir = "/opt/ml",
	    .framework_module = "sagemaker_pytorch_container.training:main",
	    .region = "eu-north-1",
	};
	struct contract_config cfg = {0};
	struct strv env = STRV_INIT;
	struct sr_error err = {0};
	json_error_t jerr;
	json_t *te;

	(void)state;
	unsetenv("SAGEMAKER_PROGRAM");
	config_with_hps(&cfg, "{\"x\": \"[1, 2]\", \"sagemaker_pytorch_ddp_enabled\": \"false\"}");
	json_object_set_new(
	    cfg.resource, "topology",
	    json_loads("[{\"hostName\": \"algo-1\", \"capacityUnitId\": \"u1\"}]", 0, &jerr));
	assert_int_equal(contract_env(&cfg, &opts, &env, &err), 0);
	/* no entry point: the toolkit's str(None) */
	assert_string_equal(get(&env, "SM_MODULE_NAME"), "None");
	assert_string_equal(get(&env, "SM_USER_ENTRY_POINT"), "");
	assert_string_equal(get(&env, "SM_MODULE_DIR"), "/opt/ml/code");
	assert_string_equal(get(&env, "SM_FRAMEWORK_MODULE"),
			    "sagemaker_pytorch_container.training:main");
	assert_string_equal(get(&env, "SM_CURRENT_INSTANCE_TYPE"), "local");
	assert_string_equal(get(&env, "SM_CURRENT_INSTANCE_GROUP_HOSTS"), "[]");
	assert_string_equal(get(&env, "SM_INSTANCE_GROUPS"), "[]");
	assert_string_equal(get(&env, "SM_DISTRIBUTION_INSTANCE_GROUPS"), "[]");
	assert_string_equal(get(&env, "SM_HP_X"), "[1,2]");
	assert_string_equal(get(&env, "SM_CHANNELS"), "[]");
	assert_string_equal(get(&env, "SM_TOPOLOGY"),
			    "[{\"capacityUnitId\":\"u1\",\"hostName\":\"algo-1\"}]");
	assert_string_equal(get(&env, "SAGEMAKER_JOB_NAME"), "");
	assert_string_equal(get(&env, "SAGEMAKER_REGION"), "eu-north-1");
	assert_string_equal(get(&env, "PYTHONPATH"), "/opt/ml/code");
	assert_null(strv_env_get(&env, "SAGEMAKER_BASE_DIR"));

	te = contract_training_env(&cfg, &opts);
	assert_int_equal(json_object_size(te), 37);
	assert_true(json_is_null(json_object_get(te, "user_entry_point")));
	assert_true(json_is_null(json_object_get(te, "job_name")));
	/* no instance_groups (SDK local mode): every host is a distribution host */
	assert_true(json_is_true(json_object_get(te, "is_master")));
	assert_int_equal(json_array_size(json_object_get(te, "distribution_hosts")), 1);
	json_decref(te);

	/* a second Environment() in the same process sees the exported SM_HP_MP_PARAMETERS */
	setenv("SM_HP_MP_PARAMETERS", "{\"partitions\":2}", 1);
	te = contract_training_env(&cfg, &opts);
	assert_true(json_is_true(json_object_get(te, "is_modelparallel_enabled")));
	json_decref(te);
	unsetenv("SM_HP_MP_PARAMETERS");

	/* SAGEMAKER_PROGRAM wins over the hyperparameter */
	setenv("SAGEMAKER_PROGRAM", "run.py", 1);
	{
		_cleanup_free_ char *ep = contract_user_entry_point(&cfg, NULL);
		_cleanup_free_ char *md = contract_module_dir(&cfg, "/base/");

		assert_string_equal(ep, "run.py");
		assert_string_equal(md, "/base/code");
	}
	assert_int_equal(contract_env(&cfg, &opts, &env, &err), 0);
	assert_string_equal(get(&env, "SM_MODULE_NAME"), "run");
	/* With a host environment given, this process's own variables do not leak in. */
	{
		struct strv host_env = STRV_INIT;
		_cleanup_free_ char *ep = NULL;
		_cleanup_free_ char *ep2 = NULL;

		strv_push(&host_env, "PATH=/bin");
		ep = contract_user_entry_point(&cfg, &host_env);
		assert_null(ep);
		strv_push(&host_env, "SAGEMAKER_PROGRAM=host.py");
		ep2 = contract_user_entry_point(&cfg, &host_env);
		assert_string_equal(ep2, "host.py");
		strv_release(&host_env);
	}
	unsetenv("SAGEMAKER_PROGRAM");
	{
		char *ep = contract_user_entry_point(&cfg, NULL);

		assert_null(ep);
	}

	strv_release(&env);
	contract_config_release(&cfg);
}

static void test_env_master(void **state)
{
	struct contract_env_opts opts = {.base_dir = "/opt/ml"};
	struct contract_config cfg = {0};
	struct sr_error err = {0};
	struct job job;
	json_t *te;

	(void)state;
	make_job(&job);
	assert_int_equal(contract_config_from_job(&job, "algo-1", &cfg, &err), 0);
	te = contract_training_env(&cfg, &opts);
	assert_true(json_is_true(json_object_get(te, "is_master")));
	json_decref(te);
	contract_config_release(&cfg);

	/* without a distribution flag there are no distribution hosts; master is hosts[0] */
	job.train.hyperparameters.n -= 3; /* drop sagemaker_mpi_enabled and the two after it */
	assert_int_equal(contract_config_from_job(&job, "algo-2", &cfg, &err), 0);
	te = contract_training_env(&cfg, &opts);
	assert_int_equal(json_array_size(json_object_get(te, "distribution_hosts")), 0);
	assert_string_equal(json_string_value(json_object_get(te, "master_hostname")), "algo-1");
	assert_true(json_is_false(json_object_get(te, "is_master")));
	json_decref(te);
	contract_config_release(&cfg);
	job.train.hyperparameters.n += 3;
	free_job(&job);

	/* bad config is an error, not a crash */
	assert_int_equal(contract_env(&cfg, &opts, &(struct strv)STRV_INIT, &err), -EINVAL);
}

/* ---- entry ---- */

static void test_entry_argv(void **state)
{
	char tmpl[] = "/tmp/test_contract.XXXXXX";
	struct strv args = STRV_INIT, argv = STRV_INIT;
	struct sr_error err = {0};
	_cleanup_free_ char *py = NULL, *sh = NULL, *bin = NULL;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	py = xasprintf("%s/train.py", tmpl);
	sh = xasprintf("%s/run.sh", tmpl);
	bin = xasprintf("%s/train", tmpl);
	assert_int_equal(fs_write_atomic(py, "print(1)\n", 9, 0644, &err), 0);
	assert_int_equal(fs_write_atomic(sh, "echo 1\n", 7, 0644, &err), 0);
	assert_int_equal(fs_write_atomic(bin, "#!/bin/sh\n", 10, 0644, &err), 0);
	strv_push(&args, "--epochs");
	strv_push(&args, "2");

	assert_int_equal(contract_entry_argv(tmpl, "train.py", &args, &argv, &err), 0);
	assert_int_equal(argv.n, 4);
	assert_string_equal(argv.v[0], "python3");
	assert_string_equal(argv.v[1], "train.py"); /* as the toolkit: relative to /opt/ml/code */
	assert_string_equal(argv.v[2], "--epochs");
	assert_string_equal(argv.v[3], "2");
	strv_release(&argv);

	assert_int_equal(contract_entry_argv(tmpl, "run.sh", NULL, &argv, &err), 0);
	assert_int_equal(argv.n, 2);
	assert_string_equal(argv.v[0], "/bin/sh");
	assert_string_equal(argv.v[1], sh);
	strv_release(&argv);

	/* a script with a #! line runs with its own interpreter, as `sh -c ./run.sh` would */
	assert_int_equal(fs_write_atomic(sh, "#!/bin/bash\necho 1\n", 19, 0644, &err), 0);
	assert_int_equal(contract_entry_argv(tmpl, "run.sh", NULL, &argv, &err), 0);
	assert_int_equal(argv.n, 1);
	assert_string_equal(argv.v[0], sh);
	assert_int_equal(stat(sh, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	strv_release(&argv);

	/* any other COMMAND without a #! line: /bin/sh runs it, as sh does on ENOEXEC */
	assert_int_equal(fs_write_atomic(bin, "echo 1\n", 7, 0644, &err), 0);
	assert_int_equal(contract_entry_argv(tmpl, "train", NULL, &argv, &err), 0);
	assert_int_equal(argv.n, 2);
	assert_string_equal(argv.v[0], "/bin/sh");
	assert_string_equal(argv.v[1], bin);
	strv_release(&argv);
	assert_int_equal(fs_write_atomic(bin, "#!/bin/sh\n", 10, 0644, &err), 0);

	/* anything else runs directly, made executable as the toolkit's chmod does */
	assert_int_equal(contract_entry_argv(tmpl, "train", &args, &argv, &err), 0);
	assert_int_equal(argv.n, 3);
	assert_string_equal(argv.v[0], bin);
	assert_int_equal(stat(bin, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	strv_release(&argv);

	assert_int_equal(contract_entry_argv(tmpl, "missing.py", &args, &argv, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "'missing.py'"));
	assert_int_equal(argv.n, 0);
	assert_int_equal(contract_entry_argv(tmpl, NULL, &args, &argv, &err), -EINVAL);
	assert_int_equal(contract_entry_argv("/", "tmp", &args, &argv, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));

	strv_release(&args);
	assert_int_equal(fs_rm_rf(tmpl, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_float_repr),
	    cmocka_unit_test(test_json_dumps),
	    cmocka_unit_test(test_py_str),
	    cmocka_unit_test(test_py_decode),
	    cmocka_unit_test(test_host_names_sorted),
	    cmocka_unit_test(test_config_from_job),
	    cmocka_unit_test(test_layout_roundtrip),
	    cmocka_unit_test(test_cmd_args),
	    cmocka_unit_test(test_env_two_hosts),
	    cmocka_unit_test(test_env_defaults),
	    cmocka_unit_test(test_env_master),
	    cmocka_unit_test(test_entry_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
