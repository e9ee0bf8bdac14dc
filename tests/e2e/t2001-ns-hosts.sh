#!/bin/bash
# The ns backend: every host looks like a SageMaker instance (hostname, /etc/hosts, its own
# /opt/ml, /tmp, process tree and network), and nothing is left behind.
. "$(dirname "$0")/lib.sh"
test_require ROOT NS PYTHON

mkdir -p data && echo rows >data/part-0

test_expect_success 'each host has its own hostname' '
	sagerun train --backend ns --name names --hosts 3 --output out \
		-- sh -c "echo \$(hostname) \$(cat /etc/hostname) \$SM_CURRENT_HOST" >stdout 2>stderr &&
	for h in 1 2 3; do test_grep "^algo-$h | algo-$h algo-$h algo-$h\$" stdout || exit 1; done
'

test_expect_success 'every host name resolves through the host own /etc/hosts' '
	sagerun train --backend ns --name resolve --hosts 3 --output out \
		-- python3 -c "import socket; print(\" \".join(socket.gethostbyname(\"algo-%d\" % i) for i in (1, 2, 3)))" \
		>stdout 2>stderr &&
	test_grep "^algo-2 | 10.0.0.1 10.0.0.2 10.0.0.3\$" stdout
'

test_expect_success 'the demo barrier runs between hosts on algo-1:12000' '
	sagerun train --backend ns --name barrier --hosts 3 --source-dir "$SR_SOURCE_DIR/examples/barrier" \
		--entry-point train.py --hp port=12000 --output out >stdout 2>stderr &&
	test_grep "^algo-1 | algo-1: one of 3 hosts, leader algo-1 at algo-1:12000" stdout &&
	test_grep "^algo-1 | leader: barrier passed by 3 hosts" stdout &&
	test_grep "barrier: Completed" stderr
'

cat >iso.sh <<'SH'
set -e
me=$SM_CURRENT_HOST
echo "$me" >/tmp/mine-$me
echo "$me" >/opt/ml/model/mine-$me
sleep 1
# /tmp and /opt/ml/model hold only this host's files
test "$(ls /tmp | grep mine)" = "mine-$me"
test "$(ls /opt/ml/model)" = "mine-$me"
# only this host's processes: init, sh, the $(...) subshell, ls and grep
n=$(ls /proc | grep -c '^[0-9][0-9]*$')
test "$n" -le 6 || { echo "sees $n processes"; exit 1; }
# channels are readable, and writable as the host's own (an overlay): no other host sees
# this host's writes
test "$(cat /opt/ml/input/data/train/part-0)" = rows
echo "$me" >/opt/ml/input/data/train/new-$me
echo changed >>/opt/ml/input/data/train/part-0
sleep 1
test "$(ls /opt/ml/input/data/train | tr '\n' ' ')" = "new-$me part-0 "
echo "$me isolated"
SH

test_expect_success 'hosts cannot see each other processes, /tmp or /opt/ml' '
	sagerun train --backend ns --name iso --hosts 3 --channel train=data --output out \
		-- sh "$PWD/iso.sh" >stdout 2>stderr &&
	for h in 1 2 3; do test_grep "^algo-$h | algo-$h isolated" stdout || exit 1; done &&
	! ls /tmp/mine-algo-* 2>/dev/null &&
	test "$(ls data)" = part-0 && test "$(cat data/part-0)" = rows &&
	tar -tzf out/iso/output/model.tar.gz | sort >entries &&
	printf "%s\n" mine-algo-1 mine-algo-2 mine-algo-3 >expect &&
	test_cmp expect entries
'

# overlayfs splits its options at , and : (and \ escapes): folders so named are escaped.
mkdir -p 'runs/10:00,a\b' && echo rows >'runs/10:00,a\b/part-0'
test_expect_success 'a channel and an input in folders named with , : and \' '
	sagerun train --backend ns --name sep --hosts 2 --channel "train=runs/10:00,a\\b" \
		-- sh -c "echo more >>/opt/ml/input/data/train/part-0; cat /opt/ml/input/data/train/part-0" \
		>stdout 2>stderr &&
	test_grep "^algo-2 | more$" stdout &&
	sagerun process --backend ns --name psep --input "raw=runs/10:00,a\\b" \
		-- cat /opt/ml/processing/input/raw/part-0 >stdout 2>stderr &&
	test_grep "^algo-1 | rows$" stdout &&
	# --privileged: no layer, so the overlay names the folder itself (escaped)
	sagerun train --backend ns --privileged --name psep2 --channel "train=runs/10:00,a\\b" \
		-- sh -c "echo more >>/opt/ml/input/data/train/part-0; cat /opt/ml/input/data/train/part-0" \
		>stdout 2>stderr &&
	test_grep "^algo-1 | more$" stdout &&
	test "$(cat "runs/10:00,a\\b/part-0")" = rows
