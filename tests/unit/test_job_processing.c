/* Unit tests for the processing kind in job/: its spec (job_spec_parse with
 * job_kind_processing), its flags (job_build: --input, --output, --code, --source-dir,
 * --command), its defaults and ARN, the LocalPath rules said where each item came from, and
 * its JSON: the describe request and /opt/ml/config/processingjobconfig.json.  The whole
 * malformed-request table runs through the binary in tests/e2e/t0102-process-spec.sh. */
#include "test_job_fixture.h"

#include "job/status.h"

static void proc_flags_init(struct job_flags *f)
{
	job_flags_init(f);
	f->kind = &job_kind_processing;
}

static int parse(const char *text, struct job *job, struct strv *warnings, struct sr_error *err)
{
	return job_spec_parse(&job_kind_processing, text, strlen(text), "p.json", job, warnings,
			      err);
}

static char *cmd_true[] = {"true", NULL};

/* Build from `flags` (a processing job running `true` unless they say otherwise). */
static int build_flags(struct job_flags *flags, struct job *job, struct strv *warnings,
		       struct sr_error *err)
{
	if (!flags->command && !flags->code && !flags->entry_point && !flags->spec_path) {
		flags->command = cmd_true;
		flags->n_command = 1;
	}
	return job_build(flags, job, warnings, err);
}

/* ---- the spec ---- */

static const char full_spec[] =
    "{\n"
    "  \"ProcessingJobName\": \"full\",\n"
    "  \"RoleArn\": \"arn:aws:iam::111122223333:role/R\",\n"
    "  \"ProcessingInputs\": [\n"
    "    {\"InputName\": \"raw\", \"AppManaged\": false, \"S3Input\": {\"S3Uri\": "
    "\"s3://b/raw/\",\n"
    "     \"LocalPath\": \"/opt/ml/processing/input/raw\", \"S3DataType\": \"ManifestFile\", "
    "\"S3InputMode\": \"Pipe\",\n"
    "     \"S3DataDistributionType\": \"ShardedByS3Key\", \"S3CompressionType\": \"Gzip\"}},\n"
    "    {\"InputName\": \"local\", \"S3Input\": {\"S3Uri\": \"data\", \"LocalPath\": "
    "\"/opt/ml/processing/input/local\",\n"
    "     \"S3DataType\": \"S3Prefix\"}}],\n"
    "  \"ProcessingOutputConfig\": {\"Outputs\": [\n"
    "    {\"OutputName\": \"out\", \"AppManaged\": true, \"S3Output\": {\"S3Uri\": "
    "\"s3://b/out\",\n"
    "     \"LocalPath\": \"/opt/ml/processing/output\", \"S3UploadMode\": \"Continuous\"}}],\n"
    "    \"KmsKeyId\": \"alias/k\"},\n"
    "  \"ProcessingResources\": {\"ClusterConfig\": {\"InstanceCount\": 3, \"InstanceType\": "
    "\"ml.c5.xlarge\",\n"
    "    \"VolumeSizeInGB\": 100, \"VolumeKmsKeyId\": \"k\"}},\n"
    "  \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 777600},\n"
    "  \"AppSpecification\": {\"ImageUri\": \"img:1\", \"ContainerEntrypoint\": [\"python3\", "
    "\"/opt/ml/processing/input/code/p.py\"],\n"
    "    \"ContainerArguments\": [\"--n\", \"\"]},\n"
    "  \"Environment\": {\"MODE\": \"full\"},\n"
    "  \"NetworkConfig\": {\"EnableNetworkIsolation\": true, "
    "\"EnableInterContainerTrafficEncryption\": false},\n"
    "  \"Tags\": []\n"
    "}\n";

/* Every field where it belongs, nothing defaulted or resolved (job_build's business), and
 * one warning for each field that asks for what is not done locally. */
static void test_parse_full(void **state)
{
	static const char *const expect[] = {
	    "p.json:6:81: ProcessingInputs[0].S3Input.S3InputMode: Pipe behaves as File locally",
	    "p.json:11:27: ProcessingOutputConfig.Outputs[0].AppManaged: accepted but not honoured "
	    "locally (sagerun stages and uploads every input and output)",
	    "p.json:13:5: ProcessingOutputConfig.KmsKeyId: accepted but not honoured locally "
	    "(nothing is encrypted with KMS locally)",
	    "p.json:15:5: ProcessingResources.ClusterConfig.VolumeSizeInGB: accepted but not "
	    "honoured locally (hosts share this machine's disk, with no volume limit)",
	    "p.json:15:28: ProcessingResources.ClusterConfig.VolumeKmsKeyId: accepted but not "
	    "honoured locally",
	};
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	const struct job_channel *in;
	const struct job_proc_output *out;

	(void)state;
	if (parse(full_spec, &job, &warnings, &err) < 0)
		fail_msg("%s", err.msg);
	assert_ptr_equal(job.kind, &job_kind_processing);
	assert_string_equal(job.name, "full");
	assert_string_equal(job.role_arn, "arn:aws:iam::111122223333:role/R");
	assert_int_equal(job.proc.n_inputs, 2);
	in = &job.proc.inputs[0];
	assert_string_equal(in->name, "raw");
	assert_string_equal(in->uri, "s3://b/raw/");
	assert_string_equal(in->dest, "/opt/ml/processing/input/raw");
	assert_string_equal(in->s3_data_type, "ManifestFile");
	assert_string_equal(in->input_mode, "Pipe");
	assert_string_equal(in->distribution, "ShardedByS3Key");
	assert_string_equal(in->compression, "Gzip");
	assert_false(in->app_managed);
	/* what the request leaves out stays out: defaults are job_build()'s */
	in = &job.proc.inputs[1];
	assert_string_equal(in->uri, "data");
	assert_null(in->input_mode);
	assert_null(in->distribution);
	assert_null(in->compression);
	assert_null(in->local_path);
	assert_int_equal(job.proc.n_outputs, 1);
	out = &job.proc.outputs[0];
	assert_string_equal(out->name, "out");
	assert_string_equal(out->uri, "s3://b/out");
	assert_string_equal(out->dest, "/opt/ml/processing/output");
	assert_string_equal(out->upload_mode, "Continuous");
	assert_true(out->app_managed);
	assert_int_equal(job.instance_count, 3);
	assert_string_equal(job.instance_type, "ml.c5.xlarge");
	assert_int_equal(job.volume_size_gb, 100);
	assert_int_equal(job.max_run_s, 777600);
	assert_string_equal(job.image, "img:1");
	assert_int_equal(job.entrypoint.n, 2);
	assert_string_equal(job.entrypoint.v[1], "/opt/ml/processing/input/code/p.py");
	assert_int_equal(job.arguments.n, 2);
	assert_string_equal(job.arguments.v[1], "");
	assert_string_equal(job_map_get(&job.environment, "MODE"), "full");
	assert_true(job.network_isolation);
	assert_null(job.arn);
	/* false and [] ask for nothing: no warning for them */
	if (warnings.n != sizeof(expect) / sizeof(expect[0])) {
		for (size_t i = 0; i < warnings.n; i++)
			print_error("warning %zu: %s\n", i, warnings.v[i]);
		fail_msg("%zu warnings, expected %zu", warnings.n,
			 sizeof(expect) / sizeof(expect[0]));
	}
	for (size_t i = 0; i < warnings.n; i++)
		if (!strstr(warnings.v[i], expect[i]))
			fail_msg("warning %zu:\n  expected: %s\n  got: %s", i, expect[i],
				 warnings.v[i]);
	job_release(&job);
	strv_release(&warnings);
}

