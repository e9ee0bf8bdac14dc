#!/bin/sh
# Install the Debian packages sagerun needs.  Idempotent: packages already installed are left
# alone, and nothing is fetched when none is missing.
#   scripts/deps.sh          everything the build and the tests need (make deps, CI)
#   scripts/deps.sh --demo   only what building and the demo job need (make demo)
set -eu

BUILD="build-essential cmake pkg-config git ca-certificates
libjansson-dev libarchive-dev libcurl4-openssl-dev libsqlite3-dev libexpat1-dev
libcmocka-dev python3"
# Real peers of the tests: procps (pgrep), iproute2 (ip), torch with gloo, Open MPI and mpi4py
# (users' MPI programs in Python), awscli (an
# independent S3 client), busybox-static and file (the static binary's test, t6005), the
# tools that build its libraries (scripts/static-deps.sh), the Docker engine and
# docker-compose (t7001: the docker backend and compose files), python3-botocore (the
# stand-in SageMaker endpoint of t8001/t8002 validates requests against its service model and
# checks signatures with its signer); s3rver
# (the S3-compatible server) comes from npm, below; openssh-client and the .deb files of
# openssh-server (downloaded, never installed: installing it would start an sshd on this
# machine) make the test image of `--mpi-launcher ssh` (t7002); clang and libFuzzer
# (libclang-rt-14-dev, only recommended by clang) build the harnesses of make fuzz; uidmap
# (newuidmap, newgidmap) maps a normal user's /etc/subuid range into rootless hosts (t2006);
# the graph example (examples/graph, t9001) partitions with ParMETIS's API from PT-Scotch
# (libscotchparmetis-dev; ParMETIS itself is not in Debian) and is checked against serial
# METIS's gpmetis (metis).
TEST="clang-format procps iproute2 python3-torch openmpi-bin libopenmpi-dev python3-mpi4py awscli
busybox-static file dpkg-dev libssl-dev zlib1g-dev libtool autoconf automake
docker.io docker-compose openssh-client clang libclang-rt-14-dev python3-botocore uidmap
libscotchparmetis-dev metis"
# The S3 tests' server, pinned, installed into the checkout (.deps/, ignored by git).
S3RVER_VERSION=3.7.1
NPM_DIR="$(cd "$(dirname "$0")/.." && pwd)/.deps/npm"

PACKAGES="$BUILD"
[ "${1:-}" = "--demo" ] || PACKAGES="$BUILD $TEST"
# Node.js for s3rver: the machine's own when it has one, else Debian's.
if [ "${1:-}" != "--demo" ] && ! command -v npm >/dev/null 2>&1; then
	PACKAGES="$PACKAGES nodejs npm"
fi

# openssh-server and the one library of its sshd that this machine lacks, as .deb files in
# .deps/deb for t7002's image (dpkg -x; no maintainer script runs).  Debian 12's names: its
# sshd links libwrap0 (tests/e2e/dockerlib.sh, make_ssh_image).
SSHD_DEBS="openssh-server libwrap0"
DEB_DIR="$(cd "$(dirname "$0")/.." && pwd)/.deps/deb"

deb_deps() {
	[ "${1:-}" = "--demo" ] && return 0
	_have=yes
	for _p in $SSHD_DEBS; do
		ls "$DEB_DIR/${_p}_"*.deb >/dev/null 2>&1 || _have=no
	done
	[ "$_have" = no ] || return 0
	echo "deps: downloading $SSHD_DEBS (.deb, not installed) into $DEB_DIR"
	mkdir -p "$DEB_DIR"
	# apt-get download as root warns that _apt cannot write here; the download works.
	# shellcheck disable=SC2086
	(cd "$DEB_DIR" && apt-get download -qq $SSHD_DEBS 2>/dev/null) || {
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		# shellcheck disable=SC2086
		(cd "$DEB_DIR" && apt-get download -qq $SSHD_DEBS)
	}
}

npm_deps() {
	[ "${1:-}" = "--demo" ] && return 0
	if [ -x "$NPM_DIR/node_modules/.bin/s3rver" ] &&
		grep -q "\"version\": \"$S3RVER_VERSION\"" "$NPM_DIR/node_modules/s3rver/package.json"; then
		return 0
	fi
	echo "deps: installing s3rver@$S3RVER_VERSION (npm) into $NPM_DIR"
	mkdir -p "$NPM_DIR"
	npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION"
}

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ -z "$missing" ]; then
	echo "deps: all packages installed"
	npm_deps "${1:-}"
	deb_deps "${1:-}"
	exit 0
fi

echo "deps: installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
npm_deps "${1:-}"
deb_deps "${1:-}"
