#!/bin/bash
# torch.distributed with gloo between 4 ns hosts, MASTER_ADDR=algo-1 through each host's own
# /etc/hosts (Debian's python3-torch; its torchrun is broken with Python 3.11, so the example
# takes RANK and WORLD_SIZE from the contract).
. "$(dirname "$0")/lib.sh"
test_require ROOT NS
/usr/bin/python3 -c "import torch.distributed as d; assert d.is_gloo_available()" 2>/dev/null ||
	_skip_reason="needs Debian's python3-torch (make deps installs it)"

# The script goes into the test's folder: that is the command's working folder, which stays
# visible inside the hosts even though their /tmp is private (the source tree may be in /tmp).
test_expect_success 'a 4-host gloo all_reduce sums across hosts' '
	cp "$SR_SOURCE_DIR/examples/torch-allreduce/train.py" . &&
	sagerun train --backend ns --name gloo --hosts 4 \
		--env MASTER_ADDR=algo-1 --output out \
		-- /usr/bin/python3 train.py >stdout 2>stderr &&
	for h in 1 2 3 4; do
		test_grep "^algo-$h | algo-$h: rank $((h - 1)) of 4, all_reduce sum 10 (expected 10) via algo-1" stdout || exit 1
	done &&
	test_grep "gloo: Completed" stderr &&
	tar -xzOf out/gloo/output/model.tar.gz allreduce.json >model.json &&
	test_grep "\"sum\": 10.0" model.json
'

test_done
