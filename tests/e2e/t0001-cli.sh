#!/bin/bash
# The command table: every command answers -h, usage errors exit 2 with one clear line.
. "$(dirname "$0")/lib.sh"

test_expect_success 'every command answers -h' '
	sagerun --list-commands >commands &&
	test -s commands &&
	while read -r c; do
		sagerun "$c" -h >help.out || { echo "$c -h failed"; exit 1; }
		test -s help.out || { echo "$c -h printed nothing"; exit 1; }
	done <commands
'

test_expect_success 'an unknown command is a usage error' '
	test_expect_code 2 sagerun frobnicate 2>err &&
	test_grep "not a sagerun command" err
'

test_expect_success 'train without anything to run says what to give' '
	test_expect_code 2 sagerun train 2>err &&
	test_grep "nothing to run" err
'

test_expect_success 'a bad --hosts value names the flag' '
	test_expect_code 2 sagerun train --hosts three -- true 2>err &&
	test_grep -- "--hosts" err
'

test_expect_success 'a stray argument must come after --' '
	test_expect_code 2 sagerun train --hosts 1 true 2>err &&
	test_grep "after .--" err
'

test_expect_success 'an unknown backend is refused' '
	test_expect_code 2 sagerun train --backend warp -- true 2>err &&
	test_grep "unknown backend" err
'

test_expect_success 'version prints a version' '
	sagerun version >out &&
	test_grep "^sagerun [0-9]" out
'

test_done