struct bad_spec {
	const char *title;
	const char *text;
	const char *expect; /* the whole message: every problem, each on its line */
};

/* Each LINE:COL was counted by marking the character the message must point at (the value,
 * or the key of a field that should not be there), independently of jsonpos. */
static const struct bad_spec bad_specs[] = {
    {"another API's request", "{\"TransformJobName\": \"t\"}",
     "p.json:1:2: TransformJobName: this is a CreateTransformJob request, not a "
     "CreateProcessingJob one\nhint: batch transform is not run locally"},
    {"a cluster field at the top", "{\"InstanceType\": \"ml.m5.large\"}",
     "p.json:1:2: InstanceType: unknown field (did you mean "
     "ProcessingResources.ClusterConfig.InstanceType?)"},
    {"an output field at the top", "{\"KmsKeyId\": \"k\"}",
     "p.json:1:2: KmsKeyId: unknown field (did you mean ProcessingOutputConfig.KmsKeyId?)"},
    {"a network field at the top", "{\"EnableNetworkIsolation\": true}",
     "p.json:1:2: EnableNetworkIsolation: unknown field (did you mean "
     "NetworkConfig.EnableNetworkIsolation?)"},
    {"a field in the wrong case", "{\"processingJobName\": \"j\"}",
     "p.json:1:2: processingJobName: unknown field (did you mean \"ProcessingJobName\"?)"},
    {"every missing field of an S3Input",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"S3Input\": {}}]}",
     "p.json:1:53: ProcessingInputs[0].S3Input: missing required field S3Uri (s3://BUCKET/PREFIX, "
     "file://PATH or a local path)\n"
     "p.json:1:53: ProcessingInputs[0].S3Input: missing required field LocalPath (a folder under "
     "/opt/ml/processing/)\n"
     "p.json:1:53: ProcessingInputs[0].S3Input: missing required field S3DataType (S3Prefix or "
     "ManifestFile)"},
    {"a missing name besides a bad field",
     "{\"ProcessingOutputConfig\": {\"Outputs\": [{\"S3Output\": {\"S3Uri\": \"o\", "
     "\"LocalPath\": \"/tmp/o\", \"S3UploadMode\": \"EndOfJob\"}}]}}",
     "p.json:1:82: ProcessingOutputConfig.Outputs[0].S3Output.LocalPath: must be a folder under "
     "/opt/ml/processing/, such as /opt/ml/processing/input/data (got \"/tmp/o\")\n"
     "p.json:1:41: ProcessingOutputConfig.Outputs[0]: missing required field OutputName"},
    {"a duplicate name besides a bad field",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"DatasetDefinition\": {}},\n"
     " {\"InputName\": \"a\", \"AppManaged\": 1, \"S3Input\": {\"S3Uri\": \"s3://b/a\", "
     "\"LocalPath\": \"/opt/ml/processing/a\", \"S3DataType\": \"S3Prefix\"}}]}",
     "p.json:1:63: ProcessingInputs[0].DatasetDefinition: DatasetDefinition (Athena, Redshift) "
     "needs the service\n"
     "hint: export the data to S3 or a folder first and give it as an S3Input\n"
     "p.json:2:35: ProcessingInputs[1].AppManaged: expected a boolean, got an integer\n"
     "p.json:2:16: ProcessingInputs[1].InputName: duplicate input name \"a\" "
     "(ProcessingInputs[0] has it too)"},
    {"Gzip with a mode that is refused: the mode alone",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"S3Input\": {\"S3Uri\": \"s3://b/a\", "
     "\"LocalPath\": \"/opt/ml/processing/a\", \"S3DataType\": \"S3Prefix\", "
     "\"S3InputMode\": \"PIPE\", \"S3CompressionType\": \"Gzip\"}}]}",
     "p.json:1:153: ProcessingInputs[0].S3Input.S3InputMode: must be File or Pipe (got "
     "\"PIPE\")"},
    {"Gzip without S3InputMode (File)",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"S3Input\": {\"S3Uri\": \"s3://b/a\", "
     "\"LocalPath\": \"/opt/ml/processing/a\", \"S3DataType\": \"S3Prefix\", "
     "\"S3CompressionType\": \"Gzip\"}}]}",
     "p.json:1:159: ProcessingInputs[0].S3Input.S3CompressionType: Gzip needs S3InputMode Pipe, "
     "as on the service\n"
     "hint: set S3InputMode to Pipe (sagerun then stages the data decompressed), or drop the "
     "compression"},
    {"a local Gzip input",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"S3Input\": {\"S3Uri\": \"file:///data\", "
     "\"LocalPath\": \"/opt/ml/processing/a\", \"S3DataType\": \"S3Prefix\", "
     "\"S3InputMode\": \"Pipe\", \"S3CompressionType\": \"Gzip\"}}]}",
     "p.json:1:186: ProcessingInputs[0].S3Input.S3CompressionType: Gzip is for s3:// inputs; a "
     "local input is given as it is"},
    {"a local manifest",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"S3Input\": "
     "{\"S3DataType\": \"ManifestFile\", \"S3Uri\": \"/data/m.json\", "
     "\"LocalPath\": \"/opt/ml/processing/a\"}}]}",
     "p.json:1:68: ProcessingInputs[0].S3Input.S3DataType: a local input must be an S3Prefix "
     "folder or file (got \"ManifestFile\")"},
    {"FeatureStoreOutput beside an S3Output",
     "{\"ProcessingOutputConfig\": {\"Outputs\": [{\"OutputName\": \"o\", \"S3Output\": "
     "{\"S3Uri\": \"o\", \"LocalPath\": \"/opt/ml/processing/o\", \"S3UploadMode\": "
     "\"EndOfJob\"}, \"FeatureStoreOutput\": {}}]}}",
     "p.json:1:176: ProcessingOutputConfig.Outputs[0].FeatureStoreOutput: FeatureStoreOutput "
     "needs the service's Feature Store\n"
     "hint: write the records to an S3Output instead and ingest them from there"},
    {"a LocalPath with //",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"S3Input\": {\"S3Uri\": \"s3://b/a\", "
     "\"LocalPath\": \"/opt/ml/processing//a\", \"S3DataType\": \"S3Prefix\"}}]}",
     "p.json:1:88: ProcessingInputs[0].S3Input.LocalPath: must be a folder under "
     "/opt/ml/processing/, such as /opt/ml/processing/input/data (got "
     "\"/opt/ml/processing//a\")"},
    {"a LocalPath with .",
     "{\"ProcessingInputs\": [{\"InputName\": \"a\", \"S3Input\": {\"S3Uri\": \"s3://b/a\", "
     "\"LocalPath\": \"/opt/ml/processing/./a\", \"S3DataType\": \"S3Prefix\"}}]}",
     "p.json:1:88: ProcessingInputs[0].S3Input.LocalPath: must not hold . or .. parts: it names "
     "a folder of each host's /opt/ml/processing/ (got \"/opt/ml/processing/./a\")"},
    {"an S3Uri without a bucket",
     "{\"ProcessingOutputConfig\": {\"Outputs\": [{\"OutputName\": \"o\", \"S3Output\": "
     "{\"S3Uri\": \"s3:///o\", \"LocalPath\": \"/opt/ml/processing/o\", \"S3UploadMode\": "
     "\"EndOfJob\"}}]}}",
     "p.json:1:83: ProcessingOutputConfig.Outputs[0].S3Output.S3Uri: must be "
     "s3://BUCKET/PREFIX, file://PATH or a local path (got \"s3:///o\")"},
    {"InstanceCount with a fraction",
     "{\"ProcessingResources\": {\"ClusterConfig\": {\"InstanceCount\": 1.5}}}",
     "p.json:1:61: ProcessingResources.ClusterConfig.InstanceCount: expected an integer, got a "
     "number with a fraction"},
    {"an Environment value that is a number", "{\"Environment\": {\"N\": 5}}",
     "p.json:1:23: Environment.N: expected a string, got an integer"},
    {"ProcessingOutputConfig as a list", "{\"ProcessingOutputConfig\": []}",
     "p.json:1:28: ProcessingOutputConfig: expected an object, got a list"},
};

