#!/bin/bash
# `sagerun process --spec` through the real binary: a table of malformed CreateProcessingJob
# requests, each refused with exit 2 and its messages (file:line:column, JSON path, what is
# wrong, the hint where there is one) before anything is made; then good requests: fields not
# honoured locally warn once each, and flags override the spec's fields and items.
. "$(dirname "$0")/lib.sh"

mkdir -p table/data && echo x >table/data/part-0

# bad 'TITLE' 'EXPECTED' ['EXPECTED'...] <<JSON: one malformed request (stdin, run as job.json)
# and the lines its stderr must hold, each a fixed string.
n=0
bad() {
	n=$((n + 1))
	_f=$(printf 'table/%03d' $n)
	cat >"$_f.json"
	printf '%s\n' "$1" >"$_f.title"
	shift
	printf '%s\n' "$@" >"$_f.expect"
}

# -- required fields (RoleArn, AppSpecification.ImageUri and ProcessingResources are not
#    required locally: the first two name nothing that must run, the last has defaults) --

bad 'an input without InputName' \
	'job.json:2:23: ProcessingInputs[0]: missing required field InputName' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/d",
                                   "S3DataType": "S3Prefix"}}]}
JSON

bad 'an input without S3Input' \
	'job.json:2:23: ProcessingInputs[0]: missing S3Input' \
	'hint: locally an input is an S3Input whose S3Uri is s3://..., file://PATH or a local folder or file' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data"}]}
JSON

bad 'an S3Input without S3Uri, LocalPath and S3DataType' \
	'job.json:3:15: ProcessingInputs[0].S3Input: missing required field S3Uri (s3://BUCKET/PREFIX, file://PATH or a local path)' \
	'job.json:3:15: ProcessingInputs[0].S3Input: missing required field LocalPath (a folder under /opt/ml/processing/)' \
	'job.json:3:15: ProcessingInputs[0].S3Input: missing required field S3DataType (S3Prefix or ManifestFile)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3InputMode": "File"}}]}
JSON

bad 'ProcessingOutputConfig without Outputs' \
	'job.json:2:28: ProcessingOutputConfig: missing required field Outputs (a list of 1 to 10 outputs)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"KmsKeyId": ""}}
JSON

bad 'an output without OutputName' \
	'job.json:3:4: ProcessingOutputConfig.Outputs[0]: missing required field OutputName' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [
   {"S3Output": {"S3Uri": "out", "LocalPath": "/opt/ml/processing/output/o", "S3UploadMode": "EndOfJob"}}]}}
JSON

bad 'an output without S3Output' \
	'job.json:3:4: ProcessingOutputConfig.Outputs[0]: missing S3Output' \
	'hint: locally an output is an S3Output whose S3Uri is s3://..., file://PATH or a local folder' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [
   {"OutputName": "o"}]}}
JSON

bad 'an S3Output without S3Uri, LocalPath and S3UploadMode' \
	'job.json:3:36: ProcessingOutputConfig.Outputs[0].S3Output: missing required field S3Uri (s3://BUCKET/PREFIX, file://PATH or a folder)' \
	'job.json:3:36: ProcessingOutputConfig.Outputs[0].S3Output: missing required field LocalPath (a folder under /opt/ml/processing/)' \
	'job.json:3:36: ProcessingOutputConfig.Outputs[0].S3Output: missing required field S3UploadMode (EndOfJob or Continuous)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [
   {"OutputName": "o", "S3Output": {}}]}}
JSON

bad 'StoppingCondition without MaxRuntimeInSeconds' \
	'job.json:2:23: StoppingCondition: missing required field MaxRuntimeInSeconds (1 to 777600)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "StoppingCondition": {}}
JSON

bad 'ProcessingResources without ClusterConfig' \
	'job.json:2:25: ProcessingResources: missing required field ClusterConfig (InstanceCount, InstanceType)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingResources": {}}
JSON

bad 'nothing to run' \
	'job.json:2:2: AppSpecification: nothing to run: no ContainerEntrypoint and no ImageUri whose own entry point could run' \
	'hint: add "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/process.py"] to AppSpecification, or run with --code FILE or -- COMMAND [ARGS...]' <<'JSON'
{"ProcessingJobName": "idle",
 "AppSpecification": {}}
