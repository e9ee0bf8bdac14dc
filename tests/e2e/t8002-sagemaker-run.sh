#!/bin/bash
# The sagemaker engine against a stand-in of the service (smstandin.py: every request validated
# by botocore against the service model, every signature recomputed by botocore's signer) and
# a real S3 server (s3rver): jobs from submit to their end with their status lines and logs,
# a failure, Ctrl-C, -d with ps, logs -f, wait, describe, stop and rm, the service's errors and
# throttling, and the code and data sent to the session bucket byte for byte.
. "$(dirname "$0")/lib.sh"
. "$SR_SOURCE_DIR/tests/e2e/s3lib.sh"
. "$SR_SOURCE_DIR/tests/e2e/smlib.sh"

# sm train|process ARGS...: the command on the sagemaker engine.
sm() {
	_cmd=$1
	shift
	sagerun "$_cmd" --engine sagemaker --role "$ROLE" --image "$IMAGE" "$@"
}

mkdir -p src data/sub && echo 'print("train")' >src/train.py && echo 'numpy' >src/requirements.txt &&
	echo 'a,b' >data/a.csv && head -c 100000 /dev/urandom >data/sub/blob.bin

test_expect_success 'a training job runs to Completed, with the status lines and every host log' '
	sm train --name t-ok --hosts 2 --output s3://bkt/out -- python3 train.py >out 2>err &&
	test_grep "t-ok: submitted to SageMaker: arn:aws:sagemaker:us-east-1:123456789012:training-job/t-ok" err &&
	test_grep "t-ok: Starting - Starting the training job" err &&
	test_grep "t-ok: Training - Training image download completed" err &&
	test_grep "t-ok: Completed - Training job completed (Uploading took" err &&
	test_grep "^algo-1 | algo-1 line 4$" out && test_grep "^algo-2 | algo-2 line 1$" out &&
	test $(wc -l <out) -eq 8 &&
	sagerun ps -a >ps && test_grep "^t-ok  *training  *Completed  *Completed  *2 " ps
'

# CloudWatch shows an event some time after it was written: the stand-in's lag puts the last
# lines after the job's end, where the watcher and logs -f read on a while for them.
test_expect_success 'log lines that reach CloudWatch after the job ended are shown too' '
	sm train --name t-lag --hosts 2 --env STANDIN_LOG_LAG_MS=1200 --output s3://bkt/out \
		-- python3 train.py >out 2>err &&
	test_grep "t-lag: Completed" err &&
	test_grep "^algo-1 | algo-1 line 4$" out && test_grep "^algo-2 | algo-2 line 4$" out &&
	test $(wc -l <out) -eq 8 &&
	sm process -d --name p-lag --env STANDIN_LOG_LAG_MS=1200 --output o=s3://bkt/po \
		-- sh -c true >/dev/null 2>&1 &&
	sagerun logs -f p-lag >l && test $(wc -l <l) -eq 4 && test_grep "^algo-1 | algo-1 line 4$" l
'

test_expect_success 'describe gives the service answer; logs read it again, one host alone too' '
	sagerun describe t-ok >d.json &&
	test_grep "\"TrainingJobStatus\": \"Completed\"" d.json &&
	test_grep "\"TrainingJobArn\": \"arn:aws:sagemaker:us-east-1:123456789012:training-job/t-ok\"" d.json &&
	sagerun logs t-ok >l && test $(wc -l <l) -eq 8 &&
	sagerun logs --host algo-2 t-ok >l2 && test_grep "^algo-2 line 3$" l2 && test $(wc -l <l2) -eq 4 &&
	sagerun logs --tail 1 t-ok >l3 && test $(wc -l <l3) -eq 2 && test_grep "line 4" l3
'

test_expect_success 'a processing job runs to Completed' '
	sm process --name p-ok --output o=s3://bkt/po -- sh -c true >out 2>err &&
	test_grep "p-ok: Starting - Starting the processing job" err &&
	test_grep "p-ok: Completed - Processing job completed" err && test_grep "^algo-1 | algo-1 line 1$" out &&
	sagerun describe p-ok >d.json && test_grep "\"ProcessingJobStatus\": \"Completed\"" d.json
'

