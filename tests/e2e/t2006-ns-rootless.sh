#!/bin/bash
# Rootless ns hosts: as a normal user (made by the test), the ns backend runs in a user
# namespace of the job's own, and its hosts are those of the root case (t2001): hostname,
# /etc/hosts, /opt/ml, private /tmp, processes and network; the barrier, torch and MPI across
# them; stop and a killed supervisor leave nothing; where user namespaces are refused, auto
# says why and ns fails with it.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS PYTHON
if [ -z "${_skip_reason:-}" ]; then
	test_user_setup || _skip_reason="cannot make the user $SR_TEST_USER"
fi
if [ -z "${_skip_reason:-}" ] && ! as_user unshare -Urm --pid --uts --net --fork true 2>/dev/null; then
	_skip_reason="this machine refuses user namespaces to a normal user"
fi
[ -n "${_skip_reason:-}" ] && say "skipping $test_name: $_skip_reason"

U=${USER_DIR:-$TRASH}
mkdir -p "$U/data" && echo rows >"$U/data/part-0"
cat >"$U/iso.sh" <<'SH'
set -e
me=$SM_CURRENT_HOST
echo "$me" >/tmp/mine-$me
echo "$me" >/opt/ml/model/mine-$me
sleep 1
test "$(ls /tmp | grep mine)" = "mine-$me"
test "$(ls /opt/ml/model)" = "mine-$me"
n=$(ls /proc | grep -c '^[0-9][0-9]*$')
test "$n" -le 6 || { echo "sees $n processes"; exit 1; }
test "$(cat /opt/ml/input/data/train/part-0)" = rows
echo "$me" >/opt/ml/input/data/train/new-$me
sleep 1
test "$(ls /opt/ml/input/data/train | tr '\n' ' ')" = "new-$me part-0 "
echo "$me isolated as uid $(id -u)"
SH
chown -R "$SR_TEST_USER:" "$U" 2>/dev/null

test_expect_success 'a normal user: auto picks ns, each host has its name' '
	as_user "$SAGERUN" train --name names --hosts 4 --output out \
		-- sh -c "echo \$(id -u) \$(hostname) \$(cat /etc/hostname) \$SM_CURRENT_HOST" \
		>stdout 2>stderr &&
	for h in 1 2 3 4; do test_grep "^algo-$h | 0 algo-$h algo-$h algo-$h\$" stdout || exit 1; done &&
	! grep "process backend" stderr
'

test_expect_success 'every host name resolves through the host own /etc/hosts' '
	as_user "$SAGERUN" train --backend ns --name resolve --hosts 4 --output out \
		-- python3 -c "import socket; print(\" \".join(socket.gethostbyname(\"algo-%d\" % i) for i in (1, 2, 3, 4)))" \
		>stdout 2>stderr &&
	test_grep "^algo-3 | 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4\$" stdout
'

test_expect_success '4 hosts cannot see each other processes, /tmp or /opt/ml; channels are theirs' '
	as_user "$SAGERUN" train --backend ns --name iso --hosts 4 --channel train=data --output out \
		-- sh "$U/iso.sh" >stdout 2>stderr &&
	for h in 1 2 3 4; do test_grep "^algo-$h | algo-$h isolated as uid 0" stdout || exit 1; done &&
	test "$(ls "$U/data")" = part-0 &&
	tar -tzf "$U/out/iso/output/model.tar.gz" | sort >entries &&
	printf "%s\n" mine-algo-1 mine-algo-2 mine-algo-3 mine-algo-4 >expect &&
	test_cmp expect entries
'

mkdir -p "$U/runs/10:00,a\\b" && echo rows >"$U/runs/10:00,a\\b/part-0" && chown -R "$SR_TEST_USER:" "$U/runs"
test_expect_success 'a channel in a folder named with , : and \, a home named so too' '
	as_user env SAGERUN_HOME="$U/h:1,x" "$SAGERUN" train --backend ns --name sep --hosts 2 \
		--channel "train=runs/10:00,a\\b" --output out \
		-- sh -c "echo more >>/opt/ml/input/data/train/part-0; cat /opt/ml/input/data/train/part-0" \
		>stdout 2>stderr &&
	test_grep "^algo-2 | more$" stdout &&
	test "$(cat "$U/runs/10:00,a\\b/part-0")" = rows
