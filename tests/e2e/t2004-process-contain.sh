#!/bin/bash
# Issue 16: what a process-backend host starts ends with the job.  Each host leaves a setsid
# daemon, a double fork and a nohup process behind, and the job completes, fails, is stopped
# by `sagerun stop`, or loses its supervisor to SIGKILL (the next sagerun command then ends
# them): none of them is left, and no cgroup of the job either.  As root a cgroup2 group per
# host holds them all, even a process that clears its environment; as a normal user, with no
# writable cgroup2 group, the sweep by the hosts' environment marker does (env -i escapes it:
# not tested there, see process_leftovers.c).
. "$(dirname "$0")/lib.sh"

# $1: how the host ends (exit0, fail, wait); $2: also start a process with an empty
# environment.  Each process writes its pid once it runs; the host says "ready" only then.
cat >host.sh <<'SH'
d=$PIDS/$TRAINING_JOB_NAME-$SM_CURRENT_HOST
grep "^0::" /proc/self/cgroup >"$d.cgroup"
setsid sh -c 'echo $$ >"$0.pid.setsid"; exec sleep 361' "$d" &
(sh -c 'echo $$ >"$0.pid.double"; exec sleep 362' "$d" &)
nohup sh -c 'echo $$ >"$0.pid.nohup"; exec sleep 363' "$d" >/dev/null 2>&1 &
n=3
if [ "$2" = cleared ]; then
	setsid env -i /bin/sh -c 'echo $$ >"$0.pid.cleared"; exec /bin/sleep 364' "$d" &
	n=4
fi
while [ "$(cat "$d".pid.* 2>/dev/null | wc -l)" -lt $n ]; do sleep 0.02; done
echo "$SM_CURRENT_HOST ready"
touch "$d.ready"
case $1 in
exit0) exit 0 ;;
fail)
	# Not before the other host is ready: a failure stops it, maybe before its processes ran.
	while [ "$(ls "$PIDS/$TRAINING_JOB_NAME"-algo-*.ready 2>/dev/null | wc -l)" -lt 2 ]; do sleep 0.02; done
	exit 3 ;;
*) exec sleep 365 ;;
esac
SH
chmod 644 host.sh

# Whether a process exists and has not ended (a zombie has).
alive() {
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $_st in Z*) return 1 ;; esac
	return 0
}

cgroup2_mounts() {
	awk '/ - cgroup2 / { print $5 }' /proc/self/mountinfo
}

# nothing_left NAME HOME PROCS: the job's hosts wrote PROCS pid files, none of those processes
# runs, and no cgroup of the job is left (its record neither).
nothing_left() {
	_n=0
	for _f in "$PIDS/$1"-algo-*.pid.*; do
		[ -s "$_f" ] || continue
		_n=$((_n + 1))
		if alive "$(cat "$_f")"; then
			echo "left behind: $_f: $(ps -o pid=,sid=,args= -p "$(cat "$_f")")"
			return 1
		fi
	done
	[ "$_n" -eq "$3" ] || { echo "$_n pid files of $1, expected $3"; return 1; }
	for _m in $(cgroup2_mounts); do
		find "$_m" -type d -name "sagerun-$1-*" >cgroups.left 2>/dev/null
		test_cmp /dev/null cgroups.left || return 1
	done
	test ! -e "$2/jobs/$1/hosts.cgroup"
}

# After a failed step: what the job left is killed (by the pids it wrote, if they still run
# this test's sleeps) and the job stopped, so nothing outlives the test.
kill_left() {
	for _f in "$PIDS/$1"-algo-*.pid.*; do
		[ -s "$_f" ] || continue
		ps -o args= -p "$(cat "$_f")" 2>/dev/null | grep "sleep 36[1-5]" >/dev/null &&
			kill -9 "$(cat "$_f")"
	done
	$run "$SAGERUN" stop "$1" >/dev/null 2>&1
}

# in_cgroups NAME: how many of the job's hosts ran in a cgroup of sagerun's.
in_cgroups() {
	cat "$PIDS/$1"-algo-*.cgroup | grep -c "^0::.*/sagerun-$1-[0-9a-f]*/algo-[0-9]*\$"
}

# Would sagerun, run by `$@`, find a writable cgroup2 group of its own (as process_cgroup.c
# looks: the group of /proc/self/cgroup on a cgroup2 mount of the whole hierarchy)?
can_cgroup() {
	"$@" sh -c '
		own=$(sed -n "s/^0:://p" /proc/self/cgroup)
		for m in $(awk "/ - cgroup2 / && \$4 == \"/\" { print \$5 }" /proc/self/mountinfo); do
			test -w "$m$own" && test -w "$m$own/cgroup.procs" && exit 0
		done
		exit 1'
}

# detached NAME: a job of two hosts in the background (-d), once both are ready.
detached() {
	$run "$SAGERUN" train -d --backend process --name $1 --hosts 2 --output out \
		-- /bin/sh "$TRASH/host.sh" wait $cleared >/dev/null &&
		test_wait_lines 2 "ready\$" $run "$SAGERUN" logs -f $1
}