static void test_bad_specs(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		const struct bad_spec *c = &bad_specs[i];
		struct job job = {0};
		struct sr_error err = {0};
		int r = parse(c->text, &job, NULL, &err);
		/* one problem alone keeps its hint in err.hint, several carry theirs inline */
		_cleanup_free_ char *got =
		    err.hint[0] ? xasprintf("%s\nhint: %s", err.msg, err.hint) : xstrdup(err.msg);

		if (r >= 0 || strcmp(got, c->expect)) {
			print_error("case '%s':\n  expected: %s\n  got (%d): %s\n", c->title,
				    c->expect, r, got);
			failures++;
		}
		job_release(&job);
	}
	assert_int_equal(failures, 0);
}

/* Big lists, written by loops rather than by hand. */
static void test_limits(void **state)
{
	struct job job = {0};
	struct sr_error err = {0};
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	(void)state;
	/* 101 ContainerArguments, 101 Environment entries */
	f = open_memstream(&text, &size);
	fputs("{\"AppSpecification\": {\"ContainerArguments\": [", f);
	for (int i = 0; i < 101; i++)
		fprintf(f, "%s\"a%d\"", i ? ", " : "", i);
	fputs("]},\n \"Environment\": {", f);
	for (int i = 0; i < 101; i++)
		fprintf(f, "%s\"K%d\": \"v\"", i ? ", " : "", i);
	fputs("}}", f);
	fclose(f);
	assert_true(parse(text, &job, NULL, &err) < 0);
	assert_string_equal(
	    err.msg, "p.json:1:45: AppSpecification.ContainerArguments: must have at most 100 "
		     "items (got 101)\n"
		     "p.json:2:17: Environment: more than 100 entries (got 101)");
	job_release(&job);
	free(text);
	memset(&job, 0, sizeof(job));

	/* 11 outputs */
	f = open_memstream(&text, &size);
	fputs("{\"ProcessingOutputConfig\": {\"Outputs\": [", f);
	for (int i = 0; i < 11; i++)
		fprintf(f,
			"%s{\"OutputName\": \"o%d\", \"S3Output\": {\"S3Uri\": \"s3://b/%d\", "
			"\"LocalPath\": \"/opt/ml/processing/o%d\", \"S3UploadMode\": "
			"\"EndOfJob\"}}",
			i ? ", " : "", i, i, i);
	fputs("]}}", f);
	fclose(f);
	assert_true(parse(text, &job, NULL, &err) < 0);
	assert_string_equal(err.msg, "p.json:1:40: ProcessingOutputConfig.Outputs: more than 10 "
				     "outputs (got 11)");
	job_release(&job);
	free(text);
	memset(&job, 0, sizeof(job));

	/* a spec of nothing but problems stops after 20 */
	f = open_memstream(&text, &size);
	fputs("{\"Environment\": {", f);
	for (int i = 0; i < 30; i++)
		fprintf(f, "%s\"%d\": \"v\"", i ? ", " : "", i);
	fputs("}}", f);
	fclose(f);
	assert_true(parse(text, &job, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "Environment.19: key must match"));
	assert_null(strstr(err.msg, "Environment.20:"));
	assert_non_null(strstr(err.msg, "\n(stopped after 20 problems)"));
	job_release(&job);
	free(text);
}

/* The request describe prints parses back into the same job. */
static void test_parse_round_trip(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0}, back = {0};
	struct sr_error err = {0};
	_cleanup_json_ json_t *req = NULL;
	_cleanup_free_ char *text = NULL;

	assert_int_equal(chdir(fx->dir), 0);
	proc_flags_init(&flags);
	if (build_spec(fx, full_spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	req = job_request_json(&job);
	text = json_dumps(req, JSON_INDENT(2));
	if (parse(text, &back, NULL, &err) < 0)
		fail_msg("%s\n%s", err.msg, text);
	assert_string_equal(back.name, "full");
	assert_int_equal(back.proc.n_inputs, 2);
	assert_string_equal(back.proc.inputs[0].compression, "Gzip");
	assert_string_equal(back.proc.inputs[1].input_mode, "File");
	assert_string_equal(back.proc.outputs[0].upload_mode, "Continuous");
	assert_int_equal(back.instance_count, 3);
	assert_int_equal(back.max_run_s, 777600);
	assert_true(back.network_isolation);
	assert_string_equal(back.arguments.v[0], "--n");
	job_release(&back);
	job_release(&job);
	job_flags_release(&flags);
}

/* ---- the flags ---- */

static void test_input_options(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *data = xasprintf("%s/data", fx->dir);
	_cleanup_free_ char *file = xasprintf("file=file://%s/code/train.py", fx->dir);
	_cleanup_free_ char *file_abs = xasprintf("%s/code/train.py", fx->dir);
	const struct job_channel *c;

	assert_int_equal(chdir(fx->dir), 0);
	proc_flags_init(&flags);
	/* every option; the comma before "b" is the key's (no key=value there) */
	strv_push(&flags.inputs, "raw=s3://bkt/raw/a,b,destination=/opt/ml/processing/raw,"
				 "distribution=sharded,type=manifest,mode=pipe,compression=gzip");
	strv_push(&flags.inputs, "plain=data");
	strv_push(&flags.inputs, file);
	/* the API's own spellings, in any case */
	strv_push(&flags.inputs, "upper=s3://bkt/u,distribution=FullyReplicated,"
				 "type=S3PREFIX,mode=File,compression=NONE");
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.proc.n_inputs, 4);
	c = &job.proc.inputs[0];
	assert_string_equal(c->name, "raw");
	assert_string_equal(c->uri, "s3://bkt/raw/a,b");
	assert_null(c->local_path);
	assert_string_equal(c->dest, "/opt/ml/processing/raw");
	assert_string_equal(c->distribution, "ShardedByS3Key");
	assert_string_equal(c->s3_data_type, "ManifestFile");
	assert_string_equal(c->input_mode, "Pipe");
	assert_string_equal(c->compression, "Gzip");
	/* the SDK's defaults: the destination from the name, and the API's defaults */
	c = &job.proc.inputs[1];
	assert_string_equal(c->uri, "data");
	assert_string_equal(c->local_path, data);
	assert_string_equal(c->dest, "/opt/ml/processing/input/plain");
	assert_string_equal(c->s3_data_type, "S3Prefix");
	assert_string_equal(c->input_mode, "File");
	assert_string_equal(c->distribution, "FullyReplicated");
	assert_string_equal(c->compression, "None");
	/* one file is an input too */
	c = &job.proc.inputs[2];
	assert_string_equal(c->local_path, file_abs);
	c = &job.proc.inputs[3];
	assert_string_equal(c->distribution, "FullyReplicated");
	assert_string_equal(c->s3_data_type, "S3Prefix");
	assert_string_equal(c->input_mode, "File");
	assert_string_equal(c->compression, "None");
	job_release(&job);
	job_flags_release(&flags);
}

