#!/bin/bash
# `sagerun container train`, the training toolkit in C, run the way the service runs an image's
# `train`: against a host tree the launcher laid out (SAGEMAKER_BASE_DIR), in a clean
# environment.  The environment and argv it gives the program are the launcher's own (one
# contract module); failures are reported as the toolkit reports them (reference §2.13).
. "$(dirname "$0")/lib.sh"
test_require PYTHON

# What a program sees, one line each: argv, then every SM_* variable and PYTHONPATH, sorted.
mkdir -p code && cat >code/dump.py <<'PY'
import os, sys
print("argv", sys.argv[1:])
for k in sorted(os.environ):
    if k.startswith("SM_") or k in ("PYTHONPATH", "CURRENT_HOST", "SAGEMAKER_JOB_NAME"):
        print("%s=%s" % (k, os.environ[k]))
PY

# Run the runtime in host algo-N's tree of job $1, with only what the platform gives.
runtime() {
	local job=$1 host=$2
	shift 2
	env -i PATH="$PATH" SAGEMAKER_BASE_DIR="$SAGERUN_HOME/jobs/$job/hosts/$host/opt/ml" \
		TRAINING_JOB_NAME="$job" "$@" "$SAGERUN" container train
}

test_expect_success 'the runtime gives the program what the launcher gives it' '
	sagerun train --backend process --name conf --hosts 3 --entry-point dump.py \
		--source-dir code --hp epochs=2 --hp lr=0.01 --hp b=true --hp "name=a b" \
		--hp "nested={\"k\": [1, 2.5, \"x\"]}" --channel train=code \
		--output out >launcher.out 2>launcher.err &&
	sed -n "s/^algo-2 | //p" launcher.out | grep -v "^PYTHONPATH=" >expect &&
	test $(wc -l <expect) -gt 20 &&
	rm -f "$SAGERUN_HOME/jobs/conf/hosts/algo-2/opt/ml/output/success" &&
	runtime conf algo-2 >runtime.out 2>runtime.err &&
	grep -v "^PYTHONPATH=" runtime.out >got && test_cmp expect got &&
	test_grep "Reporting training SUCCESS" runtime.err &&
	test -e "$SAGERUN_HOME/jobs/conf/hosts/algo-2/opt/ml/output/success"
'

test_expect_success 'SAGEMAKER_REGION is boto3'"'"'s default region, as the toolkit has it' '
	printf "import os\nprint(\"region=[%%s]\" %% os.environ.get(\"SAGEMAKER_REGION\"))\n" >code/region.py &&
	sagerun train --backend process --name reg1 --entry-point region.py --source-dir code \
		--env AWS_REGION=eu-west-3 --output out >r1.out 2>&1 &&
	test_grep "algo-1 | region=\[\]$" r1.out &&
	sagerun train --backend process --name reg2 --entry-point region.py --source-dir code \
		--env AWS_DEFAULT_REGION=eu-west-3 --output out >r2.out 2>&1 &&
	test_grep "algo-1 | region=\[eu-west-3\]$" r2.out &&
	sagerun train --backend process --name reg3 --env AWS_REGION=eu-west-3 --output out \
		-- sh -c "echo region=[\$SAGEMAKER_REGION]" >r3.out 2>&1 &&
	test_grep "algo-1 | region=\[\]$" r3.out
'

test_expect_success 'a failing program: the toolkit failure file, exit 1' '
	mkdir -p failcode && cat >failcode/fail.py <<-\PY &&
	import sys
	print("ValueError: epochs must be positive", file=sys.stderr)
	sys.exit(3)
	PY
	sagerun train --backend process --name fail --entry-point fail.py --source-dir failcode \
		--hp epochs=-1 --output out >/dev/null 2>&1
	base="$SAGERUN_HOME/jobs/fail/hosts/algo-1/opt/ml" &&
	rm -f "$base/output/failure" &&
	test_expect_code 1 runtime fail algo-1 >out.txt 2>err.txt &&
	printf "%s\n" "ExecuteUserScriptError:" "ExitCode 3" \
		"ErrorMessage \"ValueError: epochs must be positive\"" \
		"Command \"python3 fail.py --epochs -1\"" >expect &&
	printf "\n" >>"$base/output/failure" && test_cmp expect "$base/output/failure" &&
	test_grep "Reporting training FAILURE" err.txt &&
	test_grep "^ValueError: epochs must be positive$" err.txt
