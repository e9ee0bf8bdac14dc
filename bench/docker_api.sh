#!/bin/bash
# What creating and removing a job's containers costs the Docker engine, one after the other
# (as the docker backend does) and all at once, in the same run: whether doing them in
# parallel would pay.  HOSTS containers (default 4) of a busybox-static image imported from a
# folder, on a network of their own, ROUNDS times (default 5).  Uses the engine that answers
# (DOCKER_HOST, else /var/run/docker.sock), else a private dockerd (tests/e2e/dockerlib.sh).
# Output: mean milliseconds of each, and the ratios; results go to docs/performance.md.
set -euo pipefail

HOSTS=${HOSTS:-4}
ROUNDS=${ROUNDS:-5}
here=$(cd "$(dirname "$0")" && pwd)
TRASH=$(mktemp -d /tmp/sagerun-bench-dk.XXXXXX)
say() { echo "$@" >&2; }
# shellcheck source=../tests/e2e/dockerlib.sh
. "$here/../tests/e2e/dockerlib.sh"
img=sagerun-bench-dk:$$
net=sagerun-bench-dk-$$
cleanup() {
	set +e # stop_engine's steps may fail once things are gone; every one must run
	docker network rm "$net" >/dev/null 2>&1 || true
	docker rmi "$img" >/dev/null 2>&1 || true
	stop_engine
	rm -rf "$TRASH"
}
trap cleanup EXIT
start_engine
make_image "$img" --no-toolkit
docker network create "$net" >/dev/null
sock=${DOCKER_HOST#unix://}

create() {
	curl -sf --unix-socket "$sock" -X POST -H 'Content-Type: application/json' \
		-d "{\"Image\": \"$img\", \"Cmd\": [\"true\"], \"HostConfig\": {\"NetworkMode\": \"$net\"}}" \
		"http://docker/containers/create?name=$net-$1" >/dev/null
}
remove() { curl -sf --unix-socket "$sock" -X DELETE "http://docker/containers/$net-$1?force=1" >/dev/null; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# all_at_once FUNCTION: FUNCTION 1..HOSTS in parallel, waiting for just those.
all_at_once() {
	local pids=() i
	for i in $(seq 1 "$HOSTS"); do
		"$1" "$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

sc=0 sr=0 pc=0 pr=0
for _ in $(seq 1 "$ROUNDS"); do
	t0=$(now_ms)
	for i in $(seq 1 "$HOSTS"); do create "$i"; done
	t1=$(now_ms)
	for i in $(seq 1 "$HOSTS"); do remove "$i"; done
	t2=$(now_ms)
	all_at_once create
	t3=$(now_ms)
	all_at_once remove
	t4=$(now_ms)
	sc=$((sc + t1 - t0)) sr=$((sr + t2 - t1)) pc=$((pc + t3 - t2)) pr=$((pr + t4 - t3))
done
printf '%d containers, mean of %d rounds:\n' "$HOSTS" "$ROUNDS"
printf '  create one after the other   %6d ms\n' $((sc / ROUNDS))
printf '  create all at once           %6d ms\n' $((pc / ROUNDS))
printf '  remove one after the other   %6d ms\n' $((sr / ROUNDS))
printf '  remove all at once           %6d ms\n' $((pr / ROUNDS))
awk -v a=$((sc + sr)) -v b=$((pc + pr)) 'BEGIN { printf "  ratio all at once / one after the other: %.2f\n", b / a }'