static void test_output_options(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *result = xasprintf("%s/sagerun-output/j/output/result", fx->dir);
	_cleanup_free_ char *out = xasprintf("%s/out", fx->dir);
	const struct job_proc_output *o;

	assert_int_equal(chdir(fx->dir), 0);
	proc_flags_init(&flags);
	flags.name = "j";
	strv_push(&flags.outputs, "result");
	strv_push(&flags.outputs, "logs=s3://bkt/logs,x,upload=continuous,"
				  "source=/opt/ml/processing/logs");
	strv_push(&flags.outputs, "local=out,upload=EndOfJob");
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.proc.n_outputs, 3);
	/* no destination: where the SDK would use s3://<default bucket>/<job>/output/NAME */
	o = &job.proc.outputs[0];
	assert_string_equal(o->name, "result");
	assert_string_equal(o->uri, "./sagerun-output/j/output/result");
	assert_string_equal(o->local_path, result);
	assert_string_equal(o->dest, "/opt/ml/processing/output/result");
	assert_string_equal(o->upload_mode, "EndOfJob");
	o = &job.proc.outputs[1];
	assert_string_equal(o->uri, "s3://bkt/logs,x");
	assert_null(o->local_path);
	assert_string_equal(o->dest, "/opt/ml/processing/logs");
	assert_string_equal(o->upload_mode, "Continuous");
	o = &job.proc.outputs[2];
	assert_string_equal(o->uri, "out");
	assert_string_equal(o->local_path, out);
	assert_string_equal(o->upload_mode, "EndOfJob");
	/* output folders are made when the job ends, not by job_build */
	assert_false(fs_exists("sagerun-output"));
	assert_false(fs_exists("out"));
	job_release(&job);
	job_flags_release(&flags);
}

/* ScriptProcessor.run(code=FILE): the file as input "code", the command and its path there
 * as ContainerEntrypoint, -- ARGS as ContainerArguments. */
static void test_code(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *abs = xasprintf("%s/code/train.py", fx->dir);
	char *args[] = {"--epochs", "3", NULL};
	regex_t re;

	assert_int_equal(chdir(fx->dir), 0);
	proc_flags_init(&flags);
	flags.code = "code/train.py";
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.entrypoint.n, 2);
	assert_string_equal(job.entrypoint.v[0], "python3");
	assert_string_equal(job.entrypoint.v[1], "/opt/ml/processing/input/code/train.py");
	assert_int_equal(job.arguments.n, 0);
	assert_int_equal(job.proc.n_inputs, 1);
	assert_string_equal(job.proc.inputs[0].name, "code");
	assert_string_equal(job.proc.inputs[0].uri, abs);
	assert_string_equal(job.proc.inputs[0].local_path, abs);
	assert_string_equal(job.proc.inputs[0].dest, "/opt/ml/processing/input/code");
	assert_null(job.proc.source_dir);
	/* named after the code, as the SDK names it */
	assert_int_equal(regcomp(&re, "^train-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, job.name, 0, NULL, 0), 0);
	regfree(&re);
	job_release(&job);

	/* --command split on blanks (never by a shell), -- ARGS its arguments */
	flags.proc_command = " python3\t-u  -X dev ";
	flags.command = args;
	flags.n_command = 2;
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.entrypoint.n, 5);
	assert_string_equal(job.entrypoint.v[0], "python3");
	assert_string_equal(job.entrypoint.v[1], "-u");
	assert_string_equal(job.entrypoint.v[2], "-X");
	assert_string_equal(job.entrypoint.v[3], "dev");
	assert_string_equal(job.entrypoint.v[4], "/opt/ml/processing/input/code/train.py");
	assert_int_equal(job.arguments.n, 2);
	assert_string_equal(job.arguments.v[0], "--epochs");
	assert_string_equal(job.arguments.v[1], "3");
	job_release(&job);
	job_flags_release(&flags);
}

/* FrameworkProcessor.run(code=FILE, source_dir=DIR): runproc.sh runs the command on the
 * entry point inside the unpacked folder. */
static void test_source_dir(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *src = xasprintf("%s/code", fx->dir);
	_cleanup_free_ char *src_uri = xasprintf("file://%s/code", fx->dir);
	char *args[] = {"--x", NULL};
	regex_t re;

	assert_int_equal(chdir(fx->dir), 0);
	proc_flags_init(&flags);
	flags.source_dir = "code";
	flags.entry_point = "sub/run.py";
	flags.proc_command = "python3 -u";
	flags.command = args;
	flags.n_command = 1;
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.entrypoint.n, 2);
	assert_string_equal(job.entrypoint.v[0], "/bin/bash");
	assert_string_equal(job.entrypoint.v[1], "/opt/ml/processing/input/entrypoint/runproc.sh");
	assert_int_equal(job.arguments.n, 1);
	assert_string_equal(job.arguments.v[0], "--x");
	assert_string_equal(job.proc.source_dir, src);
	assert_string_equal(job.proc.entry_point, "sub/run.py");
	assert_int_equal(job.proc.command.n, 2);
	assert_string_equal(job.proc.command.v[0], "python3");
	assert_string_equal(job.proc.command.v[1], "-u");
	/* the two inputs launch/ fills with sourcedir.tar.gz and runproc.sh */
	assert_int_equal(job.proc.n_inputs, 2);
	assert_string_equal(job.proc.inputs[0].name, "code");
	assert_string_equal(job.proc.inputs[0].uri, src_uri);
	assert_string_equal(job.proc.inputs[0].dest, "/opt/ml/processing/input/code/");
	assert_string_equal(job.proc.inputs[1].name, "entrypoint");
	assert_string_equal(job.proc.inputs[1].dest, "/opt/ml/processing/input/entrypoint");
	assert_int_equal(regcomp(&re, "^run-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, job.name, 0, NULL, 0), 0);
	regfree(&re);
	job_release(&job);

	/* python3 when no --command, as SKLearnProcessor's */
	flags.proc_command = NULL;
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job.proc.command.n, 1);
	assert_string_equal(job.proc.command.v[0], "python3");
	job_release(&job);
	job_flags_release(&flags);
}

