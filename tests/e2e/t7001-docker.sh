#!/bin/bash
# The docker backend and `sagerun compose` against a real Docker engine (Debian's docker.io;
# a private dockerd when none runs), with images imported from a folder: no registry, no
# Python.  The barrier of examples/barrier between containers on port 12000; failure, stop,
# a SIGKILLed supervisor; the compose file run by docker-compose gives what the backend gave;
# credentials reach the containers and no file sagerun wrote.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dockerlib.sh"
test_require ROOT
STATIC=${SAGERUN_STATIC_BIN:-$SR_SOURCE_DIR/build-static/sagerun}
[ -x "$STATIC" ] || _skip_reason="no static binary at $STATIC (run make static)"
[ -x /bin/busybox ] || _skip_reason="needs busybox-static (make deps installs it)"
command -v docker-compose >/dev/null 2>&1 || _skip_reason="needs docker-compose (make deps)"
command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 ||
	_skip_reason="needs mpicc and mpirun (make deps: openmpi-bin libopenmpi-dev)"
[ -n "${_skip_reason:-}" ] || start_engine || true
[ -z "${_skip_reason:-}" ] || say "skipping $test_name: $_skip_reason"
trap stop_engine EXIT
links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
links >"$TRASH/links.before"
wc -l </proc/self/mounts >"$TRASH/mounts.before"
PRIVATE_ENGINE=${_dk_private:+yes}

IMG=sagerun-test-toolkit:$$
BARE=sagerun-test-bare:$$
BARRIER=$SR_SOURCE_DIR/examples/barrier
jobdir() { echo "$SAGERUN_HOME/jobs/$1"; }
# until_true TENTHS COMMAND...: retry COMMAND every 0.1 s; fails when it never succeeded.
until_true() {
	_n=$1
	shift
	for _i in $(seq 1 "$_n"); do
		"$@" && return 0
		sleep 0.1
	done
	echo "until_true: never true: $*" >&2
	return 1
}
running_is() {
	[ "$(docker ps -q --filter "label=sagerun.dir=$2" | wc -l)" = "$1" ]
}
# No NVIDIA runtime here: a GPU request must fail, clearly.
docker info 2>/dev/null | grep -qi nvidia && HAS_GPU_RUNTIME=1 || HAS_GPU_RUNTIME=0

test_expect_success 'images from a folder: busybox and the static sagerun' '
	make_image "$IMG" && make_image "$BARE" --no-toolkit &&
	docker image inspect "$IMG" >/dev/null && docker image inspect "$BARE" >/dev/null
'

test_expect_success 'a 3-host barrier between containers, through the image'"'"'s toolkit' '
	sagerun train --backend docker --image "$IMG" --hosts 3 --name bar --output out \
		--source-dir "$BARRIER" --entry-point barrier.sh --hp epochs=2 --max-run 300 \
		>log 2>&1 &&
	test_grep "algo-1 | leader: barrier passed by 3 hosts" log &&
	test_grep "algo-2 | algo-2: barrier passed" log &&
	test_grep "algo-3 | algo-3: one of 3 hosts, leader algo-1 at algo-1:12000" log &&
	tar -xzOf out/bar/output/model.tar.gz model.json >model.json &&
	test_grep "\"members\": \[\"algo-1\", \"algo-2\", \"algo-3\"\], \"epochs\": 2" model.json &&
	tar -tzf out/bar/output/output.tar.gz | sort >outputs &&
	printf "algo-1.txt\nalgo-2.txt\nalgo-3.txt\n" >expect && test_cmp expect outputs &&
	job_leftovers "$(jobdir bar)" >left && test_cmp /dev/null left
'

test_expect_success 'each container: hostname, the contract environment, /opt/ml, its own writable channels' '
	mkdir -p data && echo rows >data/part-0 &&
	sagerun train --backend docker --image "$IMG" --hosts 2 --name env --channel train=data \
		--shm-size 96m -- sh -c "echo \$(hostname) \$SM_CURRENT_HOST \$MASTER_ADDR \$WORLD_SIZE \
\$SM_CHANNEL_TRAIN; cd \$SM_CHANNEL_TRAIN; cat part-0; touch x-\$SM_CURRENT_HOST; echo c >>part-0; \
sleep 1; echo sees \$(ls); grep /dev/shm /proc/mounts" \
		>log 2>&1 &&
	test_grep "algo-2 | algo-2 algo-2 algo-1 2 /opt/ml/input/data/train" log &&
	test_grep "algo-1 | rows" log &&
	test_grep "algo-1 | sees part-0 x-algo-1$" log &&
	test_grep "algo-2 | sees part-0 x-algo-2$" log &&
	test_grep "algo-1 | .*size=98304k" log &&
	test "$(ls data)" = part-0 && test "$(cat data/part-0)" = rows &&
	job_leftovers "$(jobdir env)" >left && test_cmp /dev/null left
