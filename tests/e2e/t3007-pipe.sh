#!/bin/bash
# Pipe-mode channels as the service gives them: FIFOs <channel>_0, _1, ... each a pass over the
# channel's files in the order of their names, the next there once the program read the one
# before to its end; RecordIO framing when RecordWrapperType says so.
. "$(dirname "$0")/lib.sh"
test_require PYTHON

mkdir -p data/sub && printf 'alpha\n' >data/a.txt && printf 'beta-beta\n' >data/b.txt &&
	printf 'gamma\n' >data/sub/c.txt
mkdir -p big && head -c 3000000 /dev/urandom >big/blob

# Reads two passes of the channel and says what it got: its bytes and a digest.
cat >epochs.py <<'PY'
import hashlib, os, sys
base = os.environ["SM_CHANNEL_TRAIN"]
for epoch in range(2):
    with open("%s_%d" % (base, epoch), "rb") as f:
        data = f.read()
    print("epoch %d: %d bytes %s" % (epoch, len(data), hashlib.sha256(data).hexdigest()[:16]))
PY

# Parses MXNet RecordIO: each record's parts put together; prints the records' lengths.
cat >records.py <<'PY'
import os, struct
with open(os.environ["SM_CHANNEL_TRAIN"] + "_0", "rb") as f:
    data = f.read()
records, cur, i = [], b"", 0
while i < len(data):
    magic, lrec = struct.unpack("<II", data[i:i + 8])
    assert magic == 0xced7230a, hex(magic)
    cflag, n = lrec >> 29, lrec & ((1 << 29) - 1)
    cur += data[i + 8:i + 8 + n]
    i += 8 + (n + 3) // 4 * 4
    if cflag in (0, 3):
        records.append(cur)
        cur = b""
print("records", [len(r) for r in records])
PY

expected() {
	cat data/a.txt data/b.txt data/sub/c.txt | sha256sum | cut -c1-16
}

# The CLI has no input mode flag: a spec says Pipe, as the SDK sends it.
spec() { # NAME RECORDWRAPPER FOLDER
	cat <<-EOF
	{"TrainingJobName": "$1",
	 "AlgorithmSpecification": {"TrainingInputMode": "Pipe"},
	 "InputDataConfig": [{"ChannelName": "train", "RecordWrapperType": "$2",
	   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "$PWD/$3"}}}],
	 "OutputDataConfig": {"S3OutputPath": "$PWD/out"},
	 "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 30},
	 "StoppingCondition": {"MaxRuntimeInSeconds": 600}}
	EOF
}

for backend in process ns; do
	test_expect_success "two epochs through the pipes ($backend backend)" '
		if [ '$backend' = ns ] && ! unshare --mount --pid --fork true 2>/dev/null; then
			say "ns: cannot create namespaces here"; exit 0
		fi &&
		spec pipe-'$backend' None data >pipe.json &&
		sagerun train --backend '$backend' --spec pipe.json -- python3 "$PWD/epochs.py" \
			>stdout 2>stderr &&
		want=$(expected) &&
		for h in 1 2; do
			test_grep "^algo-$h | epoch 0: 22 bytes $want$" stdout &&
			test_grep "^algo-$h | epoch 1: 22 bytes $want$" stdout || exit 1
		done &&
		grep -o "\"TrainingInputMode\": \"Pipe\"" \
			"$SAGERUN_HOME/jobs/pipe-'$backend'/hosts/algo-1/opt/ml/input/config/inputdataconfig.json" &&
		test "$(cat data/a.txt)" = alpha
	'
done

test_expect_success 'RecordIO: each file a record, a big one in parts' '
	spec rec RecordIO big >rec.json &&
	cp data/a.txt big/ &&
	sagerun train --backend process --spec rec.json -- python3 "$PWD/records.py" \
		>stdout 2>stderr &&
	test_grep "^algo-1 | records \\[6, 3000000\\]$" stdout
'

test_done