JSON

# -- wrong types --

bad 'InstanceCount as a string' \
	'job.json:2:61: ProcessingResources.ClusterConfig.InstanceCount: expected an integer, got a string' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingResources": {"ClusterConfig": {"InstanceCount": "2", "InstanceType": "ml.m5.large",
                                           "VolumeSizeInGB": 30}}}
JSON

bad 'ProcessingInputs as an object' \
	'job.json:2:22: ProcessingInputs: expected a list of inputs, got an object' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": {"InputName": "data"}}
JSON

bad 'ContainerEntrypoint as a string' \
	'job.json:1:46: AppSpecification.ContainerEntrypoint: expected a list of strings, got a string' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": "python3 process.py"}}
JSON

bad 'AppManaged and EnableNetworkIsolation as strings' \
	'job.json:2:38: ProcessingInputs[0].AppManaged: expected a boolean, got a string' \
	'job.json:5:46: NetworkConfig.EnableNetworkIsolation: expected a boolean, got a string' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"AppManaged": "no", "InputName": "data",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/data",
               "S3DataType": "S3Prefix"}}],
 "NetworkConfig": {"EnableNetworkIsolation": "true"}}
JSON

# -- numbers out of range --

bad 'InstanceCount 101' \
	'job.json:2:61: ProcessingResources.ClusterConfig.InstanceCount: must be at most 100 (got 101)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingResources": {"ClusterConfig": {"InstanceCount": 101, "InstanceType": "ml.m5.large",
                                           "VolumeSizeInGB": 30}}}
JSON

bad 'VolumeSizeInGB 16385' \
	'job.json:2:62: ProcessingResources.ClusterConfig.VolumeSizeInGB: must be at most 16384 (got 16385)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingResources": {"ClusterConfig": {"VolumeSizeInGB": 16385, "InstanceCount": 1,
                                           "InstanceType": "ml.m5.large"}}}
JSON

bad 'MaxRuntimeInSeconds 777601 (9 days and a second)' \
	'job.json:2:47: StoppingCondition.MaxRuntimeInSeconds: must be at most 777600 seconds (9 days) (got 777601)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "StoppingCondition": {"MaxRuntimeInSeconds": 777601}}
JSON

inputs=
for i in $(seq 0 10); do
	inputs="$inputs${inputs:+,
  }{\"InputName\": \"in$i\", \"S3Input\": {\"S3Uri\": \"data\", \"LocalPath\": \"/opt/ml/processing/in$i\", \"S3DataType\": \"S3Prefix\"}}"
done
bad 'eleven inputs' \
	'job.json:2:22: ProcessingInputs: more than 10 inputs (got 11)' <<JSON
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [$inputs]}
JSON

bad 'an empty Outputs list' \
	'job.json:2:40: ProcessingOutputConfig.Outputs: must list 1 to 10 outputs (got none)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": []}}
JSON

k257=$(printf 'K%.0s' $(seq 257))
v257=$(printf 'v%.0s' $(seq 257))
bad 'an Environment key and a value of 257 characters' \
	'job.json:2:18: Environment.KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK...: key longer than 256 characters (got 257)' \
	'job.json:3:32: Environment.LONG_VALUE: value longer than 256 characters (got 257)' <<JSON
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "Environment": {"$k257": "v",
                 "LONG_VALUE": "$v257"}}
JSON

bad 'an Environment key with a dash' \
	'job.json:2:18: Environment.MY-VAR: key must match [a-zA-Z_][a-zA-Z0-9_]* (got "MY-VAR")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "Environment": {"MY-VAR": "1"}}
JSON

# -- values outside the API's enums and patterns --

