/* ns_init.c - PID 1 of an ns host: sagerun's small init.
 *
 * The child of the clone waits for the parent's "go" (sent once every host of the job is
 * cloned), joins the network namespace the parent made for it, sets the host up (hostname,
 * mounts, lo and its interface: ns_net.c), starts the user's process and then stays as the
 * host's init: it reaps every process of the namespace (orphans are re-parented to it),
 * forwards the signals the parent sends it to the user's process group, starts the rsh agent when a
 * first client connects to the port it listens on, and ends the host when the user's first process
 * exits, as a container ends with its PID 1.  A PID namespace dies with its init, so killing init
 * (SIGKILL, or PDEATHSIG when sagerun dies) ends every process of the host.
 *
 * Between clone and the end, only async-signal-safe calls: sagerun may have had other threads
 * whose locks were copied mid-operation, so no malloc, no stdio, and the processes it starts
 * are raw clones.
 * (bubblewrap: monitor_child; crun: the sync socket; libuv: the exec-error pipe.)
 */
#include "hosts/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hosts/spawn.h"

/* Docker's default capabilities (moby: oci/caps/defaults.go), all a contained host's
 * processes may ever have; CAP_MKNOD only in a user namespace, where the kernel lets it make
 * no device node anyway.  Docker keeps it for root because its device cgroup refuses to open
 * what a container makes; a host has no such cgroup, so a block node of this machine's disk
 * would open onto the disk. */
static const int docker_caps[] = {
    CAP_CHOWN,	    CAP_DAC_OVERRIDE, CAP_FOWNER,      CAP_FSETID,	     CAP_KILL,
    CAP_SETGID,	    CAP_SETUID,	      CAP_SETPCAP,     CAP_NET_BIND_SERVICE, CAP_NET_RAW,
    CAP_SYS_CHROOT, CAP_MKNOD,	      CAP_AUDIT_WRITE, CAP_SETFCAP,
};

static bool cap_kept(const struct ns_plan *p, int cap)
{
	if (cap == CAP_MKNOD && !p->rootless)
		return false;
	for (size_t i = 0; i < sizeof(docker_caps) / sizeof(docker_caps[0]); i++)
		if (docker_caps[i] == cap)
			return true;
	return false;
}

/* Contained like a container, once the host is set up: every capability but Docker's out of
 * the bounding set (the user's processes run as root, whose exec gets exactly that set), no
 * ambient ones, then no_new_privs and the seccomp filter, which init's own few calls from
 * here on (poll, read, wait, kill, clone without namespaces, exec) pass.  0 or a positive
 * errno with the step in `what`. */
