#!/bin/bash
# Processing jobs with S3, against a real s3rver read back with awscli: a sharded S3 input next
# to a local one, outputs to S3 and to a folder from every host, Continuous uploads seen while
# the job runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
test_require ROOT NS PYTHON

mkdir -p local && printf 'local table\n' >local/t.csv
mkdir -p shards && for i in 0 1 2 3 4 5; do printf 'shard %s\n' $i >shards/s$i.csv; done

cat >host.py <<'PY'
import json, os
host = os.uname().nodename
res = json.load(open("/opt/ml/config/resourceconfig.json"))
cfg = json.load(open("/opt/ml/config/processingjobconfig.json"))
assert res["current_host"] == host and res["hosts"] == ["algo-1", "algo-2", "algo-3"], res
ins = {i["InputName"]: i["S3Input"] for i in cfg["ProcessingInputs"]}
assert ins["events"]["S3DataDistributionType"] == "ShardedByS3Key", ins
assert ins["events"]["S3Uri"] == "s3://bkt/in/events", ins
outs = {o["OutputName"]: o["S3Output"] for o in cfg["ProcessingOutputConfig"]["Outputs"]}
assert outs["features"]["S3Uri"] == "s3://bkt/out/features", outs
# the local input whole, the sharded one this host's share (round robin over sorted keys)
assert open("/opt/ml/processing/input/table/t.csv").read() == "local table\n"
mine = sorted(os.listdir("/opt/ml/processing/input/events"))
index = res["hosts"].index(host)
want = ["s%d.csv" % i for i in range(6) if i % 3 == index]
assert mine == want, (host, mine, want)
body = "".join(open("/opt/ml/processing/input/events/" + f).read() for f in mine)
for name in ("features", "report"):
    d = "/opt/ml/processing/output/" + name
    os.makedirs(d + "/" + host)
    open(d + "/" + host + "/part.csv", "w").write(host + "\n" + body)
    open(d + "/" + host + "/blob.bin", "wb").write(os.urandom(70000) + host.encode())
print(host, "read", " ".join(mine))
PY