bad 'S3InputMode, S3DataDistributionType and S3CompressionType spelled wrong' \
	'job.json:4:31: ProcessingInputs[0].S3Input.S3InputMode: must be File or Pipe (got "file")' \
	'job.json:4:65: ProcessingInputs[0].S3Input.S3DataDistributionType: must be FullyReplicated or ShardedByS3Key (got "Sharded")' \
	'job.json:5:37: ProcessingInputs[0].S3Input.S3CompressionType: must be None or Gzip (got "zip")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "s3://bucket/data", "LocalPath": "/opt/ml/processing/input/data",
               "S3InputMode": "file", "S3DataDistributionType": "Sharded",
               "S3CompressionType": "zip", "S3DataType": "S3Prefix"}}]}
JSON

bad 'S3DataType AugmentedManifestFile (training only)' \
	'job.json:4:30: ProcessingInputs[0].S3Input.S3DataType: must be S3Prefix or ManifestFile (got "AugmentedManifestFile")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "s3://bucket/data", "LocalPath": "/opt/ml/processing/input/data",
               "S3DataType": "AugmentedManifestFile"}}]}
JSON

bad 'S3UploadMode spelled wrong' \
	'job.json:4:33: ProcessingOutputConfig.Outputs[0].S3Output.S3UploadMode: must be EndOfJob or Continuous (got "Continous")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o",
   "S3Output": {"S3Uri": "out", "LocalPath": "/opt/ml/processing/output/o",
                "S3UploadMode": "Continous"}}]}}
JSON

bad 'InstanceType without ml.' \
	'job.json:2:60: ProcessingResources.ClusterConfig.InstanceType: must be an ml.* instance type such as ml.m5.large (got "m5.xlarge")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingResources": {"ClusterConfig": {"InstanceType": "m5.xlarge", "InstanceCount": 1,
                                           "VolumeSizeInGB": 30}}}
JSON

bad 'an http:// S3Uri' \
	'job.json:3:26: ProcessingOutputConfig.Outputs[0].S3Output.S3Uri: must be s3://BUCKET/PREFIX, file://PATH or a local path (http(s):// S3 URLs are not supported locally) (got "https://bucket.s3.amazonaws.com/o")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o",
   "S3Output": {"S3Uri": "https://bucket.s3.amazonaws.com/o", "LocalPath": "/opt/ml/processing/output/o",
                "S3UploadMode": "EndOfJob"}}]}}
JSON

# -- LocalPaths and names: folders of each host's tree --

bad 'a LocalPath outside /opt/ml/processing/' \
	'job.json:3:46: ProcessingInputs[0].S3Input.LocalPath: must be a folder under /opt/ml/processing/, such as /opt/ml/processing/input/data (got "/opt/ml/input/data")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/input/data", "S3DataType": "S3Prefix"}}]}
JSON

bad 'a LocalPath with ..' \
	'job.json:3:46: ProcessingOutputConfig.Outputs[0].S3Output.LocalPath: must not hold . or .. parts: it names a folder of each host'"'"'s /opt/ml/processing/ (got "/opt/ml/processing/../../etc")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o",
   "S3Output": {"S3Uri": "out", "LocalPath": "/opt/ml/processing/../../etc", "S3UploadMode": "EndOfJob"}}]}}
JSON

bad 'an InputName with a slash and an OutputName ..' \
	'job.json:2:37: ProcessingInputs[0].InputName: must not hold '"'"'/'"'"' nor be . or ..: sagerun keeps each input and output in a folder of that name (got "raw/csv")' \
	'job.json:4:56: ProcessingOutputConfig.Outputs[0].OutputName: must not hold '"'"'/'"'"' nor be . or ..: sagerun keeps each input and output in a folder of that name (got "..")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "raw/csv",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix"}}],
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "..",
   "S3Output": {"S3Uri": "out", "LocalPath": "/opt/ml/processing/output/o", "S3UploadMode": "EndOfJob"}}]}}
JSON

bad 'two inputs of one name, two outputs of one name' \
	'job.json:4:17: ProcessingInputs[1].InputName: duplicate input name "data" (ProcessingInputs[0] has it too)' \
	'job.json:8:18: ProcessingOutputConfig.Outputs[1].OutputName: duplicate output name "o" (Outputs[0] has it too)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/a", "S3DataType": "S3Prefix"}},
  {"InputName": "data",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/b", "S3DataType": "S3Prefix"}}],
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o",
   "S3Output": {"S3Uri": "out", "LocalPath": "/opt/ml/processing/output/a", "S3UploadMode": "EndOfJob"}},
  {"OutputName": "o",
   "S3Output": {"S3Uri": "out", "LocalPath": "/opt/ml/processing/output/b", "S3UploadMode": "EndOfJob"}}]}}
