/* Unit tests for runtime/agent + runtime/rsh: a real agent on localhost, the real client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/agent.h"
#include "runtime/rsh.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

struct fx {
	char dir[64];
	char *config, *log;
	char secret[65];
	pid_t agent;
};

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct sr_error err = {0};
	char *opt_ml;
	int ready[2], lfd;
	char c;

	strcpy(f->dir, "/tmp/sr-agent-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(rt_agent_secret_new(f->secret, &err), 0);
	opt_ml = xasprintf("%s/opt_ml", f->dir);
	assert_int_equal(rt_agent_config_write(opt_ml, free_port(), f->secret, &err), 0);
	f->config = xasprintf("%s/input/config/%s", opt_ml, RT_AGENT_CONFIG_NAME);
	free(opt_ml);
	f->log = xasprintf("%s/agent.log", f->dir);
	setenv(RT_AGENT_CONFIG_ENV, f->config, 1);
	setenv("SM_CURRENT_HOST", "localhost", 1);

	assert_int_equal(pipe(ready), 0);
	lfd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(lfd >= 0);
	f->agent = fork();
	assert_true(f->agent >= 0);
	if (f->agent == 0) {
		struct rt_agent_opts o = {.ready_fd = ready[1], .log_fd = lfd, .listen_fd = -1};

		close(ready[0]);
		_exit(rt_agent_serve(&o, &err) < 0 ? 3 : 0);
	}
	close(ready[1]);
	close(lfd);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *log = NULL;
	struct sr_error err = {0};
	size_t len;
	int st;

	assert_int_equal(kill(f->agent, SIGTERM), 0);
	assert_int_equal(waitpid(f->agent, &st, 0), f->agent);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* No zombie or child of ours left behind. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(fs_read_file(f->log, 1 << 20, &log, &len, &err), 0);
	assert_null(strstr(log, f->secret));
	assert_int_equal(fs_rm_rf(f->dir, &err), 0);
	free(f->config);
	free(f->log);
	free(f);
	return 0;
}

struct result {
	int code, r;
	char *out, *err;
	size_t out_len, err_len;
	struct sr_error e;
};

static void result_release(struct result *res)
{
	free(res->out);
	free(res->err);
}

/* Run `cmd` (one shell string) on the agent; stdin from `in` (NULL: /dev/null). */
static void run(struct fx *f, const char *config, const char *cmd, const void *in, size_t in_len,
		struct result *res)
{
	char *argv[] = {(char *)cmd, NULL};
	_cleanup_free_ char *po = xasprintf("%s/out", f->dir), *pe = xasprintf("%s/err", f->dir),
			    *pi = xasprintf("%s/in", f->dir);
	struct sr_error err = {0};
	struct rt_rsh_opts o = {
	    .host = "user@localhost", .argv = argv, .argc = 1, .config_path = config};