'

test_expect_success 'hosts reach each other and nothing on this machine' '
	python3 -u -m http.server --bind 127.0.0.1 0 >server.out 2>&1 &
	server=$!
	test_when_finished "kill $server" &&
	for _ in $(seq 1 400); do grep -o "port [0-9]*" server.out >port && break; sleep 0.05; done &&
	port=$(sed "s/port //" port) &&
	sagerun train --backend ns --name closed --hosts 1 --output out \
		-- python3 -c "import socket,sys; s=socket.socket(); s.settimeout(2); sys.exit(0 if s.connect_ex((\"127.0.0.1\", $port)) else 1)" \
		>stdout 2>stderr
'

test_expect_success 'nothing is left behind: links, mounts, processes' '
	ip -o link | wc -l >links.before &&
	wc -l </proc/self/mountinfo >mounts.before &&
	sagerun train --backend ns --name clean --hosts 4 --output out -- sleep 0.3 >stdout 2>stderr &&
	ip -o link | wc -l >links.after &&
	wc -l </proc/self/mountinfo >mounts.after &&
	test_cmp links.before links.after &&
	test_cmp mounts.before mounts.after
'

test_expect_success 'nothing is left behind by failed and stopped jobs either' '
	test_expect_code 1 sagerun train --backend ns --name failed --hosts 3 --stop-grace 2 --output out \
		-- sh -c "[ \$SM_CURRENT_HOST = algo-2 ] && exit 4; sleep 321" >stdout 2>stderr &&
	test_expect_code 130 sagerun train --backend ns --name stopped --hosts 3 --max-run 1 \
		--stop-grace 1 --output out -- sleep 321 >stdout 2>stderr &&
	ip -o link | wc -l >links.after &&
	wc -l </proc/self/mountinfo >mounts.after &&
	test_cmp links.before links.after &&
	test_cmp mounts.before mounts.after &&
	! pgrep -f "sleep 321" >/dev/null
'

test_expect_success 'a SIGKILLed sagerun takes its hosts with it' '
	: >stderr || exit 1
	"$SAGERUN" train --backend ns --name killed --hosts 3 --output out -- sleep 319 >stdout 2>stderr &
	pid=$!
	# Training: each host runs sleep by now (an ns host reports after its exec)
	test_wait_lines 1 "killed: Training" tail -n +1 -f stderr --pid=$pid &&
	pgrep -f "sleep 319" >/dev/null &&
	kill -9 $pid && wait $pid;
	for _ in $(seq 1 400); do pgrep -f "sleep 319" >/dev/null || break; sleep 0.05; done &&
	! pgrep -f "sleep 319" >/dev/null
'

test_expect_success '--network host: hosts share this machine network with loopback addresses' '
	sagerun train --backend ns --network host --name shared --hosts 3 --source-dir "$SR_SOURCE_DIR/examples/barrier" \
		--entry-point train.py --hp port=$(free_port) --output out >stdout 2>stderr &&
	test_grep "^algo-1 | leader: barrier passed by 3 hosts" stdout &&
	test_grep "^127\.1[0-9][0-9]\.0\.2	algo-2$" "$SAGERUN_HOME/jobs/shared/hosts/algo-1/etc/hosts"
'

test_expect_success '256 hosts (a /23 network) start under a soft limit of 1024 open files' '
	(ulimit -Sn 1024 && sagerun train --backend ns --name many --hosts 256 --output out \
		-- sh -c "test \$(hostname) = algo-256 || exit 0; cat /etc/hosts" >stdout 2>stderr) &&
	test_grep "^algo-256 | 10.0.1.0	algo-256" stdout &&
	test_grep "Completed" stderr
'

test_expect_success 'a hard limit too low for the job: a warning, then what ran out says so' '
	test_expect_code 1 sh -c "ulimit -n 512 && exec \"\$0\" train --backend ns --name few-files \
		--hosts 256 --output out -- true" "$SAGERUN" 2>err &&
	test_grep "warning: 256 hosts: 2624 open files may be needed, and at most 512 may be open" err &&
	test_grep "ulimit -Hn" err &&
	test_grep "FailureReason: InternalServerError: .*Too many open files" err
'

test_expect_success 'a subnet too small for the job is refused' '
	test_must_fail sagerun train --backend ns --subnet 10.9.0.0/30 --name small --hosts 3 \
		--output out -- true 2>err &&
	test_grep "10.9.0.0/30" err
'

test_done
