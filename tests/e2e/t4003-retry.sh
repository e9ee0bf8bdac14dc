#!/bin/bash
# RetryStrategy as the service: sagerun's own failures (InternalServerError) are retried up
# to MaximumRetryAttempts times, each attempt after a Restarting transition; the algorithm's
# failures never are.  The internal failure here is real: too few file descriptors
# (ulimit -n) for sagerun to make the hosts' pipes.
. "$(dirname "$0")/lib.sh"
test_require PYTHON

cat >job.json <<'EOF2'
{"TrainingJobName": "retried",
 "AlgorithmSpecification": {"TrainingInputMode": "File", "ContainerEntrypoint": ["true"]},
 "ResourceConfig": {"InstanceCount": 8, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
 "RetryStrategy": {"MaximumRetryAttempts": 2}}
EOF2

test_expect_success 'an internal error is retried, and every attempt shows' '
	(ulimit -n 30 && exec "$SAGERUN" train --backend process --spec job.json --output out) \
		>stdout 2>stderr
	test $? -eq 1 &&
	test $(grep -c "Too many open files" stderr) -ge 3 &&
	test_grep "Restarting - Restarting the training job: attempt 2 of 3" stderr &&
	test_grep "Restarting - Restarting the training job: attempt 3 of 3" stderr &&
	sagerun describe retried >d.json &&
	python3 - <<-\EOF3
	import json
	d = json.load(open("d.json"))
	seq = [t["Status"] for t in d["SecondaryStatusTransitions"]]
	assert seq.count("Restarting") == 2 and seq.count("Downloading") == 3, seq
	assert seq[-1] == "Failed", seq
	assert d["FailureReason"].startswith("InternalServerError: "), d["FailureReason"]
	EOF3
'

test_expect_success 'the algorithm failing is not retried' '
	sed "s/\"retried\"/\"not-retried\"/; s/\\[\"true\"\\]/[\"sh\", \"-c\", \"exit 3\"]/" job.json >j2.json &&
	test_expect_code 1 sagerun train --backend process --spec j2.json --output out >stdout 2>stderr &&
	! grep Restarting stderr &&
	sagerun describe not-retried >d.json &&
	test_grep "AlgorithmError: algo-1 exited with code 3" d.json
'

test_expect_success 'a missing program is the user error, not retried' '
	sed "s/\"retried\"/\"missing\"/; s|\\[\"true\"\\]|[\"/nonexistent/prog\"]|" job.json >j3.json &&
	test_expect_code 1 sagerun train --backend process --spec j3.json --output out >stdout 2>stderr &&
	! grep Restarting stderr &&
	test_grep "cannot run" stderr
'

test_done
