#!/bin/bash
# Wall time from launch to exit of an N-host job whose hosts run `true`, for N = 1, 4, 16, 64:
# sagerun's ns backend (contained, as root), ns --privileged (uncontained: what containment
# costs), rootless ns (as the normal user $BENCH_USER, made if missing: what the user namespace
# adds) and the process backend next to Open MPI's `mpirun --oversubscribe -n N true` and,
# when a Docker engine answers, N parallel `docker run --rm` of a tiny local image, all in the
# same run.  Then sagerun's own memory per host: the proportional set size (PSS) of every
# sagerun process of a running job (supervisor, each host's init and rsh agent), 16 hosts
# minus 1 host, divided by 15.  Results go to docs/performance.md.
#   RUNS=5 SIZES="1 4 16 64" PAUSE=0 bench/scale.sh build/sagerun
set -euo pipefail

SAGERUN=$(realpath "${1:-build/sagerun}")
RUNS=${RUNS:-5}
SIZES=${SIZES:-"1 4 16 64"}
# Seconds of rest before each run (every peer alike): 0 measures back-to-back runs, where
# the kernel still tears down the previous job's network namespaces (in a kworker, holding
# the rtnl lock) while the next job starts; 0.5 measures a job started on a quiet machine.
PAUSE=${PAUSE:-0}
IMAGE=sagerun-bench-tiny:latest
work=$(mktemp -d /tmp/sagerun-scale.XXXXXX)
made_image=false
cleanup() {
	rm -rf "$work"
	if $made_image; then docker image rm -f "$IMAGE" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
export SAGERUN_HOME="$work/home" NO_COLOR=1
HUNG_FILE=$work/hung
: >"$HUNG_FILE"

backends="process"
# Rootless ns runs as this user, in a folder of its own.
BENCH_USER=${BENCH_USER:-sagerun-test}
if [ "$(id -u)" -eq 0 ]; then
	backends="ns ns-privileged process"
	if id -u "$BENCH_USER" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /bin/sh "$BENCH_USER" 2>/dev/null; then
		chmod 755 "$work"
		mkdir -p "$work/user" && chown "$BENCH_USER:" "$work/user"
		backends="ns ns-privileged ns-rootless process"
	fi
fi
have_mpirun=false
command -v mpirun >/dev/null && have_mpirun=true

# A tiny image without any registry: busybox-static imported from a folder.
have_docker=false
if command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
	if docker image inspect "$IMAGE" >/dev/null 2>&1; then
		have_docker=true
	elif [ -x /bin/busybox ]; then # busybox-static
		mkdir -p "$work/img/bin"
		cp /bin/busybox "$work/img/bin/busybox"
		ln -s busybox "$work/img/bin/true"
		tar -C "$work/img" -c . | docker import - "$IMAGE" >/dev/null && have_docker=true &&
			made_image=true
	fi
fi
$have_docker || echo "# no Docker engine (or no /bin/busybox to build an image): docker column skipped" >&2

# Every peer of one size is timed in turns, run 1 of each, then run 2 of each...: this shared
# machine drifts by a factor of two within minutes, and blocks of one peer's runs after
# another's would measure the drift.  A run that hangs (exit 124 from timeout: Open MPI's
# mpirun -n 64 hangs now and then here) is left out and counted in HUNG_FILE; a peer with a
# failed run is "failed".
declare -A total ok
time_one() { # key command...
	local key=$1 start end rc
	shift
	[ "${ok[$key]}" = failed ] && return
	[ "$PAUSE" = 0 ] || sleep "$PAUSE"
	start=$(date +%s%N)
	"$@" </dev/null >/dev/null 2>&1 && rc=0 || rc=$?
	end=$(date +%s%N)
	if [ $rc -eq 124 ]; then
		echo "$key" >>"$HUNG_FILE"
	elif [ $rc -ne 0 ]; then
		ok[$key]=failed
	else
		total[$key]=$((total[$key] + end - start))
		ok[$key]=$((ok[$key] + 1))
	fi
}

mean_ms() { # key
	case "${ok[$1]}" in
	failed | 0) echo failed ;;
	*) echo $((total[$1] / ok[$1] / 1000000)) ;;
	esac
}

run_sagerun() { # backend n i
	case $1 in
	ns-privileged)
		"$SAGERUN" train --backend ns --privileged --name "s-$1-$2-$3" --hosts "$2" \
			--stop-grace 1 --output "$work/out" -- true
		;;
	ns-rootless)
		# setpriv, not runuser: no PAM session to time.
		(cd "$work/user" && setpriv --reuid="$BENCH_USER" --regid="$BENCH_USER" \
			--clear-groups -- env -i PATH=/usr/bin:/bin \
			HOME="$work/user" SAGERUN_HOME="$work/user/home" NO_COLOR=1 \
			"$SAGERUN" train --backend ns --name "s-$1-$2-$3" --hosts "$2" --stop-grace 1 \
			--output "$work/user/out" -- true)
		;;
	*)
		"$SAGERUN" train --backend "$1" --name "s-$1-$2-$3" --hosts "$2" --stop-grace 1 \
			--output "$work/out" -- true
		;;
	esac
}

