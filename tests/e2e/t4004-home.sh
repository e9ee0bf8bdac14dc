#!/bin/bash
# The home folder: private to its owner, no secret on a command line, and a full disk under it
# never keeps a job's end from the store (issue 16).
. "$(dirname "$0")/lib.sh"

modes() {
	stat -c '%a %n' "$@"
}

test_expect_success 'a new home and what is in it are its owner'"'"'s only' '
	umask 022 &&
	sagerun train --backend process --name private --output out -- true >/dev/null 2>&1 &&
	modes "$SAGERUN_HOME" | grep "^700 " &&
	for f in sagerun.db sagerun.db-wal sagerun.db-shm jobs/private/describe.json \
		jobs/private/logs/algo-1.log; do
		modes "$SAGERUN_HOME/$f" | grep "^600 " || exit 1
	done
'

test_expect_success 'an existing home with open modes is closed on first use' '
	chmod 755 "$SAGERUN_HOME" && chmod 644 "$SAGERUN_HOME/sagerun.db" &&
	sagerun ps -a >/dev/null &&
	modes "$SAGERUN_HOME" | grep "^700 " &&
	modes "$SAGERUN_HOME/sagerun.db" | grep "^600 "
'

# Every process on the machine, their command lines; the secret must be in none of them.  (The
# pattern comes from a file: on grep's own command line it would find itself.)
secret_in_cmdlines() {
	printf '%s\n' "$1" >secret.pattern
	grep -l -F -f secret.pattern /proc/[0-9]*/cmdline 2>/dev/null
}

test_expect_success 'no secret given with --env is on a command line while the job runs' '
	SECRET=s3cr3t-$$-$RANDOM &&
	for backend in process ns; do
		secs=4004
		[ $backend = ns ] && secs=4005
		if [ $backend = ns ] && ! unshare --mount --pid --fork true 2>/dev/null; then
			say "ns: cannot create namespaces here; the process backend was checked"
			continue
		fi
		job=$(sagerun train -d --backend $backend --hosts 2 --output out \
			--env AWS_SECRET_ACCESS_KEY=$SECRET --env=TOKEN=$SECRET \
			-- sleep "$secs") &&
		# (a file a host writes in the working folder stays in its layer on ns)
		for _ in $(seq 1 600); do
			[ "$(test_procs -fx "sleep $secs" | wc -l)" -eq 2 ] && break
			sleep 0.05
		done &&
		test "$(test_procs -fx "sleep $secs" | wc -l)" -eq 2 &&
		! secret_in_cmdlines "$SECRET" &&
		pgrep -f -- "--env=TOKEN=\*\*\*" >/dev/null &&
		sagerun stop "$job" >/dev/null 2>&1 || exit 1
	done
'

if [ "$(id -u)" -eq 0 ]; then
	mkdir -p small && mount -t tmpfs -o size=6m tmpfs small && MOUNTED=1
fi
[ -n "${MOUNTED:-}" ] || _skip_reason="needs root (a small tmpfs as the home)"

test_expect_success 'a job that fills the disk under the home still records its end' '
	export SAGERUN_HOME=$PWD/small/home &&
	sagerun train --backend process --name filler --output out \
		-- sh -c "dd if=/dev/zero of=\$SM_MODEL_DIR/fill bs=64k count=1000 2>/dev/null; exit 0" \
		>stdout 2>stderr &&
	test_grep "filler: Completed" stderr &&
	df -k small | tail -1 >df.out &&
	sagerun ps -a >ps.out && test_grep "^filler *training *Completed" ps.out &&
	sagerun describe filler | test_grep "\"TrainingJobStatus\": \"Completed\"" - &&
	sagerun wait filler 2>/dev/null &&
	sagerun stop filler 2>err && test_grep "filler: already ended: Completed" err &&
	! grep "supervisor lost" err &&
	sagerun rm filler >/dev/null &&
	! test -e small/home/jobs/filler
'

test_expect_success 'no room to start a job: refused, naming the home; nothing left of it' '
	export SAGERUN_HOME=$PWD/small/home &&
	dd if=/dev/zero of=small/hog bs=64k count=1000 2>/dev/null;
	test_expect_code 1 sagerun train --backend process --name noroom --output out -- true \
		2>err &&
	test_grep "no room to start a job in .$SAGERUN_HOME." err &&
	test_grep "hint: free some space" err &&
	! test -e small/home/jobs/noroom &&
	rm -f small/hog &&
	sagerun ps -a >ps.out && ! grep noroom ps.out
'

[ -z "${MOUNTED:-}" ] || umount small
test_done
