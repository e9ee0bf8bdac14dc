#!/bin/bash
# An ns host is contained like a container, as root and as a normal user: every attempt on
# this machine fails (its /etc, /root and /usr, its runtime sockets, /proc/sys, mounts, kernel
# modules, the clock, ptrace of a process outside), while what a SageMaker container may do
# still works (pip install into the host's own layer, binding ports, writing /opt/ml and /tmp).
# --keep-layers keeps the layer in the job folder; --privileged gives the old uncontained host.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS PYTHON
if [ -z "${_skip_reason:-}" ]; then
	test_user_setup || _skip_reason="cannot make the user $SR_TEST_USER"
	/usr/bin/python3 -m pip --version >/dev/null 2>&1 || _skip_reason="needs Debian's python3-pip"
	[ -n "${_skip_reason:-}" ] && say "skipping $test_name: $_skip_reason"
fi

U=${USER_DIR:-$TRASH}
cp "$SR_SOURCE_DIR/tests/e2e/fixtures/contain_probe.py" "$U/probe.py"
cp "$SR_SOURCE_DIR/tests/e2e/fixtures/attempt.py" "$U/attempt.py"
# A wheel pip installs without a network or a build: a package that says 42.
/usr/bin/python3 - "$U/sr_probe_pkg-1.0-py3-none-any.whl" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("sr_probe_pkg/__init__.py", "VALUE = 42\n")
    z.writestr("sr_probe_pkg-1.0.dist-info/METADATA",
               "Metadata-Version: 2.1\nName: sr-probe-pkg\nVersion: 1.0\n")
    z.writestr("sr_probe_pkg-1.0.dist-info/WHEEL",
               "Wheel-Version: 1.0\nGenerator: t2007\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("sr_probe_pkg-1.0.dist-info/RECORD", "")
PY
chown -R "$SR_TEST_USER:" "$U" 2>/dev/null

# Outside every host: a process to trace, and a unix socket in this machine's /run, as
# Docker's and containerd's are.
sleep 600 &
outside=$!
# unix_server PATH: a unix socket listening at PATH, as a service's; its pid in $server.
unix_server() {
	/usr/bin/python3 -c "
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen(8)
time.sleep(600)" "$1" &
	server=$!
	for _ in $(seq 1 100); do [ -S "$1" ] && break; sleep 0.05; done
}
sock=/run/sagerun-t2007-$$.sock
unix_server "$sock"
test_at_end "kill $outside $server 2>/dev/null; rm -f $sock"

# Each refusal with the errno that says who refused: the read-only /proc/sys (EROFS), the
# seccomp filter (EPERM), the fresh /run that hides the machine's socket (ENOENT), the PID
# namespace that hides the machine's process (ESRCH).  Any other errno (a missing file, a
# wrong argument) would hide that the attempt could have worked.
refused="write drop_caches=EROFS|mount a tmpfs=EPERM|load a module=EPERM|set the clock=EPERM"
refused="$refused|ptrace outside=ESRCH|reach the machine's socket=ENOENT"
refused="$refused|set up io_uring=EPERM|open a vsock=EPERM|take init's fds=EPERM"
allowed="pip install|bind port 80|bind port 8080|write /opt/ml|write /tmp"

# check_probe FILE: the refusals and the leaves, one line each, in FILE (a job's stdout).
check_probe() {
	IFS="|"
	for what in $refused; do
		test_grep "^algo-1 | ${what%=*}: refused (${what#*=})$" "$1" || return 1
	done
	for what in $allowed; do test_grep "^algo-1 | $what: ALLOWED$" "$1" || return 1; done
	unset IFS
}

# nothing_reached TAG: the machine's own files are as they were.
nothing_reached() {
	test ! -e "/etc/sagerun-t2007-$1" && test ! -e "/root/sagerun-t2007-$1" &&
	test ! -e "/usr/sagerun-t2007-$1" &&
	test -z "$(ls -d /usr/local/lib/python3*/dist-packages/sr_probe_pkg 2>/dev/null)" &&
	test ! -e "$U/.local"
}

test_expect_success 'as root: a host is contained, and may do what a SageMaker container does' '
	sagerun train --backend ns --name root --hosts 1 --output out --env PATH=/usr/bin:/bin \
		-- /usr/bin/python3 "$U/probe.py" root "$outside" "$sock" "$U/sr_probe_pkg-1.0-py3-none-any.whl" \
		>stdout 2>stderr &&
	check_probe stdout &&
	nothing_reached root &&
	# what the host wrote on its layer went with it
	test ! -e "$SAGERUN_HOME/jobs/root/hosts/algo-1/layer/etc" &&
	kill -0 "$outside"
'

test_expect_success 'as a normal user: the same' '
	as_user "$SAGERUN" train --backend ns --name user --hosts 1 --output out \
		-- /usr/bin/python3 "$U/probe.py" user "$outside" "$sock" "$U/sr_probe_pkg-1.0-py3-none-any.whl" \
		>stdout 2>stderr &&
	check_probe stdout &&
	nothing_reached user
'

test_expect_success '--keep-layers: what the host wrote over this machine stays in the job folder' '
	as_user "$SAGERUN" train --backend ns --keep-layers --name kept --hosts 1 --output out \
		-- /usr/bin/python3 "$U/probe.py" kept "$outside" "$sock" "$U/sr_probe_pkg-1.0-py3-none-any.whl" \
		>stdout 2>stderr &&
	test_grep "^algo-1 | pip install: ALLOWED" stdout &&
	layer="$U/home/jobs/kept/hosts/algo-1/layer" &&
	# rootless, pip installs into the home of root, /root: a folder of the host own
	find "$layer" -type d -name sr_probe_pkg >found &&
	test_grep "/root/data/.local/lib/python3.*/site-packages/sr_probe_pkg\$" found &&
	test -e "$layer/etc/data/sagerun-t2007-kept" &&
	nothing_reached kept
'

# The toolkit installs a script's requirements.txt with a plain `python3 -m pip install`
# (Debian's Python refuses that outside a virtual environment, PEP 668): it works in a
# contained host, as in the service's container, and nothing of it reaches this machine.
mkdir -p "$U/reqcode" && cp "$U/sr_probe_pkg-1.0-py3-none-any.whl" "$U/reqcode/" &&
	echo ./sr_probe_pkg-1.0-py3-none-any.whl >"$U/reqcode/requirements.txt" &&
	echo "import sr_probe_pkg; print(\"value\", sr_probe_pkg.VALUE)" >"$U/reqcode/use.py" &&
	chown -R "$SR_TEST_USER:" "$U/reqcode" 2>/dev/null
test_expect_success 'requirements.txt installed by the toolkit, as root and as a normal user' '
	sagerun train --backend ns --name req --hosts 2 --source-dir "$U/reqcode" --entry-point use.py \
		--env PATH=/usr/bin:/bin --output out >stdout 2>stderr &&
	test_grep "^algo-2 | value 42$" stdout &&
	as_user "$SAGERUN" train --backend ns --name requ --source-dir reqcode --entry-point use.py \
		--output out >stdout 2>stderr &&
	test_grep "^algo-1 | value 42$" stdout &&
	! /usr/bin/python3 -c "import sr_probe_pkg" 2>/dev/null
'

# On the private network pip reaches no index: the failure says so, and what to do.
mkdir -p "$U/reqnet" && echo "print(1)" >"$U/reqnet/use.py" &&
	echo "no-such-package-sagerun==1.0" >"$U/reqnet/requirements.txt"
test_expect_success 'requirements.txt that needs an index, on the private network: said why' '
	test_expect_code 1 sagerun train --backend ns --name reqnet --source-dir "$U/reqnet" \
		--entry-point use.py --env PATH=/usr/bin:/bin --env PIP_RETRIES=0 \
		--output out >stdout 2>stderr &&
	test_grep "FailureReason: .*InstallRequirementsError" stderr &&
	test_grep "network is private: they reach each other and nothing else" stderr &&
	test_grep "\-\-network host shares this machine" stderr &&
	# a job that asks for isolation is not told to give it up
	echo "{\"EnableNetworkIsolation\": true}" >iso.json &&
	test_expect_code 1 sagerun train --spec iso.json --backend ns --name reqiso \
		--source-dir "$U/reqnet" --entry-point use.py --env PATH=/usr/bin:/bin \
		--env PIP_RETRIES=0 --output out >stdout 2>stderr &&
	test_grep "FailureReason: .*InstallRequirementsError" stderr &&
	! grep "network is private" stderr
'

# The same for a processing job's --source-dir: the SDK's runproc.sh installs requirements.txt
# with the command's Python (Debian has no `python`; PATH leaves out any other one here).
mkdir -p "$U/reqproc" && cp "$U/reqcode/"* "$U/reqproc/" &&
	cat >"$U/reqproc/use.py" <<'PY'
import os, sr_probe_pkg
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
open(base + "/processing/output/o/" + os.uname().nodename, "w").write(str(sr_probe_pkg.VALUE))
PY
chown -R "$SR_TEST_USER:" "$U/reqproc" 2>/dev/null
test_expect_success 'requirements.txt of a --source-dir installed by runproc.sh, as root and as a normal user' '
	sagerun process --backend ns --name reqp --hosts 2 --source-dir "$U/reqproc" \
		--entry-point use.py --env PATH=/usr/bin:/bin --output o="$PWD/reqp-out" 2>stderr &&
	printf 42 >expect && test_cmp expect reqp-out/algo-2 &&
	test_grep "^    python3 -m pip install -r requirements.txt$" \
		"$SAGERUN_HOME/jobs/reqp/source/runproc.sh" &&
	as_user "$SAGERUN" process --backend ns --name reqpu --source-dir reqproc --entry-point use.py \
		--env PATH=/usr/bin:/bin --output o="$U/reqpu-out" 2>stderr &&
	test_cmp expect "$U/reqpu-out/algo-1" &&
	! /usr/bin/python3 -c "import sr_probe_pkg" 2>/dev/null
'

# What the probe above is refused, a --privileged host may: the checks can tell.
cat >"$U/priv_probe.py" <<'PY'
import ctypes, os, socket, sys
NR_FINIT_MODULE = {"x86_64": 313, "aarch64": 273}[os.uname().machine]
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print("socket reached", flush=True)
libc = ctypes.CDLL(None, use_errno=True)
print("mount rc", libc.mount(b"t", b"/mnt", b"tmpfs", 0, None), flush=True)
fd = open("/dev/null").fileno()
libc.syscall(NR_FINIT_MODULE, fd, b"", 0)
print("module errno", ctypes.get_errno(), flush=True)  # not EPERM: the kernel read the file
PY
test_expect_success '--privileged: the host as it was, uncontained (a mount of its own works)' '
	sagerun train --backend ns --privileged --name priv --hosts 1 --output out \
		-- /usr/bin/python3 "$U/priv_probe.py" "$sock" >stdout 2>stderr &&
	test_grep "^algo-1 | socket reached" stdout &&
	test_grep "^algo-1 | mount rc 0" stdout &&
	test_grep "^algo-1 | module errno [0-9]*" stdout &&
	! grep "^algo-1 | module errno 1\$" stdout >/dev/null
'

# No disk of this machine through a device node: as root, a host cannot make a block node
# (no CAP_MKNOD), and one this machine's tree has outside /dev opens nothing (nodev).  The
# disk is a loop device over a file of the test's.
cat >"$U/disk_probe.py" <<'PY'
import os, sys
from attempt import attempt
dev = os.stat(sys.argv[1]).st_rdev
attempt("make a block node", lambda: os.mknod("/dev/sr-disk", 0o600 | 0o060000, dev))
attempt("open the machine node", lambda: os.close(os.open(sys.argv[1], os.O_RDWR)))
PY
test_expect_success 'as root: a host cannot reach a disk through a device node' '
	truncate -s 1M "$TRASH/disk" &&
	loop=$(losetup -f --show "$TRASH/disk") &&
	test_when_finished "losetup -d $loop" &&
	v=$(mktemp -d /var/tmp/sagerun-t2007.XXXXXX) &&
	test_when_finished "rm -rf $v" &&
	mknod "$v/disk" b $(stat -c "%Hr %Lr" "$loop") &&
	sagerun train --backend ns --name disk --hosts 1 --output out \
		-- /usr/bin/python3 "$U/disk_probe.py" "$v/disk" >stdout 2>stderr &&
	test_grep "^algo-1 | make a block node: refused (EPERM)" stdout &&
	test_grep "^algo-1 | open the machine node: refused (EACCES)" stdout
'

# Where /etc/resolv.conf leads into /run (systemd-resolved's stub-resolv.conf), the host's
# fresh /run keeps that file, read-only: the host resolves names with it, and cannot rewrite
# this machine's.  The layout is made in a mount namespace of the test's own.
cat >"$TRASH/resolv.sh" <<'SH'
mount -t tmpfs t /run && mkdir -p /run/systemd/resolve &&
echo "nameserver 192.0.2.53" >/run/systemd/resolve/stub-resolv.conf &&
mount -t overlay o -o "lowerdir=/etc,upperdir=$PWD/etc-up,workdir=$PWD/etc-work" /etc &&
"$SAGERUN" train --backend ns --name resolv --hosts 1 --output out \
	-- sh -c 'cat /etc/resolv.conf; echo nameserver 203.0.113.1 >/etc/resolv.conf; echo wrote $?' \
	>stdout 2>stderr &&
cat /run/systemd/resolve/stub-resolv.conf >after
SH
test_expect_success 'as root: a resolv.conf that leads into /run is read-only in the host' '
	mkdir etc-up etc-work &&
	ln -s /run/systemd/resolve/stub-resolv.conf etc-up/resolv.conf &&
	unshare -m --propagation private sh "$TRASH/resolv.sh" &&
	test_grep "^algo-1 | nameserver 192.0.2.53$" stdout &&
	test_grep "^algo-1 | wrote 2$" stdout &&
	test_grep "Read-only file system" stderr &&
	echo "nameserver 192.0.2.53" >expect &&
	test_cmp expect after
'

# A folder at / that holds other mounts (here /srv, in a mount namespace of the test's own)
# is layered too, its mounts bound back read-only on the layer: a unix socket of this
# machine's in the folder itself is not reached (a read-only bind would let connect()
# through), and what the mounts hold is read, never written.  Rootless, overlayfs refuses a
# folder whose mounts the user namespace may not reveal: read-only, and its sockets are the
# user's to reach as outside (docs/contract.md).
cat >"$TRASH/submount.sh" <<'SH'
mount -t tmpfs t "$1/sub" && echo held >"$1/sub/data" &&
for who in root user; do
	run=""
	[ $who = user ] && run=as_user
	$run "$SAGERUN" train --backend ns --name sub-$who --hosts 1 --output out \
		-- /usr/bin/python3 "$U/submount_probe.py" "$1" >stdout-$who 2>stderr-$who || exit 1
done
SH
cat >"$U/submount_probe.py" <<'PY'
import socket, sys
from attempt import attempt
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1] + "/machine.sock")
def write():
    with open(sys.argv[1] + "/sub/new", "w") as f:
        f.write("x")
