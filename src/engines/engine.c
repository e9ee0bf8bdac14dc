/* engine.c - the engine table and what every command does before it asks one. */
#include "engines/engine.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "job/report.h"
#include "store/store.h"
#include "util/error.h"

static const struct engine *const engines[] = {
    &engine_local,
    &engine_sagemaker,
};

const struct engine *engine_at(size_t i)
{
	return i < sizeof(engines) / sizeof(engines[0]) ? engines[i] : NULL;
}

void engine_jobs_refresh(struct store *s, const struct job_report *rep)
{
	struct store_job_row *rows = NULL;
	size_t n = 0;

	if (store_job_list(s, false, &rows, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct engine *e = engine_find(rows[i].engine);
		struct sr_error err = {0};

		if (e && e->refresh && e->refresh(s, &rows[i], rep, &err) < 0)
			job_say_error(rep, JOB_SAY_WARNING, rows[i].name, &err);
		store_job_row_release(&rows[i]);
	}
	free(rows);
}

const struct engine *engine_find(const char *name)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (name && !strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

const struct engine *engine_of(const struct store_job_row *row, struct sr_error *err)
{
	const char *name = row->engine ? row->engine : "local";
	const struct engine *e = engine_find(name);

	if (!e) {
		sr_err(err, -ENOSYS, "job '%s' runs on the %s engine, which this sagerun lacks",
		       row->name, name);
		sr_err_hint(err, "use the sagerun that started it");
	}
	return e;
}

int engine_store_open(struct store **ret, const struct job_report *rep, struct sr_error *err)
{
	/* Only local jobs can lose their supervisor: a remote engine's jobs go on where they
	 * run, whoever watches. */
	return launch_store_open(ret, rep, err);
}

int engine_job_get(const char *name, struct store_job_row *row, char **ret_describe,
		   const struct job_report *rep, struct sr_error *err)
{
	struct store *s = NULL;
	int r = engine_store_open(&s, rep, err);

	if (r < 0)
		return r;
	r = store_job_get(s, name, row, ret_describe, err);
	store_close(s);
	return r;
}

int engine_job_open(const char *name, struct store_job_row *row, const struct engine **ret,
		    const struct job_report *rep, struct sr_error *err)
{
	int r = engine_job_get(name, row, NULL, rep, err);

	if (r < 0)
		return r;
	*ret = engine_of(row, err);
	if (!*ret) {
		store_job_row_release(row);
		return -ENOSYS;
	}
	return 0;
}

int engine_job_wait(const char *name, struct store_job_row *final, const struct job_report *rep,
		    struct sr_error *err)
{
	struct store_job_row row = {0};
	const struct engine *e;
	int r = engine_job_open(name, &row, &e, rep, err);

	if (r < 0)
		return r;
	r = e->watch(&row, rep, err);
	store_job_row_release(&row);
	/* Read again once it ended: a watcher that died is recovered on the way. */
	return r < 0 ? r : engine_job_get(name, final, NULL, rep, err);
}
