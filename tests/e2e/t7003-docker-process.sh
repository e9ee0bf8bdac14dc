#!/bin/bash
# `sagerun process --backend docker` and `sagerun compose process` against a real Docker
# engine (Debian's docker.io; a private dockerd when none runs), with an image imported from a
# folder whose ENTRYPOINT and CMD the test sets: no registry, no toolkit in the image.  What a
# processing container gets on the service (reference §4): the image's ENTRYPOINT and CMD, or
# ContainerEntrypoint and ContainerArguments in their place; the two config files; each input
# at its LocalPath, the host's own copy; empty outputs uploaded from every host at the end;
# hosts that reach each other by name; no SM_* variable; /opt/ml/output/message as the
# ExitMessage; SIGINT, then SIGKILL, on a failure or a stop; nothing left in the engine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dockerlib.sh"
test_require ROOT
[ -x /bin/busybox ] || _skip_reason="needs busybox-static (make deps installs it)"
command -v docker-compose >/dev/null 2>&1 || _skip_reason="needs docker-compose (make deps)"
[ -n "${_skip_reason:-}" ] || start_engine || true
[ -z "${_skip_reason:-}" ] || say "skipping $test_name: $_skip_reason"
trap stop_engine EXIT

IMG=sagerun-test-proc:$$
jobdir() { echo "$SAGERUN_HOME/jobs/$1"; }

# The image: busybox, ENTRYPOINT ["/bin/sh", "/entry.sh"], CMD ["from-cmd"], and /other.sh
# for a ContainerEntrypoint.  Each prints its arguments one by one, in brackets.  entry.sh's
# first argument says what to do:
#   from-cmd  the job: print the layout it was given (the config files, every file under
#             /opt/ml with its checksum, the environment), copy its config files and its input
#             into its output, write to its input, meet the other host by name over TCP, then
#             note what it sees of its input
#   fail      algo-2 writes /opt/ml/output/message and exits 3 once algo-1 waits for a signal
#   hold      wait, saying which signals came, until killed
make_proc_image() {
	_root="$TRASH/image-proc"
	busybox_root "$_root" || return 1
	cat >"$_root/other.sh" <<-'EOF'
	printf other; for a; do printf ' [%s]' "$a"; done; echo
	grep -o '"ImageUri": [^,]*' /opt/ml/config/processingjobconfig.json
	EOF
	cat >"$_root/entry.sh" <<-'EOF'
	set -eu
	printf entry; for a; do printf ' [%s]' "$a"; done; echo
	grep -o '"ImageUri": [^,]*' /opt/ml/config/processingjobconfig.json
	me=$(hostname)
	ml=/opt/ml
	in=$ml/processing/input/data
	out=$ml/processing/output/result
	# send HOST PORT LINE: until the other host listens.  The line comes from a file, not a
	# pipe: busybox nc quits when the peer's EOF (its listener has no stdin) comes before
	# the pipe's writer has written, and would then have sent nothing.
	send() {
		printf '%s\n' "$3" >/tmp/send-line
		for i in $(seq 1 300); do
			nc "$1" "$2" </tmp/send-line 2>/dev/null && return 0
			sleep 0.1
		done
		echo "$me: $1:$2 never answered" >&2
		return 1
	}
	case "${1:-}" in
	from-cmd)
		(cd $ml && find . | sort | sed 's/^/layout: /')
		(cd $ml && find . -type f -exec md5sum {} \; | sort -k 2 | sed 's/^/layout: /')
		(cat $ml/config/resourceconfig.json && echo) | sed 's/^/layout: resourceconfig /'
		env | sort | sed 's/^/layout: env /'
		mkdir -p $out/$me
		cp $ml/config/resourceconfig.json $ml/config/processingjobconfig.json $out/$me/
		cp -R $in $out/$me/input
		echo "$me was here" >$out/$me.txt
		echo "$me" >>$in/a.txt
		: >"$in/mine-$me"
		rm "$in/sub/c.txt"
		if [ "$me" = algo-1 ]; then
			nc -l -p 9000 >$out/$me.heard
			send algo-2 9001 "algo-1 to algo-2"
		else
			nc -l -p 9001 >$out/$me.heard &
			send algo-1 9000 "algo-2 to algo-1"
			wait
		fi
		# Both hosts wrote their input before either reads it again.
		(cd $in && find . | sort && cat a.txt) >$out/$me.input-after
		;;
	fail)
		echo "$me partial" >$out/$me.txt
		if [ "$me" = algo-2 ]; then
			nc -l -p 9002 >/dev/null
			printf 'bad row 42 on %s' "$me" >$ml/output/message
			exit 3
		fi
		trap 'echo "$me: got INT"; echo INT >$out/$me.stopped; exit 130' INT
		trap 'echo "$me: got TERM"; exit 143' TERM
		send algo-2 9002 ready
		while :; do sleep 0.1; done
		;;
	hold)
		echo "$me held" >$out/$me.txt
		trap 'echo "$me: got INT, going on"' INT
		trap 'echo "$me: got TERM, going on"' TERM
		echo "$me: up"
		while :; do sleep 0.1; done
		;;
	esac
	EOF
	tar -C "$_root" --owner=0 --group=0 -c . | docker import --change 'ENV PATH=/bin' \
		--change 'ENTRYPOINT ["/bin/sh", "/entry.sh"]' --change 'CMD ["from-cmd"]' - "$1" \
		>/dev/null
}