test_expect_success 'a failed job: exit 1 and its FailureReason' '
	test_expect_code 1 sm train --name t-fail --env STANDIN_OUTCOME=Failed --output s3://bkt/out \
		-- python3 x.py >out 2>err &&
	test_grep "t-fail: Failed" err && test_grep "FailureReason: AlgorithmError: ExitCode 1" err &&
	sagerun ps -a >ps && test_grep "^t-fail .* Failed" ps &&
	test_expect_code 1 sagerun wait t-fail 2>w && test_grep "FailureReason: AlgorithmError" w
'

test_expect_success 'a failed processing job: exit 1 and its FailureReason' '
	test_expect_code 1 sm process --name p-fail --env STANDIN_OUTCOME=Failed \
		--output o=s3://bkt/po -- sh -c false >out 2>err &&
	test_grep "p-fail: Failed" err &&
	test_grep "FailureReason: AlgorithmError: See job logs for more information" err
'

test_expect_success 'Ctrl-C stops a processing job on the service' '
	"$SAGERUN" process --engine sagemaker --role "$ROLE" --image "$IMAGE" --name p-int \
		--env STANDIN_HOLD=1 --output o=s3://bkt/po -- sleep 1 >out 2>err &
	pid=$! &&
	test_when_finished "kill $pid 2>/dev/null" &&
	test_wait_lines 1 "p-int: .*Processing\|p-int: InProgress" tail -n +1 -f err --pid=$pid &&
	kill -INT $pid && wait $pid; rc=$? &&
	test $rc -eq 130 &&
	test_grep "stopping the job on SageMaker" err && test_grep "p-int: Stopped" err &&
	standin_calls >calls && test_grep "StopProcessingJob" calls
'

test_expect_success 'Ctrl-C stops the job on the service: Stopping, Stopped, exit 130' '
	"$SAGERUN" train --engine sagemaker --role "$ROLE" --image "$IMAGE" --name t-int \
		--env STANDIN_HOLD=1 --output s3://bkt/out -- sleep 1 >out 2>err &
	pid=$! &&
	test_when_finished "kill $pid 2>/dev/null" &&
	test_wait_lines 1 "t-int: Training" tail -n +1 -f err --pid=$pid &&
	kill -INT $pid && wait $pid; rc=$? &&
	test $rc -eq 130 &&
	test_grep "stopping the job on SageMaker" err && test_grep "t-int: Stopped" err &&
	standin_calls >calls && test_grep "StopTrainingJob" calls
'

test_expect_success 'a second Ctrl-C leaves the job running on the service, and says how to reach it' '
	"$SAGERUN" train --engine sagemaker --role "$ROLE" --image "$IMAGE" --name t-int2 \
		--env STANDIN_HOLD=1 --env STANDIN_STOPPING_MS=600000 --output s3://bkt/out \
		-- sleep 1 >out 2>err &
	pid=$! &&
	test_wait_lines 1 "t-int2: Training" tail -n +1 -f err --pid=$pid &&
	kill -INT $pid &&
	test_wait_lines 1 "stopping the job on SageMaker" tail -n +1 -f err --pid=$pid &&
	kill -INT $pid && wait $pid; rc=$? &&
	test $rc -eq 130 &&
	test_grep "left running on SageMaker: .sagerun stop t-int2. stops it" err &&
	! grep "t-int2: Stopped" err &&
	sagerun ps >ps && test_grep "^t-int2  *training  *Stopping" ps &&
	standin_calls >calls && test $(grep -c "StopTrainingJob" calls) -eq 2
'

test_expect_success '-d returns at once; ps, logs -f, describe, wait follow the job' '
	sm train -d --name t-det --hosts 3 --env STANDIN_STEP_MS=1000 --output s3://bkt/out \
		-- python3 x.py >name 2>err &&
	test "$(cat name)" = t-det &&
	sagerun ps >ps && test_grep "^t-det  *training  *InProgress" ps &&
	sagerun logs -f t-det >l && test $(wc -l <l) -eq 12 && test_grep "^algo-3 | algo-3 line 4$" l &&
	sagerun wait t-det 2>w && test_grep "t-det: Completed" w &&
	sagerun ps -a >ps && test_grep "^t-det .* Completed" ps
'

