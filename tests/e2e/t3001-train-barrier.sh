#!/bin/bash
# The demo job: 3 hosts meet in a TCP barrier led by algo-1, which writes the model.
. "$(dirname "$0")/lib.sh"
test_require PYTHON

test_expect_success '3-host barrier job completes' '
	port=$(free_port) &&
	sagerun train --name barrier --hosts 3 --source-dir "$SR_SOURCE_DIR/examples/barrier" \
		--entry-point train.py --hp epochs=2 --hp port=$port --output out >stdout 2>stderr &&
	test_grep "^algo-1 | leader: barrier passed by 3 hosts" stdout &&
	test_grep "^algo-2 | algo-2: barrier passed" stdout &&
	test_grep "^algo-3 | algo-3: barrier passed" stdout &&
	test_grep "barrier: Completed" stderr
'

test_expect_success 'status transitions are printed in order' '
	grep -o "barrier: [A-Z][A-Za-z]* -" stderr | sed "s, -$,," >transitions &&
	printf "barrier: %s\n" Starting Downloading Training Uploading Completed >expect &&
	test_cmp expect transitions
'

test_expect_success 'model.tar.gz holds the model algo-1 wrote' '
	tar -xzf out/barrier/output/model.tar.gz -C . model.json &&
	python3 -c "import json,sys; m=json.load(open(\"model.json\")); sys.exit(0 if m[\"members\"]==[\"algo-1\",\"algo-2\",\"algo-3\"] and m[\"epochs\"]==2 else 1)"
'

test_expect_success 'output.tar.gz merges every host output/data' '
	tar -tzf out/barrier/output/output.tar.gz | sort >entries &&
	printf "%s\n" algo-1.txt algo-2.txt algo-3.txt >expect &&
	test_cmp expect entries
'

test_expect_success 'describe.json is in DescribeTrainingJob shape' '
	d=$SAGERUN_HOME/jobs/barrier/describe.json &&
	python3 - "$d" "$PWD/out" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["TrainingJobName"] == "barrier", d
	assert d["TrainingJobStatus"] == "Completed", d
	assert d["SecondaryStatus"] == "Completed", d
	assert d["ModelArtifacts"]["S3ModelArtifacts"] == sys.argv[2] + "/barrier/output/model.tar.gz", d
	assert d["ResourceConfig"]["InstanceCount"] == 3
	assert d["ResourceConfig"]["InstanceType"] == "ml.m5.large"
	assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == \
		["Starting", "Downloading", "Training", "Uploading", "Completed"]
	assert d["HyperParameters"]["epochs"] == "2"
	assert d["HyperParameters"]["sagemaker_program"] == "\"train.py\""
	assert [h["ExitCode"] for h in d["Hosts"]] == [0, 0, 0]
	for k in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime", "TrainingJobArn"):
	    assert k in d, k
	PY
'

test_expect_success 'each host log is kept in the job folder' '
	test_grep "barrier passed" "$SAGERUN_HOME/jobs/barrier/logs/algo-2.log"
'

test_expect_success 'a second job with the same name is refused' '
	test_expect_code 2 sagerun train --name barrier -- true 2>err &&
	test_grep "already exists" err
'

test_done
