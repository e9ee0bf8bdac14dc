/* recover.c - jobs whose supervisor died (SIGKILL, OOM, reboot); the lease is lease.c's.
 *
 * Every command that opens the store looks at the jobs recorded as running.  A job whose lease
 * (an flock on <folder>/supervisor.lock) is free has no supervisor any more: it is marked
 * Failed with STORE_LOST_REASON, its describe.json rewritten, and whatever is left of its
 * hosts is killed.  ns hosts die with their supervisor already (init has PDEATHSIG, and a PID
 * namespace dies with its init); process hosts' children may not, so every process whose
 * environment names the job's host trees (SAGEMAKER_BASE_DIR=<folder>/hosts/..., set for each
 * process host and stripped from everything else) and the job (TRAINING_JOB_NAME) is killed
 * through a pidfd, so a recycled pid is never signalled.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Does /proc/<pid>/environ hold `name_entry` ("NAME=value") exactly and an entry starting
 * with `prefix_entry`? */
static bool environ_has(int pid, const char *name_entry, const char *prefix_entry)
{
	char path[64];
	_cleanup_free_ char *data = NULL;
	size_t len = 0, n = strlen(name_entry), m = strlen(prefix_entry);
	bool name = false, prefix = false;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	if (fs_read_file(path, 1 << 20, &data, &len, NULL) < 0)
		return false;
	for (size_t i = 0; i < len;) {
		const char *e = data + i;
		size_t l = strnlen(e, len - i);

		if (l == n && !memcmp(e, name_entry, n))
			name = true;
		if (l >= m && !memcmp(e, prefix_entry, m))
			prefix = true;
		i += l + 1;
	}
	return name && prefix;
}

/* Kill every process left of the job's hosts; returns how many were signalled. */
static int kill_leftovers(const char *name, const char *folder)
{
	_cleanup_free_ char *needle = xasprintf("TRAINING_JOB_NAME=%s", name);
	_cleanup_free_ char *trees = xasprintf("SAGEMAKER_BASE_DIR=%s/hosts/", folder);
	DIR *d = opendir("/proc");
	struct dirent *de;
	int killed = 0;
	pid_t self = getpid();

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int fd;

		if (*end || pid <= 1 || pid == self)
			continue;
		/* The pidfd first: if the pid is recycled after this, environ_has reads the new
		 * process's environment, and the signal goes to the process that was checked. */
		fd = pidfd_open((pid_t)pid, 0);
		if (fd < 0)
			continue;
		if (environ_has((int)pid, needle, trees) &&
		    pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0)
			killed++;
		close(fd);
	}
	closedir(d);
	return killed;
}

static json_t *iso_time(int64_t ms)
{
	char buf[48];

	return json_string(clock_iso8601(ms, buf, sizeof(buf)));
}

