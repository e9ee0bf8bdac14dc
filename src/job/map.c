/* map.c - struct job_map: a small ordered string map.  Jobs hold at most 100 entries per map
 * (the service's limit), so a linear search beats a hash table on both code and speed. */
#include "job/job.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static struct job_kv *map_find(const struct job_map *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->items[i].key, key))
			return &m->items[i];
	return NULL;
}

void job_map_set(struct job_map *m, const char *key, const char *value)
{
	struct job_kv *kv = map_find(m, key);

	if (kv) {
		/* copy first: `value` may point into the entry being replaced */
		char *v = xstrdup(value);

		free(kv->value);
		kv->value = v;
		return;
	}
	xgrow(&m->items, &m->cap, m->n + 1, sizeof(*m->items));
	m->items[m->n].key = xstrdup(key);
	m->items[m->n].value = xstrdup(value);
	m->n++;
}

const char *job_map_get(const struct job_map *m, const char *key)
{
	struct job_kv *kv = map_find(m, key);

	return kv ? kv->value : NULL;
}

void job_map_release(struct job_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].key);
		free(m->items[i].value);
	}
	free(m->items);
	m->items = NULL;
	m->n = m->cap = 0;
}
