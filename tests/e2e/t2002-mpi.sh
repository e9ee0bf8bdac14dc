#!/bin/bash
# Open MPI's mpirun across 4 ns hosts without any sshd: its launch agent is
# `sagerun container rsh`, served by the agent init starts in every host (runtime/agent.h).
. "$(dirname "$0")/lib.sh"
test_require ROOT NS
command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 ||
	_skip_reason="needs mpicc and mpirun (apt-get install openmpi-bin libopenmpi-dev)"

# Everything goes into the test's folder: it is the job's working folder, visible inside the
# hosts even though their /tmp is private (the build tree may be under /tmp).
test_expect_success 'a 4-host mpirun allreduce through the sagerun agent' '
	mpicc -O2 -o allreduce "$SR_SOURCE_DIR/examples/mpi/allreduce.c" &&
	cp "$SAGERUN" ./sagerun &&
	cat >host.sh <<-\EOS &&
	set -u
	SAGERUN=$PWD/sagerun
	if [ "$SM_CURRENT_HOST" = algo-1 ]; then
		for h in $(echo "$SM_HOSTS" | tr -d "[]\" " | tr , " "); do
			echo "$h slots=1"
		done >/tmp/hostfile
		mpirun --allow-run-as-root --hostfile /tmp/hostfile -np 4 \
			-mca plm_rsh_agent "$SAGERUN container rsh" \
			-mca plm_rsh_no_tree_spawn 1 \
			-mca btl_tcp_if_include eth0 -mca oob_tcp_if_include eth0 \
			-mca btl ^openib ./allreduce
		rc=$?
		for h in $(echo "$SM_HOSTS" | tr -d "[]\" " | tr , " "); do
			[ "$h" = algo-1 ] || "$SAGERUN" container rsh "$h" touch /tmp/mpi-done
		done
		exit $rc
	fi
	i=0
	while [ ! -e /tmp/mpi-done ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e /tmp/mpi-done ]
	EOS
	sagerun train --backend ns --name mpi --hosts 4 --output out \
		--env OMPI_ALLOW_RUN_AS_ROOT=1 --env OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
		-- /bin/sh host.sh >stdout 2>stderr &&
	test_grep "allreduce ok: sum=10 over 4 ranks on algo-1,algo-2,algo-3,algo-4" stdout &&
	test_grep "mpi: Completed" stderr
'

# GraphStorm's launch_train, and the graph example's train stage: a training command that
# runs a plain mpirun itself (no toolkit runner, no flags of ours) reaches the other hosts as
# a processing job's does, with sagerun as its launch agent and leave to run as root.
test_expect_success 'a training command'"'"'s own plain mpirun reaches every host' '
	cat >own.sh <<-\EOS &&
	echo "agent=$OMPI_MCA_plm_rsh_agent root=$OMPI_ALLOW_RUN_AS_ROOT,$OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"
	if [ "$SM_CURRENT_HOST" = algo-1 ]; then
		printf "algo-%d slots=1\n" 1 2 3 >/tmp/hostfile
		mpirun --hostfile /tmp/hostfile -np 3 -mca btl_tcp_if_include eth0 ./allreduce
		rc=$?
		for h in algo-2 algo-3; do /proc/1/exe container rsh "$h" touch /tmp/mpi-done; done
		exit $rc
	fi
	i=0
	while [ ! -e /tmp/mpi-done ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e /tmp/mpi-done ]
	EOS
	sagerun train --backend ns --name ownmpi --hosts 3 --output out -- /bin/sh own.sh \
		>stdout 2>stderr &&
	test_grep "^algo-1 | allreduce ok: sum=6 over 3 ranks on algo-1,algo-2,algo-3" stdout &&
	test_grep "^algo-2 | agent=/proc/1/exe container rsh root=1,1$" stdout &&
	test_grep "ownmpi: Completed" stderr &&
	sagerun train --backend ns --name ownenv --hosts 1 --output out \
		--env OMPI_ALLOW_RUN_AS_ROOT=0 --env OMPI_MCA_plm_rsh_agent=ssh -- /bin/sh -c \
		"echo \"\$OMPI_MCA_plm_rsh_agent,\$OMPI_ALLOW_RUN_AS_ROOT,\$OMPI_ALLOW_RUN_AS_ROOT_CONFIRM\"" \
		>stdout 2>stderr &&
	test_grep "^algo-1 | ssh,0,$" stdout
'

