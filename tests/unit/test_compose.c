/* test_compose.c - the compose file of a job's hosts (hosts/compose.c): quoting, credentials
 * by name, mounts, the network.  docker-compose itself runs such files in e2e/t7001. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hosts/docker.h"
#include "hosts/hosts.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = xcalloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_compose_file(void **state)
{
	char dir[] = "/tmp/sagerun-test-compose.XXXXXX";
	struct host hosts[2];
	struct host_container c = {
	    .job_name = "job1", .job_dir = "/jobs/job1", .image = "img:1", .shm_bytes = 1 << 20};
	struct host_group g = {.hosts = hosts, .n = 2, .container = &c};
	struct strv by_name = STRV_INIT;
	struct sr_error err = {0};
	char *path, *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/dc.yaml", dir);
	for (size_t i = 0; i < 2; i++) {
		struct host *h = &hosts[i];

		host_init(h, i, host_backend_find("docker"));
		h->group = &g;
		h->opt_ml = xasprintf("/jobs/job1/hosts/%s/opt/ml", h->name);
		strv_push(&h->argv, "sh");
		strv_push(&h->argv, "-c");
		strv_push(&h->argv, "echo \"$HOME\"");
		strv_push(&h->env, "PRICE=$5 \"x\"\nline2");
		strv_push(&h->env, "ODD=a\x7f\xc2\x85\xe2\x80\xa8\xc2\x9bz\xc3\xa9");
		strv_push(&h->env, "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI");
		strv_push(&h->env, "db_password=hunter2");
		h->binds = xcalloc(1, sizeof(*h->binds));
		h->binds[0] = (struct host_bind){.src = xstrdup("/data/train"),
						 .dst = xstrdup("/opt/ml/input/data/train"),
						 .readonly = true};
		h->n_binds = 1;
	}
	assert_int_equal(host_compose_write(&g, path, &by_name, &err), 0);
	text = slurp(path);
	assert_null(strstr(text, "wJalrXUtnFEMI"));
	assert_null(strstr(text, "hunter2"));
	assert_non_null(strstr(text, "      - \"AWS_SECRET_ACCESS_KEY\"\n"));
	assert_non_null(strstr(text, "      - \"db_password\"\n"));
	assert_int_equal(by_name.n, 2);
	/* '$' doubled for compose, quotes and newlines escaped as in JSON */
	assert_non_null(strstr(text, "      - \"PRICE=$$5 \\\"x\\\"\\x0aline2\"\n"));
	/* DEL and C1 as \xNN, YAML 1.1's line breaks NEL and LS as \N \L, other UTF-8 kept */
	assert_non_null(strstr(text, "      - \"ODD=a\\x7f\\N\\L\\x9bz\xc3\xa9\"\n"));
	assert_non_null(
	    strstr(text, "    entrypoint: [\"sh\", \"-c\", \"echo \\\"$$HOME\\\"\"]\n"));
	assert_non_null(strstr(text, "    command: []\n"));
	assert_non_null(strstr(text, "  algo-2:\n    image: \"img:1\"\n    hostname: algo-2\n"));
	assert_non_null(strstr(text, "        source: \"/data/train\"\n"
				     "        target: \"/opt/ml/input/data/train\"\n"
				     "        read_only: true\n"));
	assert_non_null(strstr(text, "        source: \"/jobs/job1/hosts/algo-1/opt/ml\"\n"
				     "        target: \"/opt/ml\"\n"));
	assert_non_null(strstr(text, "    internal: true\n"));
	assert_non_null(strstr(text, "    shm_size: 1048576\n"));
	assert_non_null(strstr(text, "      sagerun.dir: \"/jobs/job1\"\n"));
	/* written whole or not at all: no temporary file left beside it */
	{
		char *ls = xasprintf("%s/dc.yaml.tmp.%d", dir, (int)getpid());

		assert_int_equal(access(ls, F_OK), -1);
		free(ls);
	}
	/* never over an existing file's temporary: a second write replaces the file */
	assert_int_equal(host_compose_write(&g, path, &by_name, &err), 0);
	assert_int_equal(by_name.n, 2);

	/* what YAML cannot hold is an error, and nothing is written */
	strv_push(&hosts[1].env, "BAD=\xff");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(host_compose_write(&g, path, &by_name, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "algo-2"));
	assert_int_equal(access(path, F_OK), -1);

	free(text);
	strv_release(&by_name);
	for (size_t i = 0; i < 2; i++)
		host_release(&hosts[i]);
	assert_int_equal(fs_rm_rf(dir, &err), 0);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compose_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
