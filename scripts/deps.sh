#!/bin/sh
# Install the Debian packages sagerun needs.  Idempotent: packages already installed are left
# alone, and nothing is fetched when none is missing.
#   scripts/deps.sh          everything the build and the tests need (make deps, CI)
#   scripts/deps.sh --demo   only what building and the demo job need (make demo)
set -eu

BUILD="build-essential cmake pkg-config git ca-certificates
libjansson-dev libarchive-dev libcurl4-openssl-dev libsqlite3-dev libexpat1-dev libmnl-dev
libcmocka-dev python3"
# Real peers of the tests: procps (pgrep), iproute2 (ip), torch with gloo, Open MPI.
TEST="clang-format procps iproute2 python3-torch openmpi-bin libopenmpi-dev"

PACKAGES="$BUILD"
[ "${1:-}" = "--demo" ] || PACKAGES="$BUILD $TEST"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages installed"
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