'

test_expect_success 'a Pipe-mode channel reaches the containers through its FIFOs' '
	cat >pipe.json <<-EOF &&
	{"TrainingJobName": "dkpipe", "AlgorithmSpecification": {"TrainingInputMode": "Pipe"},
	 "InputDataConfig": [{"ChannelName": "train",
	   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "$PWD/data"}}}],
	 "OutputDataConfig": {"S3OutputPath": "$PWD/out"},
	 "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 30},
	 "StoppingCondition": {"MaxRuntimeInSeconds": 600}}
	EOF
	sagerun train --backend docker --image "$IMG" --spec pipe.json \
		-- sh -c "cat \${SM_CHANNEL_TRAIN}_0 \${SM_CHANNEL_TRAIN}_1 | wc -l" >log 2>&1 &&
	test_grep "algo-1 | *2$" log && test_grep "algo-2 | *2$" log
'

test_expect_success '--toolkit builtin: the static sagerun is the entrypoint of a bare image' '
	SAGERUN_STATIC_BINARY=$STATIC sagerun train --backend docker --image "$BARE" \
		--toolkit builtin --hosts 2 --name builtin --output out \
		--source-dir "$BARRIER" --entry-point barrier.sh >log 2>&1 &&
	test_grep "algo-1 | leader: barrier passed by 2 hosts" log &&
	test_grep "algo-2 | sagerun: Reporting training SUCCESS" log
'

BYOC=sagerun-test-byoc:$$
# An image with an entry point of its own that knows the contract, as a user'"'"'s
# bring-your-own container: `train` as its argument, its hyperparameters and hosts from the
# config files, its model into /opt/ml/model.
make_byoc_image() {
	_root="$TRASH/image-byoc"
	busybox_root "$_root" || return 1
	cat >"$_root/entry.sh" <<-'EOF'
	cfg=/opt/ml/input/config
	echo "byoc $* on $(hostname): $(cat $cfg/hyperparameters.json) $(cat $cfg/resourceconfig.json | grep -o '"hosts": *\[[^]]*\]')"
	echo "$(hostname)" >/opt/ml/model/byoc-$(hostname)
	EOF
	tar -C "$_root" -c . | docker import --change 'ENV PATH=/bin' \
		--change 'ENTRYPOINT ["/bin/sh", "/entry.sh"]' - "$1" >/dev/null
}

test_expect_success 'bring-your-own container: a spec with a TrainingImage alone runs its entry point' '
	make_byoc_image "$BYOC" &&
	cat >byoc.json <<-EOF &&
	{"TrainingJobName": "byoc", "HyperParameters": {"epochs": "3"},
	 "AlgorithmSpecification": {"TrainingImage": "$BYOC", "TrainingInputMode": "File"},
	 "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
	 "OutputDataConfig": {"S3OutputPath": "$PWD/out"}}
	EOF
	sagerun train --backend docker --spec byoc.json >log 2>&1 &&
	test_grep "algo-1 | byoc train on algo-1: {\"epochs\": \"3\"} \"hosts\": *\[\"algo-1\", *\"algo-2\"\]" log &&
	test_grep "algo-2 | byoc train on algo-2" log &&
	tar -tzf out/byoc/output/model.tar.gz | sort >models &&
	printf "byoc-algo-1\nbyoc-algo-2\n" >expect && test_cmp expect models &&
	sagerun train --spec byoc.json --name byoc-auto >log 2>&1 &&
	test_grep "algo-1 | byoc train on algo-1" log &&
	sagerun ps -a --output json | grep -A6 "\"Name\": \"byoc-auto\"" | grep "\"Backend\": \"docker\"" &&
	job_leftovers "$(jobdir byoc)" >left && test_cmp /dev/null left
'

test_expect_success 'ContainerArguments without ContainerEntrypoint go to the image'"'"'s entry point' '
	sed "s/\"TrainingInputMode\": \"File\"}/\"TrainingInputMode\": \"File\", \"ContainerArguments\": [\"fit\", \"--epochs\", \"2\"]}/; s/\"byoc\"/\"byoc-args\"/" \
		byoc.json >args.json &&
	test_grep "ContainerArguments" args.json &&
	sagerun train --spec args.json >log 2>&1 &&
	test_grep "algo-1 | byoc fit --epochs 2 on algo-1" log &&
	test_grep "algo-2 | byoc fit --epochs 2 on algo-2" log