attempt("reach the socket", connect)
print("mount holds " + open(sys.argv[1] + "/sub/data").read().strip(), flush=True)
attempt("write the mount", write)
PY
test_expect_success 'a folder holding mounts: layered, its socket not reached, its mounts read-only' '
	d=$(mktemp -d /srv/sagerun-t2007.XXXXXX) &&
	test_when_finished "rm -rf $d" &&
	chmod 755 "$d" && mkdir "$d/sub" &&
	unix_server "$d/machine.sock" &&
	test_when_finished "kill $server" &&
	(export -f as_user; export U USER_DIR SR_TEST_USER SAGERUN;
	 unshare -m --propagation private bash "$TRASH/submount.sh" "$d") &&
	test_grep "^algo-1 | reach the socket: refused (ECONNREFUSED)$" stdout-root &&
	for who in root user; do
		test_grep "^algo-1 | mount holds held$" stdout-$who &&
		test_grep "^algo-1 | write the mount: refused (EROFS)$" stdout-$who || exit 1
	done
'

# The working folder (here under /tmp, which a host gets fresh) is seen through the host's
# layer, as the folders at / are: the host reads it and writes there, and this machine's
# folder is as it was.
test_expect_success 'a working folder under /tmp: what a host writes there stays in the host' '
	echo given >"$U/given" &&
	for who in root user; do
		run=""
		[ $who = user ] && run=as_user
		(cd "$U" && $run "$SAGERUN" train --backend ns --name cwd-$who --hosts 2 --output out \
			-- sh -c "cat given && echo \$SM_CURRENT_HOST >by-host && cat by-host") \
			>stdout 2>stderr || exit 1
		test "$(grep -c "^algo-[12] | given\$" stdout)" = 2 &&
		test_grep "^algo-2 | algo-2\$" stdout &&
		test ! -e "$U/by-host" || exit 1
	done
