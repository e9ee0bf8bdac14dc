#!/bin/bash
# A processing job next to a training job: wall time from launch to exit of `sagerun process`
# and `sagerun train` with the same hosts running `true`, on the ns backend (as root) and the
# process backend, all in the same run.  The goal is processing no slower than training.
# The four take turns (run 1 of each, then run 2 of each...), since this shared machine drifts
# by a factor of two within minutes (scale.sh); each is given as its mean and median, and the
# ratio process / train per backend, of the means and of the medians.
# Results go to docs/performance.md.
#   RUNS=30 HOSTS=4 bench/process-vs-train.sh build/sagerun
set -euo pipefail

SAGERUN=$(realpath "${1:-build/sagerun}")
RUNS=${RUNS:-30}
HOSTS=${HOSTS:-4}
work=$(mktemp -d /tmp/sagerun-pvt.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SAGERUN_HOME="$work/home" NO_COLOR=1
cd "$work"

backends="process"
[ "$(id -u)" -eq 0 ] && backends="ns process"

# Each from its defaults: a training job packs its model and output tarballs into
# ./sagerun-output, a processing job without outputs uploads nothing.
job() { # kind backend name
	"$SAGERUN" "$1" --backend "$2" --name "$3" --hosts "$HOSTS" --stop-grace 1 \
		-- /bin/true </dev/null >/dev/null 2>&1 || { echo "bench: $1 on $2 failed" >&2; exit 1; }
}

declare -A times # key -> the run times in microseconds, one a line
time_one() {     # key kind backend name
	local key=$1 start end
	shift
	start=$(date +%s%N)
	job "$@"
	end=$(date +%s%N)
	times[$key]+="$(((end - start) / 1000))"$'\n'
}

for b in $backends; do # the first runs pay for the page cache and the binary's loading
	job train "$b" "warm-train-$b"
	job process "$b" "warm-process-$b"
done
for i in $(seq 1 "$RUNS"); do
	for b in $backends; do
		time_one "train-$b" train "$b" "train-$b-$i"
		time_one "process-$b" process "$b" "process-$b-$i"
	done
done

stats() { # key: "mean median" in ms
	printf '%s' "${times[$1]}" | sort -n |
		awk '{ v[NR] = $1; s += $1 } END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f", s / NR / 1000, m / 1000 }'
}

printf 'launch to exit of a %d-host job running true, %d runs each, in turns:\n' "$HOSTS" "$RUNS"
printf '  %-36s %9s %9s\n' "" mean median
for b in $backends; do
	for k in train process; do
		read -r mean median <<<"$(stats "$k-$b")"
		printf '  %-36s %6.1f ms %6.1f ms\n' "sagerun $k --backend $b" "$mean" "$median"
	done
done
for b in $backends; do
	read -r tm tmed <<<"$(stats "train-$b")"
	read -r pm pmed <<<"$(stats "process-$b")"
	awk -v b="$b" -v tm="$tm" -v pm="$pm" -v tmed="$tmed" -v pmed="$pmed" 'BEGIN {
		printf "  ratio process / train, %s: %.2f (means), %.2f (medians)\n", b, pm / tm, pmed / tmed }'
done