'

test_expect_success 'a failing host fails the job with its exit code; the others are stopped' '
	test_expect_code 1 sagerun train --backend docker --image "$IMG" --hosts 2 --name fail \
		--stop-grace 2 -- sh -c "[ \$SM_CURRENT_HOST = algo-2 ] && exit 3; sleep 300" \
		>log 2>&1 &&
	test_grep "FailureReason: .*algo-2.*3" log &&
	sagerun describe fail >d.json && test_grep "\"TrainingJobStatus\": \"Failed\"" d.json &&
	job_leftovers "$(jobdir fail)" >left && test_cmp /dev/null left
'

test_expect_success 'sagerun rm also removes what an engine still holds of the job' '
	docker create --label "sagerun.dir=$(jobdir fail)" "$IMG" true >/dev/null &&
	job_leftovers "$(jobdir fail)" >left && test "$(wc -l <left)" = 1 &&
	sagerun rm fail >/dev/null &&
	job_leftovers "$(jobdir fail)" >left && test_cmp /dev/null left
'

test_expect_success 'an exit code that names a stop signal (147: SIGTSTP) is an exit code' '
	test_expect_code 1 sagerun train --backend docker --image "$IMG" --name code147 \
		--max-run 120 -- sh -c "exit 147" >log 2>&1 &&
	test_grep "FailureReason: .*147" log
'

test_expect_success 'a failing script: the toolkit failure file is the FailureReason' '
	mkdir -p bad && printf "echo about to fail\nexit 7\n" >bad/bad.sh &&
	test_expect_code 1 sagerun train --backend docker --image "$IMG" --name badscript \
		--source-dir bad --entry-point bad.sh >log 2>&1 &&
	test_grep "FailureReason: ExecuteUserScriptError:" log &&
	test_grep "^ExitCode 7" log
'

test_expect_success 'stop: SIGTERM reaches the containers, the job is Stopped, nothing is left' '
	sagerun train -d --backend docker --image "$IMG" --hosts 2 --name stopme --stop-grace 10 \
		-- sh -c "trap \"echo got TERM; exit 143\" TERM; echo up; while :; do sleep 0.2; done" \
		>name &&
	test_wait_lines 2 "^algo-[12] | up$" "$SAGERUN" logs -f stopme &&
	net=$(docker network ls -q --filter "label=sagerun.dir=$(jobdir stopme)") &&
	test "$(docker network inspect -f "{{.Internal}}" $net)" = true &&
	sagerun stop stopme &&
	sagerun logs stopme >log && test_grep "algo-1 | got TERM" log &&
	test_grep "algo-2 | got TERM" log &&
	sagerun describe stopme >d.json && test_grep "\"TrainingJobStatus\": \"Stopped\"" d.json &&
	job_leftovers "$(jobdir stopme)" >left && test_cmp /dev/null left
'

test_expect_success 'a stop right after the start is not lost: never started, or TERM reaches it' '
	sagerun train -d --backend docker --image "$IMG" --name stopearly --stop-grace 60 \
		-- sh -c "trap \"echo got TERM; exit 143\" TERM; echo up; while :; do sleep 0.2; done" \
		>name &&
	sagerun stop stopearly &&
	sagerun describe stopearly >d.json &&
	test_grep "\"TrainingJobStatus\": \"Stopped\"" d.json &&
	sagerun logs stopearly >log &&
	{ ! grep "algo-1 | up" log >/dev/null || test_grep "algo-1 | got TERM" log; } &&
	job_leftovers "$(jobdir stopearly)" >left && test_cmp /dev/null left
'

test_expect_success 'the last lines of a container that wrote much just before its end are kept' '
	sagerun train --backend docker --image "$IMG" --name biglog \
		-- sh -c "seq 1 1000000; echo LAST-LINE" >biglog.out 2>biglog.err &&
	sagerun logs biglog >log &&
	grep "algo-1 | 1000000$" log >/dev/null &&
	grep "algo-1 | LAST-LINE" log >/dev/null &&
	! grep "output stopped coming" biglog.err >/dev/null
'

