# s3lib.sh - for the S3 tests: a real s3rver (npm) on 127.0.0.1 with its signature check on
# (key and secret S3RVER), started by the test and stopped at its end, and awscli against it.
# Source it after lib.sh.
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
	# At the end, before test_done removes the trash folder with the pid file; the trap is
	# for a script that dies first.
	test_at_end stop_server
	trap 'stop_server' EXIT
fi