	memset(res, 0, sizeof(*res));
	res->code = -1;
	if (in) {
		assert_int_equal(fs_write_atomic(pi, in, in_len, 0600, &err), 0);
		o.in_fd = open(pi, O_RDONLY | O_CLOEXEC);
	} else {
		o.in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	o.out_fd = open(po, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	o.err_fd = open(pe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	res->r = rt_rsh_run(&o, &res->code, &res->e);
	close(o.in_fd);
	close(o.out_fd);
	close(o.err_fd);
	assert_int_equal(fs_read_file(po, 4 << 20, &res->out, &res->out_len, &err), 0);
	assert_int_equal(fs_read_file(pe, 4 << 20, &res->err, &res->err_len, &err), 0);
	assert_null(strstr(res->out, f->secret));
	assert_null(strstr(res->err, f->secret));
	assert_null(strstr(res->e.msg, f->secret));
	assert_null(strstr(res->e.hint, f->secret));
}

static void test_exit_code_and_streams(void **state)
{
	struct result res;

	run(*state, NULL, "echo out; echo err >&2; exit 7", NULL, 0, &res);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.code, 7);
	assert_string_equal(res.out, "out\n");
	assert_string_equal(res.err, "err\n");
	result_release(&res);
}

static void test_argv_joined_like_ssh(void **state)
{
	struct fx *f = *state;
	char *argv[] = {"echo", "a  b", "$((1+2))", NULL};
	_cleanup_free_ char *po = xasprintf("%s/out2", f->dir), *data = NULL;
	struct rt_rsh_opts o = {
	    .host = "localhost", .argv = argv, .argc = 3, .in_fd = -1, .err_fd = 2};
	struct sr_error err = {0};
	size_t len;
	int code = -1;

	o.out_fd = open(po, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_int_equal(rt_rsh_run(&o, &code, &err), 0);
	close(o.out_fd);
	assert_int_equal(code, 0);
	assert_int_equal(fs_read_file(po, 4096, &data, &len, &err), 0);
	/* Joined with spaces, then one shell: as `ssh host echo "a  b" '$((1+2))'`. */
	assert_string_equal(data, "a b 3\n");
}

static void test_large_binary_stdout(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *src = xasprintf("%s/random", f->dir), *cmd = NULL;
	_cleanup_free_ unsigned char *data = xmalloc(1000000);
	struct sr_error err = {0};
	struct result res;

	for (size_t i = 0; i < 1000000; i++)
		data[i] = (unsigned char)(random() & 0xff);
	data[10] = 0;
	assert_int_equal(fs_write_atomic(src, data, 1000000, 0600, &err), 0);
	cmd = xasprintf("head -c 1000000 %s", src);
	run(f, NULL, cmd, NULL, 0, &res);
	assert_int_equal(res.code, 0);
	assert_int_equal(res.out_len, 1000000);
	assert_memory_equal(res.out, data, 1000000);
	result_release(&res);
}

static void test_stdin_forwarded(void **state)
{
	static const char in[] = "hello\0binary\nworld";
	_cleanup_free_ char *big = xmalloc(300000);
	struct result res;

	run(*state, NULL, "cat", in, sizeof(in), &res);
	assert_int_equal(res.code, 0);
	assert_int_equal(res.out_len, sizeof(in));
	assert_memory_equal(res.out, in, sizeof(in));
	result_release(&res);

	/* More than every buffer in between: flow control, no deadlock. */
	memset(big, 'x', 300000);
	run(*state, NULL, "cat; echo done >&2", big, 300000, &res);
	assert_int_equal(res.code, 0);
	assert_int_equal(res.out_len, 300000);
	assert_string_equal(res.err, "done\n");
	result_release(&res);
}

static void test_signal_death(void **state)
{
	struct result res;

	run(*state, NULL, "kill -TERM $$", NULL, 0, &res);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.code, 128 + SIGTERM);
	result_release(&res);
}

static void test_wrong_secret_refused(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *opt_ml = xasprintf("%s/other", f->dir);
	_cleanup_free_ char *cfg = xasprintf("%s/input/config/%s", opt_ml, RT_AGENT_CONFIG_NAME);
	_cleanup_free_ char *marker = xasprintf("%s/marker", f->dir);
	_cleanup_free_ char *cmd = xasprintf("touch %s", marker);
	_cleanup_free_ char *log = NULL;
	struct sr_error err = {0};
	char other[65];
	struct result res;
	size_t len;
	int port, n;
	unsigned char s[32];

	assert_int_equal(rt_agent_config_read(NULL, &port, s, &err), 0);
	assert_int_equal(rt_agent_secret_new(other, &err), 0);
	assert_int_equal(rt_agent_config_write(opt_ml, port, other, &err), 0);
	run(f, cfg, cmd, NULL, 0, &res);
	assert_int_equal(res.r, -EACCES);
	assert_non_null(strstr(res.e.msg, "authentication failed"));
	assert_null(strstr(res.e.msg, other));
	result_release(&res);
	assert_false(fs_exists(marker));
	/* The refusal is logged, once, without either secret. */
	for (n = 0; n < 50; n++) {
		free(log);
		log = NULL;
		assert_int_equal(fs_read_file(f->log, 1 << 20, &log, &len, &err), 0);
		if (strstr(log, "authentication failed"))
			break;
		poll(NULL, 0, 20);
	}
	assert_non_null(strstr(log, "authentication failed"));
	assert_null(strstr(log, other));
}

static void test_client_death_kills_remote(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *pidfile = xasprintf("%s/remote.pid", f->dir);
	_cleanup_free_ char *cmd = xasprintf(
	    "sh -c 'echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 1000'", pidfile, pidfile, pidfile);
	_cleanup_free_ char *data = NULL;
	struct sr_error err = {0};
	pid_t client, remote;
	size_t len;
	int st, i;

	client = fork();
	assert_true(client >= 0);
	if (client == 0) {
		char *argv[] = {cmd, NULL};
		struct rt_rsh_opts o = {.host = "localhost",
					.argv = argv,
					.argc = 1,
					.in_fd = 0,
					.out_fd = 1,
					.err_fd = 2};
		int code;

		_exit(rt_rsh_run(&o, &code, &err) < 0 ? 255 : code);
	}
	for (i = 0; i < 500 && !fs_exists(pidfile); i++)
		poll(NULL, 0, 10);
	assert_int_equal(fs_read_file(pidfile, 64, &data, &len, &err), 0);
	remote = atoi(data);
	assert_true(remote > 1);
	assert_int_equal(kill(remote, 0), 0);
	kill(client, SIGKILL);
	assert_int_equal(waitpid(client, &st, 0), client);
	for (i = 0; i < 300 && kill(remote, 0) == 0; i++)
		poll(NULL, 0, 10);
	assert_int_equal(kill(remote, 0), -1);
	assert_int_equal(errno, ESRCH);
}

static void test_config_errors(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *bad = xasprintf("%s/bad.json", f->dir);
	struct sr_error err = {0};
	unsigned char s[32];
	int port;

	assert_int_equal(rt_agent_config_write(f->dir, 0, f->secret, &err), -EINVAL);
	assert_int_equal(rt_agent_config_write(f->dir, 80, "zz", &err), -EINVAL);
	const char *json = "{\"port\": 1, \"secret\": \"abc\"}";

	assert_int_equal(fs_write_atomic(bad, json, strlen(json), 0600, &err), 0);
	assert_int_equal(rt_agent_config_read_file(bad, &port, s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "64 hex digits"));
	assert_true(rt_agent_config_read_file("/nonexistent/x.json", &port, s, &err) < 0);
	assert_non_null(strstr(err.msg, "agent config"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_exit_code_and_streams, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_argv_joined_like_ssh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_binary_stdout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stdin_forwarded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signal_death, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_secret_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_death_kills_remote, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
