#!/bin/sh
# Every header compiles on its own (STYLE.md §7): it includes or forward-declares what it uses.
set -u
src=${1:?usage: check-headers.sh SRC_DIR [CC]}
cc=${2:-cc}
flags=$(pkg-config --cflags jansson libarchive 2>/dev/null)
fail=0
n=0
for h in $(cd "$src" && find src -name '*.h' | sort); do
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! echo "#include \"$h\"" | $cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-I"$src/src" -I"$src" $flags -fsyntax-only -x c - 2>err.$$; then
		echo "not self-contained: $h"
		sed 's/^/    /' err.$$
		fail=$((fail + 1))
	fi
done
rm -f err.$$
echo "$((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
