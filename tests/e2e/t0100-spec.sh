#!/bin/bash
# --spec through the real binary: a CreateTrainingJob request runs; bad ones are refused with
# file:line:column and the JSON path (the full table of malformed specs is in
# tests/unit/test_job_spec.c, run through the binary by t0101).
. "$(dirname "$0")/lib.sh"

mkdir -p data code
echo x >data/part-0
cat >code/train.sh <<'SH'
echo "epochs=$SM_HP_EPOCHS flag=$MY_FLAG hosts=$SM_HOSTS" >"$SM_MODEL_DIR/seen-$SM_CURRENT_HOST"
SH

cat >job.json <<EOF2
{
  "TrainingJobName": "from-spec",
  "RoleArn": "arn:aws:iam::111122223333:role/SageMakerRole",
  "AlgorithmSpecification": {"TrainingImage": "img:latest", "TrainingInputMode": "File"},
  "HyperParameters": {"epochs": "10", "sagemaker_program": "\"train.sh\"",
                      "sagemaker_submit_directory": "\"file://$PWD/code\""},
  "InputDataConfig": [{"ChannelName": "training",
                       "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                       "S3Uri": "file://$PWD/data",
                                                       "S3DataDistributionType": "FullyReplicated"}},
                       "ContentType": "text/csv", "CompressionType": "None", "InputMode": "File"}],
  "OutputDataConfig": {"S3OutputPath": "$PWD/out"},
  "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
  "StoppingCondition": {"MaxRuntimeInSeconds": 86400, "MaxWaitTimeInSeconds": 86400},
  "Environment": {"MY_FLAG": "1", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"},
  "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
  "EnableManagedSpotTraining": true
}
EOF2

test_expect_success 'a CreateTrainingJob request runs as given' '
	sagerun train --spec job.json >stdout 2>stderr &&
	test_grep "from-spec: Completed" stderr &&
	tar -xzOf out/from-spec/output/model.tar.gz seen-algo-2 >seen &&
	echo "epochs=10 flag=1 hosts=[\"algo-1\",\"algo-2\"]" >expect &&
	test_cmp expect seen
'

test_expect_success 'fields not honoured locally give one warning line each' '
	grep "warning:" stderr >warnings &&
	test_grep "job.json:[0-9]*:[0-9]*: VpcConfig: accepted but not honoured" warnings &&
	test_grep "EnableManagedSpotTraining" warnings &&
	test_grep "image .img:latest. does not run here: the [a-z]* backend.s hosts run this machine.s programs" warnings &&
	test $(wc -l <warnings) -eq 3
'

test_expect_success 'the image warning names the backend that runs the hosts' '
	sagerun train --spec job.json --backend process --name w-process >/dev/null 2>err &&
	test_grep "image .img:latest. does not run here: the process backend.s hosts" err &&
	if unshare --mount --pid --uts --net --ipc --fork true 2>/dev/null; then
		sagerun train --spec job.json --backend ns --name w-ns >/dev/null 2>err &&
		test_grep "image .img:latest. does not run here: the ns backend.s hosts" err &&
		sagerun rm w-ns >/dev/null
	fi &&
	sagerun rm w-process >/dev/null
'

test_expect_success 'Gzip on a local channel is refused where the spec says it' '
	sed "s/\"CompressionType\": \"None\"/\"CompressionType\": \"Gzip\"/" job.json >gz.json &&
	test_expect_code 2 sagerun train --spec gz.json --name gz 2>err &&
	test_grep "gz.json:[0-9]*:[0-9]*: InputDataConfig\[0\].CompressionType: Gzip is for s3:// channels; the local channel .training. is given as it is" err &&
	test_grep "hint: decompress the folder" err &&
	! sagerun describe gz 2>/dev/null
'

test_expect_success 'ShardedByS3Key on a local channel is refused where the spec says it' '
	sed "s/\"FullyReplicated\"/\"ShardedByS3Key\"/" job.json >sh.json &&
	test_expect_code 2 sagerun train --spec sh.json --name sh --hosts 2 2>err &&
	test_grep "sh.json:[0-9]*:[0-9]*: InputDataConfig\[0\].DataSource.S3DataSource.S3DataDistributionType: ShardedByS3Key is for s3:// channels; the local channel .training. is given whole to every host" err &&
	test_grep "hint: drop the sharding" err &&
	! sagerun describe sh 2>/dev/null
'

test_expect_success 'flags override the spec' '
	sagerun train --spec job.json --name overridden --hosts 3 --hp epochs=3 >stdout 2>stderr &&
	tar -xzOf out/overridden/output/model.tar.gz seen-algo-3 >seen &&
	test_grep "^epochs=3 flag=1" seen
'

test_expect_success 'credentials in the spec never reach describe.json or the logs' '
	! grep -r "s3cr3t-value" "$SAGERUN_HOME" out stdout stderr
