#!/bin/bash
# --mpi-launcher ssh: the training toolkit's own way of running MPI across hosts (reference
# §2.9) between containers of an image made as the toolkit asks (sshd, shared root keys,
# StrictHostKeyChecking no), against a real Docker engine and a real sshd (from Debian's
# openssh-server .deb, unpacked into the image only: this machine runs no sshd), by the docker
# backend and by docker-compose from `sagerun compose`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dockerlib.sh"
test_require ROOT
STATIC=${SAGERUN_STATIC_BIN:-$SR_SOURCE_DIR/build-static/sagerun}
DEBS=${SAGERUN_DEB_DIR:-$SR_SOURCE_DIR/.deps/deb}
[ -x "$STATIC" ] || _skip_reason="no static binary at $STATIC (run make static)"
[ -x /bin/busybox ] || _skip_reason="needs busybox-static (make deps installs it)"
command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 ||
	_skip_reason="needs mpicc and mpirun (make deps: openmpi-bin libopenmpi-dev)"
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 ||
	_skip_reason="needs ssh and ssh-keygen (make deps: openssh-client)"
ls "$DEBS"/openssh-server_*.deb "$DEBS"/libwrap0_*.deb >/dev/null 2>&1 ||
	_skip_reason="no openssh-server and libwrap0 .deb files in $DEBS (make deps downloads them)"
[ -n "${_skip_reason:-}" ] || start_engine || true
[ -z "${_skip_reason:-}" ] || say "skipping $test_name: $_skip_reason"
trap stop_engine EXIT

SSHIMG=sagerun-test-ssh:$$
NOKEYS=sagerun-test-ssh-nokeys:$$
MPIIMG=sagerun-test-mpi-nosshd:$$
jobdir() { echo "$SAGERUN_HOME/jobs/$1"; }
# What the tests expect of every job here: no container, no network, no sshd left in a
# container (this machine's own sshd forks one per login: not counted).
sshds() {
	_me=$(readlink /proc/self/ns/pid)
	for _p in $(pgrep -x sshd); do
		_ns=$(readlink "/proc/$_p/ns/pid" 2>/dev/null) && [ "$_ns" != "$_me" ] && echo "$_p"
	done | sort
	return 0
}
sshds >"$TRASH/sshd.before"
nothing_left() {
	job_leftovers "$(jobdir "$1")" >left && test_cmp /dev/null left &&
		sshds >sshd.after && test_cmp "$TRASH/sshd.before" sshd.after
}

test_expect_success 'the images: sshd, shared keys, MPI in /opt/openmpi' '
	mkdir -p mpi && mpicc -O2 -o mpi/allreduce "$SR_SOURCE_DIR/examples/mpi/allreduce.c" &&
	make_ssh_image "$SSHIMG" "$DEBS" mpi/allreduce &&
	docker run --rm --entrypoint /bin/sh "$SSHIMG" -c \
		"/usr/sbin/sshd -t && command -v orted && ! test -e /usr/bin/orted" >out &&
	test_grep "^/opt/openmpi/bin/orted$" out &&
	rm "$TRASH/image-ssh/root/.ssh/authorized_keys" &&
	import_root "$TRASH/image-ssh" "$NOKEYS" "$SSH_IMAGE_PATH" &&
	make_mpi_image "$MPIIMG" mpi/allreduce
'

test_expect_success 'MPI across 3 containers x 2 processes over ssh, as the toolkit runs it' '
	sagerun train --backend docker --image "$SSHIMG" --hosts 3 --name ssh \
		--distribution mpi --processes-per-host 2 --mpi-launcher ssh --source-dir mpi \
		--entry-point allreduce --max-run 300 >log 2>&1 &&
	test_grep "allreduce ok: sum=21 over 6 ranks on algo-1,algo-1,algo-2,algo-2,algo-3,algo-3" log &&
	test_grep "^algo-2 | sagerun: mpi: waiting for algo-1.s sshd" log &&
	test_grep "^algo-3 | sagerun: mpi: algo-1 runs mpirun; waiting for it to finish" log &&
	test_grep "^algo-1 | sagerun: mpi: mpirun --host algo-1:2,algo-2:2,algo-3:2 -np 6 " log &&
	! grep "plm_rsh_agent" log &&
	test_grep "Completed" log &&
	nothing_left ssh
'

test_expect_success 'the other hosts wrote their environment to /etc/environment, no credentials' '
	mkdir -p envcode && cat >envcode/envcheck.sh <<-\EOF &&
	# A rank: mpirun forwards the master'"'"'s SM_* (-x), /etc/environment is the host'"'"'s own.
	h=$(hostname)
	echo "rank on $h sees SM_CURRENT_HOST=$SM_CURRENT_HOST"
	[ "$h" = algo-1 ] && exit 0
	grep -q "^SM_CURRENT_HOST=$h$" /etc/environment &&
		grep -q "^PATH=/opt/openmpi/bin:" /etc/environment &&
		! grep -q "^AWS_\|^HF_TOKEN" /etc/environment && echo "$h: environment ok" &&
		[ "$HF_TOKEN" = hftok ] && [ "$AWS_SECRET_ACCESS_KEY" = sekrit ] &&
		echo "$h: credentials came through mpirun"
	EOF
	sagerun train --backend docker --image "$SSHIMG" --hosts 2 --name sshenv \
		--distribution mpi --mpi-launcher ssh \
		--env AWS_ACCESS_KEY_ID=AKIDTEST --env AWS_SECRET_ACCESS_KEY=sekrit \
		--env HF_TOKEN=hftok \
		--source-dir envcode --entry-point envcheck.sh --max-run 120 >log 2>&1 &&
	test_grep "algo-2: environment ok" log &&
	test_grep "algo-2: credentials came through mpirun" log &&
	test_grep " -x HF_TOKEN " log &&
	! grep -e hftok -e sekrit log &&
	test_grep "rank on algo-2 sees SM_CURRENT_HOST=algo-1" log &&
	nothing_left sshenv
