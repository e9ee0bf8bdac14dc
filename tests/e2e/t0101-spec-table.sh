#!/bin/bash
# The whole malformed-spec table of tests/unit/test_job_spec.c through the real binary: each
# spec is refused with exit 2 and its expected message (file:line:column, JSON path, what is
# expected), and nothing is left behind.
. "$(dirname "$0")/lib.sh"

: "${TEST_JOB_SPEC:?TEST_JOB_SPEC must point to the test_job_spec program (CTest sets it)}"

test_expect_success 'the table is written out' '
	mkdir table &&
	"$TEST_JOB_SPEC" --dump "$PWD/table" &&
	n=$(ls table/*.json | wc -l) &&
	test "$n" -ge 25
'

test_expect_success 'every malformed spec is refused with its message' '
	cd table &&
	failures=0 &&
	for spec in [0-9]*.json; do
		case=${spec%.json}
		cp "$spec" job.json
		"$SAGERUN" train --spec job.json >out 2>err
		code=$?
		if [ $code -ne 2 ]; then
			echo "case $case: exit $code, expected 2"; failures=$((failures + 1))
		elif ! grep -qF -- "$(cat "$case.expect")" err; then
			echo "case $case: expected: $(cat "$case.expect")"
			sed "s/^/  got: /" err
			failures=$((failures + 1))
		fi
	done &&
	test $failures -eq 0
'

test_expect_success 'no job folder and no output were made' '
	! ls "$SAGERUN_HOME/jobs"/* 2>/dev/null &&
	! ls table/sagerun-output 2>/dev/null
'

test_done