# The four ends of a job, run by `$run` (a prefix: the user, its SAGERUN_HOME), for
# `$label`; $procs pid files per job, $hosts_in_cgroup hosts in a cgroup each.
four_ends() {
	test_expect_success "$label: a completed job leaves nothing behind" '
		test_when_finished "kill_left $label-done" &&
		$run "$SAGERUN" train --backend process --name $label-done --hosts 2 --output out \
			-- /bin/sh "$TRASH/host.sh" exit0 $cleared >stdout 2>stderr &&
		test_grep "$label-done: Completed" stderr &&
		test "$(in_cgroups $label-done)" = $hosts_in_cgroup &&
		nothing_left $label-done "$home" $procs
	'

	test_expect_success "$label: a failed job leaves nothing behind" '
		test_when_finished "kill_left $label-fail" &&
		test_must_fail $run "$SAGERUN" train --backend process --name $label-fail --hosts 2 \
			--output out -- /bin/sh "$TRASH/host.sh" fail $cleared >stdout 2>stderr &&
		test_grep "$label-fail: Failed" stderr &&
		nothing_left $label-fail "$home" $procs
	'

	test_expect_success "$label: a job stopped by sagerun stop leaves nothing behind" '
		test_when_finished "kill_left $label-stop" &&
		detached $label-stop &&
		if [ $hosts_in_cgroup -gt 0 ]; then
			cg=$(cat "$home/jobs/$label-stop/hosts.cgroup") &&
			test -d "$cg/algo-1" && test -d "$cg/algo-2" || exit 1
		fi &&
		$run "$SAGERUN" stop $label-stop 2>stderr &&
		test_expect_code 130 $run "$SAGERUN" wait $label-stop &&
		nothing_left $label-stop "$home" $procs
	'

	test_expect_success "$label: a SIGKILLed supervisor leaves nothing once sagerun runs again" '
		test_when_finished "kill_left $label-kill" &&
		detached $label-kill &&
		pid=$(cat "$home/jobs/$label-kill/supervisor.lock") &&
		kill -9 "$pid" &&
		while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done &&
		$run "$SAGERUN" ps -a >ps.out 2>ps.err &&
		test_grep "job .$label-kill. lost its supervisor" ps.err &&
		! grep "warning" ps.err &&
		nothing_left $label-kill "$home" $procs
	'
}

# As root: a cgroup per host where this machine has a writable cgroup2 group, else the sweep.
if [ "$(id -u)" -eq 0 ]; then
	label=root home=$SAGERUN_HOME
	export PIDS=$TRASH/pids-root
	mkdir -p "$PIDS"
	run=""
	if can_cgroup; then
		cleared=cleared procs=8 hosts_in_cgroup=2
	else
		say "no writable cgroup2 group here: the root steps run the sweep"
		cleared="" procs=6 hosts_in_cgroup=0
	fi
	four_ends
else
	label=root _skip_reason="needs root (the user steps below run as this user)"
	four_ends
	_skip_reason=""
fi

# As a normal user: the user sagerun-test (made once and kept: tests running in parallel may
# use it), or this one when the test does not run as root.
if [ "$(id -u)" -eq 0 ]; then
	test_user_create || _skip_reason="cannot create the user $SR_TEST_USER"
	user=$SR_TEST_USER
	as_user="setpriv --reuid=$user --regid=$user --clear-groups --"
else
	user=$(id -un)
	as_user=""
fi
label=user home=$TRASH/home-user
export PIDS=$TRASH/pids-user
mkdir -p "$home" "$PIDS" out-user
if [ -z "${_skip_reason:-}" ]; then
	[ -z "$as_user" ] || { chmod 711 "$TRASH" && chown "$user" "$home" "$PIDS" out-user; }
	run="$as_user env SAGERUN_HOME=$home"
	cleared="" procs=6
	if can_cgroup $as_user; then
		say "$user can write a cgroup2 group of its own: its hosts run in cgroups too"
		hosts_in_cgroup=2
	else
		hosts_in_cgroup=0
	fi
	# The jobs write their outputs where the user may.
	cd out-user || exit 1
fi
four_ends

test_expect_success 'pgrep finds no process of these jobs' '
	test_procs -f "sleep 36[1-5]" >left &&
	(SAGERUN_HOME=$TRASH/home-user && test_procs -f "sleep 36[1-5]") >>left &&
	test_cmp /dev/null left
'

# Issue 19: a process host is no namespaced host, and the job says so once, naming the way.
test_expect_success 'every job on the process backend says once what its hosts are not' '
	sagerun train --backend process --name said --hosts 3 --output out -- true >stdout 2>stderr &&
	test "$(grep -c "hosts are plain processes: algo-N names do not resolve" stderr)" = 1 &&
	test_grep "/tmp, /opt/ml.s path and this machine.s network are shared, and nothing is contained" stderr &&
	test_grep -- "--backend ns gives each host its name, network, /tmp and a container.s limits" stderr
'

test_done