test_expect_success 'a client with another job'"'"'s secret is refused and logged' '
	cat >host.sh <<-\EOS &&
	if [ "$SM_CURRENT_HOST" = algo-1 ]; then
		printf "{\"port\": 7099, \"secret\": \"%064d\"}\n" 0 >/tmp/other.json
		SAGERUN_AGENT_CONFIG=/tmp/other.json ./sagerun container rsh algo-2 touch /tmp/evil
		echo "refused rc=$?"
		./sagerun container rsh algo-2 "test ! -e /tmp/evil && echo nothing ran; touch /tmp/done"
		exit 0
	fi
	i=0
	while [ ! -e /tmp/done ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	EOS
	sagerun train --backend ns --name refuse --hosts 2 --output out \
		-- /bin/sh host.sh >stdout 2>stderr &&
	test_grep "refused rc=255" stdout &&
	test_grep "algo-1 | sagerun rsh: algo-2: authentication failed (different job?)" stderr &&
	test_grep "algo-2 | sagerun agent: .*refused: authentication failed" stderr &&
	test_grep "nothing ran" stdout &&
	test_grep "refuse: Completed" stderr
'

test_expect_success 'the agent starts at its first client, with --network host too' '
	cat >host.sh <<-\EOS &&
	agents() { cat /proc/[0-9]*/comm 2>/dev/null | grep -cx sagerun; }
	if [ "$SM_CURRENT_HOST" = algo-1 ]; then
		echo "algo-1 agents before: $(agents)"
		python3 -c "$WAIT_READY"
		./sagerun container rsh algo-2 "echo agents on \$(hostname): \$(cat /proc/[0-9]*/comm | grep -cx sagerun)"
		./sagerun container rsh algo-2 touch /tmp/done
		exit 0
	fi
	echo "algo-2 agents before: $(agents)"
	python3 -c "$SAY_READY" &
	i=0
	while [ ! -e /tmp/done ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	EOS
	# algo-2 counts before algo-1 connects: the hosts share no folder, but with --network host
	# they share 127.0.0.1, where algo-2 says it is ready
	port=$((20000 + $$ % 20000)) &&
	say="import socket; s = socket.socket(); s.bind((\"127.0.0.1\", $port)); s.listen(); s.accept()" &&
	wait="import socket, time
for i in range(600):
    try:
        socket.create_connection((\"127.0.0.1\", $port)).close()
        break
    except OSError:
        time.sleep(0.1)" &&
	sagerun train --backend ns --network host --name lazy --hosts 2 --output out \
		--env "SAY_READY=$say" --env "WAIT_READY=$wait" -- /bin/sh host.sh >stdout 2>stderr &&
	test_grep "algo-1 agents before: 0" stdout &&
	test_grep "algo-2 agents before: 0" stdout &&
	# the agent, and its child that serves this very connection
	test_grep "agents on algo-2: 2" stdout &&
	test_grep "lazy: Completed" stderr
'

test_expect_success 'two --network host jobs at once: each its own loopback addresses and agents' '
	sagerun train -d --backend ns --network host --name holder --hosts 2 --output out \
		-- sleep 2002 >/dev/null &&
	for _ in $(seq 1 300); do
		[ "$(test_procs -fx "sleep 2002" | wc -l)" -eq 2 ] && break
		sleep 0.1
	done &&
	test "$(test_procs -fx "sleep 2002" | wc -l)" -eq 2 &&
	cat >second.sh <<-\EOS &&
	if [ "$SM_CURRENT_HOST" = algo-1 ]; then
		exec ./sagerun container rsh algo-2 "echo reached \$(hostname) of \$TRAINING_JOB_NAME; touch /tmp/done"
	fi
	i=0
	while [ ! -e /tmp/done ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	EOS
	{ sagerun train --backend ns --network host --name second --hosts 2 --output out \
		-- /bin/sh second.sh >stdout 2>stderr; rc=$?; } &&
	sagerun stop holder >/dev/null &&
	test $rc -eq 0 &&
	# the blocks are the first ones free, not known in advance: another job may hold some
	sed -n "s/^127\.\([0-9]*\)\.0\.2	algo-2$/\1/p" \
		"$SAGERUN_HOME/jobs/holder/hosts/algo-1/etc/hosts" >block.holder &&
	sed -n "s/^127\.\([0-9]*\)\.0\.2	algo-2$/\1/p" \
		"$SAGERUN_HOME/jobs/second/hosts/algo-1/etc/hosts" >block.second &&
	test -s block.holder && test -s block.second &&
	! test_cmp block.holder block.second &&
	test_grep "^algo-1 | reached algo-2 of second$" stdout &&
	test_grep "second: Completed" stderr
'

test_done
