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

/* lease.c: take the lease of `folder` if nobody holds it.  0 and *ret_fd holding it; -EBUSY
 * when a live process holds it; another negative errno when there is no lease file. */
int store_lease_try(const char *folder, int *ret_fd);

/* recover.c: the jobs whose supervisor is gone. */
int store_recover(struct store *s, struct strv *recovered, struct sr_error *err);

#endif