'

test_expect_success 'a bad channel name points at file, line, column and JSON path' '
	sed "s/\"ChannelName\": \"training\"/\"ChannelName\": \"bad name\"/" job.json >bad.json &&
	test_expect_code 2 sagerun train --spec bad.json 2>err &&
	test_grep "bad.json:7:[0-9]*: InputDataConfig\[0\].ChannelName" err
'

test_expect_success 'an unknown field is an error with a suggestion' '
	sed "s/\"HyperParameters\"/\"HyperParameter\"/" job.json >bad.json &&
	test_expect_code 2 sagerun train --spec bad.json 2>err &&
	test_grep "bad.json:5:[0-9]*: HyperParameter: unknown field" err &&
	test_grep "HyperParameters" err
'

test_expect_success 'invalid JSON says where' '
	printf "{\n  \"TrainingJobName\": \"x\",,\n}\n" >bad.json &&
	test_expect_code 2 sagerun train --spec bad.json 2>err &&
	test_grep "bad.json:2:[0-9]*: invalid JSON" err
'

test_expect_success 'a spec that does not exist is named' '
	test_expect_code 2 sagerun train --spec nope.json 2>err &&
	test_grep "nope.json" err
'

test_expect_success 'InstanceCount 0 is refused as the service does' '
	sed "s/\"InstanceCount\": 2/\"InstanceCount\": 0/" job.json >bad.json &&
	test_expect_code 2 sagerun train --spec bad.json 2>err &&
	test_grep "ResourceConfig.InstanceCount" err
'

test_expect_success 'nothing was left behind by refused specs' '
	ls "$SAGERUN_HOME/jobs" >jobs &&
	printf "%s\n" from-spec overridden >expect &&
	test_cmp expect jobs
'

test_expect_success 'a spec that names only its image runs in containers only, and says so' '
	cat >byoc.json <<-EOF &&
	{"TrainingJobName": "byoc",
	 "AlgorithmSpecification": {"TrainingImage": "my-image:1", "TrainingInputMode": "File"}}
	EOF
	test_expect_code 2 sagerun train --backend process --spec byoc.json 2>err &&
	test_grep "nothing to run on the process backend: the job names only its image .my-image:1." err &&
	test_grep "hint: use --backend docker" err &&
	! test -e "$SAGERUN_HOME/jobs/byoc" &&
	test_expect_code 2 sagerun train --backend docker --toolkit builtin --spec byoc.json 2>err &&
	test_grep "toolkit builtin: the job names no program" err &&
	sed "s/\"File\"}/\"File\", \"ContainerArguments\": [\"fit\"]}/" byoc.json >args.json &&
	test_expect_code 2 sagerun train --backend process --spec args.json 2>err &&
	test_grep "ContainerArguments without a ContainerEntrypoint go to the entry point of the image .my-image:1., which runs in containers, not on the process backend" err &&
	! grep warning err &&
	sed "s/\"TrainingImage\": \"my-image:1\", //" args.json >noimage.json &&
	test_expect_code 2 sagerun train --spec noimage.json 2>err &&
	test_grep "ContainerArguments: without a ContainerEntrypoint they go to the image" err
'

test_expect_success 'every problem of an unfilled skeleton is said in one run' '
	if ! command -v aws >/dev/null 2>&1; then
		say "no aws command (make deps installs awscli): a skeleton of our own"
		printf "{\"TrainingJobName\": \"\", \"RoleArn\": \"\",\n \"ResourceConfig\": {\"InstanceCount\": 0}}\n" >skel.json
	else
		aws sagemaker create-training-job --generate-cli-skeleton input >skel.json
	fi &&
	test_expect_code 2 sagerun train --spec skel.json 2>err &&
	grep "^sagerun: error: skel.json:" err >problems &&
	test_grep "skel.json:2:[0-9]*: TrainingJobName: must not be empty" problems &&
	test_grep "ResourceConfig.InstanceCount: must be at least 1" problems &&
	test $(wc -l <problems) -ge 3 &&
	if command -v aws >/dev/null 2>&1; then
		test_grep "MetricDefinitions\[0\].Name: must not be empty" problems &&
		test_grep "StoppingCondition.MaxWaitTimeInSeconds" problems &&
		test $(wc -l <problems) -ge 15
	fi
'

test_expect_success 'a CreateProcessingJob request given to train says what it is' '
	echo "{\"ProcessingJobName\": \"p\", \"AppSpecification\": {\"ImageUri\": \"i\"}}" >proc.json &&
	test_expect_code 2 sagerun train --spec proc.json 2>err &&
	test_grep "proc.json:1:2: ProcessingJobName: this is a CreateProcessingJob request" err &&
	test $(grep -c "error:" err) -eq 1
'

test_done
