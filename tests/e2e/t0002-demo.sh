#!/bin/bash
# `make demo`'s job, as the README shows it, on a free port.
. "$(dirname "$0")/lib.sh"
test_require PYTHON

test_expect_success 'the demo runs a 3-host job to Completed and shows its model' '
	SAGERUN_DEMO_PORT=$(free_port) SAGERUN_DEMO_OUTPUT=$PWD/out \
		"$SR_SOURCE_DIR/examples/barrier/run-demo.sh" "$SAGERUN" >stdout 2>stderr &&
	test_grep ": Completed" stderr &&
	test_grep "\"members\": \[\"algo-1\", \"algo-2\", \"algo-3\"\]" stdout
'

test_done
