#!/bin/bash
# The sagemaker engine's requests, without AWS: `--dry-run` of jobs that use every feature of
# train and process, each request checked by botocore's validator against the service model
# botocore ships, and by the AWS CLI itself (`aws sagemaker create-*-job --cli-input-json`:
# exit 252 when the request is invalid, 255 when only the connection fails); and what the
# engine refuses before anything is sent.
. "$(dirname "$0")/lib.sh"
. "$SR_SOURCE_DIR/tests/e2e/smlib.sh"
[ -x /usr/bin/aws ] || { _skip_reason="awscli is not installed (run make deps)"; say "$_skip_reason"; }

# Debian's awscli (v2) at a port nobody listens on: 255 for a valid request, 252 for an
# invalid one (it validates before it connects).
awscli_check() {
	AWS_MAX_ATTEMPTS=1 /usr/bin/aws sagemaker "$1" --cli-input-json "file://$2" \
		--endpoint-url "http://127.0.0.1:$(free_port)" --cli-connect-timeout 1 \
		>/dev/null 2>"$2.aws"
}

# dry NAME KIND SAGERUN-ARGS...: the request of `sagerun KIND ... --dry-run` in NAME.json,
# valid for botocore and for awscli.
dry() {
	local name=$1 kind=$2 op
	shift 2
	op=$([ "$kind" = train ] && echo CreateTrainingJob || echo CreateProcessingJob)
	sagerun "$kind" --engine sagemaker --dry-run --role "$ROLE" "$@" >"$name.json" 2>"$name.err" &&
		sm_validate "$op" "$name.json" &&
		{
			awscli_check "$([ "$kind" = train ] && echo create-training-job || echo create-processing-job)" "$name.json"
			rc=$?
			[ $rc -eq 255 ] || { echo "awscli exited $rc"; cat "$name.json.aws"; return 1; }
		}
}

# json_get FILE A.B.0.C: one value of a JSON file.
json_get() {
	python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1" "$2"
}

mkdir -p src data data2 && echo 'print("train")' >src/train.py && echo 'x' >data/a.csv &&
	echo 'y' >data2/b.csv && echo 'print("pre")' >pre.py && echo 'torch' >src/requirements.txt

test_expect_success 'the AWS CLI refuses an invalid request with 252 (the check bites)' '
	dry ok train --image "$IMAGE" -- python3 t.py &&
	python3 -c "import json; d=json.load(open(\"ok.json\")); d[\"ResourceConfig\"][\"InstanceCount\"]=\"2\"; json.dump(d, open(\"bad.json\", \"w\"))" &&
	test_expect_code 252 awscli_check create-training-job bad.json &&
	test_must_fail sm_validate CreateTrainingJob bad.json
'

test_expect_success '1: a command on 3 GPU hosts' '
	dry t1 train --image "$IMAGE" --hosts 3 --instance-type ml.p3.2xlarge --max-run 600 \
		--name cmd-job -- python3 train.py --lr 0.1 &&
	test_grep "\"ContainerEntrypoint\"" t1.json && test_grep "\"InstanceCount\": 3" t1.json &&
	test_grep "\"TrainingJobName\": \"cmd-job\"" t1.json
'

test_expect_success '2: script mode, torch distribution, hyperparameters' '
	dry t2 train --image "$IMAGE" --entry-point train.py --source-dir src --hp epochs=2 \
		--hp lr=0.1 --distribution torch --processes-per-host 2 &&
	test_grep "s3://$BUCKET/train-[0-9-]*[a-z0-9]*/source/sourcedir.tar.gz" t2.json &&
	test_grep "sagemaker_torch_distributed_enabled" t2.json &&
	test_grep "would send source" t2.err
'

test_expect_success '3: one entry point file, MPI (on the service: mpirun over ssh)' '
	dry t3 train --image "$IMAGE" --entry-point src/train.py --distribution mpi \
		--processes-per-host 4 &&
	test_grep "sagemaker_mpi_num_of_processes_per_host" t3.json &&
	! grep SAGERUN_MPI_LAUNCHER t3.json
'