static void test_defaults_and_arn(void **state)
{
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	char *cmd[] = {"/usr/bin/env", "x", NULL};
	regex_t re;

	(void)state;
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	proc_flags_init(&flags);
	flags.command = cmd;
	flags.n_command = 2;
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(regcomp(&re,
				 "^arn:aws:sagemaker:us-east-1:000000000000:processing-job/"
				 "env-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}$",
				 REG_EXTENDED),
			 0);
	assert_int_equal(regexec(&re, job.arn, 0, NULL, 0), 0);
	regfree(&re);
	assert_int_equal(job.instance_count, 1);
	assert_string_equal(job.instance_type, "ml.m5.large");
	assert_int_equal(job.volume_size_gb, 30);
	assert_int_equal(job.max_run_s, 86400);
	assert_int_equal(job.stop_grace_s, 120);
	assert_null(job.image);
	assert_null(job.role_arn);
	assert_int_equal(job.proc.n_inputs, 0);
	assert_int_equal(job.proc.n_outputs, 0);
	assert_string_equal(job.entrypoint.v[0], "/usr/bin/env");
	assert_string_equal(job.arguments.v[0], "x");
	job_release(&job);

	flags.name = "proc-1";
	setenv("AWS_REGION", "eu-central-1", 1);
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.arn,
			    "arn:aws:sagemaker:eu-central-1:000000000000:processing-job/proc-1");
	job_release(&job);
	setenv("AWS_REGION", "cn-northwest-1", 1);
	if (build_flags(&flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(
	    job.arn, "arn:aws-cn:sagemaker:cn-northwest-1:000000000000:processing-job/proc-1");
	job_release(&job);
	unsetenv("AWS_REGION");
	job_flags_release(&flags);
}

/* --input and --output replace the spec's item of their name whole (none of its fields are
 * kept), or add one; the other items and every other field stay. */
static void test_flags_over_spec(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	_cleanup_free_ char *code = xasprintf("%s/code/train.py", fx->dir);
	const char *spec =
	    "{\"ProcessingJobName\": \"spec\",\n"
	    " \"ProcessingInputs\": [\n"
	    "  {\"InputName\": \"a\", \"S3Input\": {\"S3Uri\": \"s3://b/a\", \"LocalPath\": "
	    "\"/opt/ml/processing/a\", \"S3DataType\": \"S3Prefix\", \"S3InputMode\": "
	    "\"Pipe\"}},\n"
	    "  {\"InputName\": \"code\", \"S3Input\": {\"S3Uri\": \"s3://b/code\", \"LocalPath\": "
	    "\"/opt/ml/processing/code\", \"S3DataType\": \"S3Prefix\"}},\n"
	    "  {\"InputName\": \"b\", \"S3Input\": {\"S3Uri\": \"s3://b/b\", \"LocalPath\": "
	    "\"/opt/ml/processing/b\", \"S3DataType\": \"S3Prefix\"}}],\n"
	    " \"ProcessingOutputConfig\": {\"Outputs\": [\n"
	    "  {\"OutputName\": \"o1\", \"S3Output\": {\"S3Uri\": \"s3://b/o1\", \"LocalPath\": "
	    "\"/opt/ml/processing/o1\", \"S3UploadMode\": \"Continuous\"}},\n"
	    "  {\"OutputName\": \"o2\", \"S3Output\": {\"S3Uri\": \"s3://b/o2\", \"LocalPath\": "
	    "\"/opt/ml/processing/o2\", \"S3UploadMode\": \"EndOfJob\"}}]},\n"
	    " \"ProcessingResources\": {\"ClusterConfig\": {\"InstanceCount\": 4, "
	    "\"InstanceType\": \"ml.c5.xlarge\", \"VolumeSizeInGB\": 30}},\n"
	    " \"AppSpecification\": {\"ContainerEntrypoint\": [\"bash\", \"run.sh\"], "
	    "\"ContainerArguments\": [\"--spec\"]},\n"
	    " \"Environment\": {\"A\": \"spec\", \"B\": \"spec\"}}\n";

	assert_int_equal(chdir(fx->dir), 0);
	proc_flags_init(&flags);
	flags.hosts = 2;
	flags.code = code;
	strv_push(&flags.envs, "B=flag");
	strv_push(&flags.inputs, "a=data2");
	strv_push(&flags.inputs, "c=s3://b/c,mode=pipe");
	strv_push(&flags.outputs, "o1=s3://b/new");
	if (build_spec(fx, spec, &flags, &job, &warnings, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.name, "spec");
	assert_int_equal(job.instance_count, 2);
	assert_string_equal(job.instance_type, "ml.c5.xlarge");
	assert_string_equal(job_map_get(&job.environment, "A"), "spec");
	assert_string_equal(job_map_get(&job.environment, "B"), "flag");
	/* a: replaced whole, its LocalPath and S3InputMode gone with it */
	assert_int_equal(job.proc.n_inputs, 4);
	assert_string_equal(job.proc.inputs[0].name, "a");
	assert_string_equal(job.proc.inputs[0].uri, "data2");
	assert_string_equal(job.proc.inputs[0].dest, "/opt/ml/processing/input/a");
	assert_string_equal(job.proc.inputs[0].input_mode, "File");
	/* code: the --code file, where the spec's input "code" was */
	assert_string_equal(job.proc.inputs[1].name, "code");
	assert_string_equal(job.proc.inputs[1].uri, code);
	assert_string_equal(job.proc.inputs[1].dest, "/opt/ml/processing/input/code");
	assert_string_equal(job.proc.inputs[2].name, "b");
	assert_string_equal(job.proc.inputs[2].uri, "s3://b/b");
	assert_string_equal(job.proc.inputs[3].name, "c");
	assert_string_equal(job.proc.inputs[3].input_mode, "Pipe");
	/* o1: replaced whole (EndOfJob, the default LocalPath); o2 kept */
	assert_int_equal(job.proc.n_outputs, 2);
	assert_string_equal(job.proc.outputs[0].uri, "s3://b/new");
	assert_string_equal(job.proc.outputs[0].dest, "/opt/ml/processing/output/o1");
	assert_string_equal(job.proc.outputs[0].upload_mode, "EndOfJob");
	assert_string_equal(job.proc.outputs[1].uri, "s3://b/o2");
	/* the code replaces the spec's ContainerEntrypoint; its arguments stay (no -- ARGS) */
	assert_string_equal(job.entrypoint.v[1], "/opt/ml/processing/input/code/train.py");
	assert_int_equal(job.arguments.n, 1);
	assert_string_equal(job.arguments.v[0], "--spec");
	assert_int_equal(warnings.n, 4);
	assert_non_null(strstr(warnings.v[0], "S3InputMode: Pipe behaves as File locally"));
	assert_non_null(strstr(warnings.v[1],
			       "--input c=s3://b/c,mode=pipe: mode=pipe behaves as File locally"));
	assert_non_null(strstr(warnings.v[2], "--code: replaces the input 'code' of "));
	assert_non_null(
	    strstr(warnings.v[3], "--code: replaces AppSpecification.ContainerEntrypoint from "));
	job_release(&job);
	strv_release(&warnings);
	job_flags_release(&flags);
}

struct flag_case {
	const char *title;
	const char *inputs[12];
	const char *outputs[3];
	const char *code, *source_dir, *entry_point, *proc_command;
	bool no_command;    /* no -- COMMAND: the job runs only what the other flags give */
	int hosts;	    /* 0: not given */
	const char *expect; /* @DIR@ expanded */
	const char *hint;   /* NULL: none checked */
};

static const struct flag_case flag_cases[] = {
    {"--input without =", .inputs = {"data"}, .expect = "--input 'data': expected NAME=SOURCE"},
    {"--input without a name", .inputs = {"=data"},
     .expect = "--input '=data': expected a non-empty NAME"},
    {"--input without a source", .inputs = {"a="},
     .expect = "--input 'a=': expected a location after '='"},
    {"--input with a slash in its name", .inputs = {"raw/csv=s3://b/r"},
     .expect = "--input 'raw/csv=s3://b/r': NAME must not hold '/' nor be . or ..: sagerun "
	       "keeps each input and output in a folder of that name (got \"raw/csv\")"},
    {"--input mode unknown", .inputs = {"a=s3://b/a,mode=stream"},
     .expect = "--input 'a=s3://b/a,mode=stream': mode: unknown value 'stream' (file or pipe)"},
    {"--input distribution unknown", .inputs = {"a=s3://b/a,distribution=sharded-by-key"},
     .expect = "distribution: unknown value 'sharded-by-key' (fullyreplicated or sharded)"},
    {"--input type unknown", .inputs = {"a=s3://b/a,type=list"},
     .expect = "type: unknown value 'list' (s3prefix or manifest)"},
    {"--input option given twice", .inputs = {"a=s3://b/a,mode=pipe,mode=file"},
     .expect = "--input 'a=s3://b/a,mode=pipe,mode=file': mode= is given twice"},
    {"--input destination outside", .inputs = {"a=s3://b/a,destination=/data"},
     .expect = "--input 'a=s3://b/a,destination=/data': destination must be a folder under "
	       "/opt/ml/processing/"},
    {"--input source of another scheme", .inputs = {"a=gs://b/a"},
     .expect = "--input 'a=gs://b/a': SOURCE must be s3://BUCKET/PREFIX, file://PATH or a "
	       "local path (got \"gs://b/a\")"},
    {"--input s3: with one slash", .inputs = {"a=s3:/b/a"},
     .expect = "--input 'a=s3:/b/a': SOURCE must be s3://BUCKET/PREFIX or file://PATH, with two "
	       "slashes, or a local path (./ before a local folder whose name starts so) (got "
	       "\"s3:/b/a\")"},
    {"./s3:x is a local folder so named", .inputs = {"a=./s3:x"}, .expect = "s3:x' does not exist"},
    {"--output s3: with one slash", .outputs = {"o=s3:/b/o"},
     .expect = "must be s3://BUCKET/PREFIX or file://PATH, with two slashes"},
    {"--input twice", .inputs = {"a=s3://b/a", "a=s3://b/b"},
     .expect = "--input 'a=s3://b/b': input 'a' is given twice"},
    {"--input that does not exist", .inputs = {"a=@DIR@/nope"},
     .expect = "--input 'a=@DIR@/nope': input 'a': '@DIR@/nope' does not exist",
     .hint = "a local input is a folder or a file: create it, or point the input at one"},
    {"--input gzip without pipe", .inputs = {"a=s3://b/a.gz,compression=gzip"},
     .expect = "--input 'a=s3://b/a.gz,compression=gzip': Gzip needs S3InputMode Pipe, as on "
	       "the service",
     .hint = "add mode=pipe (sagerun then stages the data decompressed), or drop "
	     "compression=gzip"},
    {"--input local sharded", .inputs = {"a=@DIR@/data,distribution=sharded"},
     .expect = "--input 'a=@DIR@/data,distribution=sharded': input 'a': ShardedByS3Key is for "
	       "s3:// inputs; a local input is given whole to every host",
     .hint = "drop the sharding (every host then reads all of it), or serve the data from S3"},
    {"--input local manifest", .inputs = {"a=@DIR@/data,type=manifest"},
     .expect = "--input 'a=@DIR@/data,type=manifest': a local input must be an S3Prefix folder "
	       "or file (got \"ManifestFile\")"},
    {"eleven --input",
     .inputs = {"a0=s3://b/0", "a1=s3://b/1", "a2=s3://b/2", "a3=s3://b/3", "a4=s3://b/4",
		"a5=s3://b/5", "a6=s3://b/6", "a7=s3://b/7", "a8=s3://b/8", "a9=s3://b/9",
		"a10=s3://b/10"},
     .expect = "--input 'a10=s3://b/10': more than 10 inputs"},
    {"--input at the same folder",
     .inputs = {"a=s3://b/a,destination=/opt/ml/processing/x",
		"b=s3://b/b,destination=/opt/ml/processing/x/"},
     .expect = "--input 'b=s3://b/b,destination=/opt/ml/processing/x/': LocalPath "
	       "'/opt/ml/processing/x/' is the same folder as the LocalPath "
	       "'/opt/ml/processing/x' of --input 'a=s3://b/a,destination=/opt/ml/processing/x'",
     .hint = "give every input and output a folder of its own, such as "
	     "/opt/ml/processing/input/<name> and /opt/ml/processing/output/<name> (an input "
	     "may lie inside another input)"},
    {"--output holding an input", .inputs = {"a=s3://b/a"},
     .outputs = {"o=s3://b/o,source=/opt/ml/processing/input"},
     .expect = "--output 'o=s3://b/o,source=/opt/ml/processing/input': LocalPath "
	       "'/opt/ml/processing/input' holds the LocalPath '/opt/ml/processing/input/a' of "
	       "--input 'a=s3://b/a'"},
    {"--output upload unknown", .outputs = {"o=s3://b/o,upload=sometimes"},
     .expect = "--output 'o=s3://b/o,upload=sometimes': upload: unknown value 'sometimes' "
	       "(endofjob or continuous)"},
    {"--output source outside", .outputs = {"o=s3://b/o,source=/tmp/o"},
     .expect = "--output 'o=s3://b/o,source=/tmp/o': source must be a folder under "
	       "/opt/ml/processing/"},
    {"--output named ..", .outputs = {"..=s3://b/o"},
     .expect = "--output '..=s3://b/o': NAME must not hold '/' nor be . or .."},
    {"--output at a file", .outputs = {"o=@DIR@/code/train.py"},
     .expect = "--output 'o=@DIR@/code/train.py': output 'o': '@DIR@/code/train.py' is not a "
	       "folder"},
    {"--code that does not exist", .code = "@DIR@/nope.py", .no_command = true,
     .expect = "--code '@DIR@/nope.py': no such file"},
    {"--code a folder", .code = "@DIR@/code", .no_command = true,
     .expect = "--code '@DIR@/code': not a file",
     .hint = "to ship a folder, give it as --source-dir and the script inside it as "
	     "--entry-point"},
    {"--code and --entry-point", .code = "@DIR@/code/train.py", .entry_point = "train.py",
     .source_dir = "@DIR@/code", .no_command = true,
     .expect = "--code and --entry-point: give one"},
    {"--entry-point without --source-dir", .entry_point = "@DIR@/code/train.py", .no_command = true,
     .expect = "--entry-point: needs --source-dir"},
    {"--source-dir without --entry-point", .source_dir = "@DIR@/code",
     .expect = "--source-dir: needs --entry-point"},
    {"--command without code", .proc_command = "python3",
     .expect = "--command 'python3': is the command that runs --code or --entry-point"},
    {"--command of blanks", .code = "@DIR@/code/train.py", .proc_command = " \t ",
     .no_command = true, .expect = "--command ' \t ': expected a command, such as python3"},
    {"--input code beside --code", .code = "@DIR@/code/train.py", .inputs = {"code=s3://b/code"},
     .no_command = true, .expect = "--code: input 'code' is the code's: give it no --input"},
    {"--code at an --input's folder", .code = "@DIR@/code/train.py",
     .inputs = {"all=s3://b/all,destination=/opt/ml/processing/input/code"}, .no_command = true,
     .expect = "--code: the input 'code' at '/opt/ml/processing/input/code' is the same folder "
	       "as the LocalPath '/opt/ml/processing/input/code' of --input "
	       "'all=s3://b/all,destination=/opt/ml/processing/input/code'"},
    {"nothing to run", .no_command = true,
     .expect = "nothing to run: give --spec FILE, --code FILE, --entry-point FILE, --image "
	       "IMAGE or -- COMMAND [ARGS...]"},
    {"--hosts 101", .hosts = 101, .expect = "--hosts: must be between 1 and 100 (got 101)"},
};

static void test_flag_errors(void **state)
{
	struct fx *fx = *state;
	size_t failures = 0;

	for (size_t i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
		const struct flag_case *c = &flag_cases[i];
		_cleanup_free_ char *expect = expand(c->expect, fx->dir);
		_cleanup_free_ char *code = c->code ? expand(c->code, fx->dir) : NULL;
		_cleanup_free_ char *src = c->source_dir ? expand(c->source_dir, fx->dir) : NULL;
		_cleanup_free_ char *ep = c->entry_point ? expand(c->entry_point, fx->dir) : NULL;
		struct job_flags flags;
		struct job job = {0};
		struct sr_error err = {0};
		int r;

		proc_flags_init(&flags);
		for (size_t k = 0; k < 12 && c->inputs[k]; k++)
			strv_push_take(&flags.inputs, expand(c->inputs[k], fx->dir));
		for (size_t k = 0; k < 3 && c->outputs[k]; k++)
			strv_push_take(&flags.outputs, expand(c->outputs[k], fx->dir));
		flags.code = code;
		flags.source_dir = src;
		flags.entry_point = ep;
		flags.proc_command = c->proc_command;
		if (c->hosts)
			flags.hosts = c->hosts;
		if (!c->no_command) {
			flags.command = cmd_true;
			flags.n_command = 1;
		}
		r = job_build(&flags, &job, NULL, &err);
		if (r >= 0 || !strstr(err.msg, expect) || (c->hint && strcmp(err.hint, c->hint))) {
			print_error("case '%s':\n  expected: %s\n  hint: %s\n  got (%d): %s\n  "
				    "hint: %s\n",
				    c->title, expect, c->hint ? c->hint : "(any)", r, err.msg,
				    err.hint);
			failures++;
		}
		job_release(&job);
		job_flags_release(&flags);
	}
	assert_int_equal(failures, 0);
}

/* Overlapping LocalPaths point at the spec, or name the flag that made the item: a flag's
 * item is blamed before a spec's, whichever comes first. */
static void test_places(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_free_ char *expect = NULL;
	const char *spec =
	    "{\"AppSpecification\": {\"ContainerEntrypoint\": [\"true\"]},\n"
	    " \"ProcessingInputs\": [\n"
	    "  {\"InputName\": \"a\", \"S3Input\": {\"S3Uri\": \"s3://b/a\", \"LocalPath\": "
	    "\"/opt/ml/processing/a\", \"S3DataType\": \"S3Prefix\"}},\n"
	    "  {\"InputName\": \"b\", \"S3Input\": {\"S3Uri\": \"s3://b/b\", \"LocalPath\": "
	    "\"/opt/ml/processing/b\", \"S3DataType\": \"S3Prefix\"}}],\n"
	    " \"ProcessingOutputConfig\": {\"Outputs\": [\n"
	    "  {\"OutputName\": \"o\", \"S3Output\": {\"S3Uri\": \"s3://b/o\", \"LocalPath\": "
	    "\"/opt/ml/processing/a/o\", \"S3UploadMode\": \"EndOfJob\"}}]}}\n";

	/* the spec alone: at the later item's LocalPath */
	proc_flags_init(&flags);
	assert_true(build_spec(fx, spec, &flags, &job, NULL, &err) < 0);
	expect = xasprintf("%s:6:70: ProcessingOutputConfig.Outputs[0].S3Output.LocalPath: "
			   "'/opt/ml/processing/a/o' lies inside ProcessingInputs[0].S3Input."
			   "LocalPath '/opt/ml/processing/a'",
			   fx->spec);
	assert_string_equal(err.msg, expect);
	assert_string_equal(err.hint, "give every input and output a folder of its own, such as "
				      "/opt/ml/processing/input/<name> and "
				      "/opt/ml/processing/output/<name> (an input may lie inside "
				      "another input)");
	job_release(&job);
	job_flags_release(&flags);

	/* a flag replaces the output: mended */
	proc_flags_init(&flags);
	strv_push(&flags.outputs, "o=s3://b/o2");
	if (build_spec(fx, spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(job.proc.outputs[0].dest, "/opt/ml/processing/output/o");
	job_release(&job);
	job_flags_release(&flags);

	/* a flag replaces the output with one inside input b: the flag is named, though b
	 * comes first */
	proc_flags_init(&flags);
	strv_push(&flags.outputs, "o=s3://b/o2,source=/opt/ml/processing/b/o");
	assert_true(build_spec(fx, spec, &flags, &job, NULL, &err) < 0);
	assert_string_equal(err.msg,
			    "--output 'o=s3://b/o2,source=/opt/ml/processing/b/o': "
			    "LocalPath '/opt/ml/processing/b/o' lies inside "
			    "ProcessingInputs[1].S3Input.LocalPath '/opt/ml/processing/b'");
	job_release(&job);
	job_flags_release(&flags);

	/* an input inside another, as the SDK puts its code inside data at
	 * /opt/ml/processing/input: fine */
	proc_flags_init(&flags);
	strv_push(&flags.outputs, "o=s3://b/o2");
	strv_push(&flags.inputs, "a=s3://b/a,destination=/opt/ml/processing/b/a");
	if (build_spec(fx, spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	job_release(&job);
	job_flags_release(&flags);
}

/* ---- the JSON ---- */

static const char json_spec[] =
    "{\"ProcessingJobName\": \"cfg\",\n"
    " \"ProcessingInputs\": [{\"InputName\": \"data\", \"S3Input\": {\"S3Uri\": "
    "\"s3://b/in\", \"LocalPath\": \"/opt/ml/processing/input/data\", \"S3DataType\": "
    "\"S3Prefix\"}}],\n"
    " \"ProcessingOutputConfig\": {\"Outputs\": [{\"OutputName\": \"out\", \"S3Output\": "
    "{\"S3Uri\": \"s3://b/out\", \"LocalPath\": \"/opt/ml/processing/output\", "
    "\"S3UploadMode\": \"EndOfJob\"}}]},\n"
    " \"AppSpecification\": {\"ContainerEntrypoint\": [\"python3\", "
    "\"/opt/ml/processing/input/code/p.py\"]},\n"
    " \"Environment\": {\"AWS_SECRET_ACCESS_KEY\": \"SECRETVALUE\", \"MODE\": \"x\"}}\n";

static void keys_are(const json_t *o, const char *const *want, size_t n)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	json_object_foreach ((json_t *)o, key, v) {
		if (i >= n || strcmp(key, want[i]))
			fail_msg("key %zu: expected %s, got %s", i, i < n ? want[i] : "(none)",
				 key);
		i++;
	}
	assert_int_equal(i, n);
}

/* /opt/ml/config/processingjobconfig.json as the developer guide shows it: ProcessingJobArn
 * first, every field, null where nothing was given, S3DownloadMode in each input, and the
 * Environment's values (the program reads them). */
static void test_config_json(void **state)
{
	static const char *const top[] = {
	    "ProcessingJobArn",	   "ProcessingJobName", "AppSpecification",
	    "Environment",	   "ProcessingInputs",	"ProcessingOutputConfig",
	    "ProcessingResources", "RoleArn",		"StoppingCondition",
	};
	static const char *const s3_input[] = {
	    "S3Uri",
	    "LocalPath",
	    "S3DataType",
	    "S3InputMode",
	    "S3DataDistributionType",
	    "S3CompressionType",
	    "S3DownloadMode",
	};
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	_cleanup_json_ json_t *c = NULL;
	json_t *app, *in, *cluster, *outcfg;

	setenv("AWS_REGION", "us-west-2", 1);
	proc_flags_init(&flags);
	if (build_spec(fx, json_spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	unsetenv("AWS_REGION");
	c = job_processing_config_json(&job);
	keys_are(c, top, sizeof(top) / sizeof(top[0]));
	assert_string_equal(json_string_value(json_object_get(c, "ProcessingJobArn")),
			    "arn:aws:sagemaker:us-west-2:000000000000:processing-job/cfg");
	app = json_object_get(c, "AppSpecification");
	assert_true(json_is_null(json_object_get(app, "ImageUri")));
	assert_true(json_is_null(json_object_get(app, "ContainerArguments")));
	assert_int_equal(json_array_size(json_object_get(app, "ContainerEntrypoint")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "Environment"),
							      "AWS_SECRET_ACCESS_KEY")),
			    "SECRETVALUE");
	in = json_object_get(json_array_get(json_object_get(c, "ProcessingInputs"), 0), "S3Input");
	keys_are(in, s3_input, sizeof(s3_input) / sizeof(s3_input[0]));
	assert_string_equal(json_string_value(json_object_get(in, "S3DownloadMode")), "StartOfJob");
	assert_string_equal(json_string_value(json_object_get(in, "S3InputMode")), "File");
	outcfg = json_object_get(c, "ProcessingOutputConfig");
	assert_true(json_is_null(json_object_get(outcfg, "KmsKeyId")));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(outcfg, "Outputs"), 0), "S3Output"),
		"S3UploadMode")),
	    "EndOfJob");
	cluster = json_object_get(json_object_get(c, "ProcessingResources"), "ClusterConfig");
	assert_int_equal(json_integer_value(json_object_get(cluster, "InstanceCount")), 1);
	assert_string_equal(json_string_value(json_object_get(cluster, "InstanceType")),
			    "ml.m5.large");
	assert_int_equal(json_integer_value(json_object_get(cluster, "VolumeSizeInGB")), 30);
	assert_true(json_is_null(json_object_get(cluster, "VolumeKmsKeyId")));
	assert_true(json_is_null(json_object_get(c, "RoleArn")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "StoppingCondition"),
							    "MaxRuntimeInSeconds")),
			 86400);
	assert_null(json_object_get(c, "NetworkConfig"));
	job_release(&job);
	job_flags_release(&flags);
}

