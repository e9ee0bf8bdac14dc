#!/bin/bash
# sagerun's S3 client against a real S3-compatible server (s3rver from npm, started here on
# 127.0.0.1) with awscli as the independent client: what one writes the other reads back
# byte-exact, for empty, 1-byte, multipart-sized and many small objects; sync and the progress
# line; then faults: the server killed mid-download and mid-upload, wrong credentials, a
# missing bucket.  Jobs with S3 are in t5002.  (Keys with ".." cannot be
# stored in s3rver, which resolves them as paths: tests/unit/test_s3path.c covers them.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

mkdir -p up && : >up/empty && printf x >up/one && head -c 21000000 /dev/urandom >up/big &&
	mkdir -p up/many && for i in $(seq 1 200); do head -c 1024 /dev/urandom >up/many/f$i; done

test_expect_success 'sagerun uploads, awscli reads back byte-exact' '
	for f in empty one big; do sagerun s3 cp up/$f s3://bkt/a/$f || exit 1; done &&
	sagerun s3 cp --recursive up/many s3://bkt/a/many &&
	mkdir -p viaaws &&
	for f in empty one big; do awss3 cp s3://bkt/a/$f viaaws/$f >/dev/null || exit 1; done &&
	awss3 cp --recursive s3://bkt/a/many viaaws/many >/dev/null &&
	for f in empty one big; do cmp up/$f viaaws/$f || exit 1; done &&
	diff -r up/many viaaws/many
'

test_expect_success 'awscli uploads, sagerun reads back byte-exact and lists the same' '
	for f in empty one big; do awss3 cp up/$f s3://bkt/b/$f >/dev/null || exit 1; done &&
	awss3 cp --recursive up/many s3://bkt/b/many >/dev/null &&
	mkdir -p viasr &&
	for f in empty one big; do sagerun s3 cp s3://bkt/b/$f viasr/$f || exit 1; done &&
	sagerun s3 cp --recursive s3://bkt/b/many viasr/many &&
	for f in empty one big; do cmp up/$f viasr/$f || exit 1; done &&
	diff -r up/many viasr/many &&
	sagerun s3 ls s3://bkt/b/ >ls.sr &&
	test $(wc -l <ls.sr) -eq 203 &&
	test_grep "^    21000000  b/big$" ls.sr &&
	test_grep "^           0  b/empty$" ls.sr &&
	awss3 ls --recursive s3://bkt/b/ | wc -l >n.aws && test $(cat n.aws) -eq 203
'

test_expect_success 'listing pages through more than 1000 objects' '
	mkdir -p lots && for i in $(seq 1 1100); do : >lots/k$i; done &&
	sagerun s3 cp --recursive lots s3://bkt/lots &&
	sagerun s3 ls s3://bkt/lots/ | wc -l >n && test $(cat n) -eq 1100
'

test_expect_success 'rm deletes an object' '
	sagerun s3 rm s3://bkt/a/one &&
	! sagerun s3 ls s3://bkt/a/ | grep " a/one$"
'

test_expect_success 'wrong credentials: the error names the key source, and no secret' '
	test_expect_code 1 env AWS_ACCESS_KEY_ID=NOPE AWS_SECRET_ACCESS_KEY=s3cr3t-wrong \
		"$SAGERUN" s3 ls s3://bkt/a/ 2>err &&
	test_grep "InvalidAccessKeyId" err &&
	test_grep "environment (AWS_ACCESS_KEY_ID)" err &&
	! grep s3cr3t-wrong err
'

test_expect_success 'a bucket that does not exist is named' '
	test_expect_code 1 sagerun s3 ls s3://nobucket/x 2>err &&
	test_grep "NoSuchBucket" err && test_grep "nobucket" err
'

test_expect_success 'cp - uploads standard input and downloads to standard output' '
	head -c 300000 /dev/urandom >piped &&
	sagerun s3 cp - s3://bkt/p/piped <piped &&
	awss3 cp s3://bkt/p/piped viaaws-piped >/dev/null && cmp piped viaaws-piped &&
	sagerun s3 cp s3://bkt/p/piped - >back && cmp piped back &&
	: | sagerun s3 cp - s3://bkt/p/empty && sagerun s3 cp s3://bkt/p/empty - >back0 &&
	test ! -s back0 &&
	test_expect_code 1 sagerun s3 cp - s3://bkt/p/ </dev/null 2>err &&
	test_grep "is a prefix; name the object" err &&
	test_expect_code 2 sagerun s3 cp --recursive - s3://bkt/p/x </dev/null 2>err &&
	test_grep "not .-." err &&
	! ls "${TMPDIR:-/tmp}" | grep -q "^sagerun-s3\."
'

