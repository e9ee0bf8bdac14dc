#!/bin/bash
# model.tar.gz and output.tar.gz: every host merged, symlinks kept as symlinks.
. "$(dirname "$0")/lib.sh"

cat >host.sh <<'SH'
cd "$SM_MODEL_DIR" || exit 1
case $SM_CURRENT_HOST in
algo-1)
	echo weights >weights.bin
	ln -s weights.bin latest
	ln -s /etc/passwd outside ;;
algo-2)
	mkdir -p sub/deeper && echo two >sub/deeper/two.txt ;;
esac
SH

test_expect_success 'a 2-host job leaves one merged model.tar.gz' '
	sagerun train --name art --hosts 2 --output out -- /bin/sh "$PWD/host.sh" >stdout 2>stderr &&
	tar -tzf out/art/output/model.tar.gz | sed "s,/$,," | sort >entries &&
	printf "%s\n" latest outside sub sub/deeper sub/deeper/two.txt weights.bin >expect &&
	test_cmp expect entries
'

test_expect_success 'symlinks are stored as symlinks, never followed' '
	mkdir x && tar -xzf out/art/output/model.tar.gz -C x &&
	test -L x/latest && test "$(readlink x/latest)" = weights.bin &&
	test -L x/outside && test "$(readlink x/outside)" = /etc/passwd &&
	test "$(cat x/sub/deeper/two.txt)" = two
'

test_expect_success 'an empty output/data gives a valid empty tarball' '
	tar -tzf out/art/output/output.tar.gz >entries &&
	test ! -s entries
'

test_expect_success 'no temp files are left next to the artifacts' '
	ls -A out/art/output | sort >files &&
	printf "%s\n" model.tar.gz output.tar.gz >expect &&
	test_cmp expect files
'

test_done
