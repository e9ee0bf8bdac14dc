#!/bin/bash
# The static sagerun (make static) in an image without any libc: a root holding only
# busybox-static and the binary, entered with chroot.  `sagerun container train` reads the
# config files, runs a shell entry point with its arguments, writes output/success; a failing
# one gets the toolkit's failure file.  CI runs make static first.
. "$(dirname "$0")/lib.sh"
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

test_done