/* describe: the CreateProcessingJob request (credentials redacted, nothing that was not
 * given, no S3DownloadMode) with the DescribeProcessingJob fields, and no SecondaryStatus:
 * the service gives a processing job none. */
static void test_describe_json(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct job_status st;
	struct sr_error err = {0};
	_cleanup_json_ json_t *req = NULL, *d = NULL;
	_cleanup_free_ char *dump = NULL;
	json_t *in;

	proc_flags_init(&flags);
	if (build_spec(fx, json_spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	req = job_request_json(&job);
	dump = json_dumps(req, JSON_COMPACT);
	assert_null(strstr(dump, "SECRETVALUE"));
	assert_null(strstr(dump, "null"));
	assert_null(strstr(dump, "S3DownloadMode"));
	assert_null(strstr(dump, "ProcessingJobArn"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(req, "Environment"),
							      "AWS_SECRET_ACCESS_KEY")),
			    "(redacted)");
	assert_null(json_object_get(json_object_get(req, "AppSpecification"), "ImageUri"));
	assert_null(json_object_get(req, "RoleArn"));
	in =
	    json_object_get(json_array_get(json_object_get(req, "ProcessingInputs"), 0), "S3Input");
	assert_string_equal(json_string_value(json_object_get(in, "S3CompressionType")), "None");

	job_status_init(&st, &job_kind_processing, 1, 1700000000000);
	job_status_set_failure(&st, "AlgorithmError: , exit code: 3");
	job_status_to(&st, &job_kind_processing, JOB_FAILED, SEC_FAILED, 1700000005000);
	st.exit_message = xstrdup("bad row 7");
	d = job_describe_json(&job, &st);
	assert_string_equal(json_string_value(json_object_get(d, "ProcessingJobArn")), job.arn);
	assert_string_equal(json_string_value(json_object_get(d, "ProcessingJobStatus")), "Failed");
	assert_string_equal(json_string_value(json_object_get(d, "FailureReason")),
			    "AlgorithmError: , exit code: 3");
	assert_string_equal(json_string_value(json_object_get(d, "ExitMessage")), "bad row 7");
	assert_string_equal(json_string_value(json_object_get(d, "ProcessingJobName")), "cfg");
	assert_non_null(json_object_get(d, "CreationTime"));
	assert_true(json_is_array(json_object_get(d, "Hosts")));
	assert_null(json_object_get(d, "SecondaryStatus"));
	assert_null(json_object_get(d, "TrainingJobStatus"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "Environment"),
							      "AWS_SECRET_ACCESS_KEY")),
			    "(redacted)");
	job_status_release(&st);
	job_release(&job);
	job_flags_release(&flags);
}

