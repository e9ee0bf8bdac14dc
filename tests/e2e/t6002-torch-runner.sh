#!/bin/bash
# The torch runner of `sagerun container train` (--distribution torch): 2 ns hosts x 2
# processes run a gloo all_reduce with torchrun's variables and no torchrun; a rank that
# raises fails the job with that rank's error in FailureReason.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS
/usr/bin/python3 -c "import torch.distributed as d; assert d.is_gloo_available()" 2>/dev/null ||
	_skip_reason="needs Debian's python3-torch (make deps installs it)"
# The runtime runs `python3` from PATH, as the toolkit runs its own interpreter: Debian's.
export PATH="/usr/bin:$PATH"

test_expect_success '2 hosts x 2 processes: every rank in the all_reduce' '
	sagerun train --backend ns --name ddp --hosts 2 --distribution torch \
		--processes-per-host 2 --source-dir "$SR_SOURCE_DIR/examples/torch-ddp" \
		--entry-point train.py --output out >stdout 2>stderr &&
	for r in 0 1 2 3; do
		h=$((r / 2 + 1)) l=$((r % 2))
		test_grep "^algo-$h | algo-$h: rank $r (local $l of 2, node $((h - 1))) of 4, sum 10 (expected 10)$" stdout || exit 1
	done &&
	test_grep "ddp: Completed" stderr
'

test_expect_success 'the process backend: the same, through 127.0.0.1' '
	sagerun train --backend process --name ddpproc --hosts 2 --distribution torch \
		--processes-per-host 2 --source-dir "$SR_SOURCE_DIR/examples/torch-ddp" \
		--entry-point train.py --output out >proc.out 2>proc.err &&
	test $(grep -c "sum 10 (expected 10)$" proc.out) -eq 4 &&
	test_grep "ddpproc: Completed" proc.err
'

test_expect_success 'a rank that raises fails the job with its own error' '
	test_expect_code 1 sagerun train --backend ns --name ddpfail --hosts 2 \
		--distribution torch --processes-per-host 2 --hp fail-rank=3 \
		--source-dir "$SR_SOURCE_DIR/examples/torch-ddp" --entry-point train.py \
		--stop-grace 5 --output out >stdout 2>stderr &&
	sagerun describe ddpfail >d.json &&
	test_grep "ExecuteUserScriptError" d.json &&
	test_grep "rank 3 (local_rank 1): .*ValueError: rank 3 was told to fail" d.json
'

test_expect_success '--distribution: bad values, and a command instead of an entry point, are refused' '
	test_expect_code 2 sagerun train --distribution tf -- true 2>err &&
	test_grep "expected torch or mpi" err &&
	test_expect_code 2 sagerun train --distribution torch -- true 2>err &&
	test_grep "needs script mode" err &&
	test_expect_code 2 sagerun train --processes-per-host 0 -- true 2>err &&
	test_grep "from 1 to 1024" err &&
	test_expect_code 2 sagerun train --processes-per-host 2 -- true 2>err &&
	test_grep "needs --distribution torch or mpi" err
'

test_done