'

test_expect_success 'the barrier example meets at algo-1:12000' '
	as_user "$SAGERUN" train --backend ns --name barrier --hosts 4 \
		--source-dir "$SR_SOURCE_DIR/examples/barrier" --entry-point train.py --hp port=12000 \
		--output out >stdout 2>stderr &&
	test_grep "^algo-1 | leader: barrier passed by 4 hosts" stdout
'

test_expect_success 'hosts reach each other and nothing on this machine' '
	python3 -u -m http.server --bind 127.0.0.1 0 >server.out 2>&1 &
	server=$!
	test_when_finished "kill $server" &&
	for _ in $(seq 1 400); do grep -o "port [0-9]*" server.out >port && break; sleep 0.05; done &&
	port=$(sed "s/port //" port) &&
	as_user "$SAGERUN" train --backend ns --name closed --hosts 1 --output out \
		-- python3 -c "import socket,sys; s=socket.socket(); s.settimeout(2); sys.exit(0 if s.connect_ex((\"127.0.0.1\", $port)) else 1)" \
		>stdout 2>stderr
'

if /usr/bin/python3 -c "import torch.distributed as d; assert d.is_gloo_available()" 2>/dev/null; then
	test_expect_success 'torch gloo all_reduce across 4 rootless hosts' '
		cp "$SR_SOURCE_DIR/examples/torch-allreduce/train.py" "$U/" &&
		as_user "$SAGERUN" train --backend ns --name gloo --hosts 4 --env MASTER_ADDR=algo-1 \
			--output out -- /usr/bin/python3 "$U/train.py" >stdout 2>stderr &&
		for h in 1 2 3 4; do
			test_grep "^algo-$h | algo-$h: rank $((h - 1)) of 4, all_reduce sum 10 (expected 10) via algo-1" stdout || exit 1
		done
	'
	test_expect_success 'the toolkit torch runner (--distribution torch), 2 rootless hosts x 2' '
		as_user "$SAGERUN" train --backend ns --name rddp --hosts 2 --distribution torch \
			--processes-per-host 2 --source-dir "$SR_SOURCE_DIR/examples/torch-ddp" \
			--entry-point train.py --output out >stdout 2>stderr &&
		for r in 0 1 2 3; do
			h=$((r / 2 + 1)) l=$((r % 2))
			test_grep "^algo-$h | algo-$h: rank $r (local $l of 2, node $((h - 1))) of 4, sum 10 (expected 10)$" stdout || exit 1
		done
	'
else
	say "torch steps left out: needs Debian's python3-torch"
fi

