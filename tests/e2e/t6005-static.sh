#!/bin/bash
# The static sagerun (make static) in an image without any libc: a root holding only
# busybox-static and the binary, entered with chroot.  `sagerun container train` reads the
# config files, runs a shell entry point with its arguments, writes output/success; a failing
# one gets the toolkit's failure file; code comes from an s3:// sourcedir.tar.gz (a real
# s3rver on 127.0.0.1, reached from inside the root).  CI runs make static first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
test_require ROOT
STATIC=${SAGERUN_STATIC_BIN:-$SR_SOURCE_DIR/build-static/sagerun}
[ -x "$STATIC" ] || _skip_reason="no static binary at $STATIC (run make static)"
[ -x /bin/busybox ] || _skip_reason="needs busybox-static (make deps installs it)"

root=$PWD/root
mkdir -p "$root/bin" "$root/tmp" "$root/opt/ml/input/config" "$root/opt/ml/code" &&
	cp /bin/busybox "$root/bin/busybox" && ln -s busybox "$root/bin/sh" &&
	cp "$STATIC" "$root/bin/sagerun" || exit 1
cat >"$root/opt/ml/input/config/resourceconfig.json" <<'EOF2'
{"current_host": "algo-1", "current_instance_type": "ml.m5.large", "current_group_name": "homogeneousCluster", "hosts": ["algo-1"], "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.m5.large", "hosts": ["algo-1"]}], "network_interface_name": "eth0"}
EOF2
echo '{}' >"$root/opt/ml/input/config/inputdataconfig.json"
cat >"$root/opt/ml/code/train.sh" <<'EOF2'
echo "host $SM_CURRENT_HOST args $*"
[ "$1" != "--fail" ]
EOF2

test_expect_success 'the binary is static: no interpreter, no shared library' '
	file "$STATIC" >file.out && test_grep "static-pie linked" file.out &&
	! ldd "$STATIC" 2>/dev/null | grep -q "=>"
'

test_expect_success 'container train in a root with nothing but busybox' '
	echo "{\"sagemaker_program\": \"\\\"train.sh\\\"\", \"epochs\": \"2\"}" \
		>"$root/opt/ml/input/config/hyperparameters.json" &&
	env -i PATH=/bin TRAINING_JOB_NAME=static "$(command -v chroot)" "$root" /bin/sagerun container train \
		>out 2>err &&
	test_grep "^host algo-1 args --epochs 2$" out &&
	test -e "$root/opt/ml/output/success"
'

test_expect_success 'a failing entry point: the toolkit failure file, exit 1' '
	echo "{\"sagemaker_program\": \"\\\"train.sh\\\"\", \"fail\": \"\\\"\\\"\"}" \
		>"$root/opt/ml/input/config/hyperparameters.json" &&
	test_expect_code 1 env -i PATH=/bin TRAINING_JOB_NAME=static "$(command -v chroot)" "$root" \
		/bin/sagerun container train >out 2>err &&
	test_grep "^ExecuteUserScriptError:$" "$root/opt/ml/output/failure"
'

test_expect_success 'the code from an s3:// sourcedir.tar.gz, fetched inside the root' '
	mkdir -p src && printf "echo fetched \$SM_MODULE_DIR\n" >src/run.sh &&
	tar -C src -czf sourcedir.tar.gz run.sh &&
	sagerun s3 cp sourcedir.tar.gz s3://bkt/job/source/sourcedir.tar.gz &&
	rm -rf "$root/opt/ml/code" "$root/opt/ml/output" &&
	echo "{\"sagemaker_program\": \"\\\"run.sh\\\"\", \"sagemaker_submit_directory\": \"\\\"s3://bkt/job/source/sourcedir.tar.gz\\\"\"}" \
		>"$root/opt/ml/input/config/hyperparameters.json" &&
	env -i PATH=/bin TRAINING_JOB_NAME=static AWS_ACCESS_KEY_ID=S3RVER \
		AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 \
		AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL" AWS_EC2_METADATA_DISABLED=true \
		"$(command -v chroot)" "$root" /bin/sagerun container train >out 2>err &&
	test_grep "^fetched s3://bkt/job/source/sourcedir.tar.gz$" out &&
	test -e "$root/opt/ml/code/run.sh"
'

stop_server # before test_done removes the trash folder that names it
test_done
