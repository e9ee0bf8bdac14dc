/* test_pyserver.h - a python3 HTTP server on 127.0.0.1 for the unit tests that talk HTTP
 * (test_creds.c, test_s3.c): `script` binds port 0, writes the port on its stdout in one
 * write, closes it and serves.  Include after <cmocka.h>. */
#ifndef SR_TEST_PYSERVER_H
#define SR_TEST_PYSERVER_H

#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* The server's pid (kill and reap it when done); its port in *port. */
static pid_t pyserver_start(const char *script, int *port)
{
	int p[2];
	char buf[16] = {0};
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execlp("python3", "python3", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
	close(p[0]);
	*port = atoi(buf);
	assert_true(*port > 0);
	return pid;
}

#endif
