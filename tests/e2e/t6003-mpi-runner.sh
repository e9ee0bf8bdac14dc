#!/bin/bash
# The MPI runner of `sagerun container train` (--distribution mpi): the master host runs
# mpirun across 4 ns hosts x 2 processes with the toolkit's options, its launch agent is
# `sagerun container rsh` (no sshd anywhere), the other hosts wait for the master; a rank
# that dies fails the job and leaves no orted behind.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS
command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 ||
	_skip_reason="needs mpicc and mpirun (apt-get install openmpi-bin libopenmpi-dev)"

test_expect_success '4 hosts x 2 processes: mpirun from the master, no sshd' '
	mkdir -p code && mpicc -O2 -o code/allreduce "$SR_SOURCE_DIR/examples/mpi/allreduce.c" &&
	test -z "$(machine_procs -x sshd)" &&
	sagerun train --backend ns --name mpi8 --hosts 4 --distribution mpi \
		--processes-per-host 2 --source-dir code --entry-point allreduce \
		--output out >stdout 2>stderr &&
	test_grep "allreduce ok: sum=36 over 8 ranks on algo-1,algo-1,algo-2,algo-2,algo-3,algo-3,algo-4,algo-4" stdout &&
	test_grep "^algo-1 | sagerun: mpi: mpirun --host algo-1:2,algo-2:2,algo-3:2,algo-4:2 -np 8 --allow-run-as-root" stderr &&
	test_grep "^algo-2 | sagerun: mpi: algo-1 runs mpirun; waiting for it to finish" stderr &&
	test_grep "mpi8: Completed" stderr
'

test_expect_success 'the mpirun line in the log can be pasted into a shell' '
	sed -n "s/^algo-1 | sagerun: mpi: mpirun //p" stderr >line &&
	test_grep " -mca btl .\^openib. " line &&
	test_grep " -mca plm_rsh_agent .[^ ]* container rsh. " line &&
	eval "set -- $(cat line)" &&
	for a in "$@"; do printf "%s\n" "$a"; done >words &&
	test_grep "^\^openib$" words &&
	test_grep "^/.* container rsh$" words
'

test_expect_success 'the toolkit knobs: custom MPI options, --NCCL_DEBUG, sagemaker_mpi_num_processes' '
	sagerun train --backend ns --name mpiopt --hosts 2 --distribution mpi \
		--processes-per-host 2 --source-dir code --entry-point allreduce \
		--hp "sagemaker_mpi_custom_mpi_options=-x MY_OPT=1 --NCCL_DEBUG WARN" \
		--hp sagemaker_mpi_num_processes=3 --output out >stdout 2>stderr &&
	test_grep "allreduce ok: sum=6 over 3 ranks" stdout &&
	test_grep "sagerun: mpi: mpirun --host algo-1:2,algo-2:2 -np 3 " stderr &&
	test_grep " -x NCCL_DEBUG=WARN .* -x MY_OPT=1 " stderr &&
	! grep -q "NCCL_DEBUG=INFO" stderr
'

test_expect_success 'a rank that dies fails the job; no orted is left' '
	test_expect_code 1 sagerun train --backend ns --name mpikill --hosts 4 \
		--distribution mpi --processes-per-host 2 --source-dir code \
		--entry-point allreduce --hp fail-rank=5 --stop-grace 5 --output out \
		>stdout 2>stderr &&
	test_grep "mpikill: Failed" stderr &&
	sagerun describe mpikill >d.json && test_grep "ExecuteUserScriptError" d.json &&
	test -z "$(test_procs -x orted)" && test -z "$(test_procs -f "container agent")"
'

test_expect_success 'the MPI runner wants the agent: the process backend says so' '
	test_expect_code 1 sagerun train --backend process --name mpiproc --distribution mpi \
		--source-dir code --entry-point allreduce --output out >stdout 2>stderr &&
	sagerun describe mpiproc >d.json &&
	test_grep "the MPI runner needs sagerun.s rsh agent" d.json
'

