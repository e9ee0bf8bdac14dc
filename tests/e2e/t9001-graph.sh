#!/bin/bash
# The graph pipeline of examples/graph (issue 20) on 4 ns hosts against S3 (s3rver): gen's
# DGL chunked format; every stage Completed; both partitions valid DGL assignments, ParMETIS's
# cut far below random's and within 1.3x of serial METIS (gpmetis) on the same graph; the
# 4-host PageRank equal to a 1-host run of the same program on the whole graph; a host killed
# in the middle of ParMETIS fails the partition job with a clear reason, nothing left running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
test_require ROOT NS PYTHON
if [ -z "${_skip_reason:-}" ]; then
	if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
		_skip_reason="needs mpicc and mpirun (make deps: openmpi-bin libopenmpi-dev)"
	elif ! [ -e /usr/include/parmetis/parmetis.h ] || ! command -v gpmetis >/dev/null; then
		_skip_reason="needs libscotchparmetis-dev and metis (make deps)"
	fi
	[ -z "${_skip_reason:-}" ] || say "skipping $test_name: $_skip_reason"
fi

NODES=10000
export SAGERUN

test_expect_success 'the stages build warning-free' '
	make -s -C "$SR_SOURCE_DIR/examples/graph" BIN="$PWD/bin" >build.log 2>&1 &&
	{ ! test -s build.log || { cat build.log; false; }; } &&
	for p in gen partition train infer evaluate; do test -x bin/$p || return 1; done
'

# DGL's chunked format, checked by an independent reader (Python's json, numpy's .npy header
# read by hand): every field, the edge counts per chunk, ids in range, no self loop and no
# edge twice in either direction; the same seed gives the same bytes.
cat >check_chunked.py <<'PY'
import ast, json, os, struct, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "metadata.json")))
for k in ("graph_name", "node_type", "num_nodes_per_chunk", "num_nodes_per_type", "edge_type",
          "num_edges_per_chunk", "edges", "node_data"):
    assert k in m, k
assert m["node_type"] == ["node"] and m["edge_type"] == ["node:link:node"], m
n = m["num_nodes_per_type"][0]
assert sum(m["num_nodes_per_chunk"][0]) == n
spec = m["edges"]["node:link:node"]
assert spec["format"] == {"name": "csv", "delimiter": " "}, spec
seen, deg = set(), [0] * n
for f, want in zip(spec["data"], m["num_edges_per_chunk"][0]):
    lines = open(os.path.join(d, f)).read().split("\n")[:-1]
    assert len(lines) == want, (f, len(lines), want)
    for line in lines:
        s, t = map(int, line.split(" "))
        assert 0 <= s < n and 0 <= t < n and s != t, line
        key = (min(s, t), max(s, t))
        assert key not in seen, line
        seen.add(key)
        deg[s] += 1
        deg[t] += 1
assert len(seen) == m["num_edges_per_type"][0]
rows = 0
for f in m["node_data"]["node"]["feat"]["data"]:
    b = open(os.path.join(d, f), "rb").read()
    assert b[:8] == b"\x93NUMPY\x01\x00", f
    hl = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + hl].decode())
    assert h["descr"] == "<f4" and not h["fortran_order"], h
    assert len(b) == 10 + hl + 4 * h["shape"][0] * h["shape"][1], f
    rows += h["shape"][0]
assert rows == n
# A power law: the largest degree far above the mean.
mean = 2 * len(seen) / n
print("nodes %d edges %d max degree %d mean %.1f" % (n, len(seen), max(deg), mean))
assert max(deg) > 20 * mean
PY

test_expect_success 'gen writes DGL'"'"'s chunked format, the same bytes for the same seed' '
	bin/gen --nodes 2000 --seed 5 --chunks 3 --out g1 >out &&
	python3 check_chunked.py g1 >stats && cat stats &&
	test_grep "^nodes 2000 edges 10000 " stats &&
	bin/gen --nodes 2000 --seed 5 --chunks 3 --out g2 >out && diff -r g1 g2 &&
	bin/gen --nodes 2000 --seed 6 --chunks 3 --out g3 >out &&
	! cmp -s g1/edges/link-0.txt g3/edges/link-0.txt &&
	test_must_fail bin/gen --nodes 1 2>err && test_grep "nodes must be" err
'