test_expect_success '4: local and S3 channels, checkpoints, an S3 output' '
	dry t4 train --image "$IMAGE" --channel train=data \
		--channel test=s3://bkt/test,distribution=sharded,compression=gzip,type=manifest \
		--checkpoints s3://bkt/ckpt --output s3://bkt/out -- python3 t.py &&
	test_grep "s3://$BUCKET/sagerun/inputs/data-[0-9a-f]*/" t4.json &&
	test_grep "ShardedByS3Key" t4.json && test_grep "ManifestFile" t4.json &&
	test_grep "\"S3OutputPath\": \"s3://bkt/out\"" t4.json &&
	test_grep "would send channel .train." t4.err
'

test_expect_success '4b: a local channel sharded: the uploaded folder, sharded by the service' '
	dry t4b train --image "$IMAGE" --channel train=data,distribution=sharded -- python3 t.py &&
	test_grep "s3://$BUCKET/sagerun/inputs/data-[0-9a-f]*/" t4b.json &&
	test_grep "ShardedByS3Key" t4b.json &&
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --role "$ROLE" --image "$IMAGE" \
		--channel train=data,compression=gzip -- python3 t.py 2>err &&
	test_grep "compression= and type= are for s3:// channels only" err
'

test_expect_success '5: a whole spec, with what sagerun does not model passed on' '
	cat >spec.json <<-JSON &&
	{
	  "TrainingJobName": "spec-job",
	  "RoleArn": "arn:aws:iam::123456789012:role/FromSpec",
	  "AlgorithmSpecification": {"TrainingImage": "$IMAGE", "TrainingInputMode": "File",
	    "MetricDefinitions": [{"Name": "loss", "Regex": "loss=(.*)"}]},
	  "HyperParameters": {"a": "1"},
	  "InputDataConfig": [{"ChannelName": "train", "InputMode": "Pipe",
	    "ContentType": "text/csv", "ShuffleConfig": {"Seed": 7},
	    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bkt/train/"}}}],
	  "OutputDataConfig": {"S3OutputPath": "s3://bkt/out", "KmsKeyId": "alias/k"},
	  "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2,
	    "VolumeSizeInGB": 50, "KeepAlivePeriodInSeconds": 60},
	  "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
	  "CheckpointConfig": {"S3Uri": "s3://bkt/ckpt", "LocalPath": "/opt/ml/checkpoints"},
	  "RetryStrategy": {"MaximumRetryAttempts": 2},
	  "EnableNetworkIsolation": true,
	  "VpcConfig": {"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-12345678"]},
	  "Tags": [{"Key": "team", "Value": "ml"}]
	}
	JSON
	sagerun train --engine sagemaker --dry-run --spec spec.json >t5.json 2>t5.err &&
	sm_validate CreateTrainingJob t5.json &&
	test_expect_code 255 awscli_check create-training-job t5.json &&
	test_grep "role/FromSpec" t5.json && test_grep "\"Tags\"" t5.json &&
	test_grep "\"VpcConfig\"" t5.json && test_grep "\"ShuffleConfig\"" t5.json &&
	test_grep "\"KmsKeyId\"" t5.json && test_grep "MetricDefinitions" t5.json &&
	test_grep "\"MaximumRetryAttempts\": 2" t5.json && test_grep "KeepAlivePeriodInSeconds" t5.json
'

test_expect_success '6: flags over a spec; credentials redacted; the role from the environment' '
	SAGERUN_ROLE_ARN=arn:aws:iam::123456789012:role/FromEnv \
	sagerun train --engine sagemaker --dry-run --image "$IMAGE" --env HF_TOKEN=sekrit \
		--env MODE=fast --hosts 4 --max-run 100 -- python3 t.py >t6.json 2>t6.err &&
	sm_validate CreateTrainingJob t6.json &&
	test_grep "role/FromEnv" t6.json && test_grep "\"HF_TOKEN\": \"(redacted)\"" t6.json &&
	! grep sekrit t6.json t6.err
'

test_expect_success '7: ScriptProcessor: --code, S3 input and output' '
	dry p7 process --image "$IMAGE" --code pre.py --input raw=s3://bkt/raw,distribution=sharded \
		--output features=s3://bkt/features --hosts 2 -- --rows 10 &&
	test_grep "s3://$BUCKET/pre-[0-9a-z-]*/input/code/pre.py" p7.json &&
	test_grep "\"ContainerArguments\"" p7.json
'

test_expect_success '8: FrameworkProcessor: a source folder and its runproc.sh' '
	dry p8 process --image "$IMAGE" --source-dir src --entry-point train.py --command "python3 -u" &&
	test_grep "/source/sourcedir.tar.gz" p8.json && test_grep "/source/runproc.sh" p8.json &&
	test_grep "/opt/ml/processing/input/entrypoint" p8.json