test_expect_success 'a detached processing job: ps, stop, wait, logs, rm' '
	sm process -d --name p-det --env STANDIN_HOLD=1 --output o=s3://bkt/po -- sleep 1 >name &&
	test "$(cat name)" = p-det &&
	sagerun ps >ps && test_grep "^p-det  *processing  *InProgress" ps &&
	sagerun stop p-det 2>err && test_grep "p-det: Stopped" err &&
	test_expect_code 130 sagerun wait p-det &&
	sagerun logs p-det >l && test_grep "^algo-1 | algo-1 line 1$" l &&
	standin_calls >calls && test_grep "StopProcessingJob" calls &&
	sagerun rm p-det && test_must_fail sagerun describe p-det
'

test_expect_success 'ps asks the service about running jobs' '
	sm train -d --name t-ps --env STANDIN_STEP_MS=20 --output s3://bkt/out -- true >/dev/null &&
	sleep 1 && sagerun ps -a >ps && test_grep "^t-ps .* Completed" ps
'

test_expect_success 'stop and rm a detached job; rm forgets it here only' '
	sm train -d --name t-stop --env STANDIN_HOLD=1 --output s3://bkt/out -- sleep 1 >/dev/null &&
	test_must_fail sagerun rm t-stop 2>err && test_grep "is running" err &&
	sagerun stop t-stop 2>err && test_grep "t-stop: Stopped" err &&
	sagerun rm t-stop && ! test -e "$SAGERUN_HOME/jobs/t-stop" &&
	test_must_fail sagerun describe t-stop &&
	standin_calls >calls && ! grep Delete calls
'

test_expect_success 'a name the service already has: its ResourceInUse, exit 2, nothing recorded' '
	sagerun rm t-ok >/dev/null &&
	test_expect_code 2 sm train --name t-ok --output s3://bkt/out -- true 2>err &&
	test_grep "ResourceInUse" err && test_grep "choose another" err &&
	test_must_fail sagerun describe t-ok
'

test_expect_success 'a request the service refuses: its ValidationException, exit 2' '
	test_expect_code 2 sm train --name t-inval --instance-type ml.nosuch.large --output s3://bkt/out \
		-- true 2>err &&
	test_grep "ValidationException: .*InstanceType" err && test_must_fail sagerun describe t-inval &&
	test_grep "^hint: .*--dry-run prints the request" err
'

test_expect_success 'throttling is retried with backoff; past the retries, said with a hint' '
	standin_throttle 2 &&
	sm train --name t-thr --output s3://bkt/out -- true 2>err && test_grep "t-thr: Completed" err &&
	standin_throttle 20 &&
	test_must_fail sm train --name t-thr2 --output s3://bkt/out -- true 2>err &&
	test_grep "ThrottlingException" err && test_grep "try again" err &&
	standin_throttle 0
'

test_expect_success 'HTTP 5xx is retried; AccessDenied is said with the permission it needs' '
	standin_fail 2 503 ServiceUnavailable "Service is unavailable" &&
	sm train --name t-5xx --output s3://bkt/out -- true 2>err && test_grep "t-5xx: Completed" err &&
	standin_calls >calls && test $(grep -c "CreateTrainingJob.*t-5xx" calls) -eq 3 &&
	standin_fail 1 400 AccessDeniedException "User: x is not authorized to perform: sagemaker:CreateTrainingJob" &&
	test_expect_code 1 sm train --name t-denied --output s3://bkt/out -- true 2>err &&
	test_grep "AccessDeniedException: User: x is not authorized" err &&
	test_grep "^hint: .*needs sagemaker:CreateTrainingJob" err &&
	test_must_fail sagerun describe t-denied &&
	standin_calls >calls && test $(grep -c "CreateTrainingJob.*t-denied" calls) -eq 1 &&
	standin_fail 5 500 InternalFailure "We encountered an internal error" &&
	test_expect_code 1 sm train --name t-500 --output s3://bkt/out -- true 2>err &&
	test_grep "InternalFailure: We encountered an internal error" err &&
	test_grep "^hint: the service failed every attempt (5)" err
'

test_expect_success 'bad credentials: the service refuses the signature, said with their source' '
	AWS_SECRET_ACCESS_KEY=wrong "$SAGERUN" train --engine sagemaker --role "$ROLE" \
		--image "$IMAGE" --name t-sig --output s3://bkt/out -- true 2>err; test $? -eq 1 &&
	test_grep "InvalidSignatureException" err && test_grep "credentials came from environment" err &&
	! grep wrong err
