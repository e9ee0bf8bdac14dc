#!/bin/bash
# sagerun's S3 client against a real S3-compatible server (s3rver from npm, started here on
# 127.0.0.1) with awscli as the independent client: what one writes the other reads back
# byte-exact, for empty, 1-byte, multipart-sized and many small objects; then faults: the
# server killed mid-download, wrong credentials, a missing bucket.  (Keys with ".." cannot be
# stored in s3rver, which resolves them as paths: tests/unit/test_s3path.c covers them.)
. "$(dirname "$0")/lib.sh"

S3RVER="$SR_SOURCE_DIR/.deps/npm/node_modules/.bin/s3rver"
if ! [ -x "$S3RVER" ]; then
	_skip_reason="s3rver is not installed (run make deps)"
	say "skipping $test_name: $_skip_reason"
fi
command -v aws >/dev/null || { _skip_reason="awscli is not installed (run make deps)"; say "$_skip_reason"; }

port=$(free_port)
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent
awss3() { aws --endpoint-url "$AWS_ENDPOINT_URL" s3 "$@"; }

start_server() {
	# s3rver 3.7.1 makes ListObjectsV2 continuation tokens with a cipher OpenSSL 3 keeps in
	# its legacy provider (ERR_OSSL_EVP_UNSUPPORTED otherwise, for awscli too).
	NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" -d "$TRASH/s3data" -a 127.0.0.1 -p "$port" --configure-bucket bkt \
		>>"$TRASH/s3rver.log" 2>&1 &
	# In a file: steps run in subshells, and the one that restarts it must tell the exit trap.
	echo $! >"$TRASH/s3rver.pid"
	for _ in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1)" \
			2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
