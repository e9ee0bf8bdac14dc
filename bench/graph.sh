#!/bin/bash
# The graph example (examples/graph) at size: for each graph size, the ParMETIS partition job
# on 1, 2, 4 and 8 hosts (its time under sagerun, its own compute, the ParMETIS call, its edge
# cut) next to serial METIS (gpmetis) on the same graph into the same number of parts, in the
# same run; then the whole pipeline (pipeline.sh) on 4 hosts, with sagerun's share of its
# time.  Needs root (the ns backend).  Results go to docs/performance.md.
#   SIZES="100000 1000000" HOSTS="1 2 4 8" PARTS=8 bench/graph.sh build/sagerun
# PIPELINE_HOSTS=0 leaves the pipeline out.
set -euo pipefail

SAGERUN=$(realpath "${1:-build/sagerun}")
SIZES=${SIZES:-100000 1000000}
HOSTS=${HOSTS:-1 2 4 8}
PARTS=${PARTS:-8}
PIPELINE_HOSTS=${PIPELINE_HOSTS:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sagerun-bench-graph.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SAGERUN_HOME="$work/home" NO_COLOR=1 SAGERUN
cd "$work"
[ "$(id -u)" -eq 0 ] || { echo "bench/graph.sh: needs root (the ns backend)" >&2; exit 2; }

make -s -C "$here/examples/graph" BIN="$work/bin"
now() { date +%s.%N; }
# An 8-host job on this 2-core machine runs 8 MPI ranks on 2 cores; each host sees 1 slot, so
# Open MPI cannot tell it is oversubscribed and would spin: the ranks yield when idle.
mpienv=(--env OMPI_MCA_mpi_yield_when_idle=1)

printf '%-9s %-6s %10s %10s %10s %10s %9s\n' nodes hosts "job s" "own s" "parmetis s" \
	"edge cut" "vs metis"
for n in $SIZES; do
	"$SAGERUN" process --backend ns --name "gen-$n" --hosts 1 --input code="$work/bin" \
		--output graph="$work/g$n" -- /opt/ml/processing/input/code/gen --nodes "$n" \
		--seed 1 --chunks 8 >/dev/null 2>&1
	"$work/bin/evaluate" --graph "$work/g$n" --metis-graph "$work/g$n.metis"
	t0=$(now)
	gpmetis "$work/g$n.metis" "$PARTS" >"$work/gpmetis-$n.log"
	t1=$(now)
	read -r _ mcut _ edges _ _ < <("$work/bin/evaluate" --graph "$work/g$n" \
		--metis-part "$work/g$n.metis.part.$PARTS" --num-parts "$PARTS")
	awk -v n="$n" -v t="$(echo "$t0 $t1" | awk '{print $2 - $1}')" -v c="$mcut" -v e="$edges" \
		'BEGIN { printf "%-9s %-6s %10.3f %10s %10s %10d %9s   (%d edges)\n", n, "gpmetis", t, "", "", c, "1.00", e }'
	for h in $HOSTS; do
		t0=$(now)
		"$SAGERUN" process --backend ns --name "pm-$n-$h" --hosts "$h" "${mpienv[@]}" \
			--input code="$work/bin" --input graph="$work/g$n" \
			--output partition="$work/p$n-$h" -- /opt/ml/processing/input/code/partition \
			--algo parmetis --num-parts "$PARTS" >"$work/pm-$n-$h.out" 2>&1
		t1=$(now)
		own=$(sed -n 's/.*stage time \([0-9.]*\) s.*/\1/p' "$work/pm-$n-$h.out")
		call=$(sed -n 's/.*ParMETIS \([0-9.]*\) s.*/\1/p' "$work/pm-$n-$h.out")
		read -r _ cut _ _ _ _ < <("$work/bin/evaluate" --graph "$work/g$n" \
			--partition "$work/p$n-$h")
		awk -v n="$n" -v h="$h" -v t0="$t0" -v t1="$t1" -v o="$own" -v p="$call" \
			-v c="$cut" -v m="$mcut" 'BEGIN {
			printf "%-9s %-6s %10.3f %10.3f %10.3f %10d %9.2f\n", n, h, t1 - t0, o, p, c, c / m }'
	done
	[ "$PIPELINE_HOSTS" -gt 0 ] || continue
	echo "pipeline, $PIPELINE_HOSTS hosts, $n nodes:"
	GRAPH_BIN=$work/bin TMPDIR=$work "$here/examples/graph/pipeline.sh" \
		--hosts "$PIPELINE_HOSTS" --nodes "$n" --out "$work/run$n" | sed 's/^/  /'
done
