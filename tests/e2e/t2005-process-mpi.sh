#!/bin/bash
# MPI in a processing job without sshd, as GraphStorm's partition job does it
# (graphstorm/sagemaker/sagemaker_partition.py): a ScriptProcessor script on 3 ns hosts reads
# resourceconfig.json, the leader (sorted(hosts)[0]) binds port 12000 on its address and
# accepts the workers, all pass a barrier, then the leader runs the user's own plain
# `mpirun --hostfile` across the hosts (ParMETIS's way) while the workers wait for its "Done".
# Its launch agent is sagerun's rsh client, which the processing hosts get from sagerun.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS
if [ -z "${_skip_reason:-}" ]; then
	if ! command -v mpirun >/dev/null 2>&1; then
		_skip_reason="needs mpirun (apt-get install openmpi-bin)"
	elif ! /usr/bin/python3 -c "import mpi4py" 2>/dev/null; then
		_skip_reason="needs Debian's python3-mpi4py (make deps installs it)"
	fi
	if [ -n "${_skip_reason:-}" ]; then say "skipping $test_name: $_skip_reason"; fi
fi

# One file, shipped with --code: the job's entry point, and with --rank the MPI program.
cat >partition.py <<'PY'
import json, os, socket, subprocess, sys, time

PORT = 12000

if sys.argv[1:] == ["--rank"]:
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    got = comm.gather((socket.gethostname(), comm.Get_rank()), root=0)
    if comm.Get_rank() == 0:
        for host, rank in sorted(got):
            print("%s rank %d of %d" % (host, rank, comm.Get_size()), flush=True)
    if os.environ.get("ABANDON"):  # ranks that never end on their own
        time.sleep(600)
    sys.exit(0)

with open("/opt/ml/config/resourceconfig.json") as f:
    rc = json.load(f)
hosts, me = rc["hosts"], rc["current_host"]
leader = sorted(hosts)[0]
addr = socket.gethostbyname(leader)
print("%s: leader %s at %s" % (me, leader, addr), flush=True)

def recv_word(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(64)
        if not chunk:
            print("%s: the leader went away" % me, flush=True)
            if os.environ.get("ABANDON"):  # until the job stops this host
                time.sleep(600)
            sys.exit(1)
        data += chunk
    return data.decode().strip()

if me == leader:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, PORT))
    srv.listen(len(hosts))
    workers = [srv.accept()[0] for _ in hosts[1:]]
    for w in workers:  # the barrier: every worker has said its name, then all go on
        print("%s: %s is here" % (me, recv_word(w)), flush=True)
    for w in workers:
        w.sendall(b"barrier\n")
    with open("/tmp/hostfile", "w") as f:
        f.write("".join("%s slots=1\n" % h for h in sorted(hosts)))
    cmd = ["mpirun", "--hostfile", "/tmp/hostfile", "-np", str(len(hosts)),
           sys.executable, os.path.abspath(__file__), "--rank"]
    if os.environ.get("ABANDON"):
        # The leader dies while the ranks run on every host: the job must end them all.
        mpi = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        for _ in hosts:
            print("%s: %s" % (me, mpi.stdout.readline().decode().strip()), flush=True)
        os._exit(3)
    mpi = subprocess.run(cmd, stdout=subprocess.PIPE)
    out = "/opt/ml/processing/output/ranks"
    with open(os.path.join(out, "ranks.txt"), "wb") as f:
        f.write(mpi.stdout)
    for w in workers:
        w.sendall(b"Done\n")
    print("%s: mpirun exited %d" % (me, mpi.returncode), flush=True)
    sys.exit(mpi.returncode)

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
for _ in range(300):
    try:
        sock.connect((addr, PORT))
        break
    except OSError:
        sock.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        time.sleep(0.1)
else:
    raise SystemExit("%s: cannot reach the leader" % me)