'

test_expect_success '9: local inputs (folder and file), local outputs, continuous upload' '
	dry p9 process --image "$IMAGE" --input a=data --input f=pre.py,destination=/opt/ml/processing/f \
		--output out1 --output out2=./mine,upload=continuous -- python3 x.py &&
	test_grep "s3://$BUCKET/sagerun/inputs/data-" p9.json &&
	test_grep "s3://$BUCKET/[^\"]*/input/f/pre.py" p9.json &&
	test_grep "s3://$BUCKET/[^\"]*/output/out2" p9.json && test_grep "Continuous" p9.json
'

test_expect_success '10: a processing spec, network isolation and tags kept' '
	cat >pspec.json <<-JSON &&
	{
	  "ProcessingJobName": "pspec-job",
	  "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 20}},
	  "AppSpecification": {"ImageUri": "$IMAGE", "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/run.py"]},
	  "ProcessingInputs": [{"InputName": "code", "S3Input": {"S3Uri": "s3://bkt/code/", "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
	  "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": "s3://bkt/o/", "LocalPath": "/opt/ml/processing/output/o", "S3UploadMode": "EndOfJob"}}]},
	  "StoppingCondition": {"MaxRuntimeInSeconds": 600},
	  "Environment": {"A": "b"},
	  "NetworkConfig": {"EnableNetworkIsolation": true},
	  "Tags": [{"Key": "k", "Value": "v"}]
	}
	JSON
	dry p10 process --spec pspec.json &&
	test_grep "\"Tags\"" p10.json && test_grep "EnableNetworkIsolation" p10.json
'

test_expect_success '11: a command on processing hosts, MaxRuntime' '
	dry p11 process --image "$IMAGE" --hosts 3 --max-run 100 -- sh -c "echo hi" &&
	test_grep "\"InstanceCount\": 3" p11.json
'

test_expect_success '12: --framework pytorch:VERSION: the SDK image; script mode hyperparameters' '
	dry t12 train --framework pytorch:2.5 --instance-type ml.g5.xlarge --name fw-job \
		--entry-point train.py --source-dir src --hp epochs=2 --hp optimizer=adam &&
	test "$(json_get t12.json AlgorithmSpecification.TrainingImage)" = \
		763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu-py311 &&
	test "$(json_get t12.json HyperParameters.sagemaker_program)" = "\"train.py\"" &&
	test "$(json_get t12.json HyperParameters.sagemaker_submit_directory)" = \
		"\"s3://$BUCKET/fw-job/source/sourcedir.tar.gz\"" &&
	test "$(json_get t12.json HyperParameters.sagemaker_job_name)" = "\"fw-job\"" &&
	test "$(json_get t12.json HyperParameters.sagemaker_region)" = "\"us-east-1\"" &&
	test "$(json_get t12.json HyperParameters.sagemaker_container_log_level)" = 20 &&
	test "$(json_get t12.json HyperParameters.epochs)" = 2 &&
	test "$(json_get t12.json HyperParameters.optimizer)" = "\"adam\"" &&
	AWS_REGION=eu-west-1 sagerun train --engine sagemaker --dry-run --role "$ROLE" \
		--framework pytorch:2.8.0 -- python3 t.py >t12b.json &&
	test "$(json_get t12b.json AlgorithmSpecification.TrainingImage)" = \
		763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.8.0-cpu-py312
'

test_expect_success '13: processing inputs and outputs with every option, environment, instance type' '
	dry p13 process --image "$IMAGE" --instance-type ml.c5.2xlarge --env MODE=full \
		--input m=s3://bkt/list.manifest,type=manifest,mode=pipe,compression=gzip \
		--input d=data2,destination=/opt/ml/processing/data2,distribution=sharded \
		--output r=s3://bkt/r,source=/opt/ml/processing/res -- python3 x.py &&
	test_grep "ManifestFile" p13.json && test_grep "\"S3InputMode\": \"Pipe\"" p13.json &&
	test_grep "\"S3CompressionType\": \"Gzip\"" p13.json &&
	test_grep "/opt/ml/processing/res" p13.json && test_grep "\"MODE\": \"full\"" p13.json &&
	test_grep "ml.c5.2xlarge" p13.json &&
	! grep "behaves as File" p13.err
