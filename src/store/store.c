/* store.c - opening the database: WAL, pragmas, and the versioned schema with its migrations.
 *
 * The schema version lives in PRAGMA user_version.  migrations[i] takes a database from
 * version i to i+1; each runs in its own IMMEDIATE transaction together with the version
 * bump, so a crash mid-migration leaves the old version intact.  A database newer than this
 * build is refused, never downgraded: an older sagerun must not scribble on a newer schema.
 */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Writers wait this long for each other; readers never wait in WAL mode. */
#define STORE_BUSY_MS	10000
#define STORE_WAL_PAGES "100" /* see open_db */

static const char *const migrations[] = {
    /* 0 -> 1: jobs. */
    "CREATE TABLE jobs ("
    "  name TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  secondary TEXT NOT NULL,"
    "  failure_reason TEXT,"
    "  hosts INTEGER NOT NULL,"
    "  backend TEXT NOT NULL,"
    "  folder TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  start_ms INTEGER NOT NULL DEFAULT 0,"
    "  end_ms INTEGER NOT NULL DEFAULT 0,"
    "  modified_ms INTEGER NOT NULL,"
    "  describe TEXT NOT NULL"
    ");"
    "CREATE INDEX jobs_by_status ON jobs(status);",
    /* 1 -> 2: hosts, status transitions and events of each job. */
    "CREATE TABLE hosts ("
    "  job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  exit_code INTEGER,"
    "  signal INTEGER,"
    "  start_ms INTEGER NOT NULL DEFAULT 0,"
    "  end_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (job, idx)"
    ");"
    "CREATE TABLE transitions ("
    "  job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  secondary TEXT NOT NULL,"
    "  message TEXT,"
    "  start_ms INTEGER NOT NULL,"
    "  end_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (job, seq)"
    ");"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE,"
    "  time_ms INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  message TEXT NOT NULL"
    ");",
    /* 2 -> 3: where each job runs (engines/engine.h): every job so far ran here. */
    "ALTER TABLE jobs ADD COLUMN engine TEXT NOT NULL DEFAULT 'local';",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

int store_sql_error(struct store *s, int rc, const char *what, struct sr_error *err)
{
	int primary = rc & 0xff; /* extended result codes are on */
	int code = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? -EBUSY
		   : primary == SQLITE_FULL			      ? -ENOSPC
		   : rc == SQLITE_CONSTRAINT_PRIMARYKEY		      ? -EEXIST
								      : -EIO;

	return sr_err(err, code, "job store '%s': %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store_exec(struct store *s, const char *sql, struct sr_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int code = (rc & 0xff) == SQLITE_BUSY ? -EBUSY : -EIO;

		sr_err(err, code, "job store '%s': %s", s->path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return code;
	}
	return 0;
}

int store_begin(struct store *s, struct sr_error *err)
{
	return store_exec(s, "BEGIN IMMEDIATE", err);
}

int store_commit(struct store *s, struct sr_error *err)
{
	return store_exec(s, "COMMIT", err);
}

void store_rollback(struct store *s)
{
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_schema_version(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int migrate(struct store *s, int target, struct sr_error *err)
{
	int v = store_schema_version(s);

	if (v < 0)
		return sr_err(err, -EIO, "job store '%s': cannot read its schema version: %s",
			      s->path, sqlite3_errmsg(s->db));
	if (v > STORE_SCHEMA_VERSION) {
		sr_err(err, -EPROTO,
		       "job store '%s' has schema version %d, newer than this sagerun knows (%d)",
		       s->path, v, STORE_SCHEMA_VERSION);
		return sr_err_hint(err, "use the newer sagerun that wrote it, or point "
					"SAGERUN_HOME at another folder");
	}
	while (v < target) {
		_cleanup_free_ char *bump = xasprintf("PRAGMA user_version = %d", v + 1);
		int r = store_begin(s, err);

		if (r < 0)
			return sr_err_wrap(err, "migrate to schema version %d", v + 1);
		/* Another sagerun may have migrated while we waited for the write lock. */
		int now = store_schema_version(s);
		if (now != v) {
			store_rollback(s);
			if (now > STORE_SCHEMA_VERSION || now < v)
				return migrate(s, target, err);
			v = now;
			continue;
		}
		r = store_exec(s, migrations[v], err);
		if (r >= 0)
			r = store_exec(s, bump, err);
		if (r >= 0)
			r = store_commit(s, err);
		if (r < 0) {
			store_rollback(s);
			return sr_err_wrap(err, "migrate to schema version %d", v + 1);
		}
		v++;
	}
	return 0;
}

/* The database and its companions owner-only; best effort: the home is private anyway. */
static void files_private(const char *db)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		_cleanup_free_ char *path = xasprintf("%s%s", db, suffixes[i]);
		struct stat st;

		if (stat(path, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077))
			(void)chmod(path, st.st_mode & 0600);
	}
}

static int open_db(const char *home, int version, struct store **ret, struct sr_error *err)
{
	struct store *s;
	int rc, r;

	/* Every job's requests, logs and outputs are under the home: its owner's alone, as the
	 * AWS CLI keeps ~/.aws. */
	r = fs_mkdir_private(home, err);
	if (r < 0)
		return sr_err_wrap(err, "job store");
	s = xcalloc(1, sizeof(*s));
	s->home = xstrdup(home);
	s->path = xasprintf("%s/" STORE_DB_NAME, home);
	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
				 SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		sr_err(err, -EIO, "open job store '%s': %s", s->path,
		       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return -EIO;
	}
	/* SQLite makes the file with the umask's modes, and its WAL and shared memory with the
	 * file's: 0600 before they exist (an older home's files too). */
	files_private(s->path);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* Every sagerun command is a short-lived connection.  By default the last one to close
	 * checkpoints the WAL into the database and deletes it, two syncs that cost more than
	 * the whole launch of a small job; the WAL is kept instead and checkpointed as it grows,
	 * which is as safe.  Not at SQLite's 1000 pages, though: the first connection to open
	 * the database rebuilds the WAL index by reading every frame since the last checkpoint,
	 * and every sagerun command is such a first connection.  A job writes about 40 pages,
	 * so at 1000 a `sagerun ps` took 2.5 ms more (6 instead of 3.5) with a full WAL; at
	 * STORE_WAL_PAGES the checkpoint (two syncs) comes every few jobs and the rebuild stays
	 * under a quarter of a millisecond. */
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	{
		int persist = 1;

		(void)sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	}
	/* WAL: readers (ps, describe, logs -f) never block the supervisor or each other.
	 * synchronous=NORMAL: a commit survives a crash of sagerun, and the last ones may be lost
	 * only with the machine; the job itself would not survive that either. */
	r = store_exec(s,
		       "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
		       "PRAGMA wal_autocheckpoint = " STORE_WAL_PAGES "; PRAGMA foreign_keys = ON;",
		       err);
	if (r >= 0)
		r = migrate(s, version, err);
	if (r < 0) {
		store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

int store_open_at_version(const char *home, int version, struct store **ret, struct sr_error *err)
{
	if (version < 0 || version > STORE_SCHEMA_VERSION)
		return sr_err(err, -EINVAL, "no schema version %d", version);
	return open_db(home, version, ret, err);
}

int store_open(const char *home, struct store **ret, struct sr_error *err)
{
	return open_db(home, STORE_SCHEMA_VERSION, ret, err);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s->home);
	free(s->path);
	free(s);
}