test_expect_success 'the server killed mid-download: a clear error, no partial file' '
	head -c 83886080 /dev/urandom >huge && sagerun s3 cp huge s3://bkt/c/huge &&
	mkdir -p dl || exit 1
	( "$SAGERUN" s3 cp s3://bkt/c/huge dl/huge 2>dl.err; echo $? >dl.rc ) &
	sleep 0.1; stop_server; wait;
	say "download exit status $(cat dl.rc)"
	if [ "$(cat dl.rc)" = 0 ]; then
		cmp huge dl/huge # it finished first: then it must be whole
	else
		test_grep "s3://bkt/c/huge" dl.err && ! ls dl | grep .
	fi &&
	start_server &&
	sagerun s3 cp s3://bkt/c/huge dl/huge && cmp huge dl/huge
'

test_expect_success 'the server killed mid-upload: recovered, or a clear error and no object' '
	( "$SAGERUN" s3 cp huge s3://bkt/c/up-huge 2>up.err; echo $? >up.rc ) &
	up=$!
	# Waiting for that one only: the restarted server is a child of this shell too.
	sleep 0.2; stop_server; sleep 0.3; start_server; wait $up;
	say "upload exit status $(cat up.rc)"
	if [ "$(cat up.rc)" = 0 ]; then
		awss3 cp s3://bkt/c/up-huge up-back >/dev/null && cmp huge up-back
	else
		test_grep "s3://bkt/c/up-huge" up.err &&
		! sagerun s3 ls s3://bkt/c/ | grep -q "c/up-huge$"
	fi
'

test_expect_success 'sync copies what differs, once; --delete removes what the source lacks' '
	mkdir -p syn/d && for i in 1 2 3; do echo $i >syn/d/f$i; done && echo top >syn/top &&
	# Older than their upload: a file written in the second of its upload (LastModified has
	# whole seconds) counts as newer, and goes again, as with aws.
	touch -d "10 seconds ago" syn/top syn/d/* &&
	sagerun s3 sync syn s3://bkt/syn 2>err && test_grep "4 of 4 files copied" err &&
	sagerun s3 sync syn s3://bkt/syn 2>err && test_grep "0 of 4 files copied" err &&
	echo four >syn/d/f4 && echo "top, longer" >syn/top &&
	sagerun s3 sync syn s3://bkt/syn 2>err && test_grep "2 of 5 files copied" err &&
	awss3 cp s3://bkt/syn/top got-top >/dev/null && test_cmp syn/top got-top &&
	sagerun s3 sync s3://bkt/syn syn-back 2>err && test_grep "5 of 5 files copied" err &&
	diff -r syn syn-back &&
	sagerun s3 sync s3://bkt/syn syn-back 2>err && test_grep "0 of 5 files copied" err &&
	echo extra >syn-back/extra &&
	sagerun s3 sync --delete s3://bkt/syn syn-back 2>err && test_grep "1 removed" err &&
	diff -r syn syn-back &&
	rm syn/d/f1 && sagerun s3 sync --delete syn s3://bkt/syn 2>err &&
	test_grep "1 removed from s3://bkt/syn" err &&
	! sagerun s3 ls s3://bkt/syn/ | grep -q "d/f1$" &&
	awss3 sync s3://bkt/syn syn-aws >/dev/null && diff -r syn syn-aws
'

test_expect_success 'a progress line on a terminal, none otherwise' '
	script -qec "$SAGERUN s3 cp huge s3://bkt/c/prog" /dev/null >tty.out &&
	test_grep "80.0 MiB / 80.0 MiB  100 %" tty.out && test_grep "MiB/s" tty.out &&
	sagerun s3 cp s3://bkt/c/prog prog-back 2>quiet.err && cmp huge prog-back &&
	test ! -s quiet.err
'

test_expect_success 'HTTPS: a CA the system does not know is refused with a hint, AWS_CA_BUNDLE trusts it' '
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" \
		-keyout ca.key -out ca.pem 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout tls.key -out tls.csr 2>/dev/null &&
	printf "subjectAltName=IP:127.0.0.1\n" >san.ext &&
	openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile san.ext -out tls.pem 2>/dev/null || exit 1
	tport=$(free_port)
	NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" -d "$TRASH/s3tls" -a 127.0.0.1 -p "$tport" \
		--key tls.key --cert tls.pem --configure-bucket bkt >s3tls.log 2>&1 &
	tls=$!
	for _ in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection((\"127.0.0.1\", $tport), 0.1)" 2>/dev/null && break
		sleep 0.05
	done
	test_expect_code 1 env AWS_ENDPOINT_URL=https://127.0.0.1:$tport "$SAGERUN" s3 ls s3://bkt/ 2>tls.err &&
	test_grep "CA bundle: " tls.err && test_grep "hint: give the endpoint.s CA certificate with AWS_CA_BUNDLE" tls.err &&
	AWS_CA_BUNDLE=$PWD/ca.pem AWS_ENDPOINT_URL=https://127.0.0.1:$tport sagerun s3 cp up/one s3://bkt/tls/one &&
	AWS_CA_BUNDLE=$PWD/ca.pem AWS_ENDPOINT_URL=https://127.0.0.1:$tport sagerun s3 ls s3://bkt/tls/ >tls.ls
	rc=$?
	kill $tls; wait $tls 2>/dev/null
	[ $rc = 0 ] && test_grep "^           1  tls/one$" tls.ls
'

stop_server # before test_done removes the trash folder that names it
test_done