stop_server() {
	local pid
	pid=$(cat "$TRASH/s3rver.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
	rm -f "$TRASH/s3rver.pid"
}

if [ -z "${_skip_reason:-}" ]; then
	start_server || { echo "s3rver did not start"; cat s3rver.log; exit 1; }
	trap 'stop_server' EXIT
fi

mkdir -p up && : >up/empty && printf x >up/one && head -c 21000000 /dev/urandom >up/big &&
	mkdir -p up/many && for i in $(seq 1 200); do head -c 1024 /dev/urandom >up/many/f$i; done

test_expect_success 'sagerun uploads, awscli reads back byte-exact' '
	for f in empty one big; do sagerun s3 cp up/$f s3://bkt/a/$f || exit 1; done &&
	sagerun s3 cp --recursive up/many s3://bkt/a/many &&
	mkdir -p viaaws &&
	for f in empty one big; do awss3 cp s3://bkt/a/$f viaaws/$f >/dev/null || exit 1; done &&
	awss3 cp --recursive s3://bkt/a/many viaaws/many >/dev/null &&
	for f in empty one big; do cmp up/$f viaaws/$f || exit 1; done &&
	diff -r up/many viaaws/many
'

test_expect_success 'awscli uploads, sagerun reads back byte-exact and lists the same' '
	for f in empty one big; do awss3 cp up/$f s3://bkt/b/$f >/dev/null || exit 1; done &&
	awss3 cp --recursive up/many s3://bkt/b/many >/dev/null &&
	mkdir -p viasr &&
	for f in empty one big; do sagerun s3 cp s3://bkt/b/$f viasr/$f || exit 1; done &&
	sagerun s3 cp --recursive s3://bkt/b/many viasr/many &&
	for f in empty one big; do cmp up/$f viasr/$f || exit 1; done &&
	diff -r up/many viasr/many &&
	sagerun s3 ls s3://bkt/b/ >ls.sr &&
	test $(wc -l <ls.sr) -eq 203 &&
	test_grep "^    21000000  b/big$" ls.sr &&
	test_grep "^           0  b/empty$" ls.sr &&
	awss3 ls --recursive s3://bkt/b/ | wc -l >n.aws && test $(cat n.aws) -eq 203
'

test_expect_success 'listing pages through more than 1000 objects' '
	mkdir -p lots && for i in $(seq 1 1100); do : >lots/k$i; done &&
	sagerun s3 cp --recursive lots s3://bkt/lots &&
	sagerun s3 ls s3://bkt/lots/ | wc -l >n && test $(cat n) -eq 1100
'

test_expect_success 'rm deletes an object' '
	sagerun s3 rm s3://bkt/a/one &&
	! sagerun s3 ls s3://bkt/a/ | grep " a/one$"
'

test_expect_success 'wrong credentials: the error names the key source, and no secret' '
	test_expect_code 1 env AWS_ACCESS_KEY_ID=NOPE AWS_SECRET_ACCESS_KEY=s3cr3t-wrong \
		"$SAGERUN" s3 ls s3://bkt/a/ 2>err &&
	test_grep "InvalidAccessKeyId" err &&
	test_grep "environment (AWS_ACCESS_KEY_ID)" err &&
	! grep s3cr3t-wrong err
'

test_expect_success 'a bucket that does not exist is named' '
	test_expect_code 1 sagerun s3 ls s3://nobucket/x 2>err &&
	test_grep "NoSuchBucket" err && test_grep "nobucket" err
'

test_expect_success 'a job with an S3 output uploads model.tar.gz and output.tar.gz there' '
	sagerun train --backend process --name s3out --hosts 2 --output s3://bkt/jobs \
		-- sh -c "echo \$SM_CURRENT_HOST >\$SM_MODEL_DIR/m-\$SM_CURRENT_HOST; echo o >\$SM_OUTPUT_DATA_DIR/o-\$SM_CURRENT_HOST" \
		>stdout 2>stderr &&
	test_grep "s3out: Completed" stderr &&
	test_grep "model artifacts: s3://bkt/jobs/s3out/output/model.tar.gz" stderr &&
	awss3 cp s3://bkt/jobs/s3out/output/model.tar.gz got-model.tar.gz >/dev/null &&
	tar -xzOf got-model.tar.gz m-algo-2 >m2 && echo algo-2 >expect && test_cmp expect m2 &&
	awss3 cp s3://bkt/jobs/s3out/output/output.tar.gz got-output.tar.gz >/dev/null &&
	tar -tzf got-output.tar.gz | sort >entries && printf "o-algo-1\no-algo-2\n" >expect &&
	test_cmp expect entries &&
	sagerun describe s3out | grep -q "\"S3ModelArtifacts\": \"s3://bkt/jobs/s3out/output/model.tar.gz\""
'

test_expect_success 'an S3 output that cannot be written fails the job with the reason' '
	test_expect_code 1 env AWS_ACCESS_KEY_ID=NOPE "$SAGERUN" train --backend process \
		--name s3bad --output s3://bkt/jobs -- true >stdout 2>stderr &&
	test_grep "s3bad: Failed" stderr &&
	sagerun describe s3bad >d.json &&
	test_grep "FailureReason.*upload the artifacts.*InvalidAccessKeyId" d.json
'

test_expect_success 'an S3 channel is downloaded before Training, and cached for the next run' '
	mkdir -p chsrc/sub && for i in 1 2 3 4 5; do echo "row $i" >chsrc/part-$i; done &&
	echo deep >chsrc/sub/d && sagerun s3 cp --recursive chsrc s3://bkt/ch &&
	cat >lsch.sh <<-\EOF &&
	cd "$SM_CHANNEL_TRAIN" && find . -type f | sort | while read -r f; do echo "$f $(cat "$f")"; done
	EOF
	sagerun train --backend process --name ch1 --hosts 2 --channel train=s3://bkt/ch/ \
		--output out -- sh "$PWD/lsch.sh" >stdout 2>stderr &&
	test_grep "ch1: channel .train.: 6 objects, 35 bytes (6 downloaded, 0 from the cache)" stderr &&
	test_grep "^algo-2 | ./part-3 row 3$" stdout &&
	test_grep "^algo-1 | ./sub/d deep$" stdout &&
	test $(grep -c "^algo-1 |" stdout) -eq 6 &&
	sagerun train --backend process --name ch2 --hosts 2 --channel train=s3://bkt/ch/ \
		--output out -- sh "$PWD/lsch.sh" >stdout2 2>stderr2 &&
	test_grep "ch2: channel .train.: 6 objects, 35 bytes (0 downloaded, 6 from the cache)" stderr2 &&
	echo "row 3 changed" >chsrc/part-3 && sagerun s3 cp chsrc/part-3 s3://bkt/ch/part-3 &&
	sagerun train --backend process --name ch3 --hosts 1 --channel train=s3://bkt/ch/ \
		--output out -- sh "$PWD/lsch.sh" >stdout3 2>stderr3 &&
	test_grep "(1 downloaded, 5 from the cache)" stderr3 &&
	test_grep "^algo-1 | ./part-3 row 3 changed$" stdout3
'

test_expect_success 'ShardedByS3Key gives each host its own share, all of them once' '
	cat >shard.json <<-EOF &&
	{"TrainingJobName": "shard", "AlgorithmSpecification": {"TrainingInputMode": "File",
	  "ContainerEntrypoint": ["sh", "$PWD/lsch.sh"]},
	 "ResourceConfig": {"InstanceCount": 3, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
	 "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
	   "S3DataType": "S3Prefix", "S3Uri": "s3://bkt/ch/", "S3DataDistributionType": "ShardedByS3Key"}}}],
	 "OutputDataConfig": {"S3OutputPath": "$PWD/out"}}
	EOF
	sagerun train --backend process --spec shard.json >stdout 2>stderr &&
	sed -n "s/^algo-[0-9] | \.\/\([^ ]*\) .*/\1/p" stdout | sort >got &&
	printf "%s\n" part-1 part-2 part-3 part-4 part-5 sub/d >expect &&
	test_cmp expect got &&
	for h in 1 2 3; do test $(grep -c "^algo-$h |" stdout) -eq 2 || exit 1; done