cat >spec.json <<'JSON'
{
  "ProcessingJobName": "ps3",
  "ProcessingResources": {"ClusterConfig": {"InstanceCount": 3, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
  "AppSpecification": {"ImageUri": "111122223333.dkr.ecr.us-east-1.amazonaws.com/proc:1", "ContainerEntrypoint": ["/usr/bin/python3", "@PWD@/host.py"]},
  "RoleArn": "arn:aws:iam::111122223333:role/SageMakerRole",
  "ProcessingInputs": [
    {"InputName": "table", "S3Input": {"S3Uri": "@PWD@/local", "LocalPath": "/opt/ml/processing/input/table", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
    {"InputName": "events", "S3Input": {"S3Uri": "s3://bkt/in/events", "LocalPath": "/opt/ml/processing/input/events", "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "ShardedByS3Key", "S3CompressionType": "None"}}
  ],
  "ProcessingOutputConfig": {"Outputs": [
    {"OutputName": "features", "S3Output": {"S3Uri": "s3://bkt/out/features", "LocalPath": "/opt/ml/processing/output/features", "S3UploadMode": "EndOfJob"}},
    {"OutputName": "report", "S3Output": {"S3Uri": "@PWD@/report", "LocalPath": "/opt/ml/processing/output/report", "S3UploadMode": "EndOfJob"}}
  ]}
}
JSON
sed -i "s|@PWD@|$PWD|g" spec.json

test_expect_success 'a 3-host job reads a local and a sharded S3 input and writes to S3 and a folder' '
	sagerun s3 cp --recursive shards s3://bkt/in/events &&
	sagerun process --backend ns --spec spec.json >stdout 2>stderr &&
	test_grep "ps3: input .events.: 6 objects" stderr &&
	test_grep "^algo-2 | algo-2 read s1.csv s4.csv$" stdout &&
	test_grep "ps3: Completed" stderr
'

test_expect_success 'the S3 output holds every host'\''s files, byte for byte' '
	awss3 ls --recursive s3://bkt/out/features/ | awk "{print \$4}" | sort >keys &&
	for h in algo-1 algo-2 algo-3; do
		printf "out/features/%s/blob.bin\nout/features/%s/part.csv\n" $h $h
	done | sort >expect &&
	test_cmp expect keys &&
	awss3 cp --recursive s3://bkt/out/features got >/dev/null &&
	for h in algo-1 algo-2 algo-3; do
		cmp got/$h/part.csv "$SAGERUN_HOME/jobs/ps3/hosts/$h/opt/ml/processing/output/features/$h/part.csv" &&
		cmp got/$h/blob.bin "$SAGERUN_HOME/jobs/ps3/hosts/$h/opt/ml/processing/output/features/$h/blob.bin" ||
		return 1
	done &&
	printf "algo-3\nshard 2\nshard 5\n" >expect && test_cmp expect got/algo-3/part.csv
'

test_expect_success 'the local output holds the same files' '
	(cd got && find . -type f | sort) >expect &&
	(cd report && find . -type f | sort) >actual &&
	test_cmp expect actual &&
	cmp report/algo-1/blob.bin "$SAGERUN_HOME/jobs/ps3/hosts/algo-1/opt/ml/processing/output/report/algo-1/blob.bin"
'

test_expect_success 'a Continuous output is on S3 while the job still runs' '
	# (--privileged: the hosts wait for a file this machine makes in the working folder,
	# which a contained host sees through a layer of its own)
	"$SAGERUN" process --backend ns --privileged --name pcont --hosts 2 \
		--output live=s3://bkt/live,upload=continuous -- /bin/sh -c \
		"echo early >/opt/ml/processing/output/live/\$(hostname)-early.txt; while [ ! -e \"$PWD/go\" ]; do sleep 0.05; done; echo late >/opt/ml/processing/output/live/\$(hostname)-late.txt" \
		>stdout 2>stderr &
	pid=$! &&
	for _ in $(seq 1 200); do
		awss3 ls s3://bkt/live/ >live 2>/dev/null
		[ "$(grep -c early live)" = 2 ] && break
		sleep 0.1
	done &&
	test "$(grep -c early live)" = 2 &&
	! grep -q late live &&
	touch go && wait $pid &&
	awss3 ls s3://bkt/live/ | awk "{print \$4}" | sort >keys &&
	printf "%s\n" algo-1-early.txt algo-1-late.txt algo-2-early.txt algo-2-late.txt >expect &&
	test_cmp expect keys &&
	test_grep "output .live.: 4 files.*uploaded while the job ran" stderr
'

test_expect_success 'Gzip in Pipe mode (sharded), a manifest and a file:// input, on 2 hosts' '
	mkdir -p gz && for i in 1 2 3 4; do printf "row %s\n" $i | gzip >gz/f$i.csv.gz; done &&
	sagerun s3 cp --recursive gz s3://bkt/gz &&
	mkdir -p man && echo m1 >man/m1.txt && echo m2 >man/sub-m2.txt && echo no >man/other.txt &&
	sagerun s3 cp --recursive man s3://bkt/man &&
	echo "[{\"prefix\": \"s3://bkt/man/\"}, \"m1.txt\", \"sub-m2.txt\"]" >list.manifest &&
	sagerun s3 cp list.manifest s3://bkt/lists/list.manifest &&
	sagerun process --backend ns --name pkinds --hosts 2 \
		--input gz=s3://bkt/gz,mode=pipe,compression=gzip,distribution=sharded \
		--input m=s3://bkt/lists/list.manifest,type=manifest \
		--input f=file://$PWD/local \
		-- sh -c "cd /opt/ml/processing/input && for f in \$(find gz m f -type f | sort); do echo \$f: \$(cat \$f); done" \
		>stdout 2>stderr &&
	test_grep "pkinds: Completed" stderr &&
	test_grep "mode=pipe behaves as File locally" stderr &&
	for h in 1 2; do
		grep "^algo-$h | " stdout | sed "s/^algo-$h | //" >got-$h
	done &&
	printf "%s\n" "f/t.csv: local table" "gz/f1.csv: row 1" "gz/f3.csv: row 3" "m/m1.txt: m1" \
		"m/sub-m2.txt: m2" >expect-1 &&
	printf "%s\n" "f/t.csv: local table" "gz/f2.csv: row 2" "gz/f4.csv: row 4" "m/m1.txt: m1" \
		"m/sub-m2.txt: m2" >expect-2 &&
	test_cmp expect-1 got-1 && test_cmp expect-2 got-2
'

test_done