if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then
	test_expect_success 'mpirun across 4 rootless hosts through the sagerun agent' '
		mpicc -O2 -o "$U/allreduce" "$SR_SOURCE_DIR/examples/mpi/allreduce.c" &&
		cp "$SAGERUN" "$U/sagerun" && chmod 755 "$U/sagerun" &&
		cat >"$U/host.sh" <<-\EOS &&
		if [ "$SM_CURRENT_HOST" = algo-1 ]; then
			for h in $(echo "$SM_HOSTS" | tr -d "[]\" " | tr , " "); do echo "$h slots=1"; done >/tmp/hostfile
			mpirun --hostfile /tmp/hostfile -np 4 -mca plm_rsh_agent "$PWD/sagerun container rsh" \
				-mca plm_rsh_no_tree_spawn 1 \
				-mca btl_tcp_if_include eth0 -mca oob_tcp_if_include eth0 -mca btl ^openib ./allreduce
			rc=$?
			for h in $(echo "$SM_HOSTS" | tr -d "[]\" " | tr , " "); do
				[ "$h" = algo-1 ] || ./sagerun container rsh "$h" touch /tmp/mpi-done
			done
			exit $rc
		fi
		i=0
		while [ ! -e /tmp/mpi-done ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
		[ -e /tmp/mpi-done ]
		EOS
		as_user "$SAGERUN" train --backend ns --name mpi --hosts 4 --output out \
			--env OMPI_ALLOW_RUN_AS_ROOT=1 --env OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
			-- /bin/sh host.sh >stdout 2>stderr &&
		test_grep "allreduce ok: sum=10 over 4 ranks on algo-1,algo-2,algo-3,algo-4" stdout
	'
	test_expect_success 'the toolkit MPI runner (--distribution mpi), 2 rootless hosts x 2' '
		mkdir -p "$U/mpicode" && cp "$U/allreduce" "$U/mpicode/" &&
		chown -R "$SR_TEST_USER:" "$U/mpicode" &&
		as_user "$SAGERUN" train --backend ns --name rmpi --hosts 2 --distribution mpi \
			--processes-per-host 2 --source-dir mpicode --entry-point allreduce \
			--output out >stdout 2>stderr &&
		test_grep "allreduce ok: sum=10 over 4 ranks on algo-1,algo-1,algo-2,algo-2" stdout &&
		test_grep "rmpi: Completed" stderr
	'
else
	say "MPI steps left out: needs mpicc and mpirun"
fi

# Whether process $1 is of this test's jobs: its SAGERUN_HOME is the user's.  Other tests
# run jobs as the same user at the same time, and a freed namespace's inode number is given
# to the next one made, so a process or a namespace counts only when it is ours.
ours() {
	# a zombie has no environment to read (ESRCH): not ours to count, and quiet
	{ tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | grep -qxF "SAGERUN_HOME=$U/home"
}
# test_procs for the user's jobs.
user_procs() {
	for _p in $(pgrep "$@"); do
		ours "$_p" && echo "$_p"
	done
	return 0
}

# The job's user namespace, as its supervisor's: after the job no process may be in it (a
# namespace with no process and no fd is gone: nothing of ours binds one to a file).
userns_of() {
	readlink "/proc/$1/ns/user"
}
in_userns() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/ns/user" 2>/dev/null)" = "$1" ] && ours "${_p#/proc/}" &&
			echo "${_p#/proc/}"
	done
	return 0
}

# Namespaces the job's user namespace owns, wherever a process still holds one (lsns looks
# at every process): none may outlive the job.
owned_by() {
	lsns -n -o NS,ONS,PID 2>/dev/null | awk -v o="$1" '$2 == o { print $1, $3 }' |
		while read -r _n _p; do ours "$_p" && echo "$_n"; done
	return 0
}

# left_of_job USERNS USERNS_INODE: each process still in the job's user namespace or of the
# user's SAGERUN_HOME, and each namespace the job's user namespace owns, as ps and lsns say.
left_of_job() {
	for _p in $(in_userns "$1") $(user_procs -u "$SR_TEST_USER"); do
		ps -o pid=,ppid=,stat=,args= -p "$_p" 2>/dev/null | sed "s/^/left process: /"
	done
	for _n in $(owned_by "$2"); do
		lsns -n -o NS,TYPE,PID,COMMAND 2>/dev/null | awk -v n="$_n" '$1 == n' | sed "s/^/left namespace: /"
	done
	return 0
}

