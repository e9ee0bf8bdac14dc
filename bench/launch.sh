#!/bin/bash
# Launch overhead of a 4-host job, sagerun next to a peer in the same run.
#
# The peer is the least users write by hand today without a cluster tool: a shell script that
# lays out a per-host folder, writes a minimal resourceconfig.json with printf, starts the N
# processes with a couple of SM_* variables and tars the model.  (The SDK's local mode and the
# per-project generators do more, in Python, and are slower still.)
# Both run the same trivial program (/bin/true) so what is measured is the launcher.
# When a Docker engine answers (DOCKER_HOST, else /var/run/docker.sock), the same job also
# runs on the docker backend and as `docker-compose up` (then `down`, as the backend removes
# its containers too) of the file `sagerun compose` writes, DOCKER_RUNS times each, with an
# image imported from a folder holding busybox-static.
# Output: mean wall time per job for each, and the ratio; results go to docs/performance.md.
set -euo pipefail

SAGERUN=$(realpath "${1:-build/sagerun}")
RUNS=${RUNS:-20}
HOSTS=${HOSTS:-4}
work=$(mktemp -d /tmp/sagerun-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SAGERUN_HOME="$work/home" NO_COLOR=1

peer() {
	local job=$1 dir="$work/peer/$1" i pids=() hosts_json
	hosts_json="[$(for i in $(seq 1 "$HOSTS"); do printf '"algo-%d",' "$i"; done)"
	hosts_json="${hosts_json%,}]"
	for i in $(seq 1 "$HOSTS"); do
		mkdir -p "$dir/algo-$i/input/config" "$dir/algo-$i/model" "$dir/algo-$i/output/data"
		printf '{"current_host": "algo-%d", "hosts": %s}' "$i" "$hosts_json" \
			>"$dir/algo-$i/input/config/resourceconfig.json"
		SM_CURRENT_HOST="algo-$i" SM_MODEL_DIR="$dir/algo-$i/model" /bin/true &
		pids+=($!)
	done
	wait "${pids[@]}"
	tar -czf "$dir/model.tar.gz" -C "$dir/algo-1/model" .
}

ours() {
	"$SAGERUN" train --backend process --name "$1" --hosts "$HOSTS" --stop-grace 1 \
		--output "$work/out" -- /bin/true >/dev/null 2>&1
}

oursns() {
	"$SAGERUN" train --backend ns --name "$1" --hosts "$HOSTS" --stop-grace 1 \
		--output "$work/out" -- /bin/true >/dev/null 2>&1
}

IMAGE=sagerun-bench-true:1
oursdocker() {
	"$SAGERUN" train --backend docker --image "$IMAGE" --name "$1" --hosts "$HOSTS" \
		--stop-grace 1 --output "$work/out" -- /bin/true >/dev/null 2>&1
}

compose_up() {
	local f="$work/compose/$1.yaml"
	docker-compose -f "$f" -p "$1" up >/dev/null 2>&1 &&
		docker-compose -f "$f" -p "$1" down >/dev/null 2>&1
}

docker_engine() {
	if [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ]; then
		export DOCKER_HOST=unix:///var/run/docker.sock
	fi
	[ -n "${DOCKER_HOST:-}" ] && docker version >/dev/null 2>&1 &&
		command -v docker-compose >/dev/null 2>&1 || return 1
	mkdir -p "$work/img/bin" "$work/compose" && cp /bin/busybox "$work/img/bin/busybox" &&
		ln -s /bin/busybox "$work/img/bin/true" &&
		tar -C "$work/img" -c . | docker import - "$IMAGE" >/dev/null
}

time_it() {
	local what=$1 start end i runs=${2:-$RUNS}
	start=$(date +%s%N)
	for i in $(seq 1 "$runs"); do
		"$what" "$what-$i" || { echo "bench: $what failed" >&2; exit 1; }
	done
	end=$(date +%s%N)
	echo $(((end - start) / runs / 1000))
}

ours warmup-1 # first run pays for page cache and binary loading
peer_us=$(time_it peer)
ours_us=$(time_it ours)
ns_us=0
if [ "$(id -u)" -eq 0 ] && oursns warmup-ns; then
	ns_us=$(time_it oursns)
fi
docker_us=0 compose_us=0 DOCKER_RUNS=${DOCKER_RUNS:-5}
if docker_engine && oursdocker warmup-docker; then
	docker_us=$(time_it oursdocker "$DOCKER_RUNS")
	for i in $(seq 1 "$DOCKER_RUNS"); do
		(cd "$work/compose" && "$SAGERUN" compose --image "$IMAGE" --name "compose-up-$i" \
			--hosts "$HOSTS" -o "compose_up-$i.yaml" -- /bin/true >/dev/null 2>&1)
	done
	compose_us=$(time_it compose_up "$DOCKER_RUNS")
	docker rmi "$IMAGE" >/dev/null 2>&1 || true
fi
printf 'launch of a %d-host job, mean of %d runs (wall clock):\n' "$HOSTS" "$RUNS"
awk -v o="$ours_us" -v n="$ns_us" -v p="$peer_us" -v d="$docker_us" -v c="$compose_us" \
	-v r="$DOCKER_RUNS" 'BEGIN {
	printf "  %-40s %8.1f ms\n", "sagerun train --backend process", o / 1000
	if (n > 0)
		printf "  %-40s %8.1f ms\n", "sagerun train --backend ns", n / 1000
	if (d > 0)
		printf "  %-40s %8.1f ms  (%d runs)\n", "sagerun train --backend docker", d / 1000, r
	if (c > 0)
		printf "  %-40s %8.1f ms  (%d runs)\n", "docker-compose up + down (same job)", c / 1000, r
	printf "  %-40s %8.1f ms\n", "hand-written shell launcher", p / 1000
	printf "  ratio sagerun process / peer: %.2f\n", o / p
	if (n > 0)
		printf "  ratio sagerun ns / peer: %.2f\n", n / p
	if (d > 0 && c > 0)
		printf "  ratio sagerun docker / docker-compose: %.2f\n", d / c
	if (d > 0 && n > 0)
		printf "  ratio sagerun ns / sagerun docker: %.3f\n", n / d
}'
