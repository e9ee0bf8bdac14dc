/* Unit tests for runtime/ssh: /etc/environment, the wait for an sshd's banner against real
 * sockets, starting and stopping an "sshd", and the login check with the real ssh client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/child.h"
#include "runtime/ssh.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/sr-ssh-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(fs_rm_rf(dir, NULL), 0);
	return 0;
}

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(fs_read_file(path, 1 << 20, &data, &len, NULL), 0);
	return data;
}

static void test_environment_appended(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/environment", dir);
	_cleanup_free_ char *got = NULL;
	struct strv env = STRV_INIT;
	struct sr_error err = {0};
	struct stat st;

	(void)state;
	assert_int_equal(fs_write_atomic(path, "LANG=C", 6, 0644, NULL), 0);
	strv_push(&env, "PATH=/opt/openmpi/bin:/usr/bin");
	strv_push(&env, "SM_HOSTS=[\"algo-1\",\"algo-2\"]");
	strv_push(&env, "AWS_ACCESS_KEY_ID=AKID");
	strv_push(&env, "AWS_SECRET_ACCESS_KEY=sekrit");
	strv_push(&env, "AWS_SESSION_TOKEN=tok");
	strv_push(&env, "HF_TOKEN=hf");
	strv_push(&env, "WANDB_API_KEY=w");
	strv_push(&env, "TWO_LINES=a\nb");
	strv_push(&env, "NOT_A_VARIABLE");
	strv_push(&env, "SM_HP_NAME=with spaces");
	assert_int_equal(rt_ssh_write_environment(path, &env, &err), 0);
	got = slurp(path);
	assert_string_equal(got, "LANG=C\n"
				 "PATH=/opt/openmpi/bin:/usr/bin\n"
				 "SM_HOSTS=[\"algo-1\",\"algo-2\"]\n"
				 "SM_HP_NAME=with spaces\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	strv_release(&env);
}

static void test_environment_new_file(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/fresh", dir);
	_cleanup_free_ char *got = NULL;
	struct strv env = STRV_INIT;

	(void)state;
	strv_push(&env, "A=1");
	assert_int_equal(rt_ssh_write_environment(path, &env, NULL), 0);
	got = slurp(path);
	assert_string_equal(got, "A=1\n");
	strv_release(&env);
}

static void test_environment_unwritable(void **state)
{
	struct strv env = STRV_INIT;
	struct sr_error err = {0};
	_cleanup_free_ char *path = xasprintf("%s/no/such/folder/environment", dir);

	(void)state;
	strv_push(&env, "A=1");
	assert_true(rt_ssh_write_environment(path, &env, &err) < 0);
	assert_non_null(strstr(err.msg, "no/such/folder"));
	strv_release(&env);
}

/* A server on 127.0.0.1 that greets every connection with `greeting`, from a child. */
static pid_t greeter(const char *greeting, int *ret_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*ret_port = ntohs(a.sin_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				_exit(1);
			(void)fs_write_all(c, greeting, strlen(greeting));
			close(c);
		}
	}
	close(fd);
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A port of 127.0.0.1 that was ours a moment ago: nobody listens there now. */
static int closed_port(void)
{
	int port;

	stop_child(greeter("", &port));
	return port;
}

static void test_banner_found(void **state)
{
	struct sr_error err = {0};
	int port;
	pid_t srv = greeter("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", &port);

	(void)state;
	assert_int_equal(rt_ssh_wait_banner("127.0.0.1", port, 5, &err), 0);
	stop_child(srv);
}

static void test_banner_not_ssh(void **state)
{
	struct sr_error err = {0};
	int port;
	pid_t srv = greeter("HTTP/1.1 400 Bad Request\r\n", &port);

	(void)state;
	assert_int_equal(rt_ssh_wait_banner("127.0.0.1", port, 1, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "127.0.0.1's sshd did not answer on port"));
	assert_non_null(strstr(err.hint, "starts sshd"));
	stop_child(srv);
}

static void test_banner_nobody_listens(void **state)
{
	struct sr_error err = {0};
	int port = closed_port();

	(void)state;
	assert_int_equal(rt_ssh_wait_banner("127.0.0.1", port, 1, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "Connection refused"));
}

static void test_sshd_missing(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/sshd", dir);
	struct sr_error err = {0};

	(void)state;
	assert_true(rt_sshd_start(path, 0, -1, &err) < 0);
	assert_non_null(strstr(err.msg, "needs"));
	assert_non_null(strstr(err.msg, "/sshd, which this host lacks"));
	assert_non_null(strstr(err.hint, "apt-get install openssh-server"));
}