static int contain(const struct ns_plan *p, char *what, size_t len)
{
	size_t pos = 0;
	int e;

	for (int cap = 0; cap < 64; cap++) {
		if (cap_kept(p, cap) || prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break; /* past the kernel's last capability */
		e = errno;
		ns_str_add(what, len, &pos, "drop capabilities");
		return e;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* Init itself keeps no more than its host's processes: they may then read what the
	 * kernel shows only to a peer, /proc/1/exe (the path by which they run sagerun: its
	 * rsh agent for mpirun). */
	{
		struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct data[2] = {{0}};

		for (int cap = 0; cap < 64; cap++) {
			if (!cap_kept(p, cap))
				continue;
			data[cap / 32].effective |= 1u << (cap % 32);
			data[cap / 32].permitted |= 1u << (cap % 32);
		}
		if (syscall(SYS_capset, &hdr, data) < 0) {
			e = errno;
			ns_str_add(what, len, &pos, "drop init's capabilities");
			return e;
		}
	}
	e = ns_seccomp_install();
	if (e)
		ns_str_add(what, len, &pos, "install the seccomp filter");
	return e;
}

static void report(int fd, int e, bool exec, const char *what)
{
	struct ns_report r = {.err = e, .exec = exec};
	size_t pos = 0;

	if (what)
		ns_str_add(r.what, sizeof(r.what), &pos, what);
	/* Nothing to do if this fails: the parent then sees EOF and a dead child. */
	(void)!send(fd, &r, sizeof(r), MSG_NOSIGNAL);
}

static _Noreturn void fail(const struct ns_plan *p, int e, const char *what)
{
	report(p->report_fd, e, false, what);
	_exit(127);
}

static void close_range_compat(unsigned from, unsigned to)
{
	struct rlimit rl;

	if (from > to || close_range(from, to, 0) == 0 || errno != ENOSYS)
		return;
	/* FIXME: drop when kernel 5.9 is baseline. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < to)
		to = rl.rlim_cur > 65536 ? 65536 : (unsigned)rl.rlim_cur;
	for (unsigned fd = from; fd <= to; fd++)
		(void)close((int)fd);
}

/* Close every fd above 2 but the plan's.  Init never execs, so CLOEXEC does nothing for it:
 * without this it would hold copies of everything sagerun had open (other hosts' pipes, the
 * job's network namespace) for as long as the host lives. */
static void close_others(const struct ns_plan *p)
{
	int keep[] = {p->null_fd,   p->out_fd,	 p->err_fd,	 p->report_fd,
		      p->status_fd, p->netns_fd, p->agent_exe_fd};
	size_t n = sizeof(keep) / sizeof(keep[0]);
	unsigned from = 3;

	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			close_range_compat(from, (unsigned)keep[i] - 1);
		from = (unsigned)keep[i] + 1;
	}
	close_range_compat(from, ~0U);
}

/* Whether init was handed to another reaper: getppid() says 0 across the PID namespace, but
 * /proc, still the machine's here, shows the real parent.  Stack only, no allocation.  When
 * /proc cannot say, the report socket's EOF is all there is. */
static bool parent_gone(const struct ns_plan *p)
{
	char buf[512], *s, *end;
	ssize_t n;
	long ppid;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
	s = strrchr(buf, ')');
	if (!s || s[1] != ' ' || !s[2] || s[3] != ' ')
		return false;
	errno = 0;
	ppid = strtol(s + 4, &end, 10);
	if (errno || end == s + 4 || *end != ' ')
		return false;
	return ppid != (long)p->parent;
}

/* fork() without glibc's atfork handlers, which take locks that another thread of sagerun may
 * have held at the clone. */
static pid_t raw_fork(void)
{
	return (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
}

struct user_start {
	const struct ns_plan *p;
	int exec_w;
};

/* The user's process: its own process group (so init can signal it as a whole), the host's
 * pipes as stdout/stderr, clean signals, exec.  A failure goes back to init as an errno over
 * the CLOEXEC pipe whose EOF means the exec succeeded.  It runs in init's memory until the
 * exec (start_user), so it only makes system calls and writes nothing of init's but errno. */
static int user_run(void *arg)
{
	const struct user_start *u = arg;
	const struct ns_plan *p = u->p;
	int exec_w = u->exec_w;
	int32_t e;

	(void)setpgid(0, 0); /* init does it too, whichever runs first */
	e = spawn_child_stdio(p->null_fd, p->out_fd, p->err_fd);
	if (!e) {
		spawn_child_reset_signals();
		if (p->run_self) {
			(void)execveat(p->agent_exe_fd, "", p->argv, p->envp, AT_EMPTY_PATH);
			e = errno;
		} else {
			e = spawn_child_exec(p->candidates, p->argv, p->envp);
		}
	}
	(void)!write(exec_w, &e, sizeof(e));
	_exit(127);
}

/* Start the user's process as posix_spawn does: a child that shares init's memory and runs on
 * a stack of its own until it execs (CLONE_VM | CLONE_VFORK), init waiting meanwhile.  A
 * fork would copy init's page tables, which are sagerun's, and flush the TLB of every core
 * the supervisor ran on: a millisecond and more per host on a virtual machine.  The child has
 * its own signal dispositions (no CLONE_SIGHAND) and fd table (no CLONE_FILES). */
static pid_t start_user(const struct ns_plan *p, int exec_w)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	struct user_start u = {.p = p, .exec_w = exec_w};

	return clone(user_run, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &u);
}

/* The agent's listening socket, made by init before the user's process starts so that an
 * rsh client never finds the port closed.  A failure is the agent's to log: the user's
 * process runs anyway (-1). */
static int agent_listen(const struct ns_plan *p)
{
	static const char msg[] = "sagerun: rsh agent: cannot listen on its port: errno ";
	char line[sizeof(msg) + 24];
	size_t pos = 0;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&p->agent_addr, sizeof(p->agent_addr)) == 0 &&
		    listen(fd, 128) == 0)
			return fd;
	}
	ns_str_add(line, sizeof(line), &pos, msg);
	ns_str_add_uint(line, sizeof(line), &pos, (unsigned long)errno);
	ns_str_add(line, sizeof(line), &pos, "\n");
	(void)!write(p->err_fd, line, pos);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* A first client knocks: exec `sagerun container agent --listen-fd 3` (runtime/agent.h) with
 * the listening socket, the host's env and log pipes, in a group of its own; the kill(-1) of
 * finish() ends it with the host. */
