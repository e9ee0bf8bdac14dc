# lib.sh - the end-to-end test library (git: t/test-lib.sh; bubblewrap: tests/libtest.sh).
#
# A test script sources this file, then runs steps:
#   test_expect_success 'title' 'commands && chained && like this'
# and ends with test_done.  Output is TAP.  Every script gets a fresh trash folder (its cwd)
# with SAGERUN_HOME inside it; the folder is removed on success and kept on failure or when
# SR_TEST_KEEP=1.  $SAGERUN is the binary under test (CTest sets it).

set -u

: "${SAGERUN:?SAGERUN must point to the sagerun binary (CTest sets it)}"
: "${SR_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
export SR_SOURCE_DIR

test_name=$(basename "$0" .sh)
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/sagerun-$test_name.XXXXXX")
export SAGERUN_HOME="$TRASH/home"
export NO_COLOR=1
cd "$TRASH" || exit 1

test_count=0
test_failed=0
test_skipped=0

# Background jobs must use "$SAGERUN" directly: a function runs in a subshell, and $! would
# name that shell, not sagerun.
sagerun() {
	"$SAGERUN" "$@"
}

say() {
	printf '# %s\n' "$*"
}

# Commands to run after the current step, pass or fail, newest first.  A step runs in a
# subshell, so they are kept in a file the script's own shell reads afterwards.
test_when_finished() {
	{
		printf '%s\n' "$*"
		cat "$TRASH/.cleanup" 2>/dev/null || true
	} >"$TRASH/.cleanup.new" && mv "$TRASH/.cleanup.new" "$TRASH/.cleanup"
}

_run_cleanup() {
	if [ -s "$TRASH/.cleanup" ]; then
		(cd "$TRASH" && eval "$(cat "$TRASH/.cleanup")") >/dev/null 2>&1
	fi
	rm -f "$TRASH/.cleanup"
}

test_expect_success() {
	test_count=$((test_count + 1))
	if [ -n "${_skip_reason:-}" ]; then
		echo "ok $test_count - $1 # SKIP $_skip_reason"
		test_skipped=$((test_skipped + 1))
		return 0
	fi
	_title=$1
	(
		set +e
		eval "$2"
	) >"$TRASH/.step.out" 2>&1
	_rc=$?
	_run_cleanup
	if [ $_rc -eq 0 ]; then
		echo "ok $test_count - $_title"
	else
		echo "not ok $test_count - $_title (exit $_rc)"
		sed 's/^/#   /' "$TRASH/.step.out" | tail -n 60
		test_failed=$((test_failed + 1))
	fi
}

# Skip the rest of the script unless a capability is there; says why (Redis: tags).
test_require() {
	for cap in "$@"; do
		case $cap in
		ROOT) [ "$(id -u)" -eq 0 ] || _skip_reason="needs root" ;;
		PYTHON) command -v python3 >/dev/null 2>&1 || _skip_reason="needs python3" ;;
		NS) unshare --mount --pid --uts --net --ipc --fork true 2>/dev/null ||
			_skip_reason="cannot create Linux namespaces here (needs root)" ;;
		*) _skip_reason="unknown requirement $cap" ;;
		esac
	done
	if [ -n "${_skip_reason:-}" ]; then
		say "skipping $test_name: $_skip_reason"
	fi
}

# Passes only when the command fails the documented ways (1 or 2), so a crash (134, 139) or
# an unexpected success fails the test (git: test_must_fail).
test_must_fail() {
	"$@"
	_code=$?
	case $_code in
	1 | 2) return 0 ;;
	0) echo "test_must_fail: '$*' succeeded" >&2 ;;
	*) echo "test_must_fail: '$*' exited $_code (a crash?)" >&2 ;;
	esac
	return 1
}

test_expect_code() {
	_want=$1
	shift
	"$@"
	_code=$?
	if [ "$_code" -ne "$_want" ]; then
		echo "test_expect_code: '$*' exited $_code, expected $_want" >&2
		return 1
	fi
	return 0
}

test_cmp() {
	diff -u "$1" "$2"
}

# grep that prints the file when the pattern is missing, for a readable failure.
test_grep() {
	if ! grep "$@" >/dev/null; then
		echo "test_grep: no match for: $*" >&2
		_last=""
		for _a in "$@"; do _last=$_a; done
		[ -f "$_last" ] && sed 's/^/| /' "$_last" >&2
		return 1
	fi
}

