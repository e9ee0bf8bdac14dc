#!/bin/sh
# barrier.sh - train.py's barrier in POSIX sh and busybox nc, for images without Python.
#
# The same job: every host reads the cluster from SM_HOSTS and SM_CURRENT_HOST, the hosts
# meet in a TCP barrier led by the first host (join, "sync", "sync_ack", "Done", as
# GraphStorm's rendezvous), the leader writes model.json, and every host leaves
# <host>.txt in SM_OUTPUT_DATA_DIR.  The leader serves each worker's connection with a copy
# of this script (nc -ll -e), which waits until every worker has reached the same step.
set -eu

state=/tmp/sagerun-barrier.$$
[ -n "${BARRIER_STATE:-}" ] && state=$BARRIER_STATE

count() { ls "$state" | grep -c "^$1\." || true; }

# Until `n` files named STEP.* exist (every worker reached STEP), or two minutes passed.
wait_for() {
	i=0
	while [ "$(count "$1")" -lt "$2" ]; do
		i=$((i + 1))
		[ "$i" -lt 1200 ] || { echo "barrier: timed out at $1" >&2; exit 1; }
		sleep 0.1
	done
}

case "${1:-}" in
_lead_conn) # the leader's side of one worker's connection: stdin/stdout are the socket
	read -r name
	: >"$state/joined.$name"
	echo "leader: $name joined ($(count joined)/$BARRIER_WORKERS)" >&2
	wait_for joined "$BARRIER_WORKERS"
	echo sync
	read -r ack
	[ "$ack" = sync_ack ] || { echo "barrier: $name broke the barrier" >&2; exit 1; }
	: >"$state/acked.$name"
	wait_for acked "$BARRIER_WORKERS"
	echo Done
	: >"$state/done.$name"
	exit 0
	;;
_follow_conn) # a worker's side of its connection
	echo "$SM_CURRENT_HOST"
	read -r m
	[ "$m" = sync ] || exit 1
	echo sync_ack
	read -r m
	[ "$m" = Done ] || exit 1
	: >"$state/passed.$SM_CURRENT_HOST"
	exit 0
	;;
esac

port=12000
epochs=1
while [ $# -gt 0 ]; do
	case "$1" in
	--port) port=$2; shift 2 ;;
	--epochs) epochs=$2; shift 2 ;;
	*) shift ;;
	esac
done

hosts=$(echo "$SM_HOSTS" | tr -d '[]" ' | tr ',' ' ')
me=$SM_CURRENT_HOST
leader=$(printf '%s\n' $hosts | sort | head -n 1)
n=$(printf '%s\n' $hosts | wc -l)
addr=${MASTER_ADDR:-$leader}
echo "$me: one of $n hosts, leader $leader at $addr:$port"
mkdir -p "$state"
export BARRIER_STATE="$state" BARRIER_WORKERS=$((n - 1))

if [ "$me" = "$leader" ]; then
	if [ "$n" -gt 1 ]; then
		nc -ll -p "$port" -e "$0" _lead_conn &
		server=$!
		wait_for done "$BARRIER_WORKERS"
		kill "$server" 2>/dev/null || true
	fi
	members=$(printf '"%s", ' "$me" $(ls "$state" | sed -n 's/^done\.//p' | sort))
	printf '{"leader": "%s", "members": [%s], "epochs": %s}\n' "$me" "${members%, }" \
		"$epochs" >"$SM_MODEL_DIR/model.json"
	echo "leader: barrier passed by $n hosts, model written"
else
	i=0
	until [ -e "$state/passed.$me" ]; do
		nc "$addr" "$port" -e "$0" _follow_conn 2>/dev/null || true
		i=$((i + 1))
		[ "$i" -lt 1200 ] || { echo "$me: the leader never answered" >&2; exit 1; }
		[ -e "$state/passed.$me" ] || sleep 0.1
	done
	echo "$me: barrier passed"
fi
echo "$me done" >"$SM_OUTPUT_DATA_DIR/$me.txt"
rm -rf "$state"
