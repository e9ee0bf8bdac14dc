/* internal.h - what the store's files share; not for other modules. */
#ifndef SR_STORE_INTERNAL_H
#define SR_STORE_INTERNAL_H

#include <sqlite3.h>

struct sr_error;
struct strv;

struct store {
	sqlite3 *db;
	char *home;
	char *path; /* the database file, for messages */
};

/* An error from SQLite's last call on s->db, as "job store '<path>': <what>: <sqlite's
 * words>"; returns a negative errno (-EBUSY, -ENOSPC, -EEXIST for a constraint, else -EIO). */
int store_sql_error(struct store *s, int rc, const char *what, struct sr_error *err);

int store_exec(struct store *s, const char *sql, struct sr_error *err);
int store_begin(struct store *s, struct sr_error *err); /* BEGIN IMMEDIATE */
int store_commit(struct store *s, struct sr_error *err);
void store_rollback(struct store *s);

/* lease.c: probe the lease of `folder` (a shared lock, taken and dropped): 0 when nobody
 * holds it, -EBUSY when a live supervisor does, another negative errno when the lock file
 * cannot be opened (-ENOENT: there is none). */
int store_lease_probe(const char *folder);

#endif
