#!/bin/bash
# Processing outputs to a real S3 server (s3rver, started here), EndOfJob and Continuous.
# Until `sagerun process` exists, the unit test program drives data/proc_outputs and
# data/output_watch (`test_proc_outputs --s3`: its S3 tests, reading back with sagerun's own
# client); awscli then reads what they wrote, as an independent client.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

# CMake builds the unit test programs beside sagerun.
TEST_PROC_OUTPUTS=${TEST_PROC_OUTPUTS:-$(dirname "$SAGERUN")/test_proc_outputs}
if [ -z "${_skip_reason:-}" ] && ! [ -x "$TEST_PROC_OUTPUTS" ]; then
	_skip_reason="no test_proc_outputs beside $SAGERUN (build the unit tests)"
	say "skipping $test_name: $_skip_reason"
fi

test_expect_success 'EndOfJob and Continuous outputs reach S3 (the unit program)' '
	SR_TEST_S3_URI=s3://bkt/po "$TEST_PROC_OUTPUTS" --s3 >unit.out 2>&1 &&
	test_grep "PASSED.*3 test(s)" unit.out &&
	! grep SKIPPED unit.out
'

test_expect_success 'awscli reads back merged hosts, the last host'"'"'s copy of a name' '
	awss3 ls --recursive s3://bkt/po/ >ls.out &&
	awk "{print \$4}" ls.out | sort >keys &&
	cat >expect <<-\EOF &&
	po/cont/closed.csv
	po/cont/sub/open.csv
	po/cont/sub/x
	po/eoj/a.csv
	po/eoj/part.csv
	po/eoj/sub/deep/b.csv
	po/eoj2/a.csv
	po/eoj2/part.csv
	po/eoj2/sub/deep/b.csv
	EOF
	test_cmp expect keys &&
	awss3 cp s3://bkt/po/eoj/part.csv part.csv >/dev/null &&
	printf "from algo-2" >expect.part && test_cmp expect.part part.csv &&
	awss3 cp s3://bkt/po/cont/sub/open.csv open.csv >/dev/null &&
	printf unclosed >expect.open && test_cmp expect.open open.csv
'

test_done
