#!/bin/bash
# Launch overhead of a 4-host job, sagerun next to a peer in the same run.
#
# The peer is the least users write by hand today without a cluster tool: a shell script that
# lays out a per-host folder, writes a minimal resourceconfig.json with printf, starts the N
# processes with a couple of SM_* variables and tars the model.  (The SDK's local mode and the
# per-project generators do more, in Python, and are slower still.)
# Both run the same trivial program (/bin/true) so what is measured is the launcher.
# Output: mean wall time per job for each, and the ratio; results go to docs/performance.md.
set -euo pipefail

SAGERUN=${1:-build/sagerun}
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

time_it() {
	local what=$1 start end i
	start=$(date +%s%N)
	for i in $(seq 1 "$RUNS"); do
		"$what" "$what-$i" || { echo "bench: $what failed" >&2; exit 1; }
	done
	end=$(date +%s%N)
	echo $(((end - start) / RUNS / 1000))
}

ours warmup-1 # first run pays for page cache and binary loading
peer_us=$(time_it peer)
ours_us=$(time_it ours)
ns_us=0
if [ "$(id -u)" -eq 0 ] && oursns warmup-ns; then
	ns_us=$(time_it oursns)
fi
printf 'launch of a %d-host job, mean of %d runs (wall clock):\n' "$HOSTS" "$RUNS"
awk -v o="$ours_us" -v n="$ns_us" -v p="$peer_us" 'BEGIN {
	printf "  %-40s %8.1f ms\n", "sagerun train --backend process", o / 1000
	if (n > 0)
		printf "  %-40s %8.1f ms\n", "sagerun train --backend ns", n / 1000
	printf "  %-40s %8.1f ms\n", "hand-written shell launcher", p / 1000
	printf "  ratio sagerun process / peer: %.2f\n", o / p
	if (n > 0)
		printf "  ratio sagerun ns / peer: %.2f\n", n / p
}'
