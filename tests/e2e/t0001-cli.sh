#!/bin/bash
# The command table: every command answers -h, usage errors exit 2 with one clear line.
. "$(dirname "$0")/lib.sh"

test_expect_success 'every command answers -h' '
	sagerun --list-commands >commands &&
	test -s commands &&
	while read -r c; do
		sagerun "$c" -h >help.out || { echo "$c -h failed"; exit 1; }
		test -s help.out || { echo "$c -h printed nothing"; exit 1; }
	done <commands
'

test_expect_success 'an unknown command is a usage error' '
	test_expect_code 2 sagerun frobnicate 2>err &&
	test_grep "not a sagerun command" err
'

test_expect_success 'train without anything to run says what to give' '
	test_expect_code 2 sagerun train 2>err &&
	test_grep "nothing to run" err
'

test_expect_success 'a bad --hosts value names the flag' '
	test_expect_code 2 sagerun train --hosts three -- true 2>err &&
	test_grep -- "--hosts" err
'

test_expect_success 'a stray argument must come after --' '
	test_expect_code 2 sagerun train --hosts 1 true 2>err &&
	test_grep "after .--" err
'

test_expect_success 'an unknown backend is refused' '
	test_expect_code 2 sagerun train --backend warp -- true 2>err &&
	test_grep "unknown backend" err
'

test_expect_success 'the backends in --backend'"'"'s help and its error come from the table' '
	sagerun train -h >help &&
	for b in ns process docker; do
		test_grep "^ *$b: " help || exit 1
	done &&
	test_expect_code 2 sagerun train --backend warp -- true 2>err &&
	test_grep "expected auto, ns, process or docker" err
'

test_expect_success 'options come before or after operands, as in git and docker' '
	sagerun train --backend process --name late -- true >/dev/null 2>&1 &&
	sagerun logs late --tail 1 >/dev/null &&
	sagerun logs --tail=1 late >/dev/null &&
	sagerun logs late -f --host algo-1 >/dev/null &&
	test_expect_code 2 sagerun logs late --tail 2>err &&
	test_grep -- "--tail needs a value" err &&
	# -- ends the options: what follows is an operand, even if it looks like one
	sagerun logs --tail 1 -- late >/dev/null &&
	test_expect_code 1 sagerun logs -- -f 2>err &&
	test_grep "no job named .-f." err &&
	test_expect_code 2 sagerun ps -- extra 2>err &&
	test_grep "unexpected argument .extra." err
'

test_expect_success '--subnet on the process backend is refused before anything is recorded' '
	test_expect_code 2 sagerun train --backend process --subnet 10.9.0.0/24 --name sub \
		-- true 2>err &&
	test_grep -- "--subnet 10.9.0.0/24: the process backend.s hosts share this machine.s network" err &&
	test_grep "hint: leave out --subnet" err &&
	! test -e "$SAGERUN_HOME/jobs/sub"
'

# Under ASan (make test-asan) LeakSanitizer ends a run that leaks with its own status, not 2.
test_expect_success 'a refused flag after repeatable ones leaks nothing' '
	test_expect_code 2 sagerun train --hp a=1 --channel c=. --env K=V --hp b=2 \
		--processes-per-host 0 -- true 2>err &&
	test_grep "from 1 to 1024" err &&
	test_expect_code 2 sagerun train --hp a=1 --env K=V --name "bad name" -- true 2>err &&
	test_expect_code 2 sagerun compose --hp a=1 --shm-size 12q -- true 2>err &&
	test_grep "shm-size: expected bytes" err
'

# A container's channel overlay goes through the engine's volume driver, not tried with
# overlayfs's escapes: a folder named with , : or \ is refused, with what to do.
test_expect_success 'compose refuses a channel folder named with :, and writes nothing' '
	mkdir -p "runs/10:00" && echo x >"runs/10:00/a" &&
	test_expect_code 1 sagerun compose --image img:1 --name colon --channel "train=runs/10:00" \
		-o colon.yaml -- true 2>err &&
	test_grep "runs/10:00. cannot be a writable channel: overlayfs options cannot hold" err &&
	test_grep "hint: rename the folder" err &&
	! test -e colon.yaml && ! test -e sagerun-colon
'

test_expect_success 'what cannot work is refused before anything is recorded (exit 2)' '
	mkdir -p data &&
	for c in .=data ..=data; do
		test_expect_code 2 sagerun train --backend process --name refused --channel $c \
			-- true 2>err &&
		test_grep "not \. or \.\." err || exit 1
	done &&
	test_expect_code 2 sagerun train --backend process --name refused --output /proc/sys/kernel \
		-- true 2>err &&
	test_grep "output ./proc/sys/kernel.: cannot make a folder" err &&
	if unshare --net --fork true 2>/dev/null; then
		for s in 999.1.1.1/99 10.0.0.0/31; do
			test_expect_code 2 sagerun train --backend ns --name refused --subnet $s \
				-- true 2>err &&
			test_grep -- "--subnet: invalid subnet" err || exit 1
		done
	fi &&
	! test -e "$SAGERUN_HOME/jobs/refused" &&
	{ ! test -e "$SAGERUN_HOME/sagerun.db" || ! sagerun ps -a | grep refused; }
'

test_expect_success 'version prints a version' '
	sagerun version >out &&
	test_grep "^sagerun [0-9]" out
'

test_done