static void agent_run(const struct ns_plan *p, int lfd)
{
	static const char msg[] = "sagerun: cannot start the rsh agent\n";
	char *const argv[] = {"sagerun", "container", "agent", "--listen-fd", "3", NULL};
	pid_t pid = raw_fork();

	if (pid != 0) {
		if (pid > 0)
			(void)setpgid(pid, pid);
		return;
	}
	(void)setpgid(0, 0);
	if (spawn_child_stdio(p->null_fd, p->out_fd, p->err_fd) == 0 &&
	    (lfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(lfd, 3)) >= 0) {
		spawn_child_reset_signals();
		(void)execveat(p->agent_exe_fd, "", argv, p->envp, AT_EMPTY_PATH);
	}
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(127);
}

/* The user's first process is gone: end the host as its PID 1 would, report, exit. */
static _Noreturn void finish(int status_fd, int status)
{
	int32_t st = status;

	/* Every process left in the namespace; the kernel would do it anyway when we exit, but
	 * only after we stop reaping, so reap them here and exit last. */
	(void)kill(-1, SIGKILL);
	for (;;) {
		pid_t r = waitpid(-1, NULL, 0);

		if (r < 0 && errno != EINTR)
			break;
	}
	/* The real wait status: the parent can tell "killed by SIGTERM" from "exit 143". */
	(void)!write(status_fd, &st, sizeof(st));
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* Reap, forward signals, and start the agent at its first client, until the user's first
 * process exits. */
static _Noreturn void run_init(const struct ns_plan *p, int sfd, int lfd, pid_t user)
{
	for (;;) {
		struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN},
				       {.fd = lfd, .events = POLLIN}};
		struct signalfd_siginfo si;
		ssize_t n;
		int st;

		if (poll(pf, lfd >= 0 ? 2 : 1, -1) < 0)
			continue; /* EINTR cannot happen with every signal blocked; retry anyway */
		if (lfd >= 0 && pf[1].revents) {
			agent_run(p, lfd);
			close(lfd);
			lfd = -1;
		}
		if (!pf[0].revents)
			continue;
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != (ssize_t)sizeof(si)) {
			/* Cannot happen; still never leave the host without its init's reaping. */
			while (waitpid(user, &st, 0) < 0 && errno == EINTR)
				;
			finish(p->status_fd, st);
		}
		if (si.ssi_signo != SIGCHLD) {
			/* ESRCH: the group is gone and its SIGCHLD is on its way. */
			(void)kill(-user, (int)si.ssi_signo);
			continue;
		}
		/* SIGCHLDs coalesce: reap everything that is ready, orphans included. */
		for (;;) {
			pid_t r = waitpid(-1, &st, WNOHANG);

			if (r <= 0)
				break;
			if (r == user)
				finish(p->status_fd, st);
		}
	}
}