test_expect_success 'the network is internal, except with --network host (backend and compose)' '
	sagerun train -d --backend docker --image "$IMG" --name nethost --network host \
		--stop-grace 1 -- sleep 60 >/dev/null 2>&1 &&
	until_true 600 eval "docker network ls -q --filter label=sagerun.dir=$(jobdir nethost) | grep -q ." &&
	net=$(docker network ls -q --filter "label=sagerun.dir=$(jobdir nethost)") &&
	test "$(docker network inspect -f "{{.Internal}}" $net)" = false &&
	sagerun stop nethost >/dev/null &&
	sagerun compose --image "$IMG" --name nh -o nh.yaml --network host -- true 2>/dev/null &&
	! grep -q "internal: true" nh.yaml &&
	sagerun compose --image "$IMG" --name ni -o ni.yaml -- true 2>/dev/null &&
	grep -q "internal: true" ni.yaml
'

test_expect_success 'a SIGKILLed supervisor: the next command removes its containers and network' '
	sagerun train -d --backend docker --image "$IMG" --hosts 2 --name killed \
		-- sleep 300 >name &&
	until_true 600 running_is 2 "$(jobdir killed)" &&
	pid=$(pgrep -f -- "--name killed -- sleep 300") && test -n "$pid" &&
	kill -9 $pid &&
	until_true 100 eval "! kill -0 $pid 2>/dev/null" &&
	docker ps -q --filter "label=sagerun.dir=$(jobdir killed)" >running &&
	test "$(wc -l <running)" = 2 &&
	sagerun ps -a >ps.out 2>ps.err &&
	test_grep "job .killed. lost its supervisor" ps.err &&
	job_leftovers "$(jobdir killed)" >left && test_cmp /dev/null left
'

MPIIMG=sagerun-test-mpi:$$
test_expect_success 'MPI across 3 containers x 2 processes through sagerun'"'"'s agents, no sshd' '
	mkdir -p mpi && mpicc -O2 -o mpi/allreduce "$SR_SOURCE_DIR/examples/mpi/allreduce.c" &&
	make_mpi_image "$MPIIMG" mpi/allreduce &&
	! docker run --rm --entrypoint /bin/sh "$MPIIMG" -c "command -v sshd" &&
	sagerun train --backend docker --image "$MPIIMG" --hosts 3 --name mpi \
		--distribution mpi --processes-per-host 2 --source-dir mpi \
		--entry-point allreduce --max-run 300 >log 2>&1 &&
	test_grep "allreduce ok: sum=21 over 6 ranks on algo-1,algo-1,algo-2,algo-2,algo-3,algo-3" log &&
	test_grep "^algo-2 | sagerun: mpi: algo-1 runs mpirun; waiting for it to finish" log &&
	job_leftovers "$(jobdir mpi)" >left && test_cmp /dev/null left
'

test_expect_success 'errors: no engine, an image that is not there, a name in use, GPUs there are none of' '
	DOCKER_HOST=unix://$PWD/none.sock test_expect_code 1 sagerun train --backend docker \
		--image "$IMG" --name noengine -- true >log 2>&1 &&
	test_grep "no Docker engine: $PWD/none.sock does not exist" log &&
	test_grep "hint: start the engine" log &&
	test_expect_code 1 sagerun train --image nosuch/image:1 --name noimage -- true >log 2>&1 &&
	test_grep "image .nosuch/image:1. is not on this machine" log &&
	test_grep "registry" log &&
	job_leftovers "$(jobdir noimage)" >left && test_cmp /dev/null left &&
	if [ "$HAS_GPU_RUNTIME" = 0 ]; then
		test_expect_code 1 sagerun train --backend docker --image "$IMG" --gpus-per-host 1 \
			--name gpu -- true >log 2>&1 &&
		test_grep "algo-1: start container: could not select device driver .* \[\[gpu\]\]" log &&
		job_leftovers "$(jobdir gpu)" >left && test_cmp /dev/null left
	else
		say "this engine has an NVIDIA runtime: the no-GPU error is not checked"
	fi &&
	net="sagerun-taken-$(printf %s "$(jobdir taken)" | sha256sum | cut -c1-8)" &&
	docker network create "$net" >/dev/null &&
	test_when_finished "docker network rm $net >/dev/null" &&
	test_expect_code 1 sagerun train --backend docker --image "$IMG" --name taken -- true \
		>log 2>&1 &&
	test_grep "Docker network .$net. already exists and sagerun did not make it" log &&
	test_grep "hint: remove it (docker network rm $net) or choose another --name" log &&
	docker network inspect "$net" >/dev/null &&
	test_expect_code 2 sagerun train --backend docker --name noimg -- true 2>log &&
	test_grep "needs an image" log &&
	test_expect_code 2 sagerun train --backend ns --shm-size 1g --name shm -- true 2>log &&
	test_grep "container hosts" log