test_expect_success 'on the process backend, gen writes under SAGEMAKER_BASE_DIR; partition says why it cannot' '
	sagerun process --backend process --name pgen --output graph="$PWD/pgen" \
		-- "$PWD/bin/gen" --nodes 1000 --seed 5 >out 2>err &&
	test -s pgen/metadata.json &&
	test_expect_code 1 sagerun process --backend process --name prand --input graph=pgen \
		-- "$PWD/bin/partition" --algo random --num-parts 2 >out 2>err &&
	test_grep "^algo-1 | cannot resolve algo-1" err && test_grep "algo-N names do not resolve" err
'

test_expect_success 'the pipeline on 4 hosts against S3: every stage Completed' '
	TMPDIR=$PWD GRAPH_BIN=$PWD/bin "$SR_SOURCE_DIR/examples/graph/pipeline.sh" \
		--hosts 4 --nodes $NODES --seed 3 --out s3://bkt/run >pipeline.out 2>pipeline.err &&
	cat pipeline.out &&
	for s in gen partition-random partition-parmetis train infer; do
		test_grep "^$s " pipeline.out || return 1
	done &&
	test $(cat graph-pipeline.*/logs/*.err | grep -c ": Completed") -eq 5 &&
	test_grep "sagerun.s share" pipeline.out
'

test_expect_success 'the outputs are where the interface says, on S3' '
	awss3 ls --recursive s3://bkt/run/ | awk "{print \$4}" | sort >keys &&
	test_grep "^run/graph/metadata.json$" keys &&
	test_grep "^run/graph/edges/link-0.txt$" keys &&
	for a in random parmetis; do
		test_grep "^run/partition-$a/node.txt$" keys &&
		test_grep "^run/partition-$a/partition_meta.json$" keys || return 1
	done &&
	test_grep "^run/model/.*-train/output/model.tar.gz$" keys &&
	test_grep "^run/infer/top.txt$" keys &&
	test $(grep -c "^run/infer/part-algo-[1-4].txt$" keys) -eq 4 &&
	awss3 cp --recursive s3://bkt/run got >/dev/null
'

# Valid as DGL reads them (tools/partition_algo/base.py): every node one line, ids in range,
# partition_meta.json with its three fields.
cat >check_partition.py <<'PY'
import json, sys
d, n, algo = sys.argv[1], int(sys.argv[2]), sys.argv[3]
meta = json.load(open(d + "/partition_meta.json"))
assert meta == {"algo_name": algo, "num_parts": 4, "version": "1.0.0"}, meta
parts = [int(x) for x in open(d + "/node.txt").read().split("\n")[:-1]]
assert len(parts) == n, len(parts)
assert set(parts) == {0, 1, 2, 3}, set(parts)
PY

test_expect_success 'both partitions are valid DGL assignments' '
	python3 check_partition.py got/partition-random $NODES random &&
	python3 check_partition.py got/partition-parmetis $NODES metis
'

test_expect_success 'parmetis cuts far fewer edges than random, within 1.3x of gpmetis' '
	bin/evaluate --graph got/graph --partition got/partition-random >random.cut &&
	bin/evaluate --graph got/graph --partition got/partition-parmetis >parmetis.cut &&
	bin/evaluate --graph got/graph --metis-graph g.metis &&
	gpmetis g.metis 4 >gpmetis.log &&
	bin/evaluate --graph got/graph --metis-part g.metis.part.4 --num-parts 4 >gpmetis.cut &&
	cat random.cut parmetis.cut gpmetis.cut &&
	r=$(awk "{print \$2}" random.cut) p=$(awk "{print \$2}" parmetis.cut) &&
	m=$(awk "{print \$2}" gpmetis.cut) &&
	test $((p * 10)) -lt $((r * 7)) &&
	test $((p * 10)) -le $((m * 13)) &&
	test_grep "partition-parmetis edge cut $p of" pipeline.out
'

# The same program on 1 host, every node its own: the 4-host run with its halo exchange must
# give the same vector (summation order aside) after the same number of iterations.
test_expect_success 'train on 4 hosts equals a 1-host run on the whole graph' '
	mkdir m4 && tar -xzf got/model/*-train/output/model.tar.gz -C m4 &&
	sagerun train --backend ns --name single --hosts 1 --channel code="$PWD/bin" \
		--channel graph=s3://bkt/run/graph --output "$PWD/single-out" \
		-- /opt/ml/input/data/code/train >single.out 2>single.err &&
	test_grep "single: Completed" single.err &&
	mkdir m1 && tar -xzf single-out/single/output/model.tar.gz -C m1 &&
	python3 - m1 m4 <<-\PY
	import json, sys
	a, b = sys.argv[1], sys.argv[2]
	pa = [float(x) for x in open(a + "/pagerank.txt")]
	pb = [float(x) for x in open(b + "/pagerank.txt")]
	assert len(pa) == len(pb) == 10000
	worst = max(abs(x - y) / x for x, y in zip(pa, pb))
	ha, hb = json.load(open(a + "/history.json")), json.load(open(b + "/history.json"))
	assert ha["hosts"] == 1 and hb["hosts"] == 4, (ha["hosts"], hb["hosts"])
	assert ha["iterations"] == hb["iterations"] > 10, (ha["iterations"], hb["iterations"])
	for x, y in zip(ha["l1_change"], hb["l1_change"]):
	    assert abs(x - y) <= 1e-6 * x + 1e-13, (x, y)  # sums over every node, another order
	print("max relative difference %.3g over %d iterations" % (worst, ha["iterations"]))
	assert worst < 1e-9, worst
	assert abs(sum(pa) - 1) < 1e-9
	PY
'

test_expect_success 'infer wrote every node once, ranked by the model' '
	cat got/infer/part-algo-*.txt | sort -n >all &&
	test $(wc -l <all) -eq $NODES &&
	awk "{ if (\$1 != NR - 1) exit 1 }" all &&
	best=$(head -n 1 got/infer/top.txt | cut -d" " -f1) &&
	test_grep "^$best [^ ]* 1$" all
'

nothing_left() {
	test -z "$(test_procs -x orted)" &&
	test -z "$(test_procs -x mpirun)" &&
	test -z "$(test_procs -f "input/code/partition")" &&
	test -z "$(test_procs -f "container (agent|rsh)")" &&
	test -z "$(test_procs -x sagerun-init)"
}

test_expect_success 'the pipeline to a local folder, on 2 hosts' '
	TMPDIR=$PWD GRAPH_BIN=$PWD/bin "$SR_SOURCE_DIR/examples/graph/pipeline.sh" \
		--hosts 2 --nodes 2000 --seed 5 --out local-run >local.out 2>local.err &&
	test_grep "sagerun.s share" local.out &&
	test -s local-run/graph/metadata.json &&
	test $(wc -l <local-run/partition-random/node.txt) -eq 2000 &&
	test $(wc -l <local-run/partition-parmetis/node.txt) -eq 2000 &&
	ls local-run/model/*-train/output/model.tar.gz >/dev/null &&
	test -s local-run/infer/top.txt &&
	ls local-run/infer/part-algo-1.txt local-run/infer/part-algo-2.txt >/dev/null
'

# GRAPH_TEST_HOLD holds every rank just before ParMETIS (edges exchanged, mpirun's daemons up
# on every host): the test kills algo-3 whole (its init, so every process of that host goes
# at once, as when an instance dies) while the others wait in MPI.
test_expect_success 'a host killed in the middle of parmetis fails the job, nothing left' '
	"$SAGERUN" process --backend ns --name killed --hosts 4 --input code="$PWD/bin" \
		--input graph=s3://bkt/run/graph --output partition="$PWD/killed-out" \
		--env GRAPH_TEST_HOLD="$PWD/hold" --stop-grace 10 \
		-- /opt/ml/processing/input/code/partition --algo parmetis --num-parts 4 \
		>killed.out 2>killed.err &
	job=$! &&
	for _ in $(seq 1 600); do
		[ -e hold.0 ] && [ -e hold.1 ] && [ -e hold.2 ] && [ -e hold.3 ] && break
		sleep 0.1
	done &&
	victim="" &&
	for p in $(test_procs -x sagerun-init); do
		if [ "$(nsenter -t "$p" -u hostname)" = algo-3 ]; then victim=$p; fi
	done &&
	test -n "$victim" &&
	kill -KILL "$victim" &&
	test_expect_code 1 wait $job &&
	cat killed.err &&
	test_grep "killed: Failed" killed.err &&
	test_grep "FailureReason: AlgorithmError: , exit code: 137" killed.err &&
	sagerun describe killed >d.json &&
	python3 - d.json <<-\PY &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["ProcessingJobStatus"] == "Failed", d["ProcessingJobStatus"]
	hosts = {h["Name"]: h for h in d["Hosts"]}
	assert hosts["algo-3"].get("Signal") == "SIGKILL", hosts["algo-3"]
	print("ExitMessage:", d.get("ExitMessage"))
	assert "parmetis failed" in d.get("ExitMessage", ""), d.get("ExitMessage")
	PY
	test_grep "lost communication\|connection lost" killed.err &&
	! test -e killed-out/node.txt &&
	nothing_left
'

test_done
