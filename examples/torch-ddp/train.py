#!/usr/bin/env python3
"""A gloo all_reduce across every process of a job run with `--distribution torch`: the rank,
world size and rendezvous come from torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT), which sagerun's torch runner sets without torchrun.  Every rank
adds rank + 1; the sum must be n(n+1)/2.  --fail-rank N makes rank N raise, to see a failure
reported with that rank's own error.

    sagerun train --hosts 2 --distribution torch --processes-per-host 2 \\
        --source-dir examples/torch-ddp --entry-point train.py
"""
import argparse
import os
import sys

import torch
import torch.distributed as dist


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-rank", type=int, default=-1)
    args, _ = parser.parse_known_args()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if rank == args.fail_rank:
        raise ValueError(f"rank {rank} was told to fail")
    # The job's interface (eth0 in a host of its own); hosts that share this machine's network
    # (the process backend) may have none of that name: gloo then picks one itself.
    iface = os.environ.get("NCCL_SOCKET_IFNAME", "eth0")
    if os.path.exists(f"/sys/class/net/{iface}"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", iface)
    dist.init_process_group("gloo", init_method="env://")
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    expected = world * (world + 1) / 2
    line = (f"{os.environ['SM_CURRENT_HOST']}: rank {rank} (local {os.environ['LOCAL_RANK']} of "
            f"{os.environ['LOCAL_WORLD_SIZE']}, node {os.environ['GROUP_RANK']}) of {world}, "
            f"sum {value.item():g} (expected {expected:g})\n")
    # One write: the host's processes share its stdout, and print() may write in pieces.
    os.write(1, line.encode())
    dist.destroy_process_group()
    return 0 if value.item() == expected else 1


if __name__ == "__main__":
    sys.exit(main())