'

test_expect_success 'script mode and a local channel go to the session bucket, byte for byte' '
	sm train --name t-up --entry-point train.py --source-dir src --channel train=data 2>err &&
	test_grep "creating the bucket s3://$BUCKET" err &&
	test_grep "source: s3://$BUCKET/t-up/source/sourcedir.tar.gz" err &&
	test_grep "channel .train.: s3://$BUCKET/sagerun/inputs/data-[0-9a-f]*/ (2 of 2 files sent)" err &&
	awss3 cp "s3://$BUCKET/t-up/source/sourcedir.tar.gz" got.tar.gz >/dev/null &&
	tar -tzf got.tar.gz | sort >listed && printf "requirements.txt\ntrain.py\n" >want && test_cmp want listed &&
	mkdir x && tar -xzf got.tar.gz -C x && cmp x/train.py src/train.py &&
	prefix=$(grep -o "sagerun/inputs/data-[0-9a-f]*" err | head -1) &&
	awss3 cp --recursive "s3://$BUCKET/$prefix/" back >/dev/null &&
	cmp back/a.csv data/a.csv && cmp back/sub/blob.bin data/sub/blob.bin &&
	standin_calls >calls && grep CreateTrainingJob calls | grep t-up >c &&
	test_grep "s3://$BUCKET/$prefix/" c && test_grep "\"S3OutputPath\": \"s3://$BUCKET/\"" c &&
	python3 -c "import json, sys
hp = json.loads(sys.stdin.readline())[\"body\"][\"HyperParameters\"]
want = {\"sagemaker_program\": \"\\\"train.py\\\"\",
	\"sagemaker_submit_directory\": \"\\\"s3://$BUCKET/t-up/source/sourcedir.tar.gz\\\"\",
	\"sagemaker_container_log_level\": \"20\", \"sagemaker_job_name\": \"\\\"t-up\\\"\",
	\"sagemaker_region\": \"\\\"us-east-1\\\"\"}
assert hp == want, hp" <c
'

test_expect_success 'the same folder again: only what changed is sent' '
	echo more >>data/a.csv &&
	sm train --name t-up2 --channel train=data --output s3://bkt/out -- true 2>err &&
	test_grep "(1 of 2 files sent)" err
'

test_expect_success 'processing code and local inputs go where the SDK puts them' '
	echo "print(1)" >pre.py &&
	sm process --name p-up --code pre.py --input d=data --output o=s3://bkt/po 2>err &&
	awss3 cp "s3://$BUCKET/p-up/input/code/pre.py" pre.back >/dev/null && cmp pre.py pre.back &&
	sm process --name p-fw --source-dir src --entry-point train.py 2>err &&
	awss3 cp "s3://$BUCKET/p-fw/source/runproc.sh" runproc.sh >/dev/null &&
	test_grep "python3 train.py" runproc.sh &&
	awss3 ls "s3://$BUCKET/p-fw/source/" >ls && test_grep "sourcedir.tar.gz" ls
'

test_expect_success '--download: the artifacts into the local output folder once Completed' '
	awss3 cp data/a.csv "s3://$BUCKET/t-dl/output/model.tar.gz" >/dev/null &&
	sm train --name t-dl --download --output ./outdir -- true 2>err &&
	cmp outdir/t-dl/output/model.tar.gz data/a.csv
'

test_expect_success '--download: a processing job'"'"'s local output, once Completed' '
	awss3 cp data/a.csv "s3://$BUCKET/p-dl/output/res/part-0.csv" >/dev/null &&
	sm process --name p-dl --download --output res=./pres -- true 2>err &&
	cmp pres/part-0.csv data/a.csv && test_grep "downloaded s3://$BUCKET/p-dl/output/res/" err
'

test_expect_success 'no credential reaches the store, a job folder or a message' '
	! grep -r "$AWS_SECRET_ACCESS_KEY" "$SAGERUN_HOME" &&
	sm train --name t-env --env API_TOKEN=topsecret --output s3://bkt/out -- true 2>err &&
	! grep -r topsecret "$SAGERUN_HOME" err &&
	sagerun describe t-env >d && test_grep "\"API_TOKEN\": \"(redacted)\"" d
'

test_done