'

test_expect_success '14: what only the service reads: an augmented manifest in Pipe mode' '
	cat >aug.json <<-JSON &&
	{
	  "AlgorithmSpecification": {"TrainingImage": "$IMAGE", "TrainingInputMode": "Pipe"},
	  "InputDataConfig": [{"ChannelName": "train", "RecordWrapperType": "RecordIO",
	    "DataSource": {"S3DataSource": {"S3DataType": "AugmentedManifestFile",
	      "S3Uri": "s3://bkt/train.manifest", "AttributeNames": ["source-ref", "label"]}}}],
	  "OutputDataConfig": {"S3OutputPath": "s3://bkt/out"},
	  "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
	  "StoppingCondition": {"MaxRuntimeInSeconds": 3600}
	}
	JSON
	dry t14 train --spec aug.json &&
	test_grep "AugmentedManifestFile" t14.json && test_grep "\"label\"" t14.json &&
	test_must_fail sagerun train --spec aug.json --backend process 2>err &&
	test_grep "AugmentedManifestFile is not supported" err
'

test_expect_success 'a job for the service gets no warning about what runs differently here' '
	! grep -e "honoured locally" -e "behaves as" t5.err &&
	test_must_fail sagerun train --spec spec.json --backend process --name t5-local 2>t5-local.err &&
	test_grep "VpcConfig: accepted but not honoured locally" t5-local.err &&
	test_grep "ShuffleConfig: accepted but not honoured locally" t5-local.err
'

test_expect_success 'no role: a usage error that says where to give one' '
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --image "$IMAGE" -- true 2>err &&
	test_grep "needs an execution role" err && test_grep "SAGERUN_ROLE_ARN" err
'

test_expect_success 'no image: a usage error (the service runs images only)' '
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --role "$ROLE" -- true 2>err &&
	test_grep "runs images only" err && test_grep "\-\-image" err
'

test_expect_success 'refused before anything is sent: a bad role, local checkpoints, local flags' '
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --role nope --image "$IMAGE" -- true 2>err &&
	test_grep "not an IAM role ARN" err &&
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --role "$ROLE" --image "$IMAGE" \
		--checkpoints ./ckpt -- true 2>err && test_grep "checkpoints to S3 only" err &&
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --role "$ROLE" --image "$IMAGE" \
		--backend process -- true 2>err && test_grep "local engine" err &&
	test_expect_code 2 sagerun train --dry-run -- true 2>err && test_grep "engine sagemaker" err
'

test_expect_success 'the local engine'"'"'s flags are refused, each with why and what to do' '
	for flags in "--stop-grace 10" "--mpi-launcher ssh --distribution mpi" "--network host" \
		"--subnet 10.9.0.0/24" "--gpus-per-host 1" "--shm-size 1g" "--toolkit builtin" \
		"--backend ns"; do
		flag=${flags%% *} &&
		test_expect_code 2 sagerun train --engine sagemaker --dry-run --role "$ROLE" \
			--image "$IMAGE" $flags -- true 2>err &&
		test_grep "^sagerun: error: $flag: the local engine'"'"'s option" err &&
		test_grep "^hint: " err || return 1
	done &&
	test_expect_code 2 sagerun process --engine sagemaker --dry-run --role "$ROLE" \
		--image "$IMAGE" --stop-grace 5 -- true 2>err &&
	test_grep "service gives 120 seconds" err && test_grep "drop --stop-grace" err
'

test_expect_success '--framework: what has no image is refused with what is known' '
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --role "$ROLE" \
		--framework pytorch:0.9 -- true 2>err &&
	test_grep "no SageMaker image of that version (known: .*2.8.0" err &&
	test_expect_code 2 env AWS_REGION=xx-nowhere-1 "$SAGERUN" train --engine sagemaker \
		--dry-run --role "$ROLE" --framework pytorch:2.5 -- true 2>err &&
	test_grep "in region .xx-nowhere-1. (it has one in: .*us-west-2" err &&
	test_expect_code 2 sagerun train --engine sagemaker --dry-run --role "$ROLE" \
		--framework pytorch -- true 2>err && test_grep "needs its version" err
'

test_expect_success 'a dry run records nothing and sends nothing' '
	sagerun ps -a >ps.out && ! grep -e "-job" ps.out &&
	standin_calls >calls && test_cmp /dev/null calls
'

test_done
