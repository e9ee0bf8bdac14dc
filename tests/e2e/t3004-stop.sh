#!/bin/bash
# Ctrl-C (SIGINT) or SIGTERM to sagerun: Stopping, hosts stopped, Stopped, exit 130.
. "$(dirname "$0")/lib.sh"

cat >host.sh <<'SH'
trap 'echo "$SM_CURRENT_HOST saving"; echo saved >"$SM_MODEL_DIR/$SM_CURRENT_HOST.ckpt"; exit 0' TERM
echo "$SM_CURRENT_HOST ready"
sleep 314 &
wait
SH

for sig in INT TERM; do
	test_expect_success "SIG$sig stops the job with exit 130" '
		: >stdout-$sig || exit 1
		"$SAGERUN" train --backend process --name stop-$sig --hosts 2 --output out \
			-- /bin/sh "$PWD/host.sh" \
			>stdout-$sig 2>stderr-$sig &
		pid=$! &&
		# Training, and both hosts are ready for SIGTERM (their trap is set)
		test_wait_lines 2 "^algo-[12] | algo-[12] ready$" tail -n +1 -f stdout-$sig --pid=$pid &&
		kill -$sig $pid &&
		test_expect_code 130 wait $pid &&
		test_grep "stop-$sig: Stopping" stderr-$sig &&
		test_grep "stop-$sig: Stopped" stderr-$sig &&
		test_grep "^algo-2 | algo-2 saving" stdout-$sig
	'

	test_expect_success "SIG$sig: what the hosts saved in the grace is packaged" '
		tar -tzf out/stop-$sig/output/model.tar.gz | sort >entries &&
		printf "%s\n" algo-1.ckpt algo-2.ckpt >expect &&
		test_cmp expect entries &&
		python3 -c "import json,sys; d=json.load(open(\"$SAGERUN_HOME/jobs/stop-$sig/describe.json\")); sys.exit(0 if (d[\"TrainingJobStatus\"], d[\"SecondaryStatus\"])==(\"Stopped\",\"Stopped\") else 1)"
	'
done

test_expect_success 'a second Ctrl-C kills at once' '
	: >stdout && : >stderr || exit 1
	"$SAGERUN" train --backend process --name stop-twice --hosts 1 --stop-grace 300 --output out \
		-- /bin/sh -c "trap \"\" TERM; echo ready; sleep 314" >stdout 2>stderr &
	pid=$! &&
	test_wait_lines 1 "^algo-1 | ready$" tail -n +1 -f stdout --pid=$pid &&
	kill -INT $pid &&
	test_wait_lines 1 "stop-twice: Stopping" tail -n +1 -f stderr --pid=$pid &&
	kill -INT $pid &&
	test_expect_code 130 wait $pid
'

test_expect_success 'Ctrl-C while Downloading stops the job before any host runs' '
	# Setup first, on lines of its own: "a && b &" would put the whole list in the
	# background and $! would name a subshell.
	mkdir -p big && head -c 100000000 /dev/zero >big/blob && echo "touch ran" >big/run.sh &&
	: >stderr
	"$SAGERUN" train --backend process --name stop-early --hosts 4 --source-dir big --entry-point run.sh \
		--output out >stdout 2>stderr &
	pid=$! &&
	test_wait_lines 1 "stop-early: Downloading" tail -n +1 -f stderr --pid=$pid &&
	kill -INT $pid &&
	test_expect_code 130 wait $pid &&
	test_grep "stop-early: Stopped" stderr &&
	! grep "stop-early: Training" stderr &&
	find "$SAGERUN_HOME" -name ran >found && test ! -s found &&
	rm -rf big
'

test_expect_success 'MaxRuntimeInSeconds stops the job as the service does' '
	test_expect_code 130 sagerun train --backend process --name maxrun --max-run 1 --stop-grace 5 --output out \
		-- sleep 314 >stdout 2>stderr &&
	test_grep "maxrun: MaxRuntimeExceeded" stderr &&
	python3 -c "import json,sys; d=json.load(open(\"$SAGERUN_HOME/jobs/maxrun/describe.json\")); sys.exit(0 if (d[\"TrainingJobStatus\"], d[\"SecondaryStatus\"])==(\"Stopped\",\"MaxRuntimeExceeded\") else 1)"
'

test_expect_success 'no process of a job is left behind' '
	! pgrep -f "sleep 314" >/dev/null
'

test_done