/* processing_validate(): the same rules for a job made any other way (API field names, no
 * positions). */
static void test_validate(void **state)
{
	struct fx *fx = *state;
	struct job_flags flags;
	struct job job = {0};
	struct sr_error err = {0};
	char *dest;

	proc_flags_init(&flags);
	if (build_spec(fx, json_spec, &flags, &job, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(job_validate(&job, &err), 0);

	free(job.proc.inputs[0].compression);
	job.proc.inputs[0].compression = xstrdup("Gzip");
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg, "ProcessingInputs[0].S3Input.S3CompressionType: Gzip needs "
				     "S3InputMode Pipe, as on the service (input 'data')");
	assert_non_null(strstr(err.hint, "set S3InputMode to Pipe"));
	free(job.proc.inputs[0].input_mode);
	job.proc.inputs[0].input_mode = xstrdup("Pipe");
	assert_int_equal(job_validate(&job, &err), 0);

	dest = job.proc.outputs[0].dest;
	job.proc.outputs[0].dest = xstrdup("/opt/ml/processing/input/data/");
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg, "ProcessingOutputConfig.Outputs[0].S3Output.LocalPath: "
				     "'/opt/ml/processing/input/data/' is the same folder as "
				     "ProcessingInputs[0].S3Input.LocalPath "
				     "'/opt/ml/processing/input/data'");
	free(job.proc.outputs[0].dest);
	job.proc.outputs[0].dest = xstrdup("/opt/ml/processing/input");
	assert_true(job_validate(&job, &err) < 0);
	assert_non_null(strstr(err.msg, "'/opt/ml/processing/input' holds ProcessingInputs[0]"));
	free(job.proc.outputs[0].dest);
	job.proc.outputs[0].dest = dest;

	free(job.proc.outputs[0].name);
	job.proc.outputs[0].name = xstrdup(".");
	assert_true(job_validate(&job, &err) < 0);
	assert_non_null(strstr(err.msg, "ProcessingOutputConfig.Outputs[0].OutputName: must not "
					"hold '/' nor be . or .."));
	free(job.proc.outputs[0].name);
	job.proc.outputs[0].name = xstrdup("out");

	job.instance_count = 101;
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg, "ProcessingResources.ClusterConfig.InstanceCount: must be "
				     "between 1 and 100 (got 101)");
	job.instance_count = 1;
	job.max_run_s = 777601;
	assert_true(job_validate(&job, &err) < 0);
	assert_string_equal(err.msg, "StoppingCondition.MaxRuntimeInSeconds: must be between 1 and "
				     "777600 seconds (9 days) (got 777601)");
	job.max_run_s = 60;
	assert_int_equal(job_validate(&job, &err), 0);
	job_release(&job);
	job_flags_release(&flags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_parse_full),
	    FX_TEST(test_bad_specs),
	    FX_TEST(test_limits),
	    FX_TEST(test_parse_round_trip),
	    FX_TEST(test_input_options),
	    FX_TEST(test_output_options),
	    FX_TEST(test_code),
	    FX_TEST(test_source_dir),
	    FX_TEST(test_defaults_and_arn),
	    FX_TEST(test_flags_over_spec),
	    FX_TEST(test_flag_errors),
	    FX_TEST(test_places),
	    FX_TEST(test_config_json),
	    FX_TEST(test_describe_json),
	    FX_TEST(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