/* The stored DescribeTrainingJob JSON, as the service would show a job that failed now. */
static char *describe_failed(const char *text, int64_t now)
{
	_cleanup_json_ json_t *d = json_loads(text ? text : "{}", 0, NULL);
	json_t *tr, *hosts, *h;
	size_t i;

	if (!d || !json_is_object(d))
		return NULL;
	hosts = json_object_get(d, "Hosts");
	json_array_foreach (hosts, i, h) {
		if (json_is_object(h) && !json_object_get(h, "EndTime")) {
			json_object_set_new(h, "State", json_string("Lost"));
			json_object_set_new(h, "EndTime", iso_time(now));
		}
	}
	json_object_set_new(d, "TrainingJobStatus", json_string("Failed"));
	json_object_set_new(d, "SecondaryStatus", json_string("Failed"));
	json_object_set_new(d, "FailureReason", json_string(STORE_LOST_REASON));
	json_object_set_new(d, "TrainingEndTime", iso_time(now));
	json_object_set_new(d, "LastModifiedTime", iso_time(now));
	tr = json_object_get(d, "SecondaryStatusTransitions");
	if (json_is_array(tr)) {
		json_t *last = json_array_get(tr, json_array_size(tr) - 1);

		if (json_is_object(last) && !json_object_get(last, "EndTime"))
			json_object_set_new(last, "EndTime", iso_time(now));
		json_array_append_new(tr, json_pack("{s:s, s:o, s:o, s:s}", "Status", "Failed",
						    "StartTime", iso_time(now), "EndTime",
						    iso_time(now), "StatusMessage",
						    "Training job failed: " STORE_LOST_REASON));
	}
	return json_dumps(d, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
}

static int mark_lost(struct store *s, const char *name, const char *folder, struct sr_error *err)
{
	int64_t now = clock_wall_ms();
	sqlite3_stmt *q = NULL;
	_cleanup_free_ char *old = NULL, *describe = NULL;
	int rc, r, seq = 0;
	bool running = false;

	r = store_begin(s, err);
	if (r < 0)
		return r;
	/* Still running?  Another command may have recovered it meanwhile. */
	rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT status IN ('InProgress', 'Stopping'), describe, (SELECT "
	    "COUNT(*) FROM transitions WHERE job = ?1) FROM jobs WHERE name = ?1",
	    -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(q) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(q, 1);

			running = sqlite3_column_int(q, 0);
			old = t ? xstrdup((const char *)t) : NULL;
			seq = sqlite3_column_int(q, 2);
		}
	}
	sqlite3_finalize(q);
	if (!running) {
		store_rollback(s);
		return 0;
	}
	describe = describe_failed(old, now);

#define RUN(sql, ...)                                                                              \
	do {                                                                                       \
		q = NULL;                                                                          \
		rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);                                 \
		if (rc == SQLITE_OK) {                                                             \
			__VA_ARGS__;                                                               \
			rc = sqlite3_step(q);                                                      \
		}                                                                                  \
		sqlite3_finalize(q);                                                               \
		if (rc != SQLITE_DONE && rc != SQLITE_OK) {                                        \
			r = store_sql_error(s, rc, "recover a lost job", err);                     \
			store_rollback(s);                                                         \
			return r;                                                                  \
		}                                                                                  \
	} while (0)

	RUN("UPDATE jobs SET status = 'Failed', secondary = 'Failed', failure_reason = ?2, "
	    "end_ms = ?3, modified_ms = ?3, describe = COALESCE(?4, describe) WHERE name = ?1",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT),
	    sqlite3_bind_text(q, 2, STORE_LOST_REASON, -1, SQLITE_STATIC),
	    sqlite3_bind_int64(q, 3, now),
	    describe ? sqlite3_bind_text(q, 4, describe, -1, SQLITE_TRANSIENT)
		     : sqlite3_bind_null(q, 4));
	RUN("UPDATE transitions SET end_ms = ?2 WHERE job = ?1 AND end_ms = 0",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int64(q, 2, now));
	RUN("INSERT INTO transitions (job, seq, secondary, message, start_ms, end_ms) VALUES (?1, "
	    "?2, 'Failed', 'Training job failed: " STORE_LOST_REASON "', ?3, ?3)",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int(q, 2, seq),
	    sqlite3_bind_int64(q, 3, now));
	RUN("UPDATE hosts SET state = 'Lost', end_ms = ?2 WHERE job = ?1 AND state != 'Exited'",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int64(q, 2, now));
	RUN("INSERT INTO events (job, time_ms, kind, message) VALUES (?1, ?2, 'recovered', "
	    "'supervisor lost; marked Failed by process ' || ?3)",
	    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT), sqlite3_bind_int64(q, 2, now),
	    sqlite3_bind_int(q, 3, (int)getpid()));
#undef RUN
	r = store_commit(s, err);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	/* The users' copy; the store already holds the truth if this fails. */
	if (describe && folder) {
		_cleanup_free_ char *path = xasprintf("%s/describe.json", folder);
		_cleanup_free_ char *withnl = xasprintf("%s\n", describe);

		if (fs_is_dir(folder))
			(void)fs_write_atomic(path, withnl, strlen(withnl), 0644, NULL);
	}
	return 1;
}

int store_recover(struct store *s, struct strv *recovered, struct sr_error *err)
{
	struct store_job_row *rows = NULL;
	size_t n = 0;
	int r = store_job_list(s, false, &rows, &n, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int t = rows[i].folder ? store_lease_probe(rows[i].folder) : -ENOENT;

		/* -EBUSY: its supervisor is alive.  Any error but a missing lock file (its
		 * folder removed by hand) says nothing about the supervisor: leave it. */
		if (t == -EBUSY || (t < 0 && t != -ENOENT))
			continue;
		r = mark_lost(s, rows[i].name, rows[i].folder, err);
		if (r < 0)
			break;
		if (r > 0) {
			if (rows[i].folder)
				kill_leftovers(rows[i].name, rows[i].folder);
			if (recovered)
				strv_push(recovered, rows[i].name);
		}
		r = 0;
	}
	for (size_t i = 0; i < n; i++)
		store_job_row_release(&rows[i]);
	free(rows);
	return r;
}
