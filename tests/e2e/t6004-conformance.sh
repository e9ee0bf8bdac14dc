#!/bin/bash
# The conformance table: what a script-mode program sees (argv and environment) under
# `sagerun container train` on ns hosts, against the training toolkit's values as the
# reference gives them (../shared/reference/sagemaker-contract.md; each case cites its
# section).  A case lists lines that must appear, exactly, in one host's output.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS PYTHON
export PATH="/usr/bin:$PATH" # Debian's python3, as in an image

# SR_CONFORM_AS_USER=1 (t2008): every case as a normal user, on rootless ns hosts.
as=""
if [ "${SR_CONFORM_AS_USER:-0}" = 1 ] && [ -z "${_skip_reason:-}" ]; then
	test_user_setup || exit 1
	cd "$USER_DIR" || exit 1
	as=as_user
fi

mkdir -p code data/training data/validation &&
	cp "$SR_SOURCE_DIR/tests/e2e/fixtures/dump.py" code/ || exit 1
[ -z "$as" ] || chown -R "$SR_TEST_USER:" "$USER_DIR"

# conform NAME HOST FLAGS... <expected lines
conform() {
	local name=$1 host=$2
	shift 2
	cat >"$name.expect"
	$as "$SAGERUN" train --backend ns --name "$name" --output out --source-dir code \
		--entry-point dump.py "$@" >"$name.out" 2>"$name.err" || {
		echo "$name: the job failed"
		tail -5 "$name.err"
		return 1
	}
	sed -n "s/^$host | //p" "$name.out" >"$name.got"
	while IFS= read -r line; do
		grep -qxF -- "$line" "$name.got" || {
			echo "$name: $host lacks: $line"
			return 1
		}
	done <"$name.expect"
}

test_expect_success '1. integers, hyphenated keys (§2.3 SM_HP_*, SM_HPS; §2.4)' '
	conform ints algo-1 --hp epochs=2 --hp batch-size=32 <<-\EOF
	argv ['\''--batch-size'\'', '\''32'\'', '\''--epochs'\'', '\''2'\'']
	SM_HP_EPOCHS=2
	SM_HP_BATCH-SIZE=32
	SM_HPS={"batch-size":32,"epochs":2}
	SM_USER_ARGS=["--batch-size","32","--epochs","2"]
	EOF
'

test_expect_success '2. floats in Python repr (§2.3 json.dumps, §2.4 str)' '
	conform floats algo-1 --hp lr=0.001 --hp w=1e-05 --hp big=100000.0 <<-\EOF
	argv ['\''--big'\'', '\''100000.0'\'', '\''--lr'\'', '\''0.001'\'', '\''-w'\'', '\''1e-05'\'']
	SM_HP_LR=0.001
	SM_HP_W=1e-05
	SM_HP_BIG=100000.0
	EOF
'

test_expect_success '3. booleans: true in JSON, True in argv (§2.4)' '
	conform bools algo-1 --hp flag=true --hp off=false <<-\EOF
	argv ['\''--flag'\'', '\''True'\'', '\''--off'\'', '\''False'\'']
	SM_HP_FLAG=true
	SM_HP_OFF=false
	EOF
'

test_expect_success '4. strings with spaces and quotes (§1.3 json.loads, else the raw string)' '
	conform strs algo-1 --hp "name=a b" --hp "q=\"quoted\"" <<-\EOF
	argv ['\''--name'\'', '\''a b'\'', '\''-q'\'', '\''quoted'\'']
	SM_HP_NAME=a b
	SM_HP_Q=quoted
	SM_HPS={"name":"a b","q":"quoted"}
	EOF
'

test_expect_success '5. a nested object: sorted compact JSON, k=v in argv (§2.3, §2.4)' '
	conform nested algo-1 --hp "cfg={\"b\": [1, 2.5], \"a\": \"x\"}" <<-\EOF
	argv ['\''--cfg'\'', '\''a=x,b=[1, 2.5]'\'']
	SM_HP_CFG={"a":"x","b":[1,2.5]}
	EOF
'

test_expect_success '6. a list: Python repr in argv (§2.4)' '
	conform list algo-1 --hp "layers=[1, \"two\", [3]]" <<-\EOF
	argv ['\''--layers'\'', "[1, '\''two'\'', [3]]"]
	SM_HP_LAYERS=[1,"two",[3]]
	EOF
'

test_expect_success '7. one-letter and upper-case keys, an empty value (§2.4 test_mapping)' '
	conform keys algo-1 --hp U=1 --hp b=2 --hp T= <<-\EOF
	argv ['\''-T'\'', '\'''\'', '\''-U'\'', '\''1'\'', '\''-b'\'', '\''2'\'']
	SM_HP_T=
	SM_HP_U=1
	SM_HP_B=2
	EOF
'

test_expect_success '8. null: empty in the environment and in argv (§2.3; to_cmd_args _decode)' '
	conform null algo-1 --hp n=null <<-\EOF
	argv ['\''-n'\'', '\'''\'']
	SM_HP_N=
	SM_HPS={"n":null}
	SM_USER_ARGS=["-n",""]
	EOF
'

