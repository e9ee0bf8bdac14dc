# smlib.sh - for the sagemaker engine's tests: the stand-in SageMaker + CloudWatch Logs endpoint
# (smstandin.py on Debian's python3-botocore) on 127.0.0.1, started by the test and stopped at
# its end, with the test's credentials (s3lib.sh's, when sourced first: the stand-in checks the
# same keys as s3rver).  Source it after lib.sh (and s3lib.sh).
#   sm_validate OP FILE     botocore's validation of a request file (exit 1 with the report)
#   standin_calls           every call the stand-in got, one JSON per line
#   standin_throttle N      its next N calls answer ThrottlingException
#   standin_fail N STATUS CODE [MESSAGE]   its next N calls answer that error
SM_PY=/usr/bin/python3
SM_STANDIN="$SR_SOURCE_DIR/tests/e2e/smstandin.py"
if ! $SM_PY -c 'import botocore' 2>/dev/null; then
	_skip_reason="python3-botocore is not installed (run make deps)"
	say "skipping $test_name: $_skip_reason"
fi
: "${AWS_ACCESS_KEY_ID:=AKIDSTANDIN}" "${AWS_SECRET_ACCESS_KEY:=standin/secret+KEY}"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent
unset AWS_PROFILE AWS_SESSION_TOKEN SAGERUN_ROLE_ARN
sm_port=$(free_port)
export AWS_ENDPOINT_URL_SAGEMAKER="http://127.0.0.1:$sm_port"
export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="http://127.0.0.1:$sm_port"
ROLE=arn:aws:iam::123456789012:role/SageMakerRole
IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/sagerun-test:1
BUCKET=sagemaker-us-east-1-123456789012

sm_validate() {
	$SM_PY "$SM_STANDIN" --validate "$1" "$2"
}
standin_calls() {
	curl -sf "http://127.0.0.1:$sm_port/_standin/requests"
}
standin_throttle() {
	curl -sf "http://127.0.0.1:$sm_port/_standin/throttle?n=$1" >/dev/null
}

standin_fail() {
	curl -sf -G "http://127.0.0.1:$sm_port/_standin/fail" --data-urlencode "n=$1" \
		--data-urlencode "status=$2" --data-urlencode "code=$3" \
		--data-urlencode "message=${4:-}" >/dev/null
}

standin_start() {
	$SM_PY "$SM_STANDIN" "$sm_port" "$TRASH/standin.ready" >>"$TRASH/standin.log" 2>&1 &
	# Kept in the script's own shell too: test_done removes the trash (and a file there)
	# before the exit trap runs.
	_standin_pid=$!
	for _ in $(seq 1 200); do
		[ -s "$TRASH/standin.ready" ] && return 0
		sleep 0.05
	done
	return 1
}
standin_stop() {
	[ -n "${_standin_pid:-}" ] || return 0
	kill "$_standin_pid" 2>/dev/null
	while kill -0 "$_standin_pid" 2>/dev/null; do sleep 0.02; done
	_standin_pid=
}

if [ -z "${_skip_reason:-}" ]; then
	standin_start || { echo "the stand-in did not start"; cat "$TRASH/standin.log"; exit 1; }
	# s3lib.sh's server too, when it runs one.
	trap 'standin_stop; if command -v stop_server >/dev/null; then stop_server; fi' EXIT
fi