'

test_expect_success 'without --mpi-launcher, a host with no agent config takes the ssh way if it has sshd' '
	sagerun train --backend docker --image "$SSHIMG" --hosts 2 --name sshauto \
		--distribution mpi --env SAGERUN_AGENT_CONFIG=/nonexistent --source-dir mpi \
		--entry-point allreduce --max-run 300 >log 2>&1 &&
	test_grep "allreduce ok: sum=3 over 2 ranks on algo-1,algo-2" log &&
	test_grep "^algo-2 | sagerun: mpi: waiting for algo-1.s sshd" log &&
	nothing_left sshauto
'

test_expect_success 'keys that do not let root in: the job fails at once, naming the host' '
	test_expect_code 1 sagerun train --backend docker --image "$NOKEYS" --hosts 2 \
		--name sshnokeys --distribution mpi --mpi-launcher ssh --source-dir mpi \
		--entry-point allreduce --max-run 300 >log 2>&1 &&
	test_grep "FailureReason: Framework Error" log &&
	test_grep "^ssh to algo-2 as root failed (exit 255): .*" log &&
	test_grep "^root@algo-2: Permission denied (publickey)" log &&
	python3 - "$(jobdir sshnokeys)/describe.json" <<-\PY &&
	import json, sys
	hosts = {h["Name"]: h for h in json.load(open(sys.argv[1]))["Hosts"]}
	# algo-2, waiting for the master, ends at the SIGTERM (as PID 1 of its container).
	assert hosts["algo-2"].get("Signal") == "SIGTERM", hosts
	PY
	nothing_left sshnokeys
'

test_expect_success 'an image without sshd: the toolkit'"'"'s setup, or both ways named when nothing was asked' '
	test_expect_code 1 sagerun train --backend docker --image "$MPIIMG" --hosts 2 \
		--name nosshd --distribution mpi --mpi-launcher ssh --source-dir mpi \
		--entry-point allreduce --max-run 300 >log 2>&1 &&
	test_grep "needs /usr/sbin/sshd, which this host lacks" log &&
	test_grep "apt-get install openssh-server" log &&
	nothing_left nosshd &&
	test_expect_code 1 sagerun train --backend docker --image "$MPIIMG" --hosts 2 \
		--name noway --distribution mpi --env SAGERUN_AGENT_CONFIG=/nonexistent \
		--source-dir mpi --entry-point allreduce --max-run 300 >log 2>&1 &&
	test_grep "needs sagerun.s rsh agent on every host (/nonexistent is missing), or sshd in the image" log &&
	nothing_left noway
'

test_expect_success 'the flag: only for MPI jobs, only sagerun or ssh, only for containers' '
	test_expect_code 2 sagerun train --backend process --hosts 2 --name x1 \
		--distribution mpi --mpi-launcher ssh --source-dir mpi --entry-point allreduce \
		2>err &&
	test_grep "the process backend.s hosts share this machine.s sshd" err &&
	test_grep "hint: add --backend docker --image IMAGE" err &&
	test_expect_code 2 sagerun train --backend process --hosts 2 --name x2 \
		--mpi-launcher ssh --source-dir mpi --entry-point allreduce 2>err &&
	test_grep "mpi-launcher.*is for MPI jobs" err &&
	test_expect_code 2 sagerun train --backend process --hosts 2 --name x3 \
		--distribution mpi --mpi-launcher rsh --source-dir mpi --entry-point allreduce \
		2>err &&
	test_grep "expected sagerun or ssh" err
'

# compose_mpi NAME IMAGE [FLAGS...]: `sagerun compose` of a 2-host MPI job, run by docker-compose.
compose_mpi() {
	_n=$1 _img=$2
	shift 2
	mkdir -p "c$_n" && (cd "c$_n" && sagerun compose --image "$_img" --hosts 2 --name "$_n" \
		--distribution mpi --processes-per-host 2 "$@" --source-dir ../mpi \
		--entry-point allreduce >../file) &&
	_f=$(cat file) &&
	test_when_finished "docker-compose -p sr$_n$$ -f $_f down >/dev/null 2>&1" &&
	docker-compose -p "sr$_n$$" -f "$_f" up >up.log 2>&1 &&
	docker-compose -p "sr$_n$$" -f "$_f" ps >ps.log 2>&1 &&
	test "$(grep -c "Exit 0" ps.log)" = 2 &&
	test_grep "allreduce ok: sum=10 over 4 ranks on algo-1,algo-1,algo-2,algo-2" up.log &&
	docker-compose -p "sr$_n$$" -f "$_f" down >down.log 2>&1 &&
	job_leftovers "$PWD/c$_n/sagerun-$_n" >left && test_cmp /dev/null left
}

test_expect_success 'compose: MPI through sagerun'"'"'s agents, and the ssh way, under docker-compose' '
	compose_mpi cagent "$MPIIMG" &&
	! grep -q SAGERUN_MPI_LAUNCHER "$(cat file)" &&
	compose_mpi cssh "$SSHIMG" --mpi-launcher ssh &&
	test_grep "SAGERUN_MPI_LAUNCHER=ssh" "$(cat file)" &&
	test_grep "waiting for algo-1.s sshd" up.log
'

docker rmi "$SSHIMG" "$NOKEYS" "$MPIIMG" >/dev/null 2>&1
stop_engine
test_done
