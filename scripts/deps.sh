#!/bin/sh
# Install every Debian package the build and the tests need.  Idempotent: with --if-missing it
# does nothing when all are already installed (make demo), otherwise it always makes sure.
set -eu

PACKAGES="build-essential cmake pkg-config git ca-certificates clang-format
libjansson-dev libarchive-dev libcurl4-openssl-dev libsqlite3-dev libexpat1-dev libmnl-dev
libcmocka-dev python3 procps iproute2
python3-torch openmpi-bin libopenmpi-dev"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	[ "${1:-}" = "--if-missing" ] && exit 0
	echo "deps: all packages installed"
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
