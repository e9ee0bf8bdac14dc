/* Unit tests for store/: schema and migrations, job rows, the supervisor's lease, recovery of
 * jobs whose supervisor is gone.  A real SQLite database in a temp folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/job.h"
#include "job/status.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct fx {
	char home[64];
	struct job job;
	struct job_status st;
};

static int fx_setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct job_flags f;
	struct sr_error err = {0};
	char *cmd[] = {"true", NULL};

	strcpy(fx->home, "/tmp/sr-test-store-XXXXXX");
	if (!mkdtemp(fx->home))
		return -1;
	job_flags_init(&f);
	f.name = "job-a";
	f.hosts = 2;
	f.output = fx->home;
	f.command = cmd;
	f.n_command = 1;
	if (job_build(&f, &fx->job, NULL, &err) < 0) {
		print_error("job_build: %s\n", err.msg);
		return -1;
	}
	job_flags_release(&f);
	job_status_init(&fx->st, fx->job.kind, 2, clock_wall_ms());
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	fs_rm_rf(fx->home, NULL);
	job_status_release(&fx->st);
	job_release(&fx->job);
	free(fx);
	return 0;
}

static char *folder_of(struct fx *fx, const char *name)
{
	char *dir = xasprintf("%s/jobs/%s", fx->home, name);

	assert_int_equal(fs_mkdir_p(dir, 0755, NULL), 0);
	return dir;
}

static int insert(struct fx *fx, struct store *s, const char *name, const char *folder,
		  struct sr_error *err)
{
	struct store_job_rec rec = {
	    .name = name, .engine = "local", .backend = "process", .folder = folder};
	char *saved = fx->job.name;
	int r;

	fx->job.name = (char *)name;
	r = store_job_insert(s, &rec, &fx->job, &fx->st, err);
	fx->job.name = saved;
	return r;
}

static void test_open_creates_schema(void **state)
{
	struct fx *fx = *state;
	struct store *s = NULL;
	struct sr_error err = {0};
	_cleanup_free_ char *db = xasprintf("%s/sagerun.db", fx->home);

	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	assert_true(fs_exists(db));
	store_close(s);
	/* Opening again changes nothing. */
	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	store_close(s);
}

static void test_migrates_old_database(void **state)
{
	struct fx *fx = *state;
	struct store *s = NULL;
	struct sr_error err = {0};
	struct store_job_row row = {0};
	_cleanup_free_ char *folder = folder_of(fx, "old-job");
	_cleanup_free_ char *db = xasprintf("%s/sagerun.db", fx->home);
	_cleanup_free_ char *describe = NULL;
	sqlite3 *raw;

	/* A version-1 database with a finished job in it, as an older sagerun left it. */
	assert_int_equal(store_open_at_version(fx->home, 1, &s, &err), 0);
	assert_int_equal(store_schema_version(s), 1);
	store_close(s);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(raw,
			 "INSERT INTO jobs VALUES ('old-job', 'training', 'Completed', "
			 "'Completed', NULL, 3, 'process', '/x', 1000, 2000, 3000, 3000, "
			 "'{\"TrainingJobName\": \"old-job\"}')",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(raw);

	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_job_get(s, "old-job", &row, &describe, &err), 0);
	assert_string_equal(row.status, "Completed");
	assert_int_equal(row.hosts, 3);
	assert_string_equal(describe, "{\"TrainingJobName\": \"old-job\"}");
	store_job_row_release(&row);
	/* The new tables are there and usable. */
	assert_int_equal(insert(fx, s, "new-job", folder, &err), 0);
	store_close(s);
}

static void test_refuses_newer_database(void **state)
{
	struct fx *fx = *state;
	struct store *s = NULL;
	struct sr_error err = {0};
	_cleanup_free_ char *db = xasprintf("%s/sagerun.db", fx->home);
	sqlite3 *raw;

	assert_int_equal(store_open(fx->home, &s, &err), 0);
	store_close(s);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(store_open(fx->home, &s, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "schema version 99, newer than this sagerun knows"));
	assert_non_null(strstr(err.msg, db));
	assert_non_null(strstr(err.hint, "SAGERUN_HOME"));
}

