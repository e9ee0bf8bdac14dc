/* Unit tests for the S3 client: the waits between attempts stay within what client.h
 * promises, and a request waiting for its next attempt holds up neither the loop nor a cancel
 * (a real request to 127.0.0.1 on a port that refuses connections); multipart uploads fit
 * S3's part limit, and an abort that fails is said with what to remove (a real HTTP server,
 * python3's http.server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "s3/client.h"
#include "s3/internal.h"
#include "test_pyserver.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

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

/* A client for the endpoint on 127.0.0.1:`port`, with example keys. */
static struct s3_client *client_at(int port)
{
	struct s3_client *c = NULL;
	struct sr_error err = {0};
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_ENDPOINT_URL_S3", url, 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	if (s3_client_new(&c, &err) < 0)
		fail_msg("s3_client_new: %s", err.msg);
	return c;
}

static void test_cancel_while_waiting_to_retry(void **state)
{
	struct s3_client *c;
	struct sr_error err = {0};
	struct xfer x;
	int fd, r;

	(void)state;
	c = client_at(refusing_port(&fd));
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

static void test_part_size(void **state)
{
	(void)state;
	assert_int_equal(s3_part_size(S3_PART_SIZE + 1), S3_PART_SIZE);
	assert_int_equal(s3_part_size((int64_t)S3_MAX_PARTS * S3_PART_SIZE), S3_PART_SIZE);
	for (int64_t size = (int64_t)S3_MAX_PARTS * S3_PART_SIZE + 1; size <= S3_MAX_OBJECT_SIZE;
	     size = size * 3 + 7) {
		int64_t part = s3_part_size(size);

		assert_true((size + part - 1) / part <= S3_MAX_PARTS);
		assert_int_equal(part % (1 << 20), 0);
	}
	assert_true((S3_MAX_OBJECT_SIZE + s3_part_size(S3_MAX_OBJECT_SIZE) - 1) /
			s3_part_size(S3_MAX_OBJECT_SIZE) <=
		    S3_MAX_PARTS);
}

/* An S3 that starts multipart uploads, refuses every part (a 400 not worth a retry) and
 * refuses to abort (403): the upload stays behind. */
static const char refusing_s3_py[] =
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def log_message(self, *a): pass\n"
    "    def send(self, code, body):\n"
    "        self.rfile.read(int(self.headers.get('Content-Length') or 0))\n"
    "        self.send_response(code)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body.encode())\n"
    "    def do_POST(self):\n"
    "        self.send(200, '<InitiateMultipartUploadResult><UploadId>UPLOAD-7</UploadId>'\n"
    "                       '</InitiateMultipartUploadResult>')\n"
    "    def do_PUT(self):\n"
    "        self.send(400, '<Error><Code>InvalidPart</Code><Message>no</Message></Error>')\n"
    "    def do_DELETE(self):\n"
    "        self.send(403, '<Error><Code>AccessDenied</Code><Message>no</Message></Error>')\n"
    "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
    "os.write(1, ('%d\\n' % s.server_address[1]).encode())\n"
    "os.close(1)\n"
    "s.serve_forever()\n";

static void test_failed_abort_is_said(void **state)
{
	char dir[] = "/tmp/sr-test-s3-XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct sr_error err = {0};
	struct s3_client *c;
	int port, fd;
	pid_t server;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/big", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, S3_PART_SIZE + 1), 0);
	close(fd);
	server = pyserver_start(refusing_s3_py, &port);
	c = client_at(port);
	assert_true(s3_put_file(c, "bkt", "out/model.tar.gz", path, &err) < 0);
	/* The failure is the part's; the hint names what is left and how to remove it. */
	assert_non_null(strstr(err.msg, "InvalidPart"));
	assert_non_null(strstr(err.hint, "warning"));
	assert_non_null(strstr(err.hint, "s3://bkt/out/model.tar.gz"));
	assert_non_null(strstr(err.hint, "UPLOAD-7"));
	assert_non_null(strstr(err.hint, "AccessDenied"));
	s3_client_free(c);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	fs_rm_rf(dir, NULL);
}

/* "after 1 attempt", "after 5 attempts". */
static void test_attempts_said(void **state)
{
	struct s3_client *c;
	struct sr_error err = {0};
	struct xfer x;
	int fd;

	(void)state;
	c = client_at(refusing_port(&fd));
	s3_xfer_init(&x, "GET", "bkt", "k");
	x.rc = CURLE_COULDNT_CONNECT;
	x.attempts = 1;
	assert_int_equal(s3_xfer_error(c, &x, "get", &err), -EIO);
	assert_non_null(strstr(err.msg, "(after 1 attempt)"));
	x.attempts = 5;
	assert_int_equal(s3_xfer_error(c, &x, "get", &err), -EIO);
	assert_non_null(strstr(err.msg, "(after 5 attempts)"));
	s3_xfer_release(&x);
	s3_client_free(c);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_bounded),
	    cmocka_unit_test(test_cancel_while_waiting_to_retry),
	    cmocka_unit_test(test_part_size),
	    cmocka_unit_test(test_attempts_said),
	    cmocka_unit_test(test_failed_abort_is_said),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
