#!/bin/bash
# Jobs with S3: channels downloaded before Training (cached, sharded, manifest, gzip), an S3
# output, CheckpointConfig, script mode's sourcedir.tar.gz, a stop while Downloading; against
# a real s3rver, with awscli reading back what sagerun wrote.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

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

# S3Prefix semantics: the service lists by the URI as a prefix, so a URI that is an object's
# whole key gives that object, at <channel>/<its name> (a training channel and a processing
# input alike).
test_expect_success 'an S3 URI that names one object gives that object, by its name' '
	echo meta >m.json && sagerun s3 cp m.json s3://bkt/one/graph/metadata.json &&
	sagerun train --backend process --name one1 --channel meta=s3://bkt/one/graph/metadata.json \
		--output out -- sh -c "cd \$SM_CHANNEL_META && find . -type f && cat metadata.json" \
		>stdout 2>stderr &&
	test_grep "one1: channel .meta.: 1 objects" stderr &&
	printf "algo-1 | ./metadata.json\nalgo-1 | meta\n" >expect &&
	grep "^algo-1 |" stdout >actual && test_cmp expect actual &&
	sagerun process --backend process --name one2 --input m=s3://bkt/one/graph/metadata.json \
		-- sh -c "cat \$SAGEMAKER_BASE_DIR/processing/input/m/metadata.json" >stdout 2>stderr &&
	test_grep "^algo-1 | meta$" stdout
'

# ... and where that object's name is also the path of another key the prefix lists, the job
# is refused before anything is downloaded or recorded, both keys named.
test_expect_success 'a whole key and another key at the same path are refused, both named' '
	sagerun s3 cp m.json s3://bkt/clash/data &&
	sagerun s3 cp m.json s3://bkt/clash/data/data &&
	sagerun s3 cp m.json s3://bkt/clash2/data &&
	sagerun s3 cp m.json s3://bkt/clash2/datadata &&
	sagerun s3 cp m.json s3://bkt/fine/data.csv &&
	sagerun s3 cp m.json s3://bkt/fine/data.csv.bak &&
	for p in clash clash2; do
		test_expect_code 1 sagerun train --backend process --name c$p \
			--channel d=s3://bkt/$p/data --output out -- true 2>stderr &&
		test_grep "s3://bkt/$p/data and s3://bkt/$p/data.* would both be" stderr &&
		test_grep "hint: give a prefix that ends in ./." stderr || return 1
	done &&
	sagerun train --backend process --name cfine --channel d=s3://bkt/fine/data.csv \
		--output out -- sh -c "cd \$SM_CHANNEL_D && ls -A" >stdout 2>stderr &&
	printf "algo-1 | .bak\nalgo-1 | data.csv\n" >expect &&
	grep "^algo-1 |" stdout >actual && test_cmp expect actual
'

test_expect_success 'hosts write into their S3 channel; the cache and the other hosts never see it' '
	(cd "$SAGERUN_HOME/cache/s3" && find . -type f | sort | xargs sha256sum) >cache.before &&
	cat >writech.sh <<-\EOF &&
	cd "$SM_CHANNEL_TRAIN" && echo "by $SM_CURRENT_HOST" >>part-1 && touch "new-$SM_CURRENT_HOST" &&
	sleep 0.5 && echo "$(ls | tr "\n" " ")| $(cat part-1 | tr "\n" " ")"
	EOF
	for backend in process ns; do
		if [ $backend = ns ] && ! unshare --mount --fork true 2>/dev/null; then
			continue
		fi
		sagerun train --backend $backend --name chw-$backend --hosts 2 \
			--channel train=s3://bkt/ch/ --output out -- sh "$PWD/writech.sh" \
			>stdout.w 2>stderr.w &&
		test_grep "^algo-1 | new-algo-1 part-1 part-2 part-3 part-4 part-5 sub | row 1 by algo-1 $" stdout.w &&
		test_grep "^algo-2 | new-algo-2 part-1 part-2 part-3 part-4 part-5 sub | row 1 by algo-2 $" stdout.w ||
		exit 1
	done &&
	(cd "$SAGERUN_HOME/cache/s3" && find . -type f | sort | xargs sha256sum) >cache.after &&
	test_cmp cache.before cache.after