static void test_insert_update_list(void **state)
{
	struct fx *fx = *state;
	struct store *s = NULL;
	struct sr_error err = {0};
	struct store_job_row *rows = NULL, row = {0};
	_cleanup_free_ char *folder = folder_of(fx, "job-a");
	_cleanup_free_ char *describe = NULL;
	size_t n = 0;

	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(insert(fx, s, "job-a", folder, &err), 0);

	/* Names are unique, as on the service. */
	assert_int_equal(insert(fx, s, "job-a", folder, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "a job named 'job-a' is already recorded"));
	assert_non_null(strstr(err.hint, "sagerun rm job-a"));

	assert_int_equal(store_job_list(s, false, &rows, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].status, "InProgress");
	assert_string_equal(rows[0].secondary, "Starting");
	store_job_row_release(&rows[0]);
	free(rows);

	job_status_set(&fx->st, JOB_IN_PROGRESS, SEC_RUNNING, "Training", clock_wall_ms());
	fx->st.hosts[1].started = 1;
	fx->st.hosts[1].exited = 1;
	fx->st.hosts[1].exit_code = 3;
	job_status_set_failure(&fx->st, "AlgorithmError: algo-2 exited with code 3");
	job_status_set(&fx->st, JOB_FAILED, SEC_FAILED, "Training job failed", clock_wall_ms());
	assert_int_equal(store_job_update(s, &fx->job, &fx->st, &err), 0);

	/* Finished jobs leave `ps` and stay in `ps -a`. */
	assert_int_equal(store_job_list(s, false, &rows, &n, &err), 0);
	assert_int_equal(n, 0);
	free(rows);
	assert_int_equal(store_job_list(s, true, &rows, &n, &err), 0);
	assert_int_equal(n, 1);
	store_job_row_release(&rows[0]);
	free(rows);

	assert_int_equal(store_job_get(s, "job-a", &row, &describe, &err), 0);
	assert_string_equal(row.status, "Failed");
	assert_string_equal(row.failure_reason, "AlgorithmError: algo-2 exited with code 3");
	assert_non_null(strstr(describe, "\"TrainingJobStatus\": \"Failed\""));
	assert_non_null(strstr(describe, "\"ExitCode\": 3"));
	store_job_row_release(&row);

	assert_int_equal(store_job_get(s, "nope", &row, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no job named 'nope'"));
	store_close(s);
}

static void test_lease(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *folder = folder_of(fx, "leased");
	struct sr_error err = {0};
	int fd = -1, fd2 = -1;

	assert_false(store_lease_held(folder));
	assert_int_equal(store_lease_take(folder, &fd, &err), 0);
	assert_true(store_lease_held(folder));
	assert_int_equal(store_lease_take(folder, &fd2, &err), -EBUSY);
	close(fd);
	assert_false(store_lease_held(folder));
}

/* A job recorded as running: recovered when nobody holds its lease, left alone when a live
 * process does (here a child, killed with SIGKILL as a supervisor would be). */
static void test_recovery(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *alive = folder_of(fx, "alive"), *lost = folder_of(fx, "lost");
	_cleanup_free_ char *describe = NULL, *describe_json = NULL;
	struct store_job_row *recovered = NULL;
	size_t n_recovered = 0;
	struct store *s = NULL;
	struct sr_error err = {0};
	struct store_job_row row = {0};
	int lease = -1, pipefd[2], status;
	char c;
	pid_t pid;

	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(insert(fx, s, "alive", alive, &err), 0);
	assert_int_equal(insert(fx, s, "lost", lost, &err), 0);
	store_close(s);

	assert_int_equal(store_lease_take(alive, &lease, &err), 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = -1;

		close(pipefd[0]);
		if (store_lease_take(lost, &fd, NULL) < 0)
			_exit(1);
		(void)!write(pipefd[1], "x", 1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);

	/* Both supervisors alive: nothing recovered. */
	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(store_recover(s, &recovered, &n_recovered, &err), 0);
	assert_int_equal(n_recovered, 0);
	store_close(s);

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(store_recover(s, &recovered, &n_recovered, &err), 0);
	assert_int_equal(n_recovered, 1);
	assert_string_equal(recovered[0].name, "lost");
	assert_string_equal(recovered[0].folder, lost); /* for its backend's leftovers */
	store_job_row_release(&recovered[0]);
	free(recovered);
	assert_int_equal(store_job_get(s, "lost", &row, &describe, &err), 0);
	assert_string_equal(row.status, "Failed");
	assert_string_equal(row.failure_reason, STORE_LOST_REASON);
	assert_true(row.end_ms > 0);
	assert_non_null(strstr(describe, "\"FailureReason\": \"" STORE_LOST_REASON "\""));
	assert_non_null(strstr(describe, "\"State\": \"Lost\""));
	store_job_row_release(&row);
	assert_int_equal(store_job_get(s, "alive", &row, NULL, &err), 0);
	assert_string_equal(row.status, "InProgress");
	store_job_row_release(&row);
	store_close(s);

	/* describe.json in the folder says the same. */
	{
		_cleanup_free_ char *path = xasprintf("%s/describe.json", lost);

		assert_int_equal(fs_read_file(path, 1 << 20, &describe_json, NULL, &err), 0);
		assert_non_null(strstr(describe_json, STORE_LOST_REASON));
	}

	/* Recovered once only. */
	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(store_recover(s, &recovered, &n_recovered, &err), 0);
	assert_int_equal(n_recovered, 0);
	assert_null(recovered);
	store_close(s);
	close(lease);
}

/* A supervisor that wrote its end into describe.json but not into the store (a full disk),
 * then went: the end recorded is the job's own, not "supervisor lost". */
static void test_recovery_from_describe(void **state)
{
	struct fx *fx = *state;
	_cleanup_free_ char *folder = folder_of(fx, "ended");
	_cleanup_free_ char *path = xasprintf("%s/describe.json", folder);
	_cleanup_free_ char *describe = NULL;
	struct store_job_row *recovered = NULL;
	struct store_job_row row = {0};
	struct store *s = NULL;
	struct sr_error err = {0};
	size_t n = 0;
	const char *json = "{\"TrainingJobName\": \"ended\", \"TrainingJobStatus\": \"Completed\", "
			   "\"SecondaryStatus\": \"Completed\"}\n";

	assert_int_equal(store_open(fx->home, &s, &err), 0);
	assert_int_equal(insert(fx, s, "ended", folder, &err), 0);
	assert_int_equal(fs_write_atomic(path, json, strlen(json), 0600, &err), 0);
	assert_int_equal(store_recover(s, &recovered, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(recovered[0].status, "Completed");
	assert_null(recovered[0].failure_reason);
	store_job_row_release(&recovered[0]);
	free(recovered);
	assert_int_equal(store_job_get(s, "ended", &row, &describe, &err), 0);
	assert_string_equal(row.status, "Completed");
	assert_string_equal(row.secondary, "Completed");
	assert_null(row.failure_reason);
	assert_true(row.end_ms > 0);
	assert_non_null(strstr(describe, "\"TrainingJobStatus\": \"Completed\""));
	store_job_row_release(&row);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_creates_schema, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_migrates_old_database, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_newer_database, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_insert_update_list, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lease, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_recovery, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_recovery_from_describe, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
