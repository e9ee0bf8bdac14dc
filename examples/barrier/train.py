#!/usr/bin/env python3
"""A 3-host job in the shape of GraphStorm's SageMaker scripts.

Every host reads SM_TRAINING_ENV to learn the cluster, the hosts meet in a TCP barrier led by
the first host (leader/worker rendezvous as GraphStorm's sagemaker_train.py does), the leader
writes the model, and every host leaves a small report in SM_OUTPUT_DATA_DIR.
"""
import argparse
import json
import os
import socket
import sys
import time


def recv_msg(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(64)
        if not chunk:
            raise ConnectionError("peer closed the connection")
        data += chunk
    return data.decode().strip()


def send_msg(sock, text):
    sock.sendall(text.encode() + b"\n")


def lead(addr, port, workers):
    with socket.create_server((addr, port), reuse_port=False) as srv:
        srv.settimeout(120)
        conns = {}
        while len(conns) < len(workers):
            conn, _ = srv.accept()
            name = recv_msg(conn)
            conns[name] = conn
            print(f"leader: {name} joined ({len(conns)}/{len(workers)})", flush=True)
        for conn in conns.values():
            send_msg(conn, "sync")
        for name, conn in conns.items():
            if recv_msg(conn) != "sync_ack":
                raise RuntimeError(f"{name} broke the barrier")
        for conn in conns.values():
            send_msg(conn, "Done")
            conn.close()
        return sorted(conns)


def follow(me, addr, port):
    deadline = time.monotonic() + 120
    while True:
        try:
            sock = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with sock:
        send_msg(sock, me)
        if recv_msg(sock) != "sync":
            raise RuntimeError("leader did not start the barrier")
        send_msg(sock, "sync_ack")
        if recv_msg(sock) != "Done":
            raise RuntimeError("leader did not finish the barrier")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()

    env = json.loads(os.environ["SM_TRAINING_ENV"])
    hosts, me = env["hosts"], env["current_host"]
    leader = sorted(hosts)[0]
    # SageMaker's PyTorch containers set MASTER_ADDR to the leader; sagerun's process backend
    # sets it to 127.0.0.1 because all hosts share this machine's network.
    addr = os.environ.get("MASTER_ADDR", leader)
    print(f"{me}: one of {len(hosts)} hosts, leader {leader} at {addr}:{args.port}", flush=True)

    if me == leader:
        members = lead(addr, args.port, [h for h in hosts if h != leader])
        model = {"leader": me, "members": [me] + members, "epochs": args.epochs}
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
            json.dump(model, f)
        print(f"leader: barrier passed by {len(hosts)} hosts, model written", flush=True)
    else:
        follow(me, addr, args.port)
        print(f"{me}: barrier passed", flush=True)

    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], f"{me}.txt"), "w") as f:
        f.write(f"{me} done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