'

test_expect_success 'a failure file the program wrote is kept' '
	mkdir -p ownfail && cat >ownfail/own.sh <<-\EOF &&
	echo "my own reason" >"$SAGEMAKER_BASE_DIR/output/failure"; exit 1
	EOF
	sagerun train --backend process --name own --entry-point own.sh --source-dir ownfail \
		--output out >/dev/null 2>&1
	base="$SAGERUN_HOME/jobs/own/hosts/algo-1/opt/ml" && rm -f "$base/output/failure" &&
	test_expect_code 1 runtime own algo-1 >/dev/null 2>&1 &&
	echo "my own reason" >expect && test_cmp expect "$base/output/failure"
'

test_expect_success 'SIGTERM reaches the program and everything it started; a stop is no failure' '
	mkdir -p termcode && cat >termcode/wait.sh <<-\EOF &&
	sleep 300 &
	echo $! >"$SAGEMAKER_BASE_DIR/bg.pid"
	wait
	EOF
	sagerun train --backend process --name term --entry-point wait.sh --source-dir termcode \
		--max-run 1 --stop-grace 0 --output out >/dev/null 2>&1
	base="$SAGERUN_HOME/jobs/term/hosts/algo-1/opt/ml" && rm -f "$base/output/failure" "$base/bg.pid" || exit 1
	# Not through the function: $! would name a subshell, not sagerun.
	env -i PATH="$PATH" SAGEMAKER_BASE_DIR="$base" TRAINING_JOB_NAME=term \
		"$SAGERUN" container train >/dev/null 2>term.err &
	rt=$!
	for _ in $(seq 1 1000); do [ -s "$base/bg.pid" ] && break; sleep 0.02; done
	bg=$(cat "$base/bg.pid") && kill -0 "$bg" &&
	kill -TERM $rt && test_expect_code 143 wait $rt &&
	for _ in $(seq 1 1000); do kill -0 "$bg" 2>/dev/null || break; sleep 0.02; done &&
	! kill -0 "$bg" 2>/dev/null &&
	test ! -e "$base/output/failure" && test ! -e "$base/output/success"
'

test_expect_success 'code archives with ../, absolute paths or links out are refused' '
	python3 - <<-\PY &&
	import io, tarfile
	def tar(name, entries):
	    with tarfile.open(name, "w:gz") as t:
	        for n, kind, target in entries:
	            i = tarfile.TarInfo(n)
	            if kind == "link":
	                i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
	            else:
	                data = b"echo hi\n"; i.size = len(data); t.addfile(i, io.BytesIO(data))
	tar("dotdot.tar.gz", [("run.sh", "file", None), ("../evil", "file", None)])
	tar("abs.tar.gz", [("run.sh", "file", None), ("/tmp/sagerun-evil-abs", "file", None)])
	tar("link.tar.gz", [("run.sh", "file", None), ("out", "link", "../../../.."), ("out/evil", "file", None)])
	# Issue 16: each link alone stays inside, together s is the root of the host.
	tar("chain.tar.gz", [("run.sh", "file", None), ("l", "link", "."),
	                     ("s", "link", "l/" * 12 + "/".join([".."] * 12))])
	PY
	for t in dotdot abs link chain; do
		cat >$t.json <<-EOF || exit 1
		{"TrainingJobName": "arch-$t", "AlgorithmSpecification": {"TrainingInputMode": "File"},
		 "HyperParameters": {"sagemaker_program": "\"run.sh\"",
		   "sagemaker_submit_directory": "\"file://$PWD/$t.tar.gz\""},
		 "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
		 "OutputDataConfig": {"S3OutputPath": "$PWD/out"}}
		EOF
		test_expect_code 1 sagerun train --backend process --spec $t.json >/dev/null 2>$t.err || exit 1
		test_grep "refusing entry" $t.err && ! grep -q InternalServerError $t.err || exit 1
	done &&
	test ! -e /tmp/sagerun-evil-abs &&
	! find "$SAGERUN_HOME" -name evil | grep -q . &&
	test_grep "refusing entry .s.: a symbolic link to .l/l/.* leaves the destination" chain.err &&
	code="$SAGERUN_HOME/jobs/arch-chain/hosts/algo-1/opt/ml/code" &&
	test -d "$code" && test -z "$(ls -A "$code")"