run_mpirun() { # n i
	timeout 20 mpirun --allow-run-as-root --oversubscribe -n "$1" true
}

run_peer() { # peer n i
	case "$1" in
	sagerun-*) run_sagerun "${1#sagerun-}" "$2" "$3" ;;
	mpirun) run_mpirun "$2" "$3" ;;
	docker) run_docker "$2" "$3" ;;
	esac
}

run_docker() { # n i
	local pids=() k
	for k in $(seq 1 "$1"); do docker run --rm --network none "$IMAGE" /bin/true & pids+=($!); done
	wait "${pids[@]}"
}

# PSS in KiB of every process whose comm is sagerun or sagerun-init, while a job of N hosts
# sleeps: what this machine pays for sagerun itself, shared pages counted once.
pss_of_job() { # backend n
	local pid total=0 p
	"$SAGERUN" train --backend "$1" --name "pss-$1-$2" --hosts "$2" --output "$work/out" \
		-- sleep 3 >/dev/null 2>&1 &
	pid=$!
	sleep 1.5
	for p in $(pgrep -x 'sagerun|sagerun-init'); do
		p=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
		total=$((total + ${p:-0}))
	done
	wait "$pid"
	echo "$total"
}

printf '%-6s' hosts
for b in $backends; do printf '%22s' "sagerun $b"; done
$have_mpirun && printf '%16s' mpirun
$have_docker && printf '%16s' "docker run"
printf '\n'
declare -A t
for n in $SIZES; do
	peers=""
	for b in $backends; do peers="$peers sagerun-$b"; done
	$have_mpirun && peers="$peers mpirun"
	$have_docker && peers="$peers docker"
	for p in $peers; do # a warm-up run each, not timed
		total[$p-$n]=0
		ok[$p-$n]=0
		run_peer "$p" "$n" warm </dev/null >/dev/null 2>&1 || true
	done
	for i in $(seq 1 "$RUNS"); do
		for p in $peers; do time_one "$p-$n" run_peer "$p" "$n" "$i"; done
	done
	printf '%-6s' "$n"
	for b in $backends; do
		t[$b-$n]=$(mean_ms "sagerun-$b-$n")
		printf '%19s ms' "${t[$b-$n]}"
	done
	if $have_mpirun; then
		t[mpirun-$n]=$(mean_ms "mpirun-$n")
		printf '%13s ms' "${t[mpirun-$n]}"
	fi
	if $have_docker; then
		t[docker-$n]=$(mean_ms "docker-$n")
		printf '%13s ms' "${t[docker-$n]}"
	fi
	printf '\n'
done

first=${backends%% *}
for n in $SIZES; do
	[ "${t[$first-$n]}" = failed ] && continue
	for b in ns-privileged ns-rootless; do
		case " $backends " in *" $b "*) ;; *) continue ;; esac
		[ "${t[$b-$n]}" = failed ] || [ "${t[$first-$n]}" -eq 0 ] ||
			awk -v a="${t[$b-$n]}" -v b="${t[$first-$n]}" -v n="$n" -v k="$b" \
				'BEGIN { printf "ratio sagerun %s / ns, %d hosts: %.2f\n", k, n, a / b }'
		if $have_mpirun && [ "${t[$b-$n]}" != failed ] && [ "${t[mpirun-$n]:-failed}" != failed ] &&
			[ "${t[mpirun-$n]}" -gt 0 ]; then
			awk -v a="${t[$b-$n]}" -v b="${t[mpirun-$n]}" -v n="$n" -v k="$b" \
				'BEGIN { printf "ratio sagerun %s / mpirun, %d hosts: %.2f\n", k, n, a / b }'
		fi
	done
	if $have_mpirun && [ "${t[mpirun-$n]:-failed}" != failed ] && [ "${t[mpirun-$n]}" -gt 0 ]; then
		awk -v a="${t[$first-$n]}" -v b="${t[mpirun-$n]}" -v n="$n" -v f="$first" \
			'BEGIN { printf "ratio sagerun %s / mpirun, %d hosts: %.2f\n", f, n, a / b }'
	fi
	if $have_docker && [ "${t[docker-$n]:-failed}" != failed ] && [ "${t[docker-$n]}" -gt 0 ]; then
		awk -v a="${t[$first-$n]}" -v b="${t[docker-$n]}" -v n="$n" -v f="$first" \
			'BEGIN { printf "ratio sagerun %s / docker run, %d hosts: %.2f\n", f, n, a / b }'
	fi
done

if [ -s "$HUNG_FILE" ]; then
	sort "$HUNG_FILE" | uniq -c | sed 's/^ *\([0-9]*\) /hung and left out: \1 x /'
fi
one=$(pss_of_job "$first" 1)
sixteen=$(pss_of_job "$first" 16)
echo "sagerun $first memory: $one KiB PSS for 1 host, $sixteen KiB for 16:" \
	"$(((sixteen - one) / 15)) KiB per host"
