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

# As AWS's PyTorch MNIST example starts: rank and world size from the contract, the rendezvous
# from MASTER_ADDR and MASTER_PORT, which the PyTorch container sets for every job.
cat >mnist_like.py <<'PY'
import json, os
import torch, torch.distributed as dist
hosts = json.loads(os.environ["SM_HOSTS"])
me = os.environ["SM_CURRENT_HOST"]
dist.init_process_group("gloo", rank=hosts.index(me), world_size=len(hosts))
t = torch.tensor([float(hosts.index(me) + 1)])
dist.all_reduce(t)
print("%s: sum %d via %s:%s, NCCL_SOCKET_IFNAME=%s" % (me, t.item(), os.environ["MASTER_ADDR"],
      os.environ["MASTER_PORT"], os.environ["NCCL_SOCKET_IFNAME"]))
PY

test_expect_success '--framework pytorch: a PyTorch estimator'"'"'s script finds MASTER_ADDR and MASTER_PORT' '
	mkdir -p code && cp mnist_like.py code/ &&
	test_expect_code 1 sagerun train --backend ns --name nofw --hosts 3 --source-dir code \
		--entry-point mnist_like.py --env PATH=/usr/bin:/bin --output out >stdout 2>stderr &&
	test_grep "MASTER_ADDR" stderr &&
	sagerun train --backend ns --name fw --hosts 3 --source-dir code --entry-point mnist_like.py \
		--framework pytorch:2.1 --env PATH=/usr/bin:/bin --output out >stdout 2>stderr &&
	for h in 1 2 3; do
		test_grep "^algo-$h | algo-$h: sum 6 via algo-1:7777, NCCL_SOCKET_IFNAME=eth0$" stdout || exit 1
	done
'

test_expect_success '--framework pytorch refuses what the container cannot run here, and unknown ones' '
	test_expect_code 1 sagerun train --backend ns --name smddp --hosts 2 --source-dir code \
		--entry-point mnist_like.py --framework pytorch --hp sagemaker_distributed_dataparallel_enabled=true \
		--env PATH=/usr/bin:/bin --output out >stdout 2>stderr &&
	test_grep "FailureReason: ClientError: SageMaker.s distributed data parallel library (SMDDP)" stderr &&
	test_expect_code 2 sagerun train --name tf --framework tensorflow -- true 2>err &&
	test_grep -- "--framework tensorflow: not a framework sagerun knows" err &&
	test_expect_code 2 sagerun train --name bad --framework pytorch:x -- true 2>err &&
	test_grep "NAME:VERSION" err
'

test_done