'

test_expect_success 'a ManifestFile channel, and a Gzip one sharded, from --channel options' '
	printf "[{\"prefix\": \"s3://bkt/ch/\"}, \"part-1\", \"sub/d\"]" >manifest.json &&
	sagerun s3 cp manifest.json s3://bkt/m/manifest.json &&
	echo alpha | gzip >a.csv.gz && echo beta | gzip >b.csv.gz &&
	sagerun s3 cp a.csv.gz s3://bkt/gz/a.csv.gz && sagerun s3 cp b.csv.gz s3://bkt/gz/b.csv.gz &&
	cat >lsboth.sh <<-\EOF &&
	for ch in "$SM_CHANNEL_TRAIN" "$SM_CHANNEL_GZ"; do
		(cd "$ch" && find . -type f | sort | while read -r f; do echo "${ch##*/}:$f $(cat "$f")"; done)
	done
	EOF
	sagerun train --backend process --name mani --hosts 2 \
		--channel train=s3://bkt/m/manifest.json,type=manifest \
		--channel gz=s3://bkt/gz/,compression=gzip,distribution=sharded \
		--output out -- sh "$PWD/lsboth.sh" >stdout 2>stderr &&
	test_grep "^algo-1 | train:./part-1 row 1$" stdout &&
	test_grep "^algo-2 | train:./sub/d deep$" stdout &&
	test $(grep -c "^algo-1 | train:" stdout) -eq 2 &&
	test_grep "^algo-1 | gz:./a.csv alpha$" stdout &&
	test_grep "^algo-2 | gz:./b.csv beta$" stdout &&
	test $(grep -c "^algo-1 | gz:" stdout) -eq 1 &&
	test_grep "mani: channel .train.: 2 objects" stderr
'

test_expect_success 'Gzip on an object that is not gzip, and bad channel options, are refused by name' '
	echo plain >plain.csv && sagerun s3 cp plain.csv s3://bkt/notgz/plain.csv &&
	test_expect_code 1 sagerun train --backend process --name notgz \
		--channel gz=s3://bkt/notgz/,compression=gzip --output out -- true 2>stderr &&
	test_grep "s3://bkt/notgz/plain.csv: not gzip data" stderr &&
	test_grep "notgz: Failed" stderr &&
	test_expect_code 2 sagerun train --backend process --name badopt \
		--channel gz=s3://bkt/gz/,compression=zip -- true 2>stderr &&
	test_grep "compression: unknown value .zip. (none or gzip)" stderr &&
	test_expect_code 2 sagerun train --backend process --name badopt2 \
		--channel "gz=$PWD,distribution=sharded" -- true 2>stderr &&
	test_grep "for s3:// channels only" stderr
'

test_expect_success 'cp - uploads standard input and downloads to standard output' '
	head -c 300000 /dev/urandom >piped &&
	sagerun s3 cp - s3://bkt/p/piped <piped &&
	awss3 cp s3://bkt/p/piped viaaws-piped >/dev/null && cmp piped viaaws-piped &&
	sagerun s3 cp s3://bkt/p/piped - >back && cmp piped back &&
	: | sagerun s3 cp - s3://bkt/p/empty && sagerun s3 cp s3://bkt/p/empty - >back0 &&
	test ! -s back0 &&
	test_expect_code 1 sagerun s3 cp - s3://bkt/p/ </dev/null 2>err &&
	test_grep "is a prefix; name the object" err &&
	test_expect_code 2 sagerun s3 cp --recursive - s3://bkt/p/x </dev/null 2>err &&
	test_grep "not .-." err &&
	! ls "${TMPDIR:-/tmp}" | grep -q "^sagerun-s3\."
'

test_expect_success 'the server killed mid-download: a clear error, no partial file' '
	head -c 83886080 /dev/urandom >huge && sagerun s3 cp huge s3://bkt/c/huge &&
	mkdir -p dl || exit 1
	( "$SAGERUN" s3 cp s3://bkt/c/huge dl/huge 2>dl.err; echo $? >dl.rc ) &
	sleep 0.1; stop_server; wait;
	say "download exit status $(cat dl.rc)"
	if [ "$(cat dl.rc)" = 0 ]; then
		cmp huge dl/huge # it finished first: then it must be whole
	else
		test_grep "s3://bkt/c/huge" dl.err && ! ls dl | grep .
	fi &&
	start_server &&
	sagerun s3 cp s3://bkt/c/huge dl/huge && cmp huge dl/huge
'

stop_server # before test_done removes the trash folder that names it
test_done