test_expect_success 'sagerun stop leaves no process or namespace of the job' '
	as_user "$SAGERUN" train -d --backend ns --name stopme --hosts 3 --output out -- sleep 2006 >job &&
	for _ in $(seq 1 300); do
		[ "$(user_procs -fx "sleep 2006" | wc -l)" -eq 3 ] && break
		sleep 0.1
	done
	pid=$(cat "$U/home/jobs/stopme/supervisor.lock") &&
	ns=$(userns_of "$pid") &&
	ns_id=$(stat -L -c %i "/proc/$pid/ns/user") &&
	test "$ns" != "$(readlink /proc/self/ns/user)" &&
	owned_by "$ns_id" >owned.during &&
	test -s owned.during &&
	as_user "$SAGERUN" stop stopme >stop.out 2>&1 &&
	test_expect_code 130 as_user "$SAGERUN" wait stopme &&
	# wait returns once the store says Stopped; the supervisor may still be on its way out
	# (under ASan its leak check takes a while, longer on a busy machine), so give the three
	# a while together, and say what is left if they outstay it
	for _ in $(seq 1 300); do
		[ -z "$(in_userns "$ns")$(user_procs -u "$SR_TEST_USER")$(owned_by "$ns_id")" ] && break
		sleep 0.1
	done &&
	left_of_job "$ns" "$ns_id" >left &&
	test_cmp /dev/null left
'

test_expect_success 'a SIGKILLed supervisor takes its hosts and namespaces with it' '
	as_user "$SAGERUN" train -d --backend ns --name killed --hosts 3 --output out -- sleep 2007 >job &&
	for _ in $(seq 1 300); do
		[ "$(user_procs -fx "sleep 2007" | wc -l)" -eq 3 ] && break
		sleep 0.1
	done
	test "$(user_procs -fx "sleep 2007" | wc -l)" -eq 3 &&
	pid=$(cat "$U/home/jobs/killed/supervisor.lock") &&
	ns=$(userns_of "$pid") &&
	ns_id=$(stat -L -c %i "/proc/$pid/ns/user") &&
	kill -9 "$pid" &&
	for _ in $(seq 1 300); do
		[ -z "$(in_userns "$ns")$(user_procs -u "$SR_TEST_USER")$(owned_by "$ns_id")" ] && break
		sleep 0.1
	done &&
	left_of_job "$ns" "$ns_id" >left &&
	test_cmp /dev/null left &&
	test -z "$(user_procs -fx "sleep 2007")"
'

test_expect_success 'rootless --network host: each host its loopback address, its agent reached' '
	cp "$SAGERUN" "$U/sagerun" && chmod 755 "$U/sagerun" &&
	cat >"$U/nethost.sh" <<-\EOS &&
	getent hosts algo-2
	if [ "$SM_CURRENT_HOST" = algo-1 ]; then
		exec ./sagerun container rsh algo-2 "echo reached \$(hostname); touch /tmp/done"
	fi
	i=0
	while [ ! -e /tmp/done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	EOS
	as_user "$SAGERUN" train --backend ns --network host --name nethost --hosts 2 --output out \
		-- /bin/sh nethost.sh >stdout 2>stderr &&
	test_grep "^algo-1 | 127\.1[0-9][0-9]\.0\.2 *algo-2$" stdout &&
	test_grep "^algo-1 | reached algo-2$" stdout
'

test_expect_success 'a rootless processing job: each host its resourceconfig.json and name' '
	as_user "$SAGERUN" process --backend ns --name rproc --hosts 2 \
		-- sh -c "echo \$(hostname) \$(cat /opt/ml/config/resourceconfig.json)" >stdout 2>stderr &&
	test_grep "^algo-2 | algo-2 {\"current_host\": \"algo-2\"" stdout &&
	test_grep "^algo-1 | algo-1 {\"current_host\": \"algo-1\"" stdout &&
	test_grep "rproc: Completed" stderr
'

# Rootless, the thread that makes the job's network steps into its namespace for good: when
# no thread can start (a C library shim refuses them all), the job fails saying so, instead of
# the supervisor itself stepping in and staying there.
cat >"$U/nothread.c" <<'C'
#include <errno.h>
#include <pthread.h>
int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	(void)t, (void)a, (void)fn, (void)arg;
	return EAGAIN;
}
C
if cc -shared -fPIC -o "$U/nothread.so" "$U/nothread.c" 2>/dev/null; then
	test_expect_success 'no thread for the network: the job fails, the supervisor stays out' '
		test_must_fail as_user env LD_PRELOAD="$U/nothread.so" \
			ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
			"$SAGERUN" train --backend ns --name nothread --hosts 2 --output out \
			-- true >stdout 2>stderr &&
		test_grep "start a thread to make the job.s network: Resource temporarily unavailable" stderr
	'
