/* Unit tests for s3/creds: the credential chain in its order, profiles in both files, region
 * and endpoint, and the two metadata services, served by a real HTTP server on 127.0.0.1
 * (python3's http.server) that checks the headers each service requires. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "s3/creds.h"
#include "test_pyserver.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char *const chain_env[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
};

struct fx {
	char dir[64];
	char *cred, *conf;
	pid_t server;
	int port;
};

static void write_text(const char *path, const char *text)
{
	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0600, NULL), 0);
}

static int setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));

	for (size_t i = 0; i < sizeof(chain_env) / sizeof(chain_env[0]); i++)
		unsetenv(chain_env[i]);
	strcpy(fx->dir, "/tmp/sr-test-creds-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->cred = xasprintf("%s/credentials", fx->dir);
	fx->conf = xasprintf("%s/config", fx->dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", fx->cred, 1);
	setenv("AWS_CONFIG_FILE", fx->conf, 1);
	/* Never the real instance metadata address from a test. */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->server > 0) {
		kill(fx->server, SIGTERM);
		waitpid(fx->server, NULL, 0);
	}
	fs_rm_rf(fx->dir, NULL);
	free(fx->cred);
	free(fx->conf);
	free(fx);
	return 0;
}

static void expect_creds(const char *ak, const char *sk, const char *tok, const char *source)
{
	struct s3_creds c;
	struct sr_error err = {0};

	if (s3_creds_load(&c, &err) < 0)
		fail_msg("s3_creds_load: %s", err.msg);
	assert_string_equal(c.access_key, ak);
	assert_string_equal(c.secret_key, sk);
	if (tok)
		assert_string_equal(c.session_token, tok);
	else
		assert_null(c.session_token);
	if (!strstr(c.source, source))
		fail_msg("source '%s', expected '%s'", c.source, source);
	s3_creds_release(&c);
}

static void test_chain_order(void **state)
{
	struct fx *fx = *state;
	struct s3_creds c;
	struct sr_error err = {0};

	/* Nothing anywhere: one error naming every place looked at, no secret. */
	assert_int_equal(s3_creds_load(&c, &err), -ENOKEY);
	assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
	assert_non_null(strstr(err.msg, fx->cred));
	assert_non_null(strstr(err.msg, fx->conf));

	write_text(fx->conf, "[default]\nregion = eu-west-1\naws_access_key_id = CONFAK\n"
			     "aws_secret_access_key = confsecret\n\n[profile dev]\n"
			     "aws_access_key_id=DEVCONF\naws_secret_access_key=devconfsecret\n");
	expect_creds("CONFAK", "confsecret", NULL, "profile default in");

	write_text(fx->cred, "# comment\n[default]\naws_access_key_id = FILEAK\n"
			     "aws_secret_access_key = file/secret+x\naws_session_token = ftok\n"
			     "[dev]\n; another\naws_access_key_id = DEVAK\n"
			     "aws_secret_access_key = devsecret\n");
	expect_creds("FILEAK", "file/secret+x", "ftok", fx->cred);

	setenv("AWS_ACCESS_KEY_ID", "ENVAK", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "envtok", 1);
	expect_creds("ENVAK", "envsecret", "envtok", "environment");

	/* A profile asked for by name wins over the environment's keys, as in botocore. */
	setenv("AWS_PROFILE", "dev", 1);
	expect_creds("DEVAK", "devsecret", NULL, "profile dev in");
	unlink(fx->cred);
	expect_creds("DEVCONF", "devconfsecret", NULL, "profile dev in");

	/* Half a key pair is an error that names the profile and the file. */
	write_text(fx->cred, "[dev]\naws_access_key_id = ONLYAK\n");
	assert_int_equal(s3_creds_load(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "profile dev in"));
	assert_non_null(strstr(err.msg, "no aws_secret_access_key"));
}

