#!/bin/bash
# The graph pipeline on sagerun, GraphStorm's shape: generate (a processing job), partition
# random and ParMETIS (processing jobs on N hosts), train (a training job on N hosts, one
# partition each), infer (a processing job); each stage reads the previous stage's output.
#
#   examples/graph/pipeline.sh --hosts N --nodes M [--seed S] --out DIR|s3://bucket/prefix
#
# leaves DIR/graph (the chunked graph with its metadata.json), DIR/partition-random and
# DIR/partition-parmetis (<ntype>.txt and partition_meta.json), DIR/model (the training job's
# <job>/output/model.tar.gz) and DIR/infer (part-<host>.txt, top.txt), and prints each
# stage's time (sagerun's whole run and the stage's own compute) and each partition's edge
# cut and balance.  MPI between hosts needs the ns backend: run it as root.
#
# SAGERUN names the sagerun binary (default: the one on PATH, else the tree's build/sagerun);
# GRAPH_BIN a folder with the stages already built (default: built here with make).  With an
# s3:// output, sagerun's usual S3 settings apply (AWS_ENDPOINT_URL, credentials).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() {
	echo "usage: $0 --hosts N --nodes M [--seed S] --out DIR|s3://bucket/prefix" >&2
	exit 2
}
hosts="" nodes="" seed=1 out=""
while [ $# -gt 0 ]; do
	case $1 in
	--hosts) hosts=${2:-} ;;
	--nodes) nodes=${2:-} ;;
	--seed) seed=${2:-} ;;
	--out) out=${2:-} ;;
	*) usage ;;
	esac
	[ $# -ge 2 ] || usage
	shift 2
done
case $hosts in '' | *[!0-9]* | 0) usage ;; esac
case $nodes in '' | *[!0-9]*) usage ;; esac
case $seed in '' | *[!0-9]*) usage ;; esac
[ -n "$out" ] || usage
out=${out%/}
case $out in
s3://*) ;;
/*) mkdir -p "$out" ;;
*) mkdir -p "$out" && out=$(cd "$out" && pwd) ;;
esac

if [ -z "${SAGERUN:-}" ]; then
	SAGERUN=$(command -v sagerun || echo "$here/../../build/sagerun")
fi
[ -x "$SAGERUN" ] || { echo "pipeline: no sagerun at $SAGERUN (make, or set SAGERUN)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/graph-pipeline.XXXXXX")
if [ -z "${GRAPH_BIN:-}" ]; then
	GRAPH_BIN=$work/bin
	make -s -C "$here" BIN="$GRAPH_BIN" >&2
fi
logs=$work/logs
mkdir -p "$logs"
stamp=g$(date +%m%d%H%M%S)-$$
code=/opt/ml/processing/input/code

# now: seconds since the epoch, to the nanosecond.
now() { date +%s.%N; }
# stage NAME COMMAND...: run a sagerun job, its output in $logs/NAME.{out,err}; prints the
# wall time and the stage's own compute time (the longest "stage time" a host printed).
stage() {
	local name=$1 t0 t1 own
	shift
	t0=$(now)
	if ! "$@" >"$logs/$name.out" 2>"$logs/$name.err"; then
		echo "pipeline: stage $name failed; its output:" >&2
		tail -n 20 "$logs/$name.out" "$logs/$name.err" >&2
		exit 1
	fi
	t1=$(now)
	own=$(sed -n 's/.*stage time \([0-9.]*\) s.*/\1/p' "$logs/$name.out" | sort -g | tail -n 1)
	echo "$t0 $t1 ${own:-0}" >>"$logs/times"
	awk -v n="$name" '{ printf "%-18s %8.3f s  (its own compute %8.3f s)\n", n, $2 - $1, $3 }' \
		<<<"$t0 $t1 ${own:-0}"
}

# More hosts than cores: every host has one MPI slot, so Open MPI cannot tell that its ranks
# share cores and would spin while they wait; they yield instead.
mpienv=()
[ "$hosts" -le "$(nproc)" ] || mpienv=(--env OMPI_MCA_mpi_yield_when_idle=1)

echo "pipeline: $hosts hosts, $nodes nodes, seed $seed, to $out (logs in $logs)"
stage gen "$SAGERUN" process --backend ns --name "$stamp-gen" --hosts 1 \
	--input code="$GRAPH_BIN" --output graph="$out/graph" \
	-- "$code/gen" --nodes "$nodes" --seed "$seed" --chunks "$((hosts > 4 ? hosts : 4))"
for algo in random parmetis; do
	stage "partition-$algo" "$SAGERUN" process --backend ns --name "$stamp-$algo" \
		--hosts "$hosts" ${mpienv[@]+"${mpienv[@]}"} --input code="$GRAPH_BIN" --input graph="$out/graph" \
		--output partition="$out/partition-$algo" \
		-- "$code/partition" --algo "$algo" --num-parts "$hosts" --seed "$seed"
done
stage train "$SAGERUN" train --backend ns --name "$stamp-train" --hosts "$hosts" \
	${mpienv[@]+"${mpienv[@]}"} --channel code="$GRAPH_BIN" --channel graph="$out/graph" \
	--channel partition="$out/partition-parmetis" --output "$out/model" \
	-- /opt/ml/input/data/code/train
stage infer "$SAGERUN" process --backend ns --name "$stamp-infer" --hosts "$hosts" \
	--input code="$GRAPH_BIN" --input model="$out/model/$stamp-train/output/model.tar.gz" \
	--output infer="$out/infer" -- "$code/infer"

# The partitions measured here, on what the stages wrote (fetched back from S3 first).
local_out=$out
case $out in
s3://*)
	local_out=$work/fetched
	for d in graph partition-random partition-parmetis; do
		"$SAGERUN" s3 cp --recursive "$out/$d" "$local_out/$d" >/dev/null
	done
	;;
esac
for algo in random parmetis; do
	read -r _ cut _ edges _ balance _ parts < <("$GRAPH_BIN/evaluate" --graph "$local_out/graph" \
		--partition "$local_out/partition-$algo")
	awk -v a="$algo" -v c="$cut" -v e="$edges" -v b="$balance" -v p="$parts" 'BEGIN {
		printf "partition-%-8s edge cut %d of %d edges (%.1f%%), balance %s, %d parts\n",
			a, c, e, 100 * c / e, b, p }'
done
awk '{ wall += $2 - $1; own += $3 } END {
	printf "pipeline: %.3f s in all, the stages'"'"' own compute %.3f s, sagerun'"'"'s share %.3f s (%.1f%%)\n",
		wall, own, wall - own, 100 * (wall - own) / wall }' "$logs/times"
echo "pipeline: done; outputs in $out"