# A free TCP port on 127.0.0.1 for a job's rendezvous, so tests can run in parallel.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# test_wait_lines COUNT PATTERN COMMAND...: block until COUNT lines of what COMMAND prints
# match the grep pattern, then end COMMAND (by its pid) and print those lines.  COMMAND
# follows a job as it runs: "$SAGERUN" logs -f JOB for its hosts' output, tail -n +1 -f FILE
# --pid=PID for a file sagerun writes as it goes (a detached job's sagerun.log, the stderr of
# a run in the background; the file must exist when tail opens it).  It waits for the event
# itself, where a loop that sleeps and reads ps or a log again guesses how long; it fails
# when COMMAND ends before COUNT lines matched (logs -f ends with the job, tail --pid with
# that process).  Give "$SAGERUN", not the sagerun function: $! must name COMMAND.
test_wait_lines() {
	_wl_count=$1 _wl_pattern=$2
	shift 2
	_wl_fifo=$(mktemp -u "$TRASH/.wait.XXXXXX") && mkfifo "$_wl_fifo" || return 1
	"$@" >"$_wl_fifo" &
	_wl_pid=$!
	grep -m "$_wl_count" -e "$_wl_pattern" <"$_wl_fifo" >"$_wl_fifo.lines"
	kill "$_wl_pid" 2>/dev/null
	wait "$_wl_pid" 2>/dev/null
	cat "$_wl_fifo.lines"
	_wl_got=$(wc -l <"$_wl_fifo.lines")
	rm -f "$_wl_fifo" "$_wl_fifo.lines"
	[ "$_wl_got" -eq "$_wl_count" ] && return 0
	echo "test_wait_lines: '$*' ended after $_wl_got of $_wl_count lines matching: $_wl_pattern" >&2
	return 1
}

# Other tests run beside this one, and their processes (orted, sshd in their containers) are
# visible here: these list only the pids pgrep finds (same arguments) that are this test's.
# test_procs: those whose environment has this test's SAGERUN_HOME (every host process of
# its jobs inherits it).  machine_procs: those in this machine's own PID namespace, not in a
# container's or a host's.
test_procs() {
	for _p in $(pgrep "$@"); do
		# a zombie has no environment to read (ESRCH): not counted, and quiet
		{ tr '\0' '\n' <"/proc/$_p/environ"; } 2>/dev/null |
			grep -qxF "SAGERUN_HOME=$SAGERUN_HOME" && echo "$_p"
	done
	return 0
}
machine_procs() {
	_me=$(readlink /proc/self/ns/pid)
	for _p in $(pgrep "$@"); do
		[ "$(readlink "/proc/$_p/ns/pid" 2>/dev/null)" = "$_me" ] && echo "$_p"
	done
	return 0
}

# What must work for a normal user is tested as one: test_user_setup makes the user
# sagerun-test (once, for every test that needs one), and a folder of its own in the trash,
# $USER_DIR, with its SAGERUN_HOME; as_user runs a command there as that user, with a plain
# environment (no root's variables).  The trash becomes readable for it (its binaries and
# scripts); the test runs as root.  The user is kept after the test: tests that run side by
# side (ctest -j) share it, and removing it at one's end would pull it from under another's
# running jobs; it is a system user with no home, no password and no login.
SR_TEST_USER=sagerun-test
# test_user_create: the user, made once; tests that run at once (ctest -j) take turns, since
# a second useradd fails on the lock of /etc/passwd while the first holds it.
test_user_create() {
	id -u "$SR_TEST_USER" >/dev/null 2>&1 && return 0
	flock /run/sagerun-test-user.lock sh -c \
		'id -u "$1" >/dev/null 2>&1 || useradd --system --no-create-home --shell /bin/sh "$1"' \
		- "$SR_TEST_USER" >/dev/null 2>&1
	id -u "$SR_TEST_USER" >/dev/null 2>&1
}
test_user_setup() {
	test_user_create || return 1
	chmod 755 "$TRASH" &&
	USER_DIR="$TRASH/user" &&
	mkdir -p "$USER_DIR" &&
	chown "$SR_TEST_USER:" "$USER_DIR"
}
as_user() {
	(cd "$USER_DIR" && runuser -u "$SR_TEST_USER" -- env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin \
		HOME="$USER_DIR" SAGERUN_HOME="$USER_DIR/home" NO_COLOR=1 "$@")
}

# A library's own end (a server it started), run by test_done before the trash folder goes:
# an EXIT trap would come after it, without the files it kept there.
test_at_end() {
	_at_end="${_at_end:-}$*;"
}

test_done() {
	if [ -n "${_at_end:-}" ]; then
		eval "$_at_end"
	fi
	echo "1..$test_count"
	# CI runs as root on a machine that has every peer: a skip there hides a missing step.
	if [ "${CI:-}" = true ] && [ $test_skipped -gt 0 ]; then
		say "$test_skipped steps skipped under CI=true: ${_skip_reason:-}"
		test_failed=$((test_failed + test_skipped))
	fi
	if [ $test_failed -eq 0 ]; then
		say "passed all $test_count steps ($test_skipped skipped)"
		[ "${SR_TEST_KEEP:-0}" = 1 ] || { cd / && rm -rf "$TRASH"; }
		exit 0
	fi
	say "failed $test_failed of $test_count steps; trash kept in $TRASH"
	exit 1
}
