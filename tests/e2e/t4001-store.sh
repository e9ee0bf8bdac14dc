#!/bin/bash
# The job store and the commands on top of it: ps, describe, logs, stop, wait, rm, prune,
# detached jobs, unique names, and jobs whose supervisor was killed.
. "$(dirname "$0")/lib.sh"
test_require PYTHON

test_expect_success 'ps -a and describe show a finished job' '
	sagerun train --backend process --name done1 --hosts 2 --output out \
		-- sh -c "[ \$SM_CURRENT_HOST = algo-2 ] && exit 0; echo hi" >stdout 2>stderr &&
	sagerun ps >ps.out &&
	head -1 ps.out | grep -q "^NAME *TYPE *STATUS *SECONDARY *HOSTS *CREATED *DURATION$" &&
	! grep done1 ps.out &&
	sagerun ps -a >ps.out &&
	test_grep "^done1 *training *Completed *Completed *2 " ps.out &&
	sagerun ps -a --output json >ps.json &&
	python3 -c "import json,sys; j=json.load(open(\"ps.json\")); assert j[0][\"Name\"] == \"done1\" and j[0][\"Status\"] == \"Completed\", j" &&
	sagerun describe done1 >d.json &&
	python3 - <<-\EOF
	import json
	d = json.load(open("d.json"))
	assert d["TrainingJobName"] == "done1", d
	assert d["TrainingJobStatus"] == "Completed" and d["SecondaryStatus"] == "Completed", d
	assert [h["Name"] for h in d["Hosts"]] == ["algo-1", "algo-2"], d["Hosts"]
	assert all(h["State"] == "Exited" and h["ExitCode"] == 0 for h in d["Hosts"]), d["Hosts"]
	assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == \
	    ["Starting", "Downloading", "Training", "Uploading", "Completed"], d
	EOF
'

test_expect_success 'describe and logs of an unknown job say so' '
	test_expect_code 1 sagerun describe nope 2>err &&
	test_grep "no job named .nope." err &&
	test_expect_code 1 sagerun logs nope 2>err &&
	test_grep "no job named .nope." err
'

test_expect_success 'a recorded name is refused, even when its folder was removed by hand' '
	test_expect_code 2 sagerun train --backend process --name done1 --output out -- true 2>err &&
	test_grep "already exists" err &&
	rm -rf "$SAGERUN_HOME/jobs/done1" &&
	test_expect_code 2 sagerun train --backend process --name done1 --output out -- true 2>err &&
	test_grep "a job named .done1. is already recorded" err &&
	test_grep "sagerun rm done1" err &&
	! test -e "$SAGERUN_HOME/jobs/done1"
'

test_expect_success 'a job folder without a record (a supervisor killed before recording) is freed by rm' '
	mkdir -p "$SAGERUN_HOME/jobs/stray/hosts" &&
	test_expect_code 2 sagerun train --backend process --name stray --output out -- true 2>err &&
	test_grep "sagerun rm stray" err &&
	sagerun rm stray >/dev/null &&
	! test -e "$SAGERUN_HOME/jobs/stray" &&
	sagerun train --backend process --name stray --output out -- true >/dev/null 2>&1
'

test_expect_success 'a detached job returns its name at once and runs on; wait gives its status' '
	name=$(sagerun train -d --name det1 --hosts 2 --output out -- sh -c "sleep 3; exit 3") &&
	test "$name" = det1 &&
	sagerun ps >ps.out &&
	test_grep "^det1 *training *InProgress" ps.out &&
	test_expect_code 1 sagerun wait det1 2>err &&
	test_grep "det1: Failed" err &&
	# both hosts fail at the same moment: the reason names whichever exited first
	test_grep "AlgorithmError: algo-[12] exited with code 3" err &&
	test_grep "Completed\|Failed" "$SAGERUN_HOME/jobs/det1/sagerun.log"
'

test_expect_success 'a detached job survives the shell that started it' '
	setsid bash -c "\"$SAGERUN\" train -d --name orphan --hosts 2 --output \"$PWD/out\" -- sleep 3 >name.out; exit 0" &&
	test "$(cat name.out)" = orphan &&
	sagerun ps >ps.out &&
	test_grep "^orphan *training *InProgress" ps.out &&
	sagerun wait orphan 2>err &&
	test_grep "orphan: Completed" err
'

test_expect_success 'two jobs at once, each followed by logs -f from another process' '
	sagerun train -d --name twin-a --hosts 2 --output out \
		-- sh -c "for i in 1 2 3; do echo \"a \$SM_CURRENT_HOST \$i\"; sleep 1; done" >/dev/null &&
	sagerun train -d --name twin-b --hosts 3 --output out \
		-- sh -c "for i in 1 2 3; do echo \"b \$SM_CURRENT_HOST \$i\"; sleep 1; done" >/dev/null &&
	sagerun ps >ps.out &&
	test_grep "^twin-a .*InProgress" ps.out &&
	test_grep "^twin-b .*InProgress" ps.out || exit 1
	"$SAGERUN" logs -f twin-a >a.log &
	pa=$!
	"$SAGERUN" logs -f twin-b >b.log &
	pb=$!
	wait $pa && wait $pb &&
	test $(wc -l <a.log) -eq 6 &&
	test $(wc -l <b.log) -eq 9 &&
	test_grep "^algo-3 | b algo-3 3$" b.log &&
	test_grep "^algo-1 | a algo-1 3$" a.log &&
	! grep "^algo-. | b" a.log &&
	sagerun wait twin-a 2>/dev/null && sagerun wait twin-b 2>/dev/null