'

test_expect_success 'a requirements.txt that cannot be installed: InstallRequirementsError' '
	mkdir -p reqcode && cp code/dump.py reqcode/ && echo "no-such-package-sagerun==1.0" >reqcode/requirements.txt &&
	sagerun train --backend process --name req --entry-point dump.py --source-dir reqcode \
		--output out >/dev/null 2>&1
	base="$SAGERUN_HOME/jobs/req/hosts/algo-1/opt/ml" && rm -f "$base/output/failure" &&
	test_expect_code 1 runtime req algo-1 PIP_NO_INDEX=1 PIP_BREAK_SYSTEM_PACKAGES=1 >/dev/null 2>req.err &&
	test_grep "^InstallRequirementsError:$" "$base/output/failure" &&
	test_grep "^Command \"python3 -m pip install -r requirements.txt\"$" "$base/output/failure"
'

test_expect_success 'a setup.py that cannot be installed: InstallModuleError, run as a package' '
	mkdir -p pkgcode && cp code/dump.py pkgcode/ &&
	printf "from setuptools import setup\nsetup(name=\"x\", install_requires=[\"no-such-package-sagerun\"])\n" >pkgcode/setup.py &&
	sagerun train --backend process --name pkg --entry-point dump.py --source-dir pkgcode \
		--output out >/dev/null 2>&1
	base="$SAGERUN_HOME/jobs/pkg/hosts/algo-1/opt/ml" && rm -f "$base/output/failure" &&
	test_expect_code 1 runtime pkg algo-1 PIP_NO_INDEX=1 PIP_BREAK_SYSTEM_PACKAGES=1 >/dev/null 2>pkg.err &&
	test_grep "^InstallModuleError:$" "$base/output/failure" &&
	test_grep "^Command \"python3 -m pip install .\"$" "$base/output/failure"
'

test_expect_success 'process backend: a stop reaches what the program started (the host group)' '
	mkdir -p grpcode && cat >grpcode/bg.sh <<-\EOF &&
	sleep 3171 &
	wait
	EOF
	( "$SAGERUN" train --backend process --name grp --entry-point bg.sh --source-dir grpcode \
		--stop-grace 1 --output out >grp.out 2>grp.err; echo $? >grp.rc ) &
	job=$!
	for _ in $(seq 1 1000); do pgrep -f "sleep 3171" >/dev/null && break; sleep 0.02; done
	pgrep -f "sleep 3171" >/dev/null && sagerun stop grp && wait $job &&
	test "$(cat grp.rc)" = 130 &&
	for _ in $(seq 1 1000); do pgrep -f "sleep 3171" >/dev/null || break; sleep 0.02; done &&
	! pgrep -f "sleep 3171" >/dev/null &&
	test ! -e "$SAGERUN_HOME/jobs/grp/hosts/algo-1/opt/ml/output/failure"
'

test_expect_success 'usage: train takes no arguments' '
	test_expect_code 2 sagerun container train extra 2>err && test_grep "no arguments" err
'

test_done