test_expect_success '9. channels, sorted, at /opt/ml/input/data (§2.3 SM_CHANNELS)' '
	conform channels algo-1 --channel validation=data/validation --channel training=data/training <<-\EOF
	SM_CHANNELS=["training","validation"]
	SM_CHANNEL_TRAINING=/opt/ml/input/data/training
	SM_CHANNEL_VALIDATION=/opt/ml/input/data/validation
	SM_INPUT_DATA_CONFIG={"training":{"RecordWrapperType":"None","S3DistributionType":"FullyReplicated","TrainingInputMode":"File"},"validation":{"RecordWrapperType":"None","S3DistributionType":"FullyReplicated","TrainingInputMode":"File"}}
	EOF
'

test_expect_success '10. one host (§1.5, §2.3)' '
	conform one algo-1 --instance-type ml.c5.xlarge <<-\EOF
	SM_HOSTS=["algo-1"]
	SM_CURRENT_HOST=algo-1
	SM_CURRENT_INSTANCE_TYPE=ml.c5.xlarge
	SM_CURRENT_INSTANCE_GROUP=homogeneousCluster
	SM_CURRENT_INSTANCE_GROUP_HOSTS=["algo-1"]
	SM_INSTANCE_GROUPS=["homogeneousCluster"]
	SM_IS_HETERO=false
	SM_NETWORK_INTERFACE_NAME=eth0
	SM_RESOURCE_CONFIG={"current_group_name":"homogeneousCluster","current_host":"algo-1","current_instance_type":"ml.c5.xlarge","hosts":["algo-1"],"instance_groups":[{"hosts":["algo-1"],"instance_group_name":"homogeneousCluster","instance_type":"ml.c5.xlarge"}],"network_interface_name":"eth0"}
	EOF
'

test_expect_success '11. eight hosts, seen from the last (§1.5 hosts)' '
	conform eight algo-8 --hosts 8 <<-\EOF
	SM_HOSTS=["algo-1","algo-2","algo-3","algo-4","algo-5","algo-6","algo-7","algo-8"]
	SM_CURRENT_HOST=algo-8
	CURRENT_HOST=algo-8
	EOF
'

test_expect_success '12. the paths and the entry point (§2.3)' '
	conform paths algo-1 <<-EOF
	SM_USER_ENTRY_POINT=dump.py
	SM_MODULE_NAME=dump
	SM_MODULE_DIR=file://$PWD/code
	SM_MODEL_DIR=/opt/ml/model
	SM_INPUT_DIR=/opt/ml/input
	SM_INPUT_CONFIG_DIR=/opt/ml/input/config
	SM_OUTPUT_DIR=/opt/ml/output
	SM_OUTPUT_DATA_DIR=/opt/ml/output/data
	SM_OUTPUT_INTERMEDIATE_DIR=/opt/ml/output/intermediate
	SM_FRAMEWORK_MODULE=
	TRAINING_JOB_NAME=paths
	SAGEMAKER_JOB_NAME=paths
	EOF
	grep -q "^PYTHONPATH=/opt/ml/code" paths.got
'

test_expect_success '13. sagemaker_* hyperparameters: framework parameters, not arguments (§2.2)' '
	conform fw algo-1 --hp sagemaker_foo=1 --hp epochs=3 --hp sagemaker_container_log_level=10 <<-\EOF
	argv ['\''--epochs'\'', '\''3'\'']
	SM_FRAMEWORK_PARAMS={"sagemaker_foo":1}
	SM_HPS={"epochs":3}
	SM_LOG_LEVEL=10
	EOF
'

test_expect_success '14. the job Environment reaches the program (§1.7)' '
	conform envs algo-1 --env MY_FLAG=on --env "SPACED=a b" <<-\EOF
	MY_FLAG=on
	SPACED=a b
	EOF
'

test_expect_success '15. torch_distributed: torchrun variables on the second host (§2.10)' '
	conform torch algo-2 --hosts 2 --distribution torch --processes-per-host 2 <<-\EOF
	SM_FRAMEWORK_PARAMS={"sagemaker_mpi_num_of_processes_per_host":2,"sagemaker_torch_distributed_enabled":true}
	MASTER_ADDR=algo-1
	MASTER_PORT=7777
	WORLD_SIZE=4
	RANK=2
	RANK=3
	LOCAL_RANK=0
	LOCAL_RANK=1
	LOCAL_WORLD_SIZE=2
	GROUP_RANK=1
	NODE_RANK=1
	NCCL_SOCKET_IFNAME=eth0
	EOF
'

test_expect_success '16. SM_TRAINING_ENV carries the same values (§2.5)' '
	conform tenv algo-2 --hosts 2 --hp epochs=2 <<-\EOF
	EOF
	python3 - tenv.got <<-\PY
	import json, sys
	env = dict(l.split("=", 1) for l in open(sys.argv[1]).read().splitlines() if "=" in l and not l.startswith("argv "))
	t = json.loads(env["SM_TRAINING_ENV"])
	assert len(t) == 37, sorted(t)
	assert t["current_host"] == "algo-2" and t["hosts"] == ["algo-1", "algo-2"], t
	assert t["master_hostname"] == "algo-1" and t["is_master"] is False, t
	assert t["hyperparameters"] == {"epochs": 2}, t["hyperparameters"]
	assert t["job_name"] == "tenv" and t["module_name"] == "dump", t
	assert t["log_level"] == 20 and t["network_interface_name"] == "eth0", t
	PY
'

test_done
