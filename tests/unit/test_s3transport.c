/* Unit tests for s3/transport: the waits between attempts stay within what client.h promises,
 * and a request waiting for its next attempt holds up neither the loop nor a cancel (a real
 * request to 127.0.0.1 on a port that refuses connections). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "s3/client.h"
#include "s3/internal.h"
#include "util/error.h"

static void test_backoff_bounded(void **state)
{
	long total = 0;

	(void)state;
	for (int attempt = 1; attempt < 64; attempt++) {
		long most = s3_backoff_ms(attempt, ~0u);

		assert_true(s3_backoff_ms(attempt, 0) == 0);
		assert_true(most >= 0 && most < S3_BACKOFF_CAP_MS);
		if (attempt < S3_MAX_ATTEMPTS)
			total += most;
	}
	assert_true(total < S3_BACKOFF_TOTAL_MS);
}

/* A port on 127.0.0.1 bound but not listening: connections to it are refused.  *fd keeps it. */
static int refusing_port(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* Cancel as soon as the request is seen between two attempts. */
static bool cancel_between_attempts(void *ctx)
{
	const struct xfer *x = ctx;

	return x->attempts >= 1 && !x->easy;
}

static void test_cancel_while_waiting_to_retry(void **state)
{
	struct s3_client *c = NULL;
	struct sr_error err = {0};
	char url[64];
	struct xfer x;
	int fd, r;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", refusing_port(&fd));
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_ENDPOINT_URL_S3", url, 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	assert_int_equal(s3_client_new(&c, &err), 0);
	s3_xfer_init(&x, "HEAD", "bucket", "key");
	s3_client_set_cancel(c, cancel_between_attempts, &x);
	r = s3_run_one(c, &x, &err);
	/* Before: the wait was a sleep inside the loop, the next attempt began at once after it,
	 * and the cancel never saw the request between attempts: all 5 ran. */
	assert_int_equal(r, -ECANCELED);
	assert_int_equal(x.attempts, 1);
	assert_int_equal(x.rc, CURLE_ABORTED_BY_CALLBACK);
	s3_xfer_release(&x);
	s3_client_free(c);
	sr_err_clear(&err);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_bounded),
	    cmocka_unit_test(test_cancel_while_waiting_to_retry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
