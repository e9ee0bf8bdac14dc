#!/bin/bash
# A supervisor SIGKILLed at random moments of its job (detached, so any moment after the job
# is recorded): the next sagerun command marks the job Failed with "InternalServerError:
# supervisor lost", the store stays consistent, and nothing is left behind: no process, mount,
# link or namespace of the job.
. "$(dirname "$0")/lib.sh"
test_require PYTHON

backends=process
[ "$(id -u)" -eq 0 ] && unshare --mount --pid --uts --net --ipc --fork true 2>/dev/null &&
	backends="ns process"

cat >job.sh <<'SH'
# A host with a child of its own (process hosts' grandchildren outlive a killed supervisor).
echo "$SM_CURRENT_HOST up"
sleep 423 &
exec sleep 424
SH

ip -o link 2>/dev/null | wc -l >links.before
wc -l </proc/self/mountinfo >mounts.before

test_expect_success '20 supervisors killed at random moments leave Failed jobs and nothing else' '
	i=0 &&
	for b in $backends; do
		for k in $(seq 1 10); do
			i=$((i + 1))
			name=kill-$b-$k
			sagerun train -d --backend $b --name $name --hosts 3 --stop-grace 1 \
				--output out -- sh "$PWD/job.sh" >/dev/null || exit 1
			# The supervisor writes its pid into its lease once it holds it.
			pid=$(cat "$SAGERUN_HOME/jobs/$name/supervisor.lock")
			test "$(cat /proc/$pid/comm)" = sagerun || { echo "no supervisor for $name"; exit 1; }
			sleep 0.$(printf "%03d" $((RANDOM % 400)))
			kill -9 "$pid"
			while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
			sagerun ps -a >ps.out 2>ps.err || exit 1
			test_grep "^$name *training *Failed *Failed" ps.out || exit 1
			test_grep "job .$name. lost its supervisor" ps.err || exit 1
			sagerun describe $name >d.json || exit 1
			python3 -c "import json; d=json.load(open(\"d.json\")); assert d[\"FailureReason\"] == \"InternalServerError: supervisor lost\", d; assert d[\"SecondaryStatusTransitions\"][-1][\"Status\"] == \"Failed\", d" || exit 1
			test_grep "supervisor lost" "$SAGERUN_HOME/jobs/$name/describe.json" || exit 1
		done
	done &&
	test $i -ge 20
'

test_expect_success 'no process, mount or link of those jobs is left' '
	for _ in $(seq 1 400); do pgrep -f "sleep 42[34]" >/dev/null || break; sleep 0.05; done &&
	! pgrep -fa "sleep 42[34]" &&
	ip -o link 2>/dev/null | wc -l >links.after &&
	wc -l </proc/self/mountinfo >mounts.after &&
	test_cmp links.before links.after &&
	test_cmp mounts.before mounts.after
'

test_expect_success 'the store is consistent: every job ended, recovered once, removable' '
	sagerun ps >ps.out &&
	test $(wc -l <ps.out) -eq 1 &&
	sagerun ps -a 2>err >/dev/null && ! test -s err &&
	sagerun prune >/dev/null 2>&1 &&
	sagerun ps -a >ps.out && test $(wc -l <ps.out) -eq 1 &&
	! ls "$SAGERUN_HOME/jobs" | grep kill-
'

# A supervisor that wrote its end to describe.json but not to the store (a full disk), then
# went: the store still says InProgress.  The next command records that end, and says so; with
# no end in describe.json the job lost its supervisor.
as_running() {
	python3 -c "import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute(\"UPDATE jobs SET status = 'InProgress', secondary = 'Training', failure_reason = NULL, end_ms = 0 WHERE name = ?\", (sys.argv[2],))
db.commit()" "$SAGERUN_HOME/sagerun.db" "$1"
}
test_expect_success 'a job whose end reached only its describe.json: that end recorded, said so' '
	sagerun train --backend process --name ended-unrecorded --output out -- true >/dev/null 2>&1 &&
	test_expect_code 1 sagerun train --backend process --name failed-unrecorded --output out \
		-- sh -c "exit 3" >/dev/null 2>&1 &&
	as_running ended-unrecorded && as_running failed-unrecorded &&
	sagerun ps >ps.out 2>ps.err &&
	test_grep "job .ended-unrecorded. ended Completed; recorded from its describe.json" ps.err &&
	test_grep "job .failed-unrecorded. ended Failed; recorded from its describe.json" ps.err &&
	! grep "lost its supervisor" ps.err &&
	sagerun ps -a >ps.out 2>ps.err && ! test -s ps.err &&
	test_grep "^ended-unrecorded *training *Completed" ps.out &&
	test_grep "^failed-unrecorded *training *Failed" ps.out &&
	sagerun describe failed-unrecorded >d.json &&
	test_grep "exited with code 3" d.json &&
	sagerun wait ended-unrecorded &&
	rm "$SAGERUN_HOME/jobs/ended-unrecorded/describe.json" && as_running ended-unrecorded &&
	sagerun ps -a >ps.out 2>ps.err &&
	test_grep "job .ended-unrecorded. lost its supervisor; marked Failed" ps.err
'

test_done
