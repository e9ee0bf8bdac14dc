/* json.c - pieces of every kind's request JSON.
 *
 * Credentials must never reach describe output, the store or logs (DESIGN.md "Secrets"), so
 * Environment entries whose name says they hold one keep their key, to show they were set,
 * with the value "(redacted)".  Keeping the key rather than dropping it tells a reader the job
 * saw credentials without telling them what they were.  The test is by name and generous: a
 * harmless value hidden costs less than a secret shown.
 */
#include "job/internal.h"

#include <jansson.h>

#include "job/job.h"
#include "util/secret.h"

#define REDACTED "(redacted)"

json_t *job_json_str(const char *s)
{
	json_t *v = json_string(s ? s : "");

	return v ? v : json_string("(not valid UTF-8)");
}

json_t *job_json_strv(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, job_json_str(sv->v[i]));
	return a;
}

json_t *job_json_map(const struct job_map *m, bool redact)
{
	json_t *o = json_object();

	for (size_t i = 0; i < m->n; i++) {
		const char *v =
		    redact && sr_name_is_credential(m->items[i].key) ? REDACTED : m->items[i].value;

		json_object_set_new(o, m->items[i].key, job_json_str(v));
	}
	return o;
}
