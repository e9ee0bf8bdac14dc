#!/bin/bash
# Every host checks its own config files and environment (fixtures/check_host.py).
. "$(dirname "$0")/lib.sh"
test_require PYTHON

test_expect_success 'setup channels' '
	mkdir -p data/train data/validation &&
	echo t >data/train/data.txt && echo v >data/validation/data.txt
'

test_expect_success 'a 4-host job checks its contract on every host' '
	EXPECT_HOSTS=4 EXPECT_TYPE=ml.c5.xlarge sagerun train --backend process --name contract --hosts 4 \
		--instance-type ml.c5.xlarge \
		--source-dir "$SR_SOURCE_DIR/tests/e2e/fixtures" --entry-point check_host.py \
		--channel train=data/train --channel validation=file://$PWD/data/validation \
		--hp lr=0.001 --hp flag=true --hp name=resnet --hp b=1 --env MY_FLAG=on \
		--output out >stdout 2>stderr &&
	for h in 1 2 3 4; do test_grep "^algo-$h | algo-$h: contract ok" stdout || exit 1; done
'

test_expect_success 'hyperparameters reach argv as the toolkit formats them' '
	tar -xzf out/contract/output/output.tar.gz algo-3.json &&
	python3 -c "import json,sys; a=json.load(open(\"algo-3.json\"))[\"argv\"]; sys.exit(0 if a==[\"-b\",\"1\",\"--flag\",\"True\",\"--lr\",\"0.001\",\"--name\",\"resnet\"] else print(a) or 1)"
'

test_expect_success 'a process host'"'"'s channel is its own copy: writing it never reaches the user'"'"'s folder' '
	chan="$SAGERUN_HOME/jobs/contract/hosts/algo-2/opt/ml/input/data/train" &&
	test -d "$chan" && ! test -L "$chan" &&
	diff -r data/train "$chan" &&
	sagerun train --backend process --name writer --hosts 2 --channel train=data/train \
		--output out -- sh -c "echo x >>\$SM_CHANNEL_TRAIN/data.txt && \
touch \$SM_CHANNEL_TRAIN/by-\$SM_CURRENT_HOST && sleep 0.5 && ls \$SM_CHANNEL_TRAIN" >w.out 2>&1 &&
	! grep "algo-1 | by-algo-2" w.out && ! grep "algo-2 | by-algo-1" w.out &&
	test_grep "algo-1 | by-algo-1" w.out &&
	diff -r data/train "$chan"
'

test_done