# spec FILE NAME HOSTS APPSPEC: a CreateProcessingJob request with APPSPEC as its
# AppSpecification, the local input in/ at /opt/ml/processing/input/data and the output
# result/ to the local folder out-NAME/.
spec() {
	cat >"$1" <<-EOF
	{"ProcessingJobName": "$2",
	 "AppSpecification": {$4},
	 "ProcessingInputs": [{"InputName": "data",
	   "S3Input": {"S3Uri": "$PWD/in", "LocalPath": "/opt/ml/processing/input/data",
	               "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
	 "ProcessingOutputConfig": {"Outputs": [{"OutputName": "result",
	   "S3Output": {"S3Uri": "$PWD/out-$2", "LocalPath": "/opt/ml/processing/output/result",
	                "S3UploadMode": "EndOfJob"}}]},
	 "ProcessingResources": {"ClusterConfig": {"InstanceCount": $3,
	   "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}},
	 "StoppingCondition": {"MaxRuntimeInSeconds": 60},
	 "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole"}
	EOF
}

# The input folder's files, names and bytes, to see that no host changed it.
in_manifest() {
	(cd in && find . | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

test_expect_success 'an image with an ENTRYPOINT and a CMD of its own' '
	make_proc_image "$IMG" &&
	docker image inspect -f "{{json .Config.Entrypoint}} {{json .Config.Cmd}}" "$IMG" >ep &&
	echo "[\"/bin/sh\",\"/entry.sh\"] [\"from-cmd\"]" >expect && test_cmp expect ep
'

test_expect_success 'two hosts run the image'"'"'s ENTRYPOINT and CMD, each with its own input' '
	mkdir -p in/sub && printf "rows\n" >in/a.txt && printf "c\n" >in/sub/c.txt &&
	head -c 300000 /dev/urandom >in/sub/blob.bin && printf "a\000b\377\n" >"in/odd name" &&
	in_manifest >in.before &&
	spec main.json pdk 2 "\"ImageUri\": \"$IMG\"" &&
	sagerun process --backend docker --spec main.json >log 2>&1 &&
	test_grep "^algo-1 | entry \[from-cmd\]$" log &&
	test_grep "^algo-2 | entry \[from-cmd\]$" log &&
	sagerun describe pdk >d.json &&
	test_grep "\"ProcessingJobStatus\": \"Completed\"" d.json &&
	job_leftovers "$(jobdir pdk)" >left && test_cmp /dev/null left
'

test_expect_success 'the config files: the request echoed, and each host'"'"'s resourceconfig.json' '
	for h in algo-1 algo-2; do
		printf "{\"current_host\": \"%s\", \"hosts\": [\"algo-1\", \"algo-2\"]}" $h >expect &&
		test_cmp expect out-pdk/$h/resourceconfig.json &&
		c=out-pdk/$h/processingjobconfig.json &&
		test_grep "\"ProcessingJobName\": \"pdk\"" $c &&
		test_grep "\"ProcessingJobArn\": \"arn:aws:sagemaker:[a-z0-9-]*:[0-9]*:processing-job/pdk\"" $c &&
		test_grep "\"ContainerEntrypoint\": null" $c &&
		test_grep "\"LocalPath\": \"/opt/ml/processing/input/data\"" $c &&
		test_grep "\"S3DownloadMode\": \"StartOfJob\"" $c &&
		test_grep "\"InstanceCount\": 2" $c || return 1
	done
'

test_expect_success 'every host'"'"'s files uploaded, byte-exact; the input folder unchanged' '
	(cd out-pdk && find . -type f | sort) >files &&
	for h in algo-1 algo-2; do
		for f in .heard .input-after .txt "/input/a.txt" "/input/odd name" \
			/input/sub/blob.bin /input/sub/c.txt /processingjobconfig.json \
			/resourceconfig.json; do
			echo "./$h$f"
		done
	done | sort >expect &&
	test_cmp expect files &&
	diff -r in out-pdk/algo-1/input && diff -r in out-pdk/algo-2/input &&
	echo "algo-1 was here" >expect && test_cmp expect out-pdk/algo-1.txt &&
	in_manifest >in.after && test_cmp in.before in.after
'

test_expect_success 'a host'"'"'s writes to its input reach neither the source nor the other host' '
	for h in algo-1 algo-2; do
		printf "%s\n" . "./a.txt" "./mine-$h" "./odd name" ./sub ./sub/blob.bin rows $h \
			>expect &&
		test_cmp expect out-pdk/$h.input-after || return 1
	done
'

test_expect_success 'algo-1 and algo-2 reach each other by name; no SM_ variable' '
	echo "algo-2 to algo-1" >expect && test_cmp expect out-pdk/algo-1.heard &&
	echo "algo-1 to algo-2" >expect && test_cmp expect out-pdk/algo-2.heard &&
	test_grep "^algo-1 | layout: env HOSTNAME=algo-1$" log &&
	test_grep "^algo-2 | layout: env AWS_REGION=" log &&
	! grep "layout: env SM_" log
'

test_expect_success 'ContainerEntrypoint replaces ENTRYPOINT and CMD; ContainerArguments replace CMD' '
	spec ep.json pep 1 "\"ContainerEntrypoint\": [\"/bin/sh\", \"/other.sh\"]" &&
	sagerun process --backend docker --image "$IMG" --spec ep.json >log.ep 2>&1 &&
	test_grep "^algo-1 | other$" log.ep &&
	test_grep "^algo-1 | \"ImageUri\": \"$IMG\"$" log.ep &&
	spec args.json pargs 1 "\"ImageUri\": \"nosuch/image:1\",
		\"ContainerArguments\": [\"a1\", \"two words\", \"\"]" &&
	sagerun process --image "$IMG" --spec args.json >log.args 2>&1 &&
	test_grep "^algo-1 | entry \[a1\] \[two words\] \[\]$" log.args &&
	test_grep "^algo-1 | \"ImageUri\": \"$IMG\"$" log.args &&
	spec both.json pboth 1 "\"ImageUri\": \"$IMG\",
		\"ContainerEntrypoint\": [\"/bin/sh\", \"/other.sh\", \"e1\"],
		\"ContainerArguments\": [\"a1\", \"a 2\"]" &&
	sagerun process --backend docker --spec both.json >log.both 2>&1 &&
	test_grep "^algo-1 | other \[e1\] \[a1\] \[a 2\]$" log.both &&
	for j in pep pargs pboth; do
		job_leftovers "$(jobdir $j)" >left && test_cmp /dev/null left || return 1
	done
'

test_expect_success 'a host exits 3: Failed, its message the ExitMessage, the other stopped with SIGINT' '
	spec fail.json pfail 2 "\"ImageUri\": \"$IMG\", \"ContainerArguments\": [\"fail\"]" &&
	test_expect_code 1 sagerun process --backend docker --spec fail.json --stop-grace 60 \
		>log 2>&1 &&
	test_grep "^algo-1 | algo-1: got INT$" log &&
	! grep "got TERM" log &&
	sagerun describe pfail >d.json &&
	test_grep "\"ProcessingJobStatus\": \"Failed\"" d.json &&
	test_grep "\"FailureReason\": \"AlgorithmError: , exit code: 3\"" d.json &&
	test_grep "\"ExitMessage\": \"bad row 42 on algo-2\"" d.json &&
	(cd out-pfail && find . -type f | sort) >files &&
	printf "%s\n" ./algo-1.stopped ./algo-1.txt ./algo-2.txt >expect && test_cmp expect files &&
	job_leftovers "$(jobdir pfail)" >left && test_cmp /dev/null left
'

test_expect_success 'stop: SIGINT, then SIGKILL after the stop grace; Stopped, outputs uploaded' '
	spec hold.json phold 2 "\"ImageUri\": \"$IMG\", \"ContainerArguments\": [\"hold\"]" &&
	sagerun process -d --backend docker --spec hold.json --stop-grace 2 >name &&
	test_wait_lines 2 "^algo-[12] | algo-[12]: up$" "$SAGERUN" logs -f phold &&
	sagerun stop phold &&
	sagerun logs phold >log &&
	test_grep "^algo-1 | algo-1: got INT, going on$" log &&
	test_grep "^algo-2 | algo-2: got INT, going on$" log &&
	! grep "got TERM" log &&
	sagerun describe phold >d.json &&
	test_grep "\"ProcessingJobStatus\": \"Stopped\"" d.json &&
	test "$(grep -c "\"Signal\": \"SIGKILL\"" d.json)" = 2 &&
	(cd out-phold && find . -type f | sort) >files &&
	printf "%s\n" ./algo-1.txt ./algo-2.txt >expect && test_cmp expect files &&
	job_leftovers "$(jobdir phold)" >left && test_cmp /dev/null left
'

# What a container printed of its layout, as "algo-N layout: ...", from sagerun's log or
# docker-compose's.
layout_of() {
	sed -n "s/^\(algo-[12]\)\(_1\)\{0,1\} *| layout: /\1 /p" "$1" | sort
}

test_expect_success 'compose process: docker-compose runs the containers the docker backend ran' '
	sagerun logs pdk >log.pdk && layout_of log.pdk >layout.backend &&
	test "$(grep -c "^algo-1 " layout.backend)" -gt 10 &&
	mkdir -p c && (cd c && sagerun compose process --spec ../main.json --image "$IMG" \
		>../file 2>../compose.err) &&
	f=$(cat file) && test "$f" = "$PWD/c/docker-compose-pdk-2workers.yaml" &&
	test_grep "^# $f for SageMaker processing job pdk, 2 hosts" "$f" &&
	test_grep "hostname: algo-2" "$f" && ! grep SM_ "$f" &&
	test_when_finished "docker-compose -p srp$$ -f $f down -v >/dev/null 2>&1" &&
	docker-compose -p srp$$ -f "$f" up --no-color >up.log 2>&1 &&
	docker-compose -p srp$$ -f "$f" ps >ps.log 2>&1 &&
	test "$(grep -c "Exit 0" ps.log)" = 2 &&
	layout_of up.log >layout.compose &&
	test_cmp layout.backend layout.compose &&
	for h in algo-1 algo-2; do
		diff -r in c/sagerun-pdk/hosts/$h/opt/ml/processing/output/result/$h/input &&
		test_cmp out-pdk/$h.input-after \
			c/sagerun-pdk/hosts/$h/opt/ml/processing/output/result/$h.input-after ||
			return 1
	done &&
	in_manifest >in.after && test_cmp in.before in.after &&
	docker-compose -p srp$$ -f "$f" down -v >down.log 2>&1 &&
	job_leftovers "$PWD/c/sagerun-pdk" >left && test_cmp /dev/null left
'

test_expect_success 'compose process: ContainerEntrypoint and ContainerArguments as with the docker backend' '
	for j in ep args both; do
		(cd c && sagerun compose process --spec ../$j.json --image "$IMG" -o $j.yaml \
			>/dev/null 2>&1) &&
		test_when_finished "docker-compose -p srp$j$$ -f c/$j.yaml down -v >/dev/null 2>&1" &&
		docker-compose -p srp$j$$ -f c/$j.yaml up --no-color >up.$j 2>&1 &&
		sed -n "s/^algo-1_1 *| //p" up.$j >got.$j &&
		sed -n "s/^algo-1 | //p" log.$j >expect.$j &&
		test -s expect.$j && test_cmp expect.$j got.$j &&
		docker-compose -p srp$j$$ -f c/$j.yaml down -v >/dev/null 2>&1 &&
		job_leftovers "$PWD/c/sagerun-p$j" >left && test_cmp /dev/null left || return 1
	done
'

test_expect_success 'nothing of the jobs is left in the engine' '
	for what in "ps -a" "network ls" "volume ls"; do
		docker $what --filter label=sagerun.dir --format "{{.Label \"sagerun.dir\"}}" \
			>dirs || return 1
		grep -F "$TRASH" dirs >left
		test_cmp /dev/null left || return 1
	done
'

docker rmi "$IMG" >/dev/null 2>&1
stop_engine # before test_done removes the trash folder it keeps its state in
test_done