else
	say "no-thread step left out: needs a C compiler (cc)"
fi

# overlayfs leaves its work folders mode 000, which a normal user's rm must open up.
test_expect_success 'rm of a --keep-layers job leaves nothing of it' '
	as_user "$SAGERUN" train --backend ns --keep-layers --name keptrm --hosts 1 --output out \
		-- sh -c "echo x >/etc/sagerun-t2006" >stdout 2>stderr &&
	test -e "$U/home/jobs/keptrm/hosts/algo-1/layer/etc/data/sagerun-t2006" &&
	find "$U/home/jobs/keptrm" -type d -perm 000 >closed &&
	test -s closed &&
	as_user "$SAGERUN" rm keptrm >rm.out 2>&1 &&
	test ! -e "$U/home/jobs/keptrm"
'

if command -v newuidmap >/dev/null 2>&1 && command -v newgidmap >/dev/null 2>&1; then
	test_expect_success 'with a range in /etc/subuid and /etc/subgid, hosts have those ids too' '
		for f in /etc/subuid /etc/subgid; do
			# Removed at the end even when an interrupted run left it there.
			test_when_finished "sed -i \"/^$SR_TEST_USER:420000:65536\$/d\" $f" &&
			grep "^$SR_TEST_USER:" $f >/dev/null && continue
			echo "$SR_TEST_USER:420000:65536" >>$f || exit 1
		done
		as_user "$SAGERUN" train --backend ns --name subids --hosts 1 --output out \
			-- sh -c "wc -l </proc/self/uid_map; wc -l </proc/self/gid_map; touch /tmp/f; chown 1000:1000 /tmp/f && stat -c \"owner %u %g\" /tmp/f" \
			>stdout 2>stderr &&
		test "$(grep -c "^algo-1 | 2\$" stdout)" = 2 &&
		test_grep "^algo-1 | owner 1000 1000\$" stdout
	'
else
	say "subordinate ids step left out: needs newuidmap and newgidmap (uidmap)"
fi

# A process whose seccomp filter refuses user namespaces, as a container's default profile
# does: a contained host's own (t2007), where the test user runs sagerun in turn.
cat >"$U/refused.sh" <<'SH'
export SAGERUN_HOME=/tmp/home
cd /tmp
setpriv --reuid="$1" --regid="$1" --clear-groups -- "$2" train --backend ns --name inner -- true 2>ns.err
echo "ns exit $?"
sed 's/^/ns: /' ns.err
setpriv --reuid="$1" --regid="$1" --clear-groups -- "$2" train --name inner2 -- true 2>auto.err
echo "auto exit $?"
sed 's/^/auto: /' auto.err
SH

test_expect_success 'where user namespaces are refused, ns fails and auto falls back saying why' '
	cp "$SAGERUN" "$U/sagerun" && chmod 755 "$U/sagerun" &&
	sagerun train --backend ns --name refused --hosts 1 --output out \
		-- sh "$U/refused.sh" "$(id -u "$SR_TEST_USER")" "$U/sagerun" >stdout 2>stderr &&
	test_grep "^algo-1 | ns exit 2\$" stdout &&
	test_grep "^algo-1 | ns: .*--backend ns: a seccomp filter refuses user namespaces" stdout &&
	test_grep "^algo-1 | auto exit 0\$" stdout &&
	test_grep "^algo-1 | auto: sagerun: note: hosts run on the process backend" stdout &&
	test_grep "^algo-1 | auto: .*the ns backend: a seccomp filter refuses user namespaces.*seccomp=unconfined" stdout
'

test_done