JSON

bad 'an output inside an input' \
	'job.json:5:46: ProcessingOutputConfig.Outputs[0].S3Output.LocalPath: '"'"'/opt/ml/processing/data/out'"'"' lies inside ProcessingInputs[0].S3Input.LocalPath '"'"'/opt/ml/processing/data'"'"'' \
	'hint: give every input and output a folder of its own, such as /opt/ml/processing/input/<name> and /opt/ml/processing/output/<name> (an input may lie inside another input)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/data", "S3DataType": "S3Prefix"}}],
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out",
   "S3Output": {"S3Uri": "out", "LocalPath": "/opt/ml/processing/data/out", "S3UploadMode": "EndOfJob"}}]}}
JSON

bad 'two inputs at one LocalPath (a trailing slash is the same folder)' \
	'job.json:5:46: ProcessingInputs[1].S3Input.LocalPath: '"'"'/opt/ml/processing/input/'"'"' is the same folder as ProcessingInputs[0].S3Input.LocalPath '"'"'/opt/ml/processing/input'"'"'' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "a",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix"}},
  {"InputName": "b",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/", "S3DataType": "S3Prefix"}}]}
JSON

# -- what needs the service, or Pipe --

bad 'Gzip with File mode' \
	'job.json:4:37: ProcessingInputs[0].S3Input.S3CompressionType: Gzip needs S3InputMode Pipe, as on the service' \
	'hint: set S3InputMode to Pipe (sagerun then stages the data decompressed), or drop the compression' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "s3://bucket/data.gz", "LocalPath": "/opt/ml/processing/input/data",
               "S3CompressionType": "Gzip", "S3InputMode": "File", "S3DataType": "S3Prefix"}}]}
JSON

bad 'a local manifest' \
	'job.json:4:30: ProcessingInputs[0].S3Input.S3DataType: a local input must be an S3Prefix folder or file (got "ManifestFile")' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/data",
               "S3DataType": "ManifestFile"}}]}
JSON

bad 'a DatasetDefinition' \
	'job.json:3:25: ProcessingInputs[0].DatasetDefinition: DatasetDefinition (Athena, Redshift) needs the service' \
	'hint: export the data to S3 or a folder first and give it as an S3Input' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "sales",
   "DatasetDefinition": {"AthenaDatasetDefinition": {"Catalog": "c", "Database": "d"},
                         "LocalPath": "/opt/ml/processing/input/sales"}}]}
JSON

bad 'a FeatureStoreOutput' \
	'job.json:3:26: ProcessingOutputConfig.Outputs[0].FeatureStoreOutput: FeatureStoreOutput needs the service'"'"'s Feature Store' \
	'hint: write the records to an S3Output instead and ingest them from there' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "features",
   "FeatureStoreOutput": {"FeatureGroupName": "g"}}]}}
JSON

# -- fields that do not exist, or not there --

bad 'an unknown field close to a known one' \
	'job.json:2:2: ProcessingInput: unknown field (did you mean "ProcessingInputs"?)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInput": []}
JSON

bad 'an unknown field in S3Input' \
	'job.json:3:79: ProcessingInputs[0].S3Input.S3DownloadMode: unknown field' \
	'hint: ProcessingInputs[0].S3Input takes: S3Uri, LocalPath, S3DataType, S3InputMode, S3DataDistributionType, S3CompressionType' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingInputs": [{"InputName": "data",
   "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/data", "S3DownloadMode": "StartOfJob",
               "S3DataType": "S3Prefix"}}]}
JSON

bad 'InstanceCount and ImageUri at the top' \
	'job.json:2:2: InstanceCount: unknown field (did you mean ProcessingResources.ClusterConfig.InstanceCount?)' \
	'job.json:2:22: ImageUri: unknown field (did you mean AppSpecification.ImageUri?)' <<'JSON'
{"AppSpecification": {"ContainerEntrypoint": ["true"]},
 "InstanceCount": 2, "ImageUri": "my-image:1"}
