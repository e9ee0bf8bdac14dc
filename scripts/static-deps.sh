#!/bin/bash
# The libraries a static sagerun needs that Debian ships no usable static archive of, built
# from Debian's own source packages into .deps/static/prefix (docs/static.md says why):
#   curl        HTTP and HTTPS only (OpenSSL, zlib): Debian's libcurl.a wants Kerberos, LDAP,
#               libssh2, libpsl, nghttp2, which have no static archives;
#   libarchive  tar and gzip only: Debian's pulls every writer in, and with them libxml2 and ICU;
# `make static` runs it (docs/static.md).
# The sources come through a private apt sources list (deb-src of the machine's own suites),
# so the machine's apt configuration is never touched.  Each build is skipped when its stamp
# (package, version, flags) is there.
#   scripts/static-deps.sh [PREFIX_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/.deps/static}
prefix=$dir/prefix
src=$dir/src
apt=$dir/apt
jobs=$(nproc)
mkdir -p "$prefix" "$src" "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial"

apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/parts"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")

need() { # package: the build tools apt-get source and configure need
	dpkg -s "$1" >/dev/null 2>&1 && return 0
	echo "static-deps: installing $1" >&2
	apt-get install -y --no-install-recommends "$1" >/dev/null
}
for p in dpkg-dev build-essential pkg-config libssl-dev zlib1g-dev libtool autoconf automake; do
	need "$p"
done

if ! [ -s "$apt/parts/src.sources" ]; then
	# The suites this machine installs from, as deb-src.
	sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
		>"$apt/parts/src.sources"
fi
if ! ls "$apt/lists/"*Sources* >/dev/null 2>&1; then
	apt-get "${apt_opts[@]}" update >/dev/null
fi

# build NAME CONFIGURE-FLAGS...: apt-get source NAME, configure, make, install into $prefix.
build() {
	local name=$1
	shift
	local ver stamp tree
	ver=$(apt-cache "${apt_opts[@]}" showsrc "$name" | sed -n 's/^Version: //p' | sort -V | tail -1)
	stamp=$dir/stamp-$name-$ver-$(printf '%s\n' "$@" | sha256sum | cut -c1-12)
	if [ -e "$stamp" ]; then
		echo "static-deps: $name $ver already built" >&2
		return 0
	fi
	echo "static-deps: building $name $ver" >&2
	rm -rf "${src:?}/$name"
	mkdir -p "$src/$name"
	(cd "$src/$name" && apt-get "${apt_opts[@]}" source "$name=$ver" >/dev/null 2>&1)
	tree=$(find "$src/$name" -mindepth 1 -maxdepth 1 -type d | head -1)
	# Debian's patches touch configure.ac: regenerate, or make would try to half-way.
	(cd "$tree" && autoreconf -fi >"$src/$name.autoreconf.log" 2>&1 &&
		./configure --prefix="$prefix" --disable-shared --enable-static \
		CFLAGS="-O2 -fPIC" "$@" >"$src/$name.configure.log" 2>&1 &&
		make -j "$jobs" >"$src/$name.make.log" 2>&1 &&
		make install >"$src/$name.install.log" 2>&1) || {
		echo "static-deps: $name failed; see $src/$name.*.log" >&2
		exit 1
	}
	touch "$stamp"
}

# (No libmnl: util/nlmsg.h builds netlink messages itself.)

build libarchive --disable-bsdtar --disable-bsdcpio --disable-bsdcat --without-xml2 \
	--without-expat --without-openssl --without-nettle --without-lzma --without-zstd \
	--without-lz4 --without-bz2lib --without-iconv --without-libb2 --without-cng \
	--disable-acl --disable-xattr --with-zlib

build curl --with-openssl --with-zlib --without-libpsl --without-nghttp2 --without-libssh2 \
	--without-libssh --without-gssapi --without-zstd --without-brotli --without-librtmp \
	--without-libidn2 --without-libgsasl --disable-ldap --disable-ldaps --disable-rtsp \
	--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smtp \
	--disable-gopher --disable-mqtt --disable-smb --disable-ftp --disable-file --disable-netrc \
	--disable-ntlm-wb --disable-manual --disable-ares --enable-threaded-resolver \
	--disable-versioned-symbols --disable-docs --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt
# Debian's flavour patch names the library after its TLS flavour; libcurl.pc says -lcurl.
[ -e "$prefix/lib/libcurl.a" ] || ln -sf libcurl-nss.a "$prefix/lib/libcurl.a"

echo "static-deps: ready in $prefix" >&2