'

test_expect_success 'logs --host, --tail, --since and --timestamps' '
	sagerun logs --host algo-2 twin-b >h.out &&
	printf "b algo-2 1\nb algo-2 2\nb algo-2 3\n" >expect &&
	test_cmp expect h.out &&
	sagerun logs --tail 1 twin-b >t.out &&
	test $(wc -l <t.out) -eq 3 && ! grep " 1$" t.out &&
	sagerun logs --since 1h twin-b | wc -l >n.out && test $(cat n.out) -eq 9 &&
	sleep 1.1 && sagerun logs --since 1s twin-b | wc -l >n.out && test $(cat n.out) -eq 0 &&
	sagerun logs --timestamps --host algo-1 twin-a >ts.out &&
	test_grep "^20[0-9-]*T[0-9:.]*+00:00 a algo-1 1$" ts.out &&
	test_expect_code 2 sagerun logs --host algo-9 twin-a 2>err &&
	test_grep "no host .algo-9." err &&
	test_expect_code 2 sagerun logs --since soon twin-a 2>err &&
	test_grep "expected a duration" err
'

test_expect_success 'stop while Training: Stopping, the grace, Stopped; wait says 130' '
	sagerun train -d --name stopme --hosts 3 --stop-grace 5 --output out \
		-- sh -c "trap \"echo got-term; exit 0\" TERM; echo trap-set; while :; do sleep 0.1; done" >/dev/null &&
	# Training, and every host has its trap set: each said so.
	test_wait_lines 3 "| trap-set$" "$SAGERUN" logs -f stopme &&
	sagerun stop stopme 2>err &&
	test_grep "stopme: Stopping" err &&
	test_grep "stopme: Stopped" err &&
	test_expect_code 130 sagerun wait stopme 2>/dev/null &&
	sagerun logs stopme >l.out && test $(grep -c got-term l.out) -eq 3 &&
	sagerun describe stopme | grep -q "\"TrainingJobStatus\": \"Stopped\"" &&
	sagerun stop stopme 2>err && test_grep "already ended: Stopped" err
'

test_expect_success 'stop while Downloading: no host runs user code' '
	mkdir -p big && for d in $(seq 1 40); do mkdir -p big/d$d; for f in $(seq 1 100); do echo x >big/d$d/f$f; done; done &&
	echo "echo RAN-USER-CODE" >big/run.sh &&
	sagerun train -d --name dl --hosts 8 --source-dir big --entry-point run.sh --output out >/dev/null &&
	# the supervisor writes its pid into its lease: tail ends with it
	test_wait_lines 1 "^sagerun: dl: Downloading" tail -n +1 -f "$SAGERUN_HOME/jobs/dl/sagerun.log" \
		--pid="$(cat "$SAGERUN_HOME/jobs/dl/supervisor.lock")" &&
	sagerun ps | grep -q "^dl .*Downloading" &&
	sagerun stop dl 2>err &&
	test_grep "dl: Stopped" err &&
	! sagerun logs dl | grep RAN-USER-CODE
'

test_expect_success 'rm removes ended jobs, refuses running ones; prune removes the rest' '
	sagerun train -d --name busy --hosts 1 --output out -- sleep 30 >/dev/null &&
	test_expect_code 1 sagerun rm busy 2>err &&
	test_grep "job .busy. is running" err &&
	test -d "$SAGERUN_HOME/jobs/busy" &&
	sagerun rm det1 >rm.out && test_grep "^det1$" rm.out &&
	! test -e "$SAGERUN_HOME/jobs/det1" &&
	! sagerun ps -a | grep "^det1 " &&
	test -f out/det1/output/model.tar.gz &&
	sagerun prune --older-than 1h >pr.out 2>&1 && ! grep "^twin-a$" pr.out &&
	sagerun prune >pr.out 2>err &&
	test_grep "^twin-a$" pr.out && test_grep "^stopme$" pr.out &&
	! grep "^busy$" pr.out &&
	sagerun ps -a >ps.out && test_grep "^busy " ps.out &&
	test $(grep -c "training" ps.out) -eq 1 &&
	sagerun stop busy 2>/dev/null && sagerun rm busy >/dev/null
'

test_expect_success 'ps while jobs start and end never meets a locked database' '
	for i in 1 2 3; do
		sagerun train -d --name busy-$i --hosts 4 --output out \
			-- sh -c "for i in \$(seq 1 20); do echo \$i; done; sleep 0.2" >/dev/null || exit 1
	done &&
	fails=0 &&
	for _ in $(seq 1 150); do
		sagerun ps -a >/dev/null 2>err || fails=$((fails + 1))
		if grep -i "locked" err; then fails=$((fails + 1)); fi
	done &&
	test $fails -eq 0 &&
	for i in 1 2 3; do sagerun wait busy-$i || exit 1; done
'

test_done