sock.sendall(("%s\n" % me).encode())
assert recv_word(sock) == "barrier"
print("%s: past the barrier, waiting for the leader" % me, flush=True)
word = recv_word(sock)
print("%s: the leader says %s" % (me, word), flush=True)
sys.exit(0 if word == "Done" else 1)
PY

test_expect_success 'the leader runs mpirun --hostfile across 3 processing hosts, no sshd' '
	sagerun process --backend ns --name part --hosts 3 --code partition.py \
		--output ranks="$PWD/out" --env PATH=/usr/bin:/bin >stdout 2>stderr &&
	test_grep "part: Completed" stderr &&
	printf "algo-%d rank %d of 3\n" 1 0 2 1 3 2 >expect &&
	test_cmp expect out/ranks.txt &&
	test_grep "^algo-2 | algo-2: the leader says Done" stdout &&
	test_grep "^algo-3 | algo-3: the leader says Done" stdout
'

# Every process a job of this test started carries its SAGERUN_HOME (test_procs).
nothing_left() {
	test -z "$(test_procs -x orted)" &&
	test -z "$(test_procs -x mpirun)" &&
	test -z "$(test_procs -f partition.py)" &&
	test -z "$(test_procs -f "container (agent|rsh)")" &&
	test -z "$(test_procs -x sagerun-init)"
}

test_expect_success 'nothing of the job is left' '
	nothing_left
'

# The hosts see the folder sagerun runs from but not the rest of this machine's /tmp, where
# the test's folder usually is: mpirun's launch agent must not be sagerun's path.  A routing
# tree of radix 1 makes Open MPI's tree spawn (its default beyond 64 hosts) reach algo-3
# from the orted on algo-2, through algo-2's own agent.
test_expect_success 'sagerun where the hosts cannot see it; orted starts orted' '
	mkdir -p bin job && cp "$SAGERUN" bin/sagerun && cp partition.py job/ &&
	(cd job && ../bin/sagerun process --backend ns --name hidden --hosts 3 \
		--code partition.py --output ranks="$PWD/out" --env PATH=/usr/bin:/bin \
		--env OMPI_MCA_routed_radix=1 >stdout 2>stderr) &&
	test_grep "hidden: Completed" job/stderr &&
	test_cmp expect job/out/ranks.txt &&
	nothing_left
'

test_expect_success 'as root, mpirun may run so; the job'"'"'s Environment says otherwise' '
	sagerun process --backend ns --name env1 --hosts 2 -- /bin/sh -c \
		"echo \"\$OMPI_ALLOW_RUN_AS_ROOT,\$OMPI_ALLOW_RUN_AS_ROOT_CONFIRM,\$OMPI_MCA_plm_rsh_agent\"" \
		>stdout 2>stderr &&
	test_grep "^algo-2 | 1,1,/proc/1/exe container rsh$" stdout &&
	sagerun process --backend ns --name env2 --hosts 2 --env OMPI_ALLOW_RUN_AS_ROOT=0 -- /bin/sh -c \
		"echo \"\$OMPI_ALLOW_RUN_AS_ROOT,\$OMPI_ALLOW_RUN_AS_ROOT_CONFIRM\"" \
		>stdout 2>stderr &&
	test_grep "^algo-1 | 0,$" stdout &&
	test_grep "^algo-2 | 0,$" stdout
'

test_expect_success 'the leader dies while ranks run on every host: the job fails, nothing is left' '
	test_expect_code 1 sagerun process --backend ns --name abandon --hosts 3 \
		--code partition.py --output ranks="$PWD/out-abandon" --env PATH=/usr/bin:/bin \
		--env ABANDON=1 --stop-grace 5 >stdout 2>stderr &&
	test_grep "^algo-1 | algo-1: algo-3 rank 2 of 3$" stdout &&
	test_grep "^algo-2 | algo-2: the leader went away$" stdout &&
	test_grep "abandon: Failed" stderr &&
	test_grep "FailureReason: AlgorithmError: , exit code: 3" stderr &&
	nothing_left
'

test_done