JSON

bad 'a CreateTrainingJob request' \
	'job.json:1:2: TrainingJobName: this is a CreateTrainingJob request, not a CreateProcessingJob one' \
	'hint: run it with `sagerun train --spec FILE`' <<'JSON'
{"TrainingJobName": "t",
 "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
 "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}}
JSON

# -- every problem in one run, in the order of the text --

bad 'several problems at once' \
	'job.json:1:23: ProcessingJobName: must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}: letters, digits and hyphens, starting and ending with a letter or digit (got "my_job")' \
	'job.json:2:13: RoleArn: shorter than 20 characters (got 4)' \
	'hint: RoleArn is optional locally: drop it, or give a role such as arn:aws:iam::111122223333:role/SageMakerRole' \
	'job.json:3:61: ProcessingResources.ClusterConfig.InstanceCount: must be at least 1 (got 0)' \
	'job.json:6:16: ProcessingOutputConfig.Outputs[0].S3Output: missing required field LocalPath (a folder under /opt/ml/processing/)' \
	'job.json:6:16: ProcessingOutputConfig.Outputs[0].S3Output: missing required field S3UploadMode (EndOfJob or Continuous)' \
	'job.json:7:47: StoppingCondition.MaxRuntimeInSeconds: must be at least 1 (got 0)' <<'JSON'
{"ProcessingJobName": "my_job",
 "RoleArn": "role",
 "ProcessingResources": {"ClusterConfig": {"InstanceCount": 0}},
 "AppSpecification": {"ContainerEntrypoint": ["true"]},
 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o",
   "S3Output": {"S3Uri": "out"}}]},
 "StoppingCondition": {"MaxRuntimeInSeconds": 0}}
JSON

# -- not a request at all --

bad 'invalid JSON' \
	'job.json:2:40: invalid JSON: string or '"'"'}'"'"' expected' \
	'hint: the file must hold one CreateProcessingJob request, the JSON `aws sagemaker create-processing-job --cli-input-json` takes; fix the syntax near that position' <<'JSON'
{"ProcessingJobName": "j",
 "AppSpecification": {"ImageUri": "i"},}
JSON

bad 'an empty file' \
	'job.json: empty file: expected a CreateProcessingJob request (a JSON object)' \
	'hint: start from `aws sagemaker create-processing-job --generate-cli-skeleton input`' </dev/null

bad 'a list, not an object' \
	'job.json:1:1: expected an object (a CreateProcessingJob request), got a list' <<'JSON'
[{"ProcessingJobName": "j"}]
JSON

