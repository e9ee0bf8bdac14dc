/* hps.c - the hyperparameters as the toolkit sees them: decoded, split into the user's and the
 * sagemaker_* ones (reference §2.2), and turned into command-line arguments (§2.4).
 */
#include "contract/contract.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* params.SAGEMAKER_HYPERPARAMETERS: removed from the user's hyperparameters and not passed on
 * as framework parameters either. */
static const char *const reserved_hps[] = {
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "default_user_module_name",
    "_tuning_objective_metric",
    "sagemaker_s3_output",
};

static bool is_reserved(const char *key)
{
	for (size_t i = 0; i < N_ELEMS(reserved_hps); i++)
		if (!strcmp(key, reserved_hps[i]))
			return true;
	return false;
}

bool contract_hp_is_sagemaker(const char *key)
{
	return !strncmp(key, "sagemaker_", strlen("sagemaker_")) || is_reserved(key);
}

json_t *contract_decode_hps(const json_t *file)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;

	if (!json_is_object(file))
		return out;
	for (void *it = json_object_iter((json_t *)file); it;
	     it = json_object_iter_next((json_t *)file, it)) {
		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		json_object_set_new(out, key,
				    json_is_string(v) ? contract_py_decode(json_string_value(v))
						      : json_incref(v));
	}
	return out;
}

json_t *contract_hp(const struct contract_config *cfg, const char *name)
{
	json_t *v = json_object_get(cfg->hyperparameters, name);

	return !v		   ? NULL
	       : json_is_string(v) ? contract_py_decode(json_string_value(v))
				   : json_incref(v);
}

/* mapping.split_by_criteria(): user hyperparameters, the sagemaker ones, and the sagemaker
 * ones the toolkit has no name for (additional_framework_parameters). */
void contract_hps_split(const struct contract_config *cfg, struct contract_hps *s)
{
	_cleanup_json_ json_t *all = contract_decode_hps(cfg->hyperparameters);
	const char *key;
	json_t *v;

	s->user = json_object();
	s->sagemaker = json_object();
	s->framework = json_object();
	for (void *it = json_object_iter(all); it; it = json_object_iter_next(all, it)) {
		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		if (!contract_hp_is_sagemaker(key)) {
			json_object_set(s->user, key, v);
			continue;
		}
		json_object_set(s->sagemaker, key, v);
		if (!is_reserved(key))
			json_object_set(s->framework, key, v);
	}
}

void contract_hps_release(struct contract_hps *s)
{
	json_decref(s->user);
	json_decref(s->sagemaker);
	json_decref(s->framework);
}

/* Python len() of a UTF-8 string: code points, not bytes. */
static size_t py_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of `o` in Python's sorted() order (code points, i.e. UTF-8 bytes); caller frees the
 * array, the keys are borrowed from `o`. */
const char **contract_sorted_keys(json_t *o, size_t *ret_n)
{
	size_t n = json_object_size(o), i = 0;
	const char **keys = xcalloc(n + 1, sizeof(*keys));

	for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
		keys[i++] = json_object_iter_key(it);
	qsort(keys, n, sizeof(*keys), key_cmp);
	*ret_n = n;
	return keys;
}

/* mapping.to_cmd_args() value: None -> "", dict -> "k=v,k2=v2" sorted, else str(). */
static char *arg_value(json_t *v)
{
	struct contract_buf b = {0};
	_cleanup_free_ const char **keys = NULL;
	size_t n;

	if (json_is_null(v))
		return xstrdup("");
	if (!contract_py_is_dict(v))
		return contract_py_str(v);
	keys = contract_sorted_keys(v, &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *s = contract_py_str(json_object_get(v, keys[i]));

		contract_buf_addf(&b, "%s%s=%s", i ? "," : "", keys[i], s);
	}
	return contract_buf_take(&b);
}

void contract_user_args(json_t *user, struct strv *args)
{
	_cleanup_free_ const char **keys = NULL;
	size_t n;

	keys = contract_sorted_keys(user, &n);
	for (size_t i = 0; i < n; i++) {
		size_t len = py_len(keys[i]);

		/* always two items, never --key=value; "" for an empty key */
		if (len == 0)
			strv_push(args, "");
		else
			strv_pushf(args, "%s%s", len > 1 ? "--" : "-", keys[i]);
		strv_push_take(args, arg_value(json_object_get(user, keys[i])));
	}
}

int contract_cmd_args(const struct contract_config *cfg, struct strv *args, struct sr_error *err)
{
	struct contract_hps s;

	if (!json_is_object(cfg->hyperparameters))
		return sr_err(err, -EINVAL, "hyperparameters.json: expected a JSON object");
	contract_hps_split(cfg, &s);
	contract_user_args(s.user, args);
	contract_hps_release(&s);
	return 0;
}