'

# Docker's masked folders (moby: oci/defaults.go): the host sees each that this machine has
# empty.  (A machine without sound cards or RAPL has no /proc/asound or powercap to check.)
test_expect_success "a host sees Docker's masked folders empty" '
	masked="/proc/acpi /proc/asound /proc/scsi /sys/devices/virtual/powercap /sys/firmware" &&
	sagerun train --backend ns --name masked --hosts 1 --output out \
		-- sh -c "for d in $masked; do test -d \$d && echo \$d: \$(ls -A \$d | wc -l); done; true" \
		>stdout 2>stderr &&
	for d in $masked; do
		[ -d "$d" ] || continue
		test_grep "^algo-1 | $d: 0\$" stdout || exit 1
	done
'

# A host's processes are in a session of their own: sagerun's terminal is not theirs, so they
# cannot type into it (TIOCSTI), as root or as a normal user.  script gives the job a terminal.
cp "$SR_SOURCE_DIR/tests/e2e/fixtures/tty_probe.py" "$U/tty_probe.py"
test_expect_success 'a host cannot type into the terminal sagerun runs in' '
	for who in root user; do
		run=""
		[ $who = user ] && run=as_user
		$run script -qec "$SAGERUN train --backend ns --name tty-$who --hosts 1 --output out -- /usr/bin/python3 $U/tty_probe.py sagerun-t2007-typed" \
			"$U/typescript-$who" </dev/null >/dev/null || exit 1
		test_grep "type into /dev/tty: refused (ENXIO)" "$U/typescript-$who" &&
		test_grep "type into stdio: refused (EPERM)" "$U/typescript-$who" &&
		test_grep "type into its own terminal: refused (EPERM)" "$U/typescript-$who" &&
		# (the header names the command, and so the text)
		! grep -v "^Script started" "$U/typescript-$who" | grep sagerun-t2007-typed || exit 1
	done