test_expect_success 'the table has every case' '
	test $(ls table/*.json | wc -l) -ge 25
'

test_expect_success 'every malformed request is refused with its messages' '
	cd table &&
	failures=0 &&
	for spec in [0-9]*.json; do
		case=${spec%.json}
		cp "$spec" job.json
		"$SAGERUN" process --backend process --spec job.json >run.out 2>run.err
		code=$?
		if [ $code -ne 2 ]; then
			echo "case $case ($(cat $case.title)): exit $code, expected 2"
			sed "s/^/  got: /" run.err
			failures=$((failures + 1))
			continue
		fi
		while IFS= read -r want; do
			grep -F -- "$want" run.err >/dev/null && continue
			echo "case $case ($(cat $case.title)): expected: $want"
			sed "s/^/  got: /" run.err
			failures=$((failures + 1))
		done <"$case.expect"
		# each problem once: as many error lines as expected lines that are not hints
		want=$(grep -vc "^hint: " "$case.expect")
		got=$(grep -c "^sagerun: error: " run.err)
		if [ "$got" -ne "$want" ]; then
			echo "case $case ($(cat $case.title)): $got problems, expected $want"
			sed "s/^/  got: /" run.err
			failures=$((failures + 1))
		fi
		if [ -s run.out ]; then
			echo "case $case ($(cat $case.title)): stdout is not empty"
			failures=$((failures + 1))
		fi
	done &&
	test $failures -eq 0
'

test_expect_success 'no job folder and no output were made' '
	! ls "$SAGERUN_HOME/jobs"/* 2>/dev/null &&
	! ls table/out table/sagerun-output 2>/dev/null
'

test_expect_success 'every problem of an unfilled skeleton is said in one run' '
	if ! command -v aws >/dev/null 2>&1; then
		say "no aws command (make deps installs awscli): a skeleton of our own"
		printf "{\"ProcessingJobName\": \"\", \"RoleArn\": \"\",\n \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 0}}\n" >skel.json
	else
		aws sagemaker create-processing-job --generate-cli-skeleton input >skel.json
	fi &&
	test_expect_code 2 sagerun process --backend process --spec skel.json 2>err &&
	grep "^sagerun: error: skel.json:" err >problems &&
	test_grep "ProcessingJobName: must not be empty" problems &&
	test_grep "StoppingCondition.MaxRuntimeInSeconds: must be at least 1 (got 0)" problems &&
	# the skeleton fills each enum with a value of its choice, different each time: only
	# its empty strings, its zeros and what needs the service are checked
	if command -v aws >/dev/null 2>&1; then
		test_grep "ProcessingInputs\[0\].InputName: must not be empty" problems &&
		test_grep "ProcessingInputs\[0\].DatasetDefinition: DatasetDefinition" problems &&
		test_grep "Outputs\[0\].FeatureStoreOutput: FeatureStoreOutput" problems &&
		test_grep "ClusterConfig.VolumeSizeInGB: must be at least 1 (got 0)" problems &&
		test_grep "AppSpecification.ContainerEntrypoint\[0\]: must not be empty" problems &&
		test $(wc -l <problems) -ge 15
	fi &&
	! ls "$SAGERUN_HOME/jobs"/* 2>/dev/null
'

# -- good requests --

mkdir -p data data2 &&
	echo from-spec >data/part-0 &&
	echo from-flag >data2/part-0

cat >good.json <<'JSON'
{
  "ProcessingJobName": "proc-spec",
  "RoleArn": "arn:aws:iam::111122223333:role/SageMakerRole",
  "ProcessingInputs": [
    {"InputName": "data",
     "S3Input": {"S3Uri": "data", "LocalPath": "/opt/ml/processing/input/data",
                 "S3DataType": "S3Prefix", "S3InputMode": "File",
                 "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}}
  ],
  "ProcessingOutputConfig": {"Outputs": [
    {"OutputName": "result",
     "S3Output": {"S3Uri": "out-spec", "LocalPath": "/opt/ml/processing/output/result",
                  "S3UploadMode": "EndOfJob"}}
  ]},
  "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge",
                                            "VolumeSizeInGB": 30}},
  "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
  "AppSpecification": {"ContainerEntrypoint": ["sh", "-c",
    "cd \"$SAGEMAKER_BASE_DIR\" && host=$(sed 's/.*current_host\": *\"\\([^\"]*\\)\".*/\\1/' config/resourceconfig.json) && cat processing/input/data/part-0 >processing/output/result/$WHO-$host"]},
  "Environment": {"WHO": "spec"},
  "NetworkConfig": {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
                    "EnableInterContainerTrafficEncryption": true},
  "Tags": [{"Key": "team", "Value": "ml"}],
  "ExperimentConfig": {"ExperimentName": "e"}
}
JSON

test_expect_success 'a CreateProcessingJob request runs as given' '
	sagerun process --backend process --spec good.json >stdout 2>stderr &&
	test_grep "proc-spec: Completed" stderr &&
	ls out-spec >got &&
	test $(wc -l <got) -eq 2 &&
	cat out-spec/spec-* >seen &&
	printf "from-spec\nfrom-spec\n" >expect &&
	test_cmp expect seen
'

test_expect_success 'NetworkConfig, Tags and ExperimentConfig warn once each' '
	grep "warning:" stderr >warnings &&
	test_grep "good.json:21:21: NetworkConfig.VpcConfig: accepted but not honoured locally (jobs run on this machine)" warnings &&
	test_grep "good.json:22:21: NetworkConfig.EnableInterContainerTrafficEncryption: accepted but not honoured locally" warnings &&
	test_grep "good.json:23:3: Tags: accepted but not honoured locally (nothing is tagged locally)" warnings &&
	test_grep "good.json:24:3: ExperimentConfig: accepted but not honoured locally (SageMaker Experiments is not emulated)" warnings &&
	test $(wc -l <warnings) -eq 4
