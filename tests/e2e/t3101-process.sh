#!/bin/bash
# sagerun process: a processing job laid out, run, ended and exported as the service does it.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS PYTHON

mkdir -p data/sub && printf 'a\n' >data/a.csv && printf 'b\n' >data/sub/b.csv
find data -type f | sort | xargs sha256sum >data.sums

# Each host checks what the service promises it, then writes files of its own.
cat >host.py <<'PY'
import json, os, sys
host = os.uname().nodename
cfg = json.load(open("/opt/ml/config/processingjobconfig.json"))
res = json.load(open("/opt/ml/config/resourceconfig.json"))
assert res == {"current_host": host, "hosts": ["algo-1", "algo-2", "algo-3"]}, res
assert list(cfg)[:2] == ["ProcessingJobArn", "ProcessingJobName"], list(cfg)
assert cfg["ProcessingJobName"] == "proc3", cfg
assert cfg["ProcessingJobArn"].endswith(":processing-job/proc3"), cfg
assert cfg["AppSpecification"]["ImageUri"] is None, cfg
assert cfg["Environment"] == {"GREETING": "hi"}, cfg
ins = cfg["ProcessingInputs"]
assert [i["InputName"] for i in ins] == ["raw"], ins
assert ins[0]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/raw", ins
assert ins[0]["S3Input"]["S3DownloadMode"] == "StartOfJob", ins
assert cfg["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3, cfg
assert cfg["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] is None, cfg
assert cfg["ProcessingOutputConfig"]["KmsKeyId"] is None, cfg
# no toolkit: no SM_* variable; the platform's region
assert not [k for k in os.environ if k.startswith("SM_")], sorted(os.environ)
assert os.environ["AWS_REGION"] == "us-east-1", os.environ.get("AWS_REGION")
assert os.environ["GREETING"] == "hi"
# the input, as the host's own copy: a write stays in this host
data = "/opt/ml/processing/input/raw"
assert sorted(os.listdir(data)) == ["a.csv", "sub"], os.listdir(data)
assert open(data + "/sub/b.csv").read() == "b\n"
open(data + "/a.csv", "w").write("changed by " + host)
# outputs exist and are empty
out = "/opt/ml/processing/output/result"
assert os.listdir(out) == [], os.listdir(out)
os.makedirs(out + "/part")
open(out + "/part/" + host + ".txt", "w").write(host + " " + " ".join(sys.argv[1:]) + "\n")
open(out + "/shared.txt", "w").write("from " + host + "\n")
print(host, "done")
PY

cat >spec.json <<'JSON'
{
  "ProcessingJobName": "proc3",
  "RoleArn": "arn:aws:iam::111122223333:role/SageMakerRole",
  "ProcessingResources": {"ClusterConfig": {"InstanceCount": 3, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
  "AppSpecification": {"ContainerEntrypoint": ["/usr/bin/python3", "@PWD@/host.py"], "ContainerArguments": ["--mode", "full"]},
  "Environment": {"GREETING": "hi"},
  "ProcessingInputs": [{"InputName": "raw", "S3Input": {"S3Uri": "@PWD@/data", "LocalPath": "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix"}}],
  "ProcessingOutputConfig": {"Outputs": [{"OutputName": "result", "S3Output": {"S3Uri": "@PWD@/out", "LocalPath": "/opt/ml/processing/output/result", "S3UploadMode": "EndOfJob"}}]}
}
JSON
sed -i "s|@PWD@|$PWD|g" spec.json

test_expect_success 'a 3-host processing job from a CreateProcessingJob request completes' '
	sagerun process --backend ns --spec spec.json >stdout 2>stderr &&
	test_grep "^algo-1 | algo-1 done" stdout &&
	test_grep "^algo-3 | algo-3 done" stdout &&
	test_grep "proc3: Processing - Processing job in progress" stderr &&
	test_grep "proc3: Completed - Processing job completed" stderr
'

test_expect_success 'every host wrote into the merged output; the last host kept a shared name' '
	printf "%s\n" out/part/algo-1.txt out/part/algo-2.txt out/part/algo-3.txt out/shared.txt >expect &&
	find out -type f | sort >actual &&
	test_cmp expect actual &&
	printf "algo-2 --mode full\n" >expect && test_cmp expect out/part/algo-2.txt &&
	printf "from algo-3\n" >expect && test_cmp expect out/shared.txt &&
	test_grep "output .result.: 4 files" stderr &&
	test_grep "shared.txt. written by algo-1, algo-2 and algo-3, algo-3.s copy kept" stderr
'

test_expect_success 'the input folder was never written to' '
	find data -type f | sort | xargs sha256sum >after.sums &&
	test_cmp data.sums after.sums
'

test_expect_success 'ps, describe and wait know a processing job' '
	sagerun ps -a >ps.out &&
	test_grep "^proc3 *processing *Completed" ps.out &&
	sagerun describe proc3 >describe.json &&
	python3 - describe.json <<-\PY &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["ProcessingJobStatus"] == "Completed", d
	assert "SecondaryStatus" not in d and "TrainingJobStatus" not in d, list(d)
	keys = ("ProcessingJobArn", "ProcessingStartTime", "ProcessingEndTime", "CreationTime", "LastModifiedTime", "ProcessingInputs", "ProcessingOutputConfig", "AppSpecification")
	assert all(k in d for k in keys), list(d)
	assert "ExitMessage" not in d and "FailureReason" not in d, d
	assert [h["ExitCode"] for h in d["Hosts"]] == [0, 0, 0], d["Hosts"]
	PY
	sagerun wait proc3
'

# A host that fails: its message, the service's FailureReason, the others stopped with SIGINT,
# the outputs uploaded all the same.
cat >fail.sh <<'SH'
host=$(hostname)
echo "$host partial" >/opt/ml/processing/output/result/$host.txt
case $host in
algo-2)
	while [ ! -e "$DIR/algo-1.ready" ]; do sleep 0.05; done
	printf 'shard 7 is corrupt' >/opt/ml/output/message
	exit 3 ;;
*)
	trap 'echo "$host got SIGINT"; exit 130' INT
	touch "$DIR/$host.ready"
	sleep 3111 &
	wait ;;
esac
SH

test_expect_success 'mode=pipe from a flag warns as the spec'\''s S3InputMode Pipe does' '
	sagerun process --backend process --name ppipe --input d=data,mode=pipe \
		-- cat /opt/ml/processing/input/d/a.csv >stdout 2>stderr &&
	test_grep "^algo-1 | a$" stdout &&
	test_grep "warning: --input d=data,mode=pipe: mode=pipe behaves as File locally" stderr &&
	test $(grep -c "behaves as File" stderr) -eq 1
'

test_expect_success 'a failing host fails the job with the service'\''s reason and message' '
	# (--privileged: the hosts meet in the working folder, which only an uncontained host
	# shares; a contained one sees it through a layer of its own)
	test_expect_code 1 sagerun process --backend ns --privileged --name pfail --hosts 2 --env DIR="$PWD" \
		--output result="$PWD/failout" -- /bin/sh "$PWD/fail.sh" >stdout 2>stderr &&
	test_grep "pfail: Failed" stderr &&
	test_grep "FailureReason: AlgorithmError: , exit code: 3" stderr &&
	test_grep "^algo-1 | algo-1 got SIGINT" stdout &&
	python3 - "$SAGERUN_HOME/jobs/pfail/describe.json" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["ProcessingJobStatus"] == "Failed", d
	assert d["FailureReason"] == "AlgorithmError: , exit code: 3", d["FailureReason"]
	assert d["ExitMessage"] == "shard 7 is corrupt", d.get("ExitMessage")
	hosts = {h["Name"]: h for h in d["Hosts"]}
	assert hosts["algo-2"]["ExitCode"] == 3 and hosts["algo-1"]["ExitCode"] == 130, hosts
	PY
'

test_expect_success 'EndOfJob outputs are uploaded when the job fails' '
	printf "%s\n" failout/algo-1.txt failout/algo-2.txt >expect &&
	find failout -type f | sort >actual &&
	test_cmp expect actual
'

test_expect_success 'messages of several hosts are concatenated and cut to 1024 characters' '
	sagerun process --backend process --name pmsg --hosts 3 -- /bin/sh -c \
		"python3 -c \"import os; open(os.environ[\\\"SAGEMAKER_BASE_DIR\\\"] + \\\"/output/message\\\", \\\"w\\\").write(\\\"\\u00e9\\\" * 400)\"" \
		2>stderr &&
	python3 - "$SAGERUN_HOME/jobs/pmsg/describe.json" <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["ExitMessage"] == "\u00e9" * 1024, len(d["ExitMessage"])
	PY
'

test_expect_success 'a message that is not UTF-8 fails the job with a ClientError' '
	test_expect_code 1 sagerun process --backend ns --name pbad -- /bin/sh -c \
		"printf \"ok\\377\" >/opt/ml/output/message" 2>stderr &&
	test_grep "FailureReason: ClientError: algo-1.s /opt/ml/output/message is not valid UTF-8" stderr
'

test_expect_success 'sagerun stop stops a processing job with SIGINT' '
	sagerun process -d --backend ns --name pstop --hosts 2 -- /bin/sh -c \
		"trap \"echo \$(hostname) interrupted; exit 0\" INT; echo ready; sleep 3112 & wait" >name &&
	test_wait_lines 2 "| ready$" "$SAGERUN" logs -f pstop &&
	sagerun stop pstop &&
	test_expect_code 130 sagerun wait pstop &&
	test_grep "algo-1 interrupted" "$SAGERUN_HOME/jobs/pstop/logs/algo-1.log" &&
	sagerun ps -a >ps.out && test_grep "^pstop *processing *Stopped" ps.out
'

test_expect_success 'a job past --max-run is stopped (MaxRuntimeExceeded)' '
	test_expect_code 130 sagerun process --backend process --name pmax --max-run 1 --stop-grace 1 \
		-- sleep 3113 2>stderr &&
	test_grep "pmax: MaxRuntimeExceeded - Processing job exceeded MaxRuntimeInSeconds" stderr &&
	python3 -c "import json,sys; d=json.load(open(\"$SAGERUN_HOME/jobs/pmax/describe.json\")); sys.exit(d[\"ProcessingJobStatus\"] != \"Stopped\")"
'

test_expect_success '--max-run is at most 9 days for a processing job' '
	test_expect_code 2 sagerun process --max-run 777601 -- true 2>stderr &&
	test_grep "max-run: must be between 1 and 777600 seconds (9 days)" stderr
'

# ScriptProcessor: the code file as input "code", run as the command plus its path there.
cat >prep.py <<'PY'
import json, os, sys
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
assert os.path.abspath(__file__) == base + "/processing/input/code/prep.py", __file__
host = json.load(open(base + "/config/resourceconfig.json"))["current_host"]
open(base + "/processing/output/o/" + host, "w").write(" ".join(sys.argv[1:]))
PY

for backend in ns process; do
	test_expect_success "--code runs as ScriptProcessor runs it ($backend)" '
		sagerun process --backend '$backend' --name code-'$backend' --hosts 2 --code prep.py \
			--command /usr/bin/python3 --output o="$PWD/code-'$backend'" -- --rows 10 2>stderr &&
		printf "%s\n" algo-1 algo-2 >expect &&
		ls code-'$backend' >actual && test_cmp expect actual &&
		printf "%s" "--rows 10" >expect && test_cmp expect code-'$backend'/algo-1 &&
		sagerun describe code-'$backend' >d.json &&
		python3 - d.json <<-\PY
		import json, sys
		d = json.load(open(sys.argv[1]))
		app = d["AppSpecification"]
		assert app["ContainerEntrypoint"] == ["/usr/bin/python3", "/opt/ml/processing/input/code/prep.py"], app
		assert app["ContainerArguments"] == ["--rows", "10"], app
		code = [i for i in d["ProcessingInputs"] if i["InputName"] == "code"][0]
		assert code["S3Input"]["LocalPath"] == "/opt/ml/processing/input/code", code
		PY
	'
done

# The SDK's sklearn example: data at /opt/ml/processing/input, the code inside it at
# /opt/ml/processing/input/code.
cat >nested.py <<'PY'
import json, os
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
host = json.load(open(base + "/config/resourceconfig.json"))["current_host"]
top = sorted(os.listdir(base + "/processing/input"))
code = sorted(os.listdir(base + "/processing/input/code"))
open(base + "/processing/output/o/" + host, "w").write(" ".join(top) + " | " + " ".join(code))
PY

for backend in ns process; do
	test_expect_success "an input inside another lands over it ($backend)" '
		sagerun process --backend '$backend' --name nest-'$backend' --hosts 2 --code nested.py \
			--command /usr/bin/python3 --input all="$PWD/data",destination=/opt/ml/processing/input \
			--output o="$PWD/nest-'$backend'" 2>stderr &&
		printf "a.csv code sub | nested.py" >expect &&
		test_cmp expect nest-'$backend'/algo-2
	'
done

# FrameworkProcessor: the folder as sourcedir.tar.gz, with the SDK's runproc.sh.
mkdir -p src/lib && cat >src/main.py <<'PY'
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib.helper import word
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
open(base + "/processing/output/o/" + os.uname().nodename, "w").write(word() + " " + " ".join(sys.argv[1:]))
PY
printf 'def word():\n    return "framework"\n' >src/lib/helper.py

test_expect_success '--source-dir and --entry-point run as FrameworkProcessor runs them' '
	sagerun process --backend ns --name fw --hosts 2 --source-dir src --entry-point main.py \
		--command /usr/bin/python3 --output o="$PWD/fw-out" -- a b 2>stderr &&
	printf "framework a b" >expect && test_cmp expect fw-out/algo-2 &&
	test_grep "^#!/bin/bash" "$SAGERUN_HOME/jobs/fw/source/runproc.sh" &&
	test_grep "^/usr/bin/python3 main.py \"\$@\"$" "$SAGERUN_HOME/jobs/fw/source/runproc.sh" &&
	test_grep "^    /usr/bin/python3 -m pip install -r requirements.txt$" "$SAGERUN_HOME/jobs/fw/source/runproc.sh" &&
	tar -tzf "$SAGERUN_HOME/jobs/fw/source/sourcedir.tar.gz" | sort >entries &&
	test_grep "^lib/helper.py$" entries &&
	sagerun describe fw >d.json &&
	python3 - d.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	app = d["AppSpecification"]
	assert app["ContainerEntrypoint"] == ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"], app
	names = {i["InputName"]: i["S3Input"]["LocalPath"] for i in d["ProcessingInputs"]}
	assert names == {"code": "/opt/ml/processing/input/code/",
			 "entrypoint": "/opt/ml/processing/input/entrypoint"}, names
	PY
'

test_expect_success 'Continuous outputs are uploaded while the job still runs' '
	# (--privileged: the host waits for a file this machine makes in the working folder,
	# which a contained host sees through a layer of its own)
	"$SAGERUN" process --backend ns --privileged --name cont --output o="$PWD/cont",upload=continuous -- /bin/sh -c \
		"echo first >/opt/ml/processing/output/o/first.txt; while [ ! -e \"$PWD/go\" ]; do sleep 0.05; done; echo second >/opt/ml/processing/output/o/second.txt" \
		2>stderr &
	pid=$! &&
	for _ in $(seq 1 600); do [ -e cont/first.txt ] && break; sleep 0.05; done &&
	printf "first\n" >expect && test_cmp expect cont/first.txt &&
	! test -e cont/second.txt &&
	touch go && wait $pid &&
	printf "second\n" >expect && test_cmp expect cont/second.txt
'

test_expect_success 'logs and rm work for a processing job' '
	sagerun logs proc3 >logs.out &&
	test_grep "^algo-2 | algo-2 done" logs.out &&
	sagerun rm proc3 &&
	! test -e "$SAGERUN_HOME/jobs/proc3" &&
	sagerun ps -a >ps.out && ! grep -q "^proc3 " ps.out
'

test_expect_success 'a processing job whose supervisor is killed is marked Failed' '
	sagerun process -d --backend ns --name plost --hosts 2 -- sleep 3111 >/dev/null &&
	pid=$(cat "$SAGERUN_HOME/jobs/plost/supervisor.lock") &&
	kill -9 "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done &&
	sagerun ps -a >ps.out 2>ps.err &&
	test_grep "^plost *processing *Failed" ps.out &&
	sagerun describe plost >d.json &&
	python3 -c "import json; d=json.load(open(\"d.json\")); assert d[\"ProcessingJobStatus\"] == \"Failed\" and d[\"FailureReason\"] == \"InternalServerError: supervisor lost\" and \"ProcessingEndTime\" in d, d"
'

test_expect_success 'nothing of the jobs is left running' '
	! pgrep -f "sleep 311[123]"
'

test_expect_success 'prune removes the ended processing jobs, their folders with them' '
	sagerun ps -a >before && test_grep " processing " before &&
	sagerun prune >/dev/null &&
	sagerun ps -a >after && ! grep " processing " after &&
	! test -e "$SAGERUN_HOME/jobs/plost" && ! test -e "$SAGERUN_HOME/jobs/pfail"
'

test_done
