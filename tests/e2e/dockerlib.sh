# dockerlib.sh - a Docker engine for the tests, and an image built without any registry.
#
# start_engine uses the engine that answers (DOCKER_HOST, else /var/run/docker.sock); when
# none does, it starts a private dockerd (Debian's docker.io) in a network namespace of its
# own, whose state lives in the test's trash folder, and stop_engine stops it again.  make_image imports a folder holding
# busybox-static (and, unless told otherwise, the static sagerun as ENTRYPOINT ["sagerun",
# "container"]) as an image: `docker import`, no registry, no Python.

_dk_private=""

_dk_ping() {
	docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start_engine() {
	if [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ]; then
		export DOCKER_HOST=unix:///var/run/docker.sock
	fi
	if [ -n "${DOCKER_HOST:-}" ] && _dk_ping; then
		return 0
	fi
	command -v dockerd >/dev/null 2>&1 || {
		_skip_reason="no Docker engine and no dockerd (make deps installs docker.io)"
		return 1
	}
	# A short exec root: the engine's own Unix sockets live there (108-byte limit).
	_dk_private=$(mktemp -d /tmp/sr-dk.XXXXXX)
	mkdir -p "$TRASH/dockerd"
	export DOCKER_HOST="unix://$_dk_private/docker.sock"
	# In a network and a mount namespace of its own: its bridges (docker0, one per job
	# network), iptables rules and the containers' root mounts live and die there, and this
	# machine's network and mount table are never touched (other tests count them).  The API
	# socket is a file, reached from here all the same, and the folders it bind-mounts into
	# containers are this machine's.
	unshare --net --mount --propagation private --fork --kill-child=SIGTERM \
		dockerd --data-root "$TRASH/dockerd/root" --exec-root "$_dk_private/exec" \
		--pidfile "$_dk_private/dockerd.pid" -H "$DOCKER_HOST" \
		>"$TRASH/dockerd/log" 2>&1 &
	_dk_pid=$!
	for _i in $(seq 1 300); do
		_dk_ping && return 0
		kill -0 "$_dk_pid" 2>/dev/null || break
		sleep 0.1
	done
	say "dockerd did not start:"
	tail -n 20 "$TRASH/dockerd/log" >&2
	_skip_reason="dockerd did not start (see above)"
	return 1
}

stop_engine() {
	[ -n "$_dk_private" ] || return 0
	kill "$_dk_pid" 2>/dev/null
	for _i in $(seq 1 200); do
		kill -0 "$_dk_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$_dk_pid" 2>/dev/null
	wait "$_dk_pid" 2>/dev/null
	# Its containerd goes a moment later; then whatever it still had mounted there.
	for _i in $(seq 1 100); do
		pgrep -f "$_dk_private" >/dev/null || break
		sleep 0.1
	done
	pkill -9 -f "$_dk_private" 2>/dev/null
	awk -v d="$TRASH/dockerd" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
		while read -r _m; do umount -l "$_m" 2>/dev/null; done
	# containerd's shims end with their containers; none may outlive the test.
	rm -rf "$_dk_private" "$TRASH/dockerd"
	_dk_private=""
}

# busybox_root ROOT: ROOT made anew, with /tmp and busybox-static as /bin/busybox and each
# of its applets, for an image.
busybox_root() {
	rm -rf "$1" && mkdir -p "$1/bin" "$1/tmp" || return 1
	cp /bin/busybox "$1/bin/busybox" || return 1
	for _a in $(/bin/busybox --list); do
		[ "$_a" = busybox ] || ln -s busybox "$1/bin/$_a"
	done
}

# make_image TAG [--no-toolkit]
make_image() {
	_root="$TRASH/image-$1"
	_root=$(echo "$_root" | tr ':' '_')
	busybox_root "$_root" && mkdir -p "$_root/usr/bin" "$_root/etc" || return 1
	if [ "${2:-}" = --no-toolkit ]; then
		tar -C "$_root" -c . | docker import --change 'ENV PATH=/usr/bin:/bin' - "$1" >/dev/null
	else
		cp "$STATIC" "$_root/usr/bin/sagerun" || return 1
		import_root "$_root" "$1" /usr/bin:/bin
	fi
}

# What the engine holds of a job folder: its containers, networks and volumes, by label.
job_leftovers() {
	docker ps -a -q --filter "label=sagerun.dir=$1"
	docker network ls -q --filter "label=sagerun.dir=$1"
	docker volume ls -q --filter "label=sagerun.dir=$1"
}

# make_mpi_image TAG FILE...: an image with Open MPI from this machine (mpirun, orted, their
# plugins, help texts and every library they load), busybox, the static sagerun as
# ENTRYPOINT, and FILE... (MPI programs) with their libraries: Debian's own files, copied.
make_mpi_image() {
	_tag=$1
	shift
	_root="$TRASH/image-mpi"
	_mpi_root "$_root" "$@" || return 1
	import_root "$_root" "$_tag" /usr/bin:/bin
}

# import_root ROOT TAG PATH: the folder ROOT as image TAG, owned by root, with PATH and the
# static sagerun as ENTRYPOINT ["/usr/bin/sagerun", "container"].
import_root() {
	tar -C "$1" --owner=0 --group=0 -c . | docker import --change "ENV PATH=$3" \
		--change 'ENTRYPOINT ["/usr/bin/sagerun", "container"]' - "$2" >/dev/null
}

# _copy_with_libs ROOT FILE...: FILE... and every library they load, at the same paths.
_copy_with_libs() {
	_r=$1
	shift
	for _f in "$@"; do
		case $_f in */share/* | /etc/*) ;; *)
			if ldd "$_f" 2>/dev/null | grep "not found" >&2; then
				echo "_copy_with_libs: $_f needs a library this machine lacks" >&2
				return 1
			fi ;;
		esac
	done
	_libs=$(for _f in "$@"; do
		case $_f in */share/* | /etc/*) ;; *) ldd "$_f" 2>/dev/null ;; esac
	done | sed -n 's|.*=> \(/[^ ]*\) .*|\1|p; s|^[[:space:]]*\(/lib64/[^ ]*\) .*|\1|p' | sort -u)
	for _f in "$@" $_libs; do
		# merged /usr: /lib/x is /usr/lib/x
		_dst=$(echo "$_f" | sed 's|^/lib/|/usr/lib/|; s|^/lib64/|/usr/lib64/|')
		mkdir -p "$_r$(dirname "$_dst")" && cp -L "$_f" "$_r$_dst" || return 1
	done
}

_mpi_root() {
	_root=$1
	shift
	rm -rf "$_root" && mkdir -p "$_root/usr/bin" "$_root/usr/lib" "$_root/usr/lib64" \
		"$_root/tmp" "$_root/etc" "$_root/root" || return 1
	ln -s usr/bin "$_root/bin" && ln -s usr/lib "$_root/lib" && ln -s usr/lib64 "$_root/lib64"
	cp /bin/busybox "$_root/usr/bin/busybox" || return 1
	for _a in $(/bin/busybox --list); do
		[ "$_a" = busybox ] || ln -s busybox "$_root/usr/bin/$_a"
	done
	cp "$STATIC" "$_root/usr/bin/sagerun" || return 1
	_files=$(
		{
			echo /usr/bin/orterun /usr/bin/orted "$@"
			find /usr/lib/x86_64-linux-gnu/openmpi /usr/lib/x86_64-linux-gnu/pmix2 \
				/usr/share/openmpi /usr/share/pmix /etc/openmpi -type f 2>/dev/null
		} | tr ' ' '\n'
	)
	# shellcheck disable=SC2086
	_copy_with_libs "$_root" $_files || return 1
	ln -sf orterun "$_root/usr/bin/mpirun"
}

# make_ssh_image TAG DEB_DIR FILE...: make_mpi_image's image made as the training toolkit asks
# of an image for its ssh way (reference §2.9): sshd (from the openssh-server .deb in DEB_DIR,
# unpacked with dpkg -x: no maintainer script, nothing started here), ssh, one root key pair
# that every host shares, "StrictHostKeyChecking no", /run/sshd.  Open MPI's programs live in
# /opt/openmpi/bin, named only by the image's PATH, as in AWS's images (/opt/amazon/openmpi):
# an ssh session finds orted only through the PATH the toolkit's workers write to
# /etc/environment, which sshd's PAM (pam_env) reads.  Debian 12's OpenSSH (9.2) is one sshd
# binary; from 9.8 on (Debian 13) sshd also needs its sshd-session, and libwrap0 is gone.
SSH_IMAGE_PATH=/opt/openmpi/bin:/usr/sbin:/usr/bin:/bin
make_ssh_image() {
	_tag=$1
	_debs=$2
	shift 2
	_root="$TRASH/image-ssh"
	_mpi_root "$_root" "$@" || return 1
	mkdir -p "$_root/opt/openmpi/bin" && mv "$_root/usr/bin/orterun" "$_root/usr/bin/orted" \
		"$_root/opt/openmpi/bin/" && rm "$_root/usr/bin/mpirun" &&
		ln -s orterun "$_root/opt/openmpi/bin/mpirun" || return 1
	_x="$TRASH/image-ssh.debs"
	rm -rf "$_x" && mkdir -p "$_x" || return 1
	for _d in "$_debs"/openssh-server_*.deb "$_debs"/libwrap0_*.deb; do
		dpkg -x "$_d" "$_x" || return 1
	done
	mkdir -p "$_root/usr/sbin" "$_root/usr/lib/x86_64-linux-gnu/security" "$_root/etc/ssh" \
		"$_root/etc/pam.d" "$_root/etc/security" "$_root/run/sshd" "$_root/root/.ssh" || return 1
	cp "$_x/usr/sbin/sshd" "$_root/usr/sbin/sshd" &&
		cp -L "$_x"/usr/lib/x86_64-linux-gnu/libwrap.so.0 "$_root/usr/lib/x86_64-linux-gnu/" &&
		LD_LIBRARY_PATH="$_x/usr/lib/x86_64-linux-gnu" _copy_with_libs "$_root" \
			"$_x/usr/sbin/sshd" /usr/bin/ssh /usr/bin/ssh-keygen || return 1
	rm -rf "$_root$_x"
	for _m in pam_env.so pam_permit.so pam_deny.so; do
		cp /usr/lib/x86_64-linux-gnu/security/$_m "$_root/usr/lib/x86_64-linux-gnu/security/" ||
			return 1
	done
	cp /etc/security/pam_env.conf "$_root/etc/security/" || return 1
	# Public keys only: sshd's PAM session reads /etc/environment, nothing else.
	printf '%s\n' 'auth required pam_deny.so' 'account required pam_permit.so' \
		'password required pam_deny.so' 'session required pam_env.so readenv=1' \
		>"$_root/etc/pam.d/sshd"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'sshd:x:100:65534::/run/sshd:/bin/false' \
		>"$_root/etc/passwd"
	printf '%s\n' 'root:*:19000:0:99999:7:::' 'sshd:*:19000:0:99999:7:::' >"$_root/etc/shadow"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$_root/etc/group"
	printf '%s\n' 'UsePAM yes' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' \
		'KbdInteractiveAuthentication no' 'PidFile /run/sshd.pid' \
		'HostKey /etc/ssh/ssh_host_ed25519_key' >"$_root/etc/ssh/sshd_config"
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$_root/etc/ssh/ssh_host_ed25519_key" &&
		ssh-keygen -q -t ed25519 -N '' -C '' -f "$_root/root/.ssh/id_ed25519" || return 1
	cp "$_root/root/.ssh/id_ed25519.pub" "$_root/root/.ssh/authorized_keys" &&
		printf 'Host *\n  StrictHostKeyChecking no\n' >"$_root/root/.ssh/config" || return 1
	chmod 700 "$_root/root" "$_root/root/.ssh" && chmod 600 "$_root/etc/shadow" &&
		chmod 755 "$_root/run/sshd" || return 1
	import_root "$_root" "$_tag" "$SSH_IMAGE_PATH"
}
