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

# When the end cannot be written to the store at all, the command fails naming the state the
# job ended in, and the next command records that end from the job's describe.json.  A shim
# makes the store's writes fail with ENOSPC once the job's program has made a flag file (the
# reserve keeps a real full disk from doing it).
cat >nospace.c <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	const char *flag = getenv("NOSPACE_FLAG");
	char link[64], path[4096];
	ssize_t k;

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, path, sizeof(path) - 1);
	if (flag && k > 0 && access(flag, F_OK) == 0) {
		path[k] = '\0';
		if (strstr(path, "/sagerun.db")) {
			errno = ENOSPC;
			return -1;
		}
	}
	return real(fd, buf, n, off);
}
C
if cc -shared -fPIC -o nospace.so nospace.c -ldl 2>/dev/null; then
	test_expect_success 'the end not recorded at all: exit 1 naming it; the next command records it' '
		test_expect_code 1 env LD_PRELOAD="$PWD/nospace.so" NOSPACE_FLAG="$PWD/nospace.flag" \
			ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
			"$SAGERUN" train --backend process --name unrecorded --output out \
			-- touch "$PWD/nospace.flag" >stdout 2>stderr &&
		test_grep "job .unrecorded. ended Completed, but the store could not record it" stderr &&
		test_grep "hint: free space in .$SAGERUN_HOME.; the next sagerun command there records" stderr &&
		test_grep "\"TrainingJobStatus\": \"Completed\"" "$SAGERUN_HOME/jobs/unrecorded/describe.json" &&
		sagerun ps -a >ps.out 2>ps.err &&
		test_grep "job .unrecorded. ended Completed; recorded from its describe.json" ps.err &&
		test_grep "^unrecorded *training *Completed" ps.out &&
		sagerun wait unrecorded
	'
else
	say "the unrecorded-end step left out: cannot build a shared library with cc"
fi

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
