#!/bin/bash
# make fuzz: each libFuzzer harness of BUILD_DIR (tests/fuzz/fuzz_<name>.c) for SECONDS, one
# after the other, from three corpus folders: what earlier runs learned (BUILD_DIR/fuzz/
# corpus/<name>, where new inputs go), the committed seeds (tests/fuzz/corpus/<name>) and
# the seeds made here (BUILD_DIR/fuzz/seeds/<name>: the spec table of test_job_spec, the
# tarballs of tarballs.py).  A crash, a leak, a hang or a failed check fails the run; its
# input stays in BUILD_DIR/fuzz/crashes/<name>/ and the command that replays it is printed.
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS [NAME...]]    docs/fuzzing.md; FUZZ_ARGS: more
#                                                      libFuzzer flags (-max_len=65536)
set -u
usage="usage: run.sh BUILD_DIR [SECONDS [NAME...]]"
build=$(cd "${1:?$usage}" && pwd) || exit 2
seconds=${2:-60}
shift
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")" && pwd)
out=$build/fuzz

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for h in "$build"/fuzz_*; do
		[ -x "$h" ] && names+=("${h##*/fuzz_}")
	done
fi
[ ${#names[@]} -gt 0 ] || { echo "fuzz: no harness in $build (make fuzz builds them)" >&2; exit 2; }

# Seeds made afresh each run, so they follow the code they come from.
rm -rf "$out/seeds"
mkdir -p "$out/seeds/spec" "$out/seeds/untar" "$out/logs"
table=$(mktemp -d) || exit 1
if ! { "$build/test_job_spec" --dump "$table" >/dev/null &&
	cp "$table"/*.json "$out/seeds/spec/" &&
	python3 "$src/tarballs.py" "$out/seeds/untar"; }; then
	rm -rf "$table"
	echo "fuzz: cannot make the seeds" >&2
	exit 1
fi
rm -rf "$table"

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# The harnesses' temp folders (fuzz_untar's extractions), removed even after a crash.
export TMPDIR=$out/tmp
failed=()
for name in "${names[@]}"; do
	harness=$build/fuzz_$name
	log=$out/logs/$name.log
	crashes=$out/crashes/$name
	[ -x "$harness" ] || { echo "fuzz: no harness $harness" >&2; exit 2; }
	rm -rf "$TMPDIR"
	mkdir -p "$out/corpus/$name" "$crashes" "$TMPDIR"
	touch "$out/logs/$name.start" # older than what this run keeps
	dirs=("$out/corpus/$name")
	for d in "$src/corpus/$name" "$out/seeds/$name"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	# -timeout: one input that takes 10 s is a hang, not a slow machine.
	# shellcheck disable=SC2086
	"$harness" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$crashes/" ${FUZZ_ARGS:-} "${dirs[@]}" >"$log" 2>&1
	rc=$?
	rm -rf "$TMPDIR"
	if [ $rc -eq 0 ]; then
		# "#520238 DONE cov: 363 ft: 1460 corp: 483/28Kb ..."
		grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 |
			awk -v n="$name" -v s="$seconds" '{ sub("#", "", $1); sub("/.*", "", $8);
			  printf "fuzz: %s: ok, %s s: %s runs, %s edges covered, %s inputs in its corpus\n",
			  n, s, $1, $4, $8 }'
		continue
	fi
	failed+=("$name")
	echo "fuzz: $name: FAILED (exit $rc); its log: $log"
	# the report, from its first line (a failed check, a sanitizer's or libFuzzer's error)
	awk '/check failed|runtime error:|ERROR:/ { p = 1 } p' "$log" | head -150 | sed 's/^/    /'
	find "$crashes" -type f -newer "$out/logs/$name.start" | while read -r f; do
		echo "fuzz: $name: input kept in $f; replay: $harness $f"
	done
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (inputs in $out/crashes/)"
	exit 1
fi
echo "fuzz: ${#names[@]} harnesses, ${seconds}s each: nothing found (crash inputs would be in $out/crashes/)"