'

test_expect_success 'a Pipe-mode S3 channel: its objects in key order through the pipes, twice' '
	cat >pipe.json <<-EOF &&
	{"TrainingJobName": "s3pipe", "AlgorithmSpecification": {"TrainingInputMode": "Pipe"},
	 "InputDataConfig": [{"ChannelName": "train",
	   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bkt/ch/"}}}],
	 "OutputDataConfig": {"S3OutputPath": "$PWD/out"},
	 "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
	 "StoppingCondition": {"MaxRuntimeInSeconds": 600}}
	EOF
	sagerun train --backend process --spec pipe.json \
		-- sh -c "cat \${SM_CHANNEL_TRAIN}_0 | md5sum; cat \${SM_CHANNEL_TRAIN}_1 | md5sum" \
		>stdout.p 2>stderr.p &&
	(cd chsrc && cat part-1 part-2 part-3 part-4 part-5 sub/d) | md5sum >want &&
	sed "s/^/algo-1 | /" want >want2 && cat want2 want2 >expect.p &&
	grep "^algo-1 |" stdout.p >got.p && test_cmp expect.p got.p
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

test_expect_success 'an S3 channel or input with no objects fails the job, as the service refuses it' '
	test_expect_code 1 sagerun train --backend process --name empty \
		--channel train=s3://bkt/no-such-prefix/ --output out -- true 2>stderr &&
	test_grep "channel .train.: no S3 objects found under S3 URL \"s3://bkt/no-such-prefix/\"" stderr &&
	test_grep "empty: Failed" stderr &&
	sagerun describe empty >d.json && test_grep "FailureReason.*no S3 objects found" d.json &&
	test_expect_code 1 sagerun process --backend process --name pempty \
		--input raw=s3://bkt/no-such-prefix/ -- true 2>stderr &&
	test_grep "no S3 objects found under S3 URL" stderr
'

test_expect_success 'CheckpointConfig: restored before Training, saved after, also on failure' '
	mkdir -p ckcode && cat >ckcode/ck.sh <<-\EOF &&
	d="$SAGEMAKER_BASE_DIR/checkpoints"
	ls "$d" | sed "s/^/has /"
	n=$(cat "$d/count-$SM_CURRENT_HOST" 2>/dev/null || echo 0)
	echo $((n + 1)) >"$d/count-$SM_CURRENT_HOST"
	[ -z "$FAIL" ] || [ "$SM_CURRENT_HOST" != algo-2 ]
	EOF
	sagerun train --backend process --name ck1 --hosts 2 --checkpoints s3://bkt/ck \
		--output out --entry-point ck.sh --source-dir ckcode >stdout 2>stderr &&
	test_grep "ck1: checkpoints: 0 files restored from s3://bkt/ck" stderr &&
	test_grep "ck1: checkpoints: 2 files saved to s3://bkt/ck" stderr &&
	test_expect_code 1 sagerun train --backend process --name ck2 --hosts 2 \
		--checkpoints s3://bkt/ck --env FAIL=1 --output out --entry-point ck.sh \
		--source-dir ckcode >stdout 2>stderr &&
	test_grep "^algo-2 | has count-algo-1$" stdout &&
	test_grep "ck2: checkpoints: [12] files saved" stderr &&
	sagerun s3 cp s3://bkt/ck/count-algo-2 - >n2 && echo 2 >expect && test_cmp expect n2 &&
	cat >ckspec.json <<-EOF &&
	{"TrainingJobName": "ck3", "AlgorithmSpecification": {"TrainingInputMode": "File",
	  "ContainerEntrypoint": ["sh", "$PWD/ckcode/ck.sh"]},
	 "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
	 "CheckpointConfig": {"S3Uri": "s3://bkt/ck/", "LocalPath": "/opt/ml/checkpoints"},
	 "OutputDataConfig": {"S3OutputPath": "$PWD/out"}}
	EOF
	before=$(sagerun s3 cp s3://bkt/ck/count-algo-1 -) &&
	sagerun train --backend process --spec ckspec.json >stdout 2>stderr &&
	! grep -q "not honoured" stderr && test_grep "1 files saved" stderr &&
	sagerun s3 cp s3://bkt/ck/count-algo-1 - >n1 && echo $((before + 1)) >expect &&
	test_cmp expect n1 &&
	sed "s|/opt/ml/checkpoints|/elsewhere|" ckspec.json >ckbad.json &&
	test_expect_code 2 sagerun train --backend process --spec ckbad.json 2>err &&
	test_grep "CheckpointConfig.LocalPath: must be a folder under /opt/ml" err
'

test_expect_success 'checkpoints in a local folder: restored, and only what changed saved' '
	mkdir -p lck &&
	sagerun train --backend process --name lck1 --hosts 2 --checkpoints lck --output out \
		--entry-point ck.sh --source-dir ckcode >stdout 2>stderr &&
	test_grep "lck1: checkpoints: 2 files saved to $PWD/lck" stderr &&
	sagerun train --backend process --name lck2 --hosts 2 --checkpoints "file://$PWD/lck" \
		--output out --entry-point ck.sh --source-dir ckcode >stdout 2>stderr &&
	test_grep "lck2: checkpoints: 2 files restored" stderr &&
	test_grep "^algo-2 | has count-algo-1$" stdout &&
	test_grep "lck2: checkpoints: 2 files saved" stderr &&
	echo 2 >expect && test_cmp expect lck/count-algo-1 && test_cmp expect lck/count-algo-2 &&
	! ls lck | grep -q sagerun-tmp
'

test_expect_success 'checkpoints are saved when the job is stopped' '
	( "$SAGERUN" train --backend process --name ckstop --checkpoints s3://bkt/ckstop \
		--output out -- sh -c "echo saved >\$SAGEMAKER_BASE_DIR/checkpoints/c; exec sleep 60" \
		>ckstop.out 2>ckstop.err; echo $? >ckstop.rc ) &
	job=$!
	for _ in $(seq 1 1500); do
		[ -s "$SAGERUN_HOME/jobs/ckstop/hosts/algo-1/opt/ml/checkpoints/c" ] && break
		sleep 0.02
	done
	test -s "$SAGERUN_HOME/jobs/ckstop/hosts/algo-1/opt/ml/checkpoints/c" &&
	sagerun stop ckstop && wait $job &&
	test "$(cat ckstop.rc)" = 130 && test_grep "ckstop: checkpoints: 1 files saved" ckstop.err &&
	sagerun s3 cp s3://bkt/ckstop/c - >c && echo saved >expect && test_cmp expect c
'

test_expect_success 'a checkpoint folder the job turned into a symlink is not followed' '
	mkdir -p secrets && echo s3cr3t >secrets/credentials &&
	sagerun train --backend process --name cklink --checkpoints s3://bkt/cklink \
		--output out -- sh -c "rm -rf \$SAGEMAKER_BASE_DIR/checkpoints && ln -s $PWD/secrets \$SAGEMAKER_BASE_DIR/checkpoints" \
		>stdout 2>stderr &&
	test_grep "algo-1: the checkpoint folder is a symbolic link" stderr &&
	sagerun s3 ls s3://bkt/cklink/ >ls.out && test ! -s ls.out
'

test_expect_success 'script mode with an S3 output: sourcedir.tar.gz uploaded, hosts fetch it' '
	mkdir -p srccode && cat >srccode/show.sh <<-\EOF &&
	echo "module_dir $SM_MODULE_DIR"; ls "$SAGEMAKER_BASE_DIR/code" | sed "s/^/code /"
	EOF
	echo helper >srccode/helper.txt &&
	sagerun train --backend process --name srcup --hosts 2 --output s3://bkt/jobs \
		--entry-point show.sh --source-dir srccode >stdout 2>stderr &&
	test_grep "srcup: source: s3://bkt/jobs/srcup/source/sourcedir.tar.gz" stderr &&
	test_grep "^algo-2 | module_dir s3://bkt/jobs/srcup/source/sourcedir.tar.gz$" stdout &&
	test_grep "^algo-2 | code helper.txt$" stdout &&
	awss3 cp s3://bkt/jobs/srcup/source/sourcedir.tar.gz src.tgz >/dev/null &&
	tar -tzf src.tgz | sort >entries && printf "helper.txt\nshow.sh\n" >expect &&
	test_cmp expect entries
'

test_expect_success 'links in --source-dir are followed alike with a local and an S3 output' '
	mkdir -p lnsrc lnshared/lib && echo "lr=0.1" >lnshared/conf.txt &&
	echo "x = 1" >lnshared/lib/util.py &&
	cat >lnsrc/show.sh <<-\EOF &&
	cd "$SAGEMAKER_BASE_DIR/code" && find . ! -name show.sh | sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f link"; elif [ -d "$f" ]; then echo "$f folder"
		else echo "$f $(cat "$f")"; fi
	done
	EOF
	ln -s "$PWD/lnshared/conf.txt" lnsrc/conf.txt && ln -s "$PWD/lnshared/lib" lnsrc/lib &&
	sagerun train --backend process --name lnlocal --output out --entry-point show.sh \
		--source-dir lnsrc >local.out 2>local.err &&
	sagerun train --backend process --name lns3 --output s3://bkt/jobs --entry-point show.sh \
		--source-dir lnsrc >s3.out 2>s3.err &&
	test_grep "lns3: Completed" s3.err &&
	sed -n "s/^algo-1 | //p" local.out >local.tree && sed -n "s/^algo-1 | //p" s3.out >s3.tree &&
	printf "%s\n" ". folder" "./conf.txt lr=0.1" "./lib folder" "./lib/util.py x = 1" >expect &&
	test_cmp expect local.tree && test_cmp expect s3.tree &&
	ln -s "$PWD/nowhere.py" lnsrc/gone.py &&
	test_must_fail sagerun train --backend process --name lngone --output out \
		--entry-point show.sh --source-dir lnsrc 2>gone-local.err &&
	test_must_fail sagerun train --backend process --name lngone3 --output s3://bkt/jobs \
		--entry-point show.sh --source-dir lnsrc 2>gone-s3.err &&
	for e in gone-local.err gone-s3.err; do
		test_grep "lnsrc/gone.py.: symbolic link to .$PWD/nowhere.py.: No such file" $e || exit 1
	done &&
	echo "ls \"\$SAGEMAKER_BASE_DIR/code\"; test -L \"\$SAGEMAKER_BASE_DIR/code/entry.sh\" || echo copied" >lnreal.sh &&
	ln -s lnreal.sh entry.sh &&
	for out in out s3://bkt/jobs; do
		sagerun train --backend process --name "lnone-${out%%:*}" --output $out \
			--entry-point entry.sh >one.out 2>one.err &&
		printf "%s\n" "algo-1 | entry.sh" "algo-1 | copied" >expect &&
		test_cmp expect one.out || exit 1
	done
'

test_expect_success 'an S3 sourcedir.tar.gz with ../evil is refused, nothing written outside' '
	python3 - <<-\EOF &&
	import io, tarfile
	with tarfile.open("evil.tar.gz", "w:gz") as t:
	    for name in ("ok.sh", "../evil"):
	        data = b"echo hi\n"
	        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
	EOF
	sagerun s3 cp evil.tar.gz s3://bkt/evil/sourcedir.tar.gz &&
	cat >evil.json <<-EOF &&
	{"TrainingJobName": "evilsrc", "AlgorithmSpecification": {"TrainingInputMode": "File"},
	 "HyperParameters": {"sagemaker_program": "\"ok.sh\"",
	   "sagemaker_submit_directory": "\"s3://bkt/evil/sourcedir.tar.gz\""},
	 "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
	 "OutputDataConfig": {"S3OutputPath": "$PWD/out"}}
	EOF
	test_expect_code 1 sagerun train --backend process --spec evil.json 2>stderr &&
	test_grep "evilsrc: Failed" stderr &&
	test_grep "code .s3://bkt/evil/sourcedir.tar.gz.: .*refusing entry .\.\./evil." stderr &&
	! grep -q "InternalServerError" stderr &&
	! find "$SAGERUN_HOME/jobs/evilsrc" -name evil | grep -q . &&
	! find "$SAGERUN_HOME/jobs/evilsrc" -name "*.sourcedir.*" | grep -q .
'

test_expect_success 'an S3 sourcedir.tar.gz whose links lead out together is refused' '
	python3 - <<-\EOF &&
	import io, tarfile
	with tarfile.open("chain.tar.gz", "w:gz") as t:
	    data = b"echo hi\n"
	    i = tarfile.TarInfo("ok.sh"); i.size = len(data); t.addfile(i, io.BytesIO(data))
	    for name, target in (("l", "."), ("s", "l/" * 12 + "/".join([".."] * 12))):
	        i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target
	        t.addfile(i)
	EOF
	sagerun s3 cp chain.tar.gz s3://bkt/chain/sourcedir.tar.gz &&
	sed -e "s/evilsrc/chainsrc/" -e "s|s3://bkt/evil/|s3://bkt/chain/|" evil.json >chain.json &&
	test_expect_code 1 sagerun train --backend process --spec chain.json 2>stderr &&
	test_grep "chainsrc: Failed" stderr &&
	test_grep "code .s3://bkt/chain/sourcedir.tar.gz.: .*refusing entry .s.: a symbolic link to .l/l/.* leaves the destination" stderr &&
	code="$SAGERUN_HOME/jobs/chainsrc/hosts/algo-1/opt/ml/code" &&
	test -d "$code" && test -z "$(ls -A "$code")" &&
	! find "$SAGERUN_HOME/jobs/chainsrc" -name "*.sourcedir.*" | grep -q .
'

test_expect_success 'stopped while Downloading: between objects, no partial file, no Training' '
	mkdir -p manysrc && python3 -c "
import os
for i in range(2000):
    open(\"manysrc/o%04d\" % i, \"wb\").write(os.urandom(2048))
" &&
	sagerun s3 cp --recursive manysrc s3://bkt/many2 &&
	rm -rf "$SAGERUN_HOME/cache" || exit 1
	( "$SAGERUN" train --backend process --name dlstop --channel train=s3://bkt/many2 \
		--output out -- true >dlstop.out 2>dlstop.err; echo $? >dlstop.rc ) &
	job=$!
	for _ in $(seq 1 200); do
		ls "$SAGERUN_HOME/cache/s3" 2>/dev/null | grep -q . && break; sleep 0.02
	done &&
	sagerun stop dlstop && wait $job &&
	test "$(cat dlstop.rc)" = 130 &&
	sagerun describe dlstop >d.json &&
	test_grep "\"TrainingJobStatus\": \"Stopped\"" d.json &&
	! grep -q "\"Status\": \"Training\"" d.json &&
	test $(ls "$SAGERUN_HOME/cache/s3" | wc -l) -lt 2000 &&
	! ls "$SAGERUN_HOME/cache/s3" | grep -q sagerun-part
'

stop_server # before test_done removes the trash folder that names it
test_done