'

# A job folder in a folder the hosts see through their layer (a normal user's default is under
# /home; /var/tmp here): its /opt/ml and channels are bound from the machine's own folder, so
# what a host writes there reaches the job, and nothing else does.
test_expect_success 'a job folder under a layered folder: /opt/ml reaches it, the rest not' '
	v=$(mktemp -d /var/tmp/sagerun-t2007.XXXXXX) &&
	test_when_finished "rm -rf $v" &&
	chmod 755 "$v" && mkdir -p "$v/data" && echo rows >"$v/data/part-0" &&
	chown -R "$SR_TEST_USER:" "$v" &&
	for who in root user; do
		run=""
		[ $who = user ] && run=as_user
		(cd "$v" && $run env SAGERUN_HOME="$v/home-$who" "$SAGERUN" train --backend ns --name deep \
			--hosts 2 --channel train="$v/data" --output "$v/out-$who" \
			-- sh -c "cat /opt/ml/input/data/train/part-0 && echo m >/opt/ml/model/m-\$SM_CURRENT_HOST && { echo x >$v/written-by-host; true; }") \
			>stdout 2>stderr || exit 1
		test "$(grep -c "^algo-[12] | rows\$" stdout)" = 2 &&
		tar -tzf "$v/out-$who/deep/output/model.tar.gz" | sort >entries &&
		printf "%s\n" m-algo-1 m-algo-2 >expect &&
		test_cmp expect entries &&
		test ! -e "$v/written-by-host" || exit 1
	done
'

test_done
