/* fuzz_hps.c - hyperparameters as the toolkit sees them: contract_py_decode() (json.loads()
 * with the raw-string fallback), contract_py_json() (json.dumps()), contract_py_str() (str())
 * and, when the input is a JSON object, contract_cmd_args() of it as hyperparameters.json.
 *
 * Beyond no crash and no leak, for input that is UTF-8 (json.loads() never sees other text):
 * - json.dumps() is ASCII and stable: dumps(loads(dumps(x))) == dumps(x) (so every float's
 *   repr reads back as the same double);
 * - str() agrees with Python where it is plain: a string is itself, a number prints as
 *   json.dumps() prints it, True/False/None;
 * - the command line is pairs: one "--key", "-k" or "" (an empty key) and one value each, keys
 *   sorted, no sagemaker_* hyperparameter among them, a string or number value as its str().
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "contract/contract.h"
#include "fuzz.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/utf8.h"
#include "util/xalloc.h"

static bool is_utf8(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = utf8_seq((const unsigned char *)s + i, n - i)))
			return false;
	return true;
}

static void check_value(const char *s, bool utf8)
{
	json_t *v = contract_py_decode(s), *v2;
	_cleanup_free_ char *dump = contract_py_json(v), *dump2 = NULL, *str = contract_py_str(v);

	FUZZ_CHECK(v && dump && str, "NULL for '%s'", s);
	for (const char *p = dump; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p <= 0x7e, "json.dumps not ASCII: %s", dump);
	if (!utf8) {
		json_decref(v);
		return;
	}
	v2 = contract_py_decode(dump);
	dump2 = contract_py_json(v2);
	FUZZ_CHECK(!strcmp(dump, dump2), "'%s': dumps %s, then %s", s, dump, dump2);
	switch (json_typeof(v)) {
	case JSON_STRING:
		FUZZ_CHECK(!strcmp(str, json_string_value(v)), "str('%s') = '%s'",
			   json_string_value(v), str);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		FUZZ_CHECK(!strcmp(str, dump), "str %s, json.dumps %s", str, dump);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		FUZZ_CHECK(!strcmp(str, json_is_true(v)	   ? "True"
					: json_is_false(v) ? "False"
							   : "None"),
			   "str() of %s: %s", dump, str);
		break;
	default:
		break;
	}
	json_decref(v2);
	json_decref(v);
}

/* Python's len(): code points. */
static size_t py_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The key of a "--key", "-k" or "" argument (keys may start with '-' themselves). */
static const char *arg_key(const char *flag)
{
	if (!*flag)
		return flag;
	FUZZ_CHECK(flag[0] == '-', "'%s' is no key", flag);
	if (py_len(flag + 1) == 1)
		return flag + 1;
	FUZZ_CHECK(flag[1] == '-' && py_len(flag + 2) > 1, "'%s' is no key", flag);
	return flag + 2;
}

/* What to_cmd_args() says of the hyperparameter `key` with the file's value `raw`. */
static void check_arg(const char *key, const json_t *raw, const char *value)
{
	json_t *v;

	FUZZ_CHECK(raw, "'%s' is none of the hyperparameters", key);
	if (!json_is_string(raw))
		return;
	v = contract_py_decode(json_string_value(raw));
	if (json_is_string(v) || json_is_number(v)) {
		_cleanup_free_ char *want = contract_py_str(v);

		FUZZ_CHECK(!strcmp(value, want), "%s: '%s', str() '%s'", key, value, want);
	}
	json_decref(v);
}

static bool is_sagemaker(const char *key)
{
	return !strncmp(key, "sagemaker_", strlen("sagemaker_"));
}

static void check_args(const char *s)
{
	struct contract_config cfg = {0};
	struct strv args = STRV_INIT;
	struct sr_error err = {0};
	size_t user = 0;
	const char *key;
	json_t *v;
	int r;

	cfg.hyperparameters = json_loads(s, 0, NULL);
	r = contract_cmd_args(&cfg, &args, &err);
	if (!json_is_object(cfg.hyperparameters)) {
		FUZZ_CHECK(r == -EINVAL && args.n == 0, "not an object: %d, %zu args", r, args.n);
		goto out;
	}
	FUZZ_CHECK(r == 0 && args.n % 2 == 0, "%d, %zu args", r, args.n);
	json_object_foreach (cfg.hyperparameters, key, v) {
		/* the toolkit's reserved names that do not start with sagemaker_ */
		if (is_sagemaker(key) || !strcmp(key, "default_user_module_name") ||
		    !strcmp(key, "_tuning_objective_metric"))
			continue;
		user++;
	}
	FUZZ_CHECK(args.n == 2 * user, "%zu args for %zu user hyperparameters", args.n, user);
	for (size_t i = 0; i < args.n; i += 2) {
		const char *k = arg_key(args.v[i]);

		FUZZ_CHECK(i == 0 || strcmp(arg_key(args.v[i - 2]), k) < 0, "'%s' after '%s'",
			   args.v[i], args.v[i - 2]);
		FUZZ_CHECK(!is_sagemaker(k), "'%s' passed on", args.v[i]);
		check_arg(k, json_object_get(cfg.hyperparameters, k), args.v[i + 1]);
	}
out:
	strv_release(&args);
	contract_config_release(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = xstrndup((const char *)data, size);

	check_value(s, is_utf8(s, strlen(s)));
	check_args(s);
	return 0;
}
