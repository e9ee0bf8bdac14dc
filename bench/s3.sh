#!/bin/bash
# S3 throughput, sagerun next to awscli against the same local s3rver in the same run: one
# large object (1 GiB) up and down, and many small ones (10,000 of 10 KiB) up and down
# (`cp --recursive`, and `sync` into an empty prefix for the small upload).  Each cell is
# the mean of RUNS runs; the server's CPU share during each transfer is printed next to it
# (s3rver is one Node.js process: at ~100 % it is the limit, not the client).  Results go to
# docs/performance.md.
#   RUNS=3 BIG_MB=1024 SMALL_N=10000 SMALL_KB=10 bench/s3.sh build/sagerun
set -euo pipefail

SAGERUN=$(realpath "${1:-build/sagerun}")
RUNS=${RUNS:-3}
BIG_MB=${BIG_MB:-1024}
SMALL_N=${SMALL_N:-10000}
SMALL_KB=${SMALL_KB:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S3RVER=$ROOT/.deps/npm/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || { echo "s3rver is not installed (make deps)" >&2; exit 1; }
command -v aws >/dev/null || { echo "awscli is not installed (make deps)" >&2; exit 1; }

work=$(mktemp -d /tmp/sagerun-s3bench.XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
export SAGERUN_HOME="$work/home"
aws_s3() { aws --endpoint-url "$AWS_ENDPOINT_URL" s3 "$@" >/dev/null; }

NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" -d "$work/s3data" -a 127.0.0.1 -p "$port" \
	--configure-bucket bkt >"$work/s3rver.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1)" 2>/dev/null && break
	sleep 0.05
done
# s3rver runs as node under the npm shim: the process that uses the CPU is the node child.
node_pid() { pgrep -P "$server" node || echo "$server"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(node_pid)/stat"; }
hz=$(getconf CLK_TCK)

head -c $((BIG_MB * 1024 * 1024)) /dev/urandom >"$work/big"
mkdir -p "$work/small"
python3 - "$work/small" "$SMALL_N" "$SMALL_KB" <<'EOF'
import os, sys
d, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(kb * 1024))
EOF

# One timed run of command... -> "ms ticks", after $reset; the server's CPU ticks meanwhile.
timed() {
	local t0 t1 c0 c1
	eval "$reset"
	sync
	c0=$(cpu_ticks)
	t0=$(date +%s%N)
	"$@" || { echo "failed: $*" >&2; exit 1; }
	t1=$(date +%s%N)
	c1=$(cpu_ticks)
	echo "$(((t1 - t0) / 1000000)) $((c1 - c0))"
}

rows=()
# name bytes: runs "$sr_cmd" and "$aws_cmd" (arrays) RUNS times each, taking turns so that
# neither always meets a colder or a busier server, and adds a row.
pair() {
	local name=$1 bytes=$2 sr_ms=0 sr_t=0 aw_ms=0 aw_t=0 out
	for _ in $(seq 1 "$RUNS"); do
		out=($(timed "${sr_cmd[@]}")); sr_ms=$((sr_ms + out[0])); sr_t=$((sr_t + out[1]))
		[ -z "${check:-}" ] || eval "$check"
		out=($(timed "${aws_cmd[@]}")); aw_ms=$((aw_ms + out[0])); aw_t=$((aw_t + out[1]))
	done
	rows+=("$(awk -v n="$name" -v b="$bytes" -v r="$RUNS" -v hz="$hz" \
		-v sm="$sr_ms" -v st="$sr_t" -v am="$aw_ms" -v at="$aw_t" 'BEGIN {
		printf "| %s | %d ms (%.0f MiB/s, server %.0f %%) | %d ms (%.0f MiB/s, server %.0f %%) | %.2f |",
			n, sm / r, b / 1048576 / (sm / r / 1000), st * 100000 / hz / sm,
			am / r, b / 1048576 / (am / r / 1000), at * 100000 / hz / am, am / sm }')")
}
big_bytes=$((BIG_MB * 1024 * 1024))
small_bytes=$((SMALL_N * SMALL_KB * 1024))

# A warm server for both: the first requests of a fresh s3rver are slow.
head -c $((32 * 1024 * 1024)) /dev/urandom >"$work/warm"
"$SAGERUN" s3 cp "$work/warm" s3://bkt/warm && aws_s3 cp "$work/warm" s3://bkt/warm
"$SAGERUN" s3 cp --recursive "$work/small" s3://bkt/small-sr
aws_s3 cp s3://bkt/warm "$work/warm.down"

reset=': '
check=
sr_cmd=("$SAGERUN" s3 cp "$work/big" s3://bkt/big-sr)
aws_cmd=(aws_s3 cp "$work/big" s3://bkt/big-aws)
pair "$BIG_MB MiB object, up" $big_bytes

reset='rm -f "$work/big.down"'
check='cmp "$work/big" "$work/big.down"'
sr_cmd=("$SAGERUN" s3 cp s3://bkt/big-sr "$work/big.down")
aws_cmd=(aws_s3 cp s3://bkt/big-sr "$work/big.down")
pair "$BIG_MB MiB object, down" $big_bytes

reset=': '
check=
sr_cmd=("$SAGERUN" s3 cp --recursive "$work/small" s3://bkt/small-sr)
aws_cmd=(aws_s3 cp --recursive "$work/small" s3://bkt/small-aws)
pair "$SMALL_N x $SMALL_KB KiB, up (cp --recursive)" $small_bytes

sr_cmd=(bash -c '"$0" s3 sync "$1" "s3://bkt/sync-sr-$RANDOM$RANDOM" 2>/dev/null' "$SAGERUN" "$work/small")
aws_cmd=(bash -c 'aws --endpoint-url "$AWS_ENDPOINT_URL" s3 sync "$0" "s3://bkt/sync-aws-$RANDOM$RANDOM" >/dev/null' "$work/small")
pair "$SMALL_N x $SMALL_KB KiB, up (sync into a new prefix)" $small_bytes

reset='rm -rf "$work/small.down"'
check='diff -r "$work/small" "$work/small.down"'
sr_cmd=("$SAGERUN" s3 cp --recursive s3://bkt/small-sr "$work/small.down")
aws_cmd=(aws_s3 cp --recursive s3://bkt/small-sr "$work/small.down")
pair "$SMALL_N x $SMALL_KB KiB, down (cp --recursive)" $small_bytes

echo "# bench/s3.sh, RUNS=$RUNS, $(nproc) cores, s3rver $(cd "$ROOT/.deps/npm" && node -p 'require("s3rver/package.json").version' 2>/dev/null), $(aws --version 2>&1 | cut -d' ' -f1)"
echo "| transfer | sagerun | aws s3 | sagerun's speed-up |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
