#!/usr/bin/env python3
"""A multi-host gloo all_reduce with torch.distributed, as a SageMaker PyTorch job runs it.

Rank and world size come from the SageMaker contract (SM_TRAINING_ENV's hosts and
current_host); the rendezvous is MASTER_ADDR (algo-1, resolved through the host's own
/etc/hosts) on MASTER_PORT 7777, as SageMaker's PyTorch containers set them.  Every rank adds
rank + 1; the sum must be n(n+1)/2.
"""
import json
import os
import sys

import torch
import torch.distributed as dist


def main():
    env = json.loads(os.environ["SM_TRAINING_ENV"])
    hosts, me = env["hosts"], env["current_host"]
    rank, world = sorted(hosts).index(me), len(hosts)
    os.environ.setdefault("MASTER_ADDR", sorted(hosts)[0])
    os.environ.setdefault("MASTER_PORT", "7777")
    os.environ.setdefault("GLOO_SOCKET_IFNAME", env["network_interface_name"])
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)

    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    expected = world * (world + 1) / 2
    print(f"{me}: rank {rank} of {world}, all_reduce sum {value.item():g} "
          f"(expected {expected:g}) via {os.environ['MASTER_ADDR']}", flush=True)
    dist.destroy_process_group()
    if value.item() != expected:
        with open("/opt/ml/output/failure", "w") as f:
            f.write(f"all_reduce gave {value.item()}, expected {expected}")
        return 1
    if rank == 0:
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "allreduce.json"), "w") as f:
            json.dump({"world_size": world, "sum": value.item()}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