_Noreturn void ns_child_main(const struct ns_plan *p)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	int exec_pipe[2], sfd, lfd, nl = -1, e;
	char what[256], go;
	sigset_t all;
	ssize_t n;
	pid_t user;

	/* The parent cloned with every signal blocked; init keeps them blocked for good and reads
	 * them from a signalfd.  Blocked signals are queued even for a namespace's init, which
	 * otherwise ignores signals it has no handler for.  Dispositions go back to default so a
	 * SIG_IGN for SIGCHLD inherited from sagerun cannot make the kernel reap for us. */
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &dfl, NULL);

	/* Die with sagerun.  A parent that died before the prctl sent nothing: the "go" below
	 * then reads EOF, unless the parent sent it just before it died (a busy machine may run
	 * init only after that), so check the parent as the machine's /proc shows it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail(p, errno, "set the parent-death signal");
	if (parent_gone(p))
		_exit(127);
	close_others(p);
	/* A session of its own, as runc's and bwrap --new-session's: no process of the host has
	 * sagerun's terminal as its controlling one, so none can push keystrokes into it
	 * (TIOCSTI) or reach it by /dev/tty (ENXIO); and a Ctrl-C at that terminal goes to
	 * sagerun alone, whose stop policy decides what the hosts get.  A terminal's signal sent
	 * before this, while init was still in sagerun's process group, was meant for sagerun:
	 * drop it rather than forward it to the user's process later. */
	if (setsid() < 0)
		fail(p, errno, "start a session of its own");
	{
		static const int tty_sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGHUP};
		const struct timespec now = {0, 0};
		sigset_t tty;

		sigemptyset(&tty);
		for (size_t i = 0; i < sizeof(tty_sigs) / sizeof(tty_sigs[0]); i++)
			sigaddset(&tty, tty_sigs[i]);
		while (sigtimedwait(&tty, NULL, &now) > 0)
			;
	}
	/* What `ps` in the host shows as PID 1 (the command line stays sagerun's). */
	(void)prctl(PR_SET_NAME, "sagerun-init", 0, 0, 0);

	/* Nothing heavy before the parent's "go": it sends it once every host of the job is
	 * cloned (ns.c: release). */
	do
		n = recv(p->report_fd, &go, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127);
	/* The network namespace: the parent made it, with our interface in it, while it laid
	 * out the hosts' trees (ns.c). */
	if (p->netns_fd >= 0) {
		if (setns(p->netns_fd, CLONE_NEWNET) < 0)
			fail(p, errno, "join the host's network namespace");
		close(p->netns_fd);
	}
	if (sethostname(p->hostname, strlen(p->hostname)) < 0)
		fail(p, errno, "set the hostname");
	e = ns_mount_all(p, what, sizeof(what));
	if (e)
		fail(p, e, what);
	if (p->ifname) {
		nl = ns_net_open();
		if (nl < 0)
			fail(p, -nl, "open a netlink socket");
		e = ns_net_lo_up(nl, what, sizeof(what));
		if (e)
			fail(p, e, what);
		e = ns_net_iface_up(nl, p, what, sizeof(what));
		if (e)
			fail(p, e, what);
		close(nl);
	}

	if (p->contain) {
		what[0] = '\0';
		e = contain(p, what, sizeof(what));
		if (e)
			fail(p, e, what);
	}

	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		fail(p, errno, "create a signalfd");
	if (pipe2(exec_pipe, O_CLOEXEC) < 0)
		fail(p, errno, "create a pipe");
	lfd = p->agent ? agent_listen(p) : -1;
	user = start_user(p, exec_pipe[1]);
	if (user < 0)
		fail(p, errno, "start a process");
	(void)setpgid(user, user);
	close(exec_pipe[1]);

	do
		n = read(exec_pipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		while (waitpid(user, NULL, 0) < 0 && errno == EINTR)
			;
		report(p->report_fd, n == (ssize_t)sizeof(e) ? e : EPROTO, true, NULL);
		_exit(127);
	}
	close(exec_pipe[0]);

	/* The host's pipes belong to its processes; init keeps its copies of the log pipes only
	 * while the agent may still start (the parent then sees EOF when init exits). */
	(void)dup2(p->null_fd, 0);
	(void)dup2(p->null_fd, 1);
	(void)dup2(p->null_fd, 2);
	if (lfd < 0) {
		if (p->out_fd > 2)
			close(p->out_fd);
		if (p->err_fd > 2)
			close(p->err_fd);
		if (p->null_fd > 2)
			close(p->null_fd);
	}

	report(p->report_fd, 0, false, NULL);
	close(p->report_fd);
	run_init(p, sfd, lfd, user);
}