'

test_expect_success 'the same warnings once each for a detached job' '
	sagerun process -d --backend process --spec good.json --name proc-detached >name 2>stderr &&
	sagerun wait proc-detached &&
	test $(grep -c "warning:" stderr) -eq 4 &&
	test $(grep -c "Tags: accepted" stderr) -eq 1
'

test_expect_success 'flags override the spec: --input and --output replace the item of their name' '
	sagerun process --backend process --spec good.json --name proc-flags --hosts 1 \
		--env WHO=flag --input data=data2 --output result=out-flag >stdout 2>stderr &&
	test_grep "proc-flags: Completed" stderr &&
	ls out-flag >got &&
	echo flag-algo-1 >expect &&
	test_cmp expect got &&
	echo from-flag >expect &&
	test_cmp expect out-flag/flag-algo-1 &&
	! test -e out-spec/flag-algo-1 &&
	sagerun describe proc-flags >describe.json &&
	python3 - describe.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	ins = d["ProcessingInputs"]
	assert [i["InputName"] for i in ins] == ["data"], ins
	assert ins[0]["S3Input"]["S3Uri"] == "data2", ins
	assert ins[0]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/data", ins
	outs = d["ProcessingOutputConfig"]["Outputs"]
	assert [o["OutputName"] for o in outs] == ["result"], outs
	assert outs[0]["S3Output"]["S3Uri"] == "out-flag", outs
	assert d["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1, d
	assert d["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge", d
	assert d["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600, d
	assert d["Environment"] == {"WHO": "flag"}, d
	assert d["ProcessingJobStatus"] == "Completed", d
	PY
'

test_expect_success 'flags add items of other names beside the spec'"'"'s' '
	sagerun process --backend process --spec good.json --name proc-more --hosts 1 \
		--input extra=data2,destination=/opt/ml/processing/input/extra \
		--output logs=out-logs,source=/opt/ml/processing/logs >stdout 2>stderr &&
	sagerun describe proc-more >describe.json &&
	python3 - describe.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert [i["InputName"] for i in d["ProcessingInputs"]] == ["data", "extra"], d
	outs = d["ProcessingOutputConfig"]["Outputs"]
	assert [o["OutputName"] for o in outs] == ["result", "logs"], outs
	assert outs[1]["S3Output"]["LocalPath"] == "/opt/ml/processing/logs", outs
	PY
'

test_expect_success 'an overlap in the spec points at it; a flag that replaces the item mends it' '
	sed "s|/opt/ml/processing/output/result|/opt/ml/processing/input/data/result|" good.json >overlap.json &&
	test_expect_code 2 sagerun process --backend process --spec overlap.json --name proc-overlap 2>err &&
	test_grep "overlap.json:12:53: ProcessingOutputConfig.Outputs\[0\].S3Output.LocalPath: ./opt/ml/processing/input/data/result. lies inside ProcessingInputs\[0\].S3Input.LocalPath" err &&
	sagerun process --backend process --spec overlap.json --name proc-overlap \
		--output result=out-mended >stdout 2>stderr &&
	test_grep "proc-overlap: Completed" stderr
'

test_expect_success 'a flag item that overlaps names the flag' '
	test_expect_code 2 sagerun process --backend process --spec good.json --name proc-bad \
		--output logs=out-logs,source=/opt/ml/processing/input/data/logs 2>err &&
	test_grep "^sagerun: error: --output .logs=out-logs,source=/opt/ml/processing/input/data/logs.: LocalPath ./opt/ml/processing/input/data/logs. lies inside ProcessingInputs\[0\].S3Input.LocalPath ./opt/ml/processing/input/data." err &&
	test_grep "^hint: give every input and output a folder of its own" err &&
	! test -e "$SAGERUN_HOME/jobs/proc-bad"
'

test_done