static void test_sshd_exits_at_once(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/sshd", dir);
	const char script[] = "#!/bin/sh\necho \"no host keys\" >&2\nexit 1\n";
	struct sr_error err = {0};

	(void)state;
	assert_int_equal(fs_write_atomic(path, script, sizeof(script) - 1, 0755, NULL), 0);
	assert_true(rt_sshd_start(path, 5000, -1, &err) < 0);
	assert_non_null(strstr(err.msg, "-D exited at once (code 1"));
}

static void test_sshd_started_and_stopped(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/sshd", dir);
	_cleanup_free_ char *args = xasprintf("%s/args", dir);
	_cleanup_free_ char *script =
	    xasprintf("#!/bin/sh\necho \"$@\" >%s\nexec sleep 300\n", args);
	_cleanup_free_ char *got = NULL;
	struct sr_error err = {0};
	pid_t pid;

	(void)state;
	assert_int_equal(fs_write_atomic(path, script, strlen(script), 0755, NULL), 0);
	pid = rt_sshd_start(path, 300, -1, &err); /* it never greets: we go on after 300 ms */
	assert_true(pid > 0);
	/* The script writes its arguments as it starts: wait for the whole line. */
	for (int i = 0; i < 500; i++) {
		size_t len = 0;

		free(got);
		got = NULL;
		if (fs_read_file(args, 4096, &got, &len, NULL) == 0 && len && got[len - 1] == '\n')
			break;
		usleep(10 * 1000);
	}
	assert_non_null(got);
	assert_string_equal(got, "-D -e\n");
	rt_sshd_stop(pid);
	assert_int_equal(kill(pid, 0), -1); /* reaped: no zombie, no process */
	assert_int_equal(errno, ESRCH);
}

static void test_host_names(void **state)
{
	(void)state;
	assert_true(rt_ssh_host_ok("algo-1"));
	assert_true(rt_ssh_host_ok("ip-10-0-0-1.ec2.internal"));
	assert_true(rt_ssh_host_ok("node_2"));
	assert_false(rt_ssh_host_ok(NULL));
	assert_false(rt_ssh_host_ok(""));
	assert_false(rt_ssh_host_ok("-oProxyCommand=x"));
	assert_false(rt_ssh_host_ok("algo-1;reboot"));
	assert_false(rt_ssh_host_ok("algo 1"));
	assert_false(rt_ssh_host_ok("$(id)"));
}

static void test_login_refused(void **state)
{
	struct sr_error err = {0};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	/* ssh's URI form carries the port: one nobody listens on. */
	_cleanup_free_ char *host = xasprintf("ssh://127.0.0.1:%d", closed_port());

	(void)state;
	assert_int_equal(access("/usr/bin/ssh", X_OK), 0); /* make deps: openssh-client */
	assert_int_equal(rt_ssh_check_login(host, envp, -1, &err), -EACCES);
	assert_non_null(strstr(err.msg, "as root failed (exit 255): "));
	assert_non_null(strstr(err.msg, "Connection refused"));
	assert_non_null(strstr(err.hint, "authorized_keys"));
}

static void test_stop_ends_the_wait(void **state)
{
	struct sr_error err = {0};
	int port = closed_port();

	(void)state;
	rt_child_catch_stops();
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(rt_child_stop_signal(), SIGTERM);
	assert_int_equal(rt_ssh_wait_banner("127.0.0.1", port, 60, &err), -EINTR);
	assert_non_null(strstr(err.msg, "stopped while waiting for 127.0.0.1's sshd"));
	/* and nothing starts after it: not even ssh */
	{
		char *cmd[] = {"true", NULL};
		char *envp[] = {"PATH=/usr/bin:/bin", NULL};
		int status = 0;

		memset(&err, 0, sizeof(err));
		assert_int_equal(rt_ssh_run("127.0.0.1", cmd, envp, -1, &status, NULL, &err),
				 -EINTR);
		assert_non_null(strstr(err.msg, "stopped (SIGTERM) before 'ssh' started"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_environment_appended, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_environment_new_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_environment_unwritable, setup, teardown),
	    cmocka_unit_test(test_banner_found),
	    cmocka_unit_test(test_banner_not_ssh),
	    cmocka_unit_test(test_banner_nobody_listens),
	    cmocka_unit_test_setup_teardown(test_sshd_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sshd_exits_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sshd_started_and_stopped, setup, teardown),
	    cmocka_unit_test(test_host_names),
	    cmocka_unit_test(test_login_refused),
	    /* last: the stop it notes stays noted for the process */
	    cmocka_unit_test(test_stop_ends_the_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
