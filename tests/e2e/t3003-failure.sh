#!/bin/bash
# The first host to fail fails the job; the others are stopped with SIGTERM within the grace.
. "$(dirname "$0")/lib.sh"

cat >host.sh <<'SH'
case $SM_CURRENT_HOST in
algo-2)
	# Fail only once the others are ready for SIGTERM, so the test does not race them.
	while [ ! -e algo-1.ready ] || [ ! -e algo-3.ready ]; do sleep 0.05; done
	printf 'bad input in shard 7\n' >"$SM_OUTPUT_DIR/failure"
	echo "algo-2 is failing"
	exit 3 ;;
*)
	trap 'echo "$SM_CURRENT_HOST got SIGTERM"; exit 143' TERM
	# The model file first: a SIGTERM right after "ready" would skip it.
	echo "$SM_CURRENT_HOST working" >"$SM_MODEL_DIR/$SM_CURRENT_HOST.txt"
	touch "$SM_CURRENT_HOST.ready"
	sleep 313 &
	wait ;;
esac
SH

test_expect_success 'a host that writes a failure file and exits 3 fails the job' '
	test_expect_code 1 sagerun train --backend process --name fail3 --hosts 3 --stop-grace 60 --output out \
		-- /bin/sh "$PWD/host.sh" >stdout 2>stderr &&
	test_grep "fail3: Failed" stderr &&
	test_grep "FailureReason: bad input in shard 7" stderr
'

test_expect_success 'the other hosts were stopped by SIGTERM, not SIGKILL' '
	test_grep "^algo-1 | algo-1 got SIGTERM" stdout &&
	test_grep "^algo-3 | algo-3 got SIGTERM" stdout &&
	python3 - "$SAGERUN_HOME/jobs/fail3/describe.json" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["TrainingJobStatus"] == "Failed", d["TrainingJobStatus"]
	assert d["SecondaryStatus"] == "Failed"
	assert d["FailureReason"] == "bad input in shard 7\n", d["FailureReason"]
	hosts = {h["Name"]: h for h in d["Hosts"]}
	assert hosts["algo-2"]["ExitCode"] == 3, hosts
	assert hosts["algo-1"].get("ExitCode") == 143, hosts
	assert hosts["algo-3"].get("ExitCode") == 143, hosts
	PY
'

test_expect_success 'artifacts are packaged on failure too' '
	tar -tzf out/fail3/output/model.tar.gz | sort >entries &&
	printf "%s\n" algo-1.txt algo-3.txt >expect &&
	test_cmp expect entries
'

test_expect_success 'without a failure file the reason names the host, code and last lines' '
	test_expect_code 1 sagerun train --backend process --name fail5 --hosts 2 --output out \
		-- /bin/sh -c "echo last words from \$SM_CURRENT_HOST; [ \$SM_CURRENT_HOST = algo-1 ] && exit 5; sleep 313" \
		>stdout 2>stderr &&
	test_grep "FailureReason: AlgorithmError: algo-1 exited with code 5" stderr &&
	test_grep "last words from algo-1" stderr
'

test_expect_success 'a host that ignores SIGTERM is killed after the grace' '
	test_expect_code 1 sagerun train --backend process --name stubborn --hosts 2 --stop-grace 1 --output out \
		-- /bin/sh -c "if [ \$SM_CURRENT_HOST = algo-2 ]; then while [ ! -e ready ]; do sleep 0.05; done; exit 1; fi; trap \"\" TERM; touch ready; sleep 313" \
		>stdout 2>stderr &&
	python3 - "$SAGERUN_HOME/jobs/stubborn/describe.json" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	hosts = {h["Name"]: h for h in d["Hosts"]}
	assert hosts["algo-1"].get("Signal") == "SIGKILL", hosts
	PY
'

test_expect_success 'a host killed by a signal says which' '
	test_expect_code 1 sagerun train --backend process --name sig --hosts 1 --output out \
		-- /bin/sh -c "kill -SEGV \$\$" >stdout 2>stderr &&
	test_grep "killed by signal SIGSEGV" stderr
'

test_expect_success 'no process of a job is left behind' '
	! pgrep -f "sleep 313" >/dev/null
'

test_done