static void test_region_endpoint(void **state)
{
	struct fx *fx = *state;
	struct s3_config cfg;
	struct sr_error err = {0};

	assert_int_equal(s3_config_load(&cfg, &err), 0);
	assert_string_equal(cfg.region, "us-east-1");
	assert_null(cfg.endpoint);
	assert_false(cfg.path_style);
	s3_config_release(&cfg);

	write_text(fx->conf, "[profile dev]\nregion = ap-south-1\n"
			     "endpoint_url = http://127.0.0.1:4568/\n");
	setenv("AWS_PROFILE", "dev", 1);
	assert_int_equal(s3_config_load(&cfg, &err), 0);
	assert_string_equal(cfg.region, "ap-south-1");
	assert_string_equal(cfg.endpoint, "http://127.0.0.1:4568");
	assert_true(cfg.path_style);
	s3_config_release(&cfg);

	setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
	setenv("AWS_ENDPOINT_URL", "http://a:1", 1);
	assert_int_equal(s3_config_load(&cfg, &err), 0);
	assert_string_equal(cfg.region, "eu-north-1");
	assert_string_equal(cfg.endpoint, "http://a:1");
	s3_config_release(&cfg);
	setenv("AWS_REGION", "us-west-2", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://b:2", 1);
	assert_int_equal(s3_config_load(&cfg, &err), 0);
	assert_string_equal(cfg.region, "us-west-2");
	assert_string_equal(cfg.endpoint, "http://b:2");
	s3_config_release(&cfg);
}

/* A metadata server on 127.0.0.1: the container endpoint at /creds (Authorization: tok) and
 * IMDSv2 under /latest (a token from PUT, then required on every GET). */
static const char server_py[] =
    "import http.server, json, sys\n"
    "C = {'AccessKeyId': '%s', 'SecretAccessKey': 'meta/secret', 'Token': 'metatok',\n"
    "     'Expiration': '2030-01-02T03:04:05Z'}\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def log_message(self, *a): pass\n"
    "    def send(self, code, body):\n"
    "        self.send_response(code); self.end_headers(); self.wfile.write(body.encode())\n"
    "    def do_PUT(self):\n"
    "        ok = self.path == '/latest/api/token' and "
    "self.headers.get('X-aws-ec2-metadata-token-ttl-seconds')\n"
    "        self.send(200 if ok else 400, 'TOKEN')\n"
    "    def do_GET(self):\n"
    "        if self.path == '/creds':\n"
    "            ok = self.headers.get('Authorization') == 'tok'\n"
    "            return self.send(200 if ok else 401, json.dumps(C))\n"
    "        if self.headers.get('X-aws-ec2-metadata-token') != 'TOKEN':\n"
    "            return self.send(401, '')\n"
    "        if self.path == '/latest/meta-data/iam/security-credentials/':\n"
    "            return self.send(200, 'myrole\\n')\n"
    "        if self.path == '/latest/meta-data/iam/security-credentials/myrole':\n"
    "            return self.send(200, json.dumps(C))\n"
    "        self.send(404, '')\n"
    "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
    "import os\n"
    "os.write(1, ('%%d\\n' %% s.server_address[1]).encode())  # one write, then no more\n"
    "os.close(1)\n"
    "s.serve_forever()\n";

static void start_server(struct fx *fx, const char *ak)
{
	_cleanup_free_ char *script = xasprintf(server_py, ak);

	fx->server = pyserver_start(script, &fx->port);
}

static void test_container(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *url = NULL, *tokfile = NULL;
	struct s3_creds c;
	struct sr_error err = {0};

	start_server(fx, "CONTAINERAK");
	url = xasprintf("http://127.0.0.1:%d/creds", fx->port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	/* Without its token the service refuses, and the error says which source. */
	assert_int_equal(s3_creds_load(&c, &err), -EACCES);
	assert_non_null(strstr(err.msg, "container credentials"));
	assert_non_null(strstr(err.msg, "HTTP 401"));

	tokfile = xasprintf("%s/token", fx->dir);
	write_text(tokfile, "tok\n");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1);
	assert_int_equal(s3_creds_load(&c, &err), 0);
	assert_string_equal(c.access_key, "CONTAINERAK");
	assert_string_equal(c.secret_key, "meta/secret");
	assert_string_equal(c.session_token, "metatok");
	assert_string_equal(c.source, "container credentials");
	assert_true(c.expires_ms == 1893553445000LL);
	s3_creds_release(&c);
}

static void test_imds(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *url = NULL;
	struct s3_creds c;
	struct sr_error err = {0};

	start_server(fx, "IMDSAK");
	url = xasprintf("http://127.0.0.1:%d/", fx->port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	/* Disabled: the chain ends without asking. */
	assert_int_equal(s3_creds_load(&c, &err), -ENOKEY);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	assert_int_equal(s3_creds_load(&c, &err), 0);
	assert_string_equal(c.access_key, "IMDSAK");
	assert_string_equal(c.session_token, "metatok");
	assert_string_equal(c.source, "instance metadata (IMDSv2)");
	s3_creds_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_chain_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_region_endpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_imds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