'

test_expect_success 'compose: docker-compose up runs the job as the docker backend did' '
	mkdir -p c && (cd c && sagerun compose --image "$IMG" --hosts 3 --name bar \
		--source-dir "$BARRIER" --entry-point barrier.sh --hp epochs=2 >../file) &&
	test "$(cat file)" = "$PWD/c/docker-compose-bar-3workers.yaml" &&
	test_grep "hostname: algo-3" c/docker-compose-bar-3workers.yaml &&
	test_grep "SM_TRAINING_ENV=" c/docker-compose-bar-3workers.yaml &&
	test_grep "\"WORLD_SIZE=3\"" c/docker-compose-bar-3workers.yaml &&
	test_grep "\"MASTER_ADDR=algo-1\"" c/docker-compose-bar-3workers.yaml &&
	test_when_finished "docker-compose -p srbar$$ -f c/docker-compose-bar-3workers.yaml down >/dev/null 2>&1" &&
	docker-compose -p srbar$$ -f c/docker-compose-bar-3workers.yaml up >up.log 2>&1 &&
	docker-compose -p srbar$$ -f c/docker-compose-bar-3workers.yaml ps >ps.log 2>&1 &&
	test "$(grep -c "Exit 0" ps.log)" = 3 &&
	test_grep "leader: barrier passed by 3 hosts" up.log &&
	test_cmp model.json c/sagerun-bar/hosts/algo-1/opt/ml/model/model.json &&
	(cd c/sagerun-bar/hosts && ls */opt/ml/output/data/ | grep txt | sort) >c-outputs &&
	test_cmp outputs c-outputs &&
	docker-compose -p srbar$$ -f c/docker-compose-bar-3workers.yaml down >down.log 2>&1 &&
	job_leftovers "$PWD/c/sagerun-bar" >left && test_cmp /dev/null left
'

SECRET="wJalrXUtnFEMI-K7MDENG-$$-bPxRfiCYEXAMPLEKEY"
test_expect_success 'credentials reach the containers and no file sagerun wrote' '
	sagerun train --backend docker --image "$IMG" --name creds --output out \
		--env AWS_SECRET_ACCESS_KEY="$SECRET" --env AWS_ACCESS_KEY_ID=AKIDEXAMPLE$$ \
		-- sh -c "echo key length \${#AWS_SECRET_ACCESS_KEY}" >log 2>&1 &&
	test_grep "algo-1 | key length ${#SECRET}" log &&
	sagerun compose --image "$IMG" --name creds2 -o c/creds.yaml \
		--env AWS_SECRET_ACCESS_KEY="$SECRET" --env AWS_ACCESS_KEY_ID=AKIDEXAMPLE$$ \
		--env "TRICKY=\$HOME \"q\" \\ end: #x" \
		-- sh -c "echo key length \${#AWS_SECRET_ACCESS_KEY}; printf \"[%s]\\n\" \"\$TRICKY\"" \
		>/dev/null 2>err &&
	test_grep "export AWS_SECRET_ACCESS_KEY AWS_ACCESS_KEY_ID$" err &&
	test_grep "^      - \"AWS_SECRET_ACCESS_KEY\"$" c/creds.yaml &&
	test_when_finished "docker-compose -p srcreds$$ -f c/creds.yaml down >/dev/null 2>&1" &&
	AWS_SECRET_ACCESS_KEY=$SECRET docker-compose -p srcreds$$ -f c/creds.yaml up >up.log 2>&1 &&
	test_grep "key length ${#SECRET}" up.log &&
	grep -F "[\$HOME \"q\" \\ end: #x]" up.log &&
	test -d "$SAGERUN_HOME/jobs/creds" && test -d c/sagerun-creds2 &&
	! grep -rqF -e "$SECRET" -e "AKIDEXAMPLE$$" -- "$SAGERUN_HOME" out c log err
'

docker rmi "$IMG" "$BARE" "$MPIIMG" "$BYOC" >/dev/null 2>&1
stop_engine # before test_done removes the trash folder it keeps its state in

test_expect_success 'nothing of the engine or the jobs is left in this machine'"'"'s links and mounts' '
	if [ -n "$PRIVATE_ENGINE" ]; then
		! pgrep -f "$TRASH/dockerd" >/dev/null
	fi &&
	links >links.after && test_cmp links.before links.after &&
	wc -l </proc/self/mounts >mounts.after && test_cmp mounts.before mounts.after
'
test_done