# The runtime in that job's algo-1 tree, as the process backend starts it.
runtime() {
	env -i PATH="$PATH" SAGEMAKER_BASE_DIR="$SAGERUN_HOME/jobs/mpiproc/hosts/algo-1/opt/ml" \
		TRAINING_JOB_NAME=mpiproc SAGERUN_RUNTIME_GROUP=host "$@" "$SAGERUN" container train
}
# The runtime never overwrites a failure file: each run starts without one.
failure() { cat "$SAGERUN_HOME/jobs/mpiproc/hosts/algo-1/opt/ml/output/failure"; }
no_failure() { rm -f "$SAGERUN_HOME/jobs/mpiproc/hosts/algo-1/opt/ml/output/failure"; }

test_expect_success 'the runtime refuses the ssh way where hosts share this machine, and odd launchers' '
	no_failure && test_expect_code 1 runtime SAGERUN_MPI_LAUNCHER=ssh >rt.out 2>rt.err &&
	failure >f && test_grep "the ssh way needs hosts that are containers" f &&
	test_grep "run it with --backend docker and an image with sshd" f &&
	test -z "$(machine_procs -x sshd)" &&
	no_failure && test_expect_code 1 runtime SAGERUN_MPI_LAUNCHER=rsh >rt.out 2>rt.err &&
	failure >f && test_grep "SAGERUN_MPI_LAUNCHER=rsh: expected ssh or sagerun" f
'

# mpi4py as users run it: a Python entry point under --distribution mpi runs as
# `python3 -m mpi4py`, as the toolkit runs it.  Like mpi4py's helloworld and reductions demos.
mkdir -p py && cat >py/hello.py <<'PY'
from mpi4py import MPI
import sys
sys.stdout.write("Hello, World! I am process %d of %d on %s.\n" % (
    MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size(), MPI.Get_processor_name()))
PY
cat >py/reduce.py <<'PY'
from mpi4py import MPI
comm = MPI.COMM_WORLD
r, n = comm.Get_rank(), comm.Get_size()
total = comm.allreduce(r + 1, op=MPI.SUM)
biggest = comm.allreduce(r, op=MPI.MAX)
prod = comm.reduce(r + 1, op=MPI.PROD, root=0)
# A user-defined reduction, as the demo builds one: the longest of the ranks' names.
longest = MPI.Op.Create(lambda a, b, t: a if len(a) >= len(b) else b, commute=True)
name = comm.allreduce("rank-" + "x" * r, op=longest)
longest.Free()
if r == 0:
    print("reductions over %d: sum %d max %d prod %d longest %s" % (n, total, biggest, prod, name))
PY

if /usr/bin/python3 -c "import mpi4py" 2>/dev/null; then
	MPI4PY=""
else
	MPI4PY="needs Debian's python3-mpi4py (make deps installs it)"
fi

test_expect_success 'mpi4py helloworld and reductions across 3 hosts x 2 processes' '
	if [ -n "$MPI4PY" ]; then say "skipped: $MPI4PY"; exit 1; fi &&
	sagerun train --backend ns --name hello --hosts 3 --distribution mpi \
		--processes-per-host 2 --source-dir py --entry-point hello.py \
		--env PATH=/usr/bin:/bin --output out >stdout 2>stderr &&
	test_grep "^algo-1 | sagerun: mpi: mpirun .* python3 -m mpi4py hello.py$" stderr &&
	sed -n "s/.*Hello, World! I am process \([0-9]\) of 6 on \(algo-[0-9]\)\./\1 \2/p" stdout |
		sort >got &&
	printf "0 algo-1\n1 algo-1\n2 algo-2\n3 algo-2\n4 algo-3\n5 algo-3\n" >expect &&
	test_cmp expect got &&
	sagerun train --backend ns --name reduce --hosts 3 --distribution mpi \
		--processes-per-host 2 --source-dir py --entry-point reduce.py \
		--env PATH=/usr/bin:/bin --output out >stdout 2>stderr &&
	test_grep "reductions over 6: sum 21 max 5 prod 720 longest rank-xxxxx" stdout
'

test_done
