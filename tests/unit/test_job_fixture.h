/* test_job_fixture.h - what the job/ unit tests share (test_job.c, test_job_spec.c,
 * test_job_build.c): a temp folder per test and specs written from templates.  Each test file
 * is its own program, so everything here is static; unused ones are allowed. */
#ifndef SR_TEST_JOB_FIXTURE_H
#define SR_TEST_JOB_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "job/job.h"
#include "job/jsonpos.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* A temp folder per test: data/ and data2/ (channel folders), code/train.py, code/sub/run.py,
 * and job.json written by each test. */
struct fx {
	char dir[PATH_MAX];
	char spec[PATH_MAX + 16];
	char cwd[PATH_MAX];
};

__attribute__((unused)) static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The fixture's files in `dir` (which exists). */
__attribute__((unused)) static void fx_populate(const char *dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/data", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/data2", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/code", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/code/sub", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/code/train.py", dir);
	write_file(path, "print('hi')\n");
	snprintf(path, sizeof(path), "%s/code/sub/run.py", dir);
	write_file(path, "print('sub')\n");
}

__attribute__((unused)) static int fx_setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/sr-test-job-XXXXXX");
	if (!mkdtemp(fx->dir) || !getcwd(fx->cwd, sizeof(fx->cwd)))
		return -1;
	snprintf(fx->spec, sizeof(fx->spec), "%s/job.json", fx->dir);
	fx_populate(fx->dir);
	*state = fx;
	return 0;
}

__attribute__((unused)) static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (chdir(fx->cwd) < 0)
		return -1;
	fs_rm_rf(fx->dir, NULL);
	free(fx);
	return 0;
}

__attribute__((unused)) static void append_n(struct strv *parts, char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	strv_push_take(parts, s);
}

/* Expand the placeholders of a table entry: @DIR@ is the test's folder, the others make
 * long values (@K257@: 257 'k', @V2501@, @V513@, @N64@: 64 'a') and big objects (@HP101@: 101
 * hyperparameters, @CH21@: 21 channels) without writing them out.  Expected positions count
 * the expanded text. */
__attribute__((unused)) static char *expand(const char *tmpl, const char *dir)
{
	struct strv parts = STRV_INIT;
	char *out = NULL;
	size_t size = 0;
	FILE *f;

	while (*tmpl) {
		const char *at = strchr(tmpl, '@');
		const char *end = at ? strchr(at + 1, '@') : NULL;

		if (!at || !end) {
			strv_push(&parts, tmpl);
			break;
		}
		strv_push_take(&parts, xstrndup(tmpl, (size_t)(at - tmpl)));
		_cleanup_free_ char *name = xstrndup(at + 1, (size_t)(end - at - 1));
		if (!strcmp(name, "DIR")) {
			strv_push(&parts, dir);
		} else if (!strcmp(name, "K257")) {
			append_n(&parts, 'k', 257);
		} else if (!strcmp(name, "V2501")) {
			append_n(&parts, 'v', 2501);
		} else if (!strcmp(name, "V513")) {
			append_n(&parts, 'v', 513);
		} else if (!strcmp(name, "N64")) {
			append_n(&parts, 'a', 64);
		} else if (!strcmp(name, "HP101")) {
			strv_push(&parts, "{");
			for (int i = 0; i < 101; i++)
				strv_pushf(&parts, "%s\"h%d\": \"v\"", i ? ", " : "", i);
			strv_push(&parts, "}");
		} else if (!strcmp(name, "CH21")) {
			for (int i = 0; i < 21; i++)
				strv_pushf(&parts,
					   "%s{\"ChannelName\": \"c%d\", \"DataSource\": "
					   "{\"S3DataSource\": {\"S3Uri\": \"s3://b/c%d\"}}}",
					   i ? ", " : "", i, i);
		} else {
			/* not a placeholder: keep the '@' and go on after it */
			strv_push(&parts, "@");
			tmpl = at + 1;
			continue;
		}
		tmpl = end + 1;
	}
	f = open_memstream(&out, &size);
	assert_non_null(f);
	for (size_t i = 0; i < parts.n; i++)
		fputs(parts.v[i], f);
	fclose(f);
	strv_release(&parts);
	return out;
}

/* Write `tmpl` (expanded) as job.json and build a job from it plus `flags` (may be NULL). */
__attribute__((unused)) static int build_spec(struct fx *fx, const char *tmpl,
					      struct job_flags *flags, struct job *job,
					      struct strv *warnings, struct sr_error *err)
{
	_cleanup_free_ char *text = expand(tmpl, fx->dir);
	struct job_flags local;
	int r;

	write_file(fx->spec, text);
	if (!flags) {
		job_flags_init(&local);
		flags = &local;
	}
	flags->spec_path = fx->spec;
	r = job_build(flags, job, warnings, err);
	if (flags == &local)
		job_flags_release(&local);
	return r;
}

/* Build from `text` as job.json and expect an error containing `expect` (@DIR@ expanded). */
__attribute__((unused)) static void expect_spec_error(struct fx *fx, const char *text,
						      const char *expect)
{
	_cleanup_free_ char *want = expand(expect, fx->dir);
	struct job job = {0};
	struct sr_error err = {0};
	int r = build_spec(fx, text, NULL, &job, NULL, &err);

	if (r >= 0 || !strstr(err.msg, want))
		fail_msg("expected '%s', got (%d) '%s'", want, r, err.msg);
	job_release(&job);
}

#define FX_TEST(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

#endif
