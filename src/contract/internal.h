/* internal.h - private declarations shared by the contract/ files; never included from outside. */
#ifndef SR_CONTRACT_INTERNAL_H
#define SR_CONTRACT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct contract_config;
struct strv;

/* A growable string; the functions that fill it cannot fail (xalloc). */
struct contract_buf {
	char *p; /* NUL-terminated once anything was appended; NULL when empty */
	size_t n;
	size_t cap;
};

void contract_buf_add(struct contract_buf *b, const char *s, size_t len);
void contract_buf_adds(struct contract_buf *b, const char *s);
void contract_buf_addf(struct contract_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hand the string out (never NULL: "" when empty) and reset the buffer. */
char *contract_buf_take(struct contract_buf *b);

/* Stand-ins for decoded values jansson cannot hold (pydecode.c): a one-key object whose key
 * starts with NUL, the payload a string. */
#define MARK_NONFINITE	   "\0sagerun:nonfinite" /* payload: "NaN" | "Infinity" | "-Infinity" */
#define MARK_NONFINITE_LEN (sizeof(MARK_NONFINITE) - 1)
#define MARK_BIGINT	   "\0sagerun:bigint" /* payload: the integer's digits */
#define MARK_BIGINT_LEN	   (sizeof(MARK_BIGINT) - 1)

/* Python json.dumps() of `v` into `b`: ensure_ascii always; CONTRACT_JSON_SORT is
 * sort_keys=True; CONTRACT_JSON_SPACED uses the default separators (", ", ": ") instead of the
 * compact (",", ":"). */
enum contract_json_flags {
	CONTRACT_JSON_SORT = 1 << 0,
	CONTRACT_JSON_SPACED = 1 << 1,
};
void contract_json_dump(struct contract_buf *b, const json_t *v, unsigned flags);

/* True when the decoded value is a dict (not one of pyfmt.c's stand-ins for nan, inf and big
 * integers, which are objects too). */
bool contract_py_is_dict(const json_t *v);

/* Python truthiness of a decoded value (bool(v)); NULL (absent) is false. */
bool contract_py_truthy(const json_t *v);

/* ["algo-1", ..., "algo-<n>"] sorted as the service sorts them (algo-10 before algo-2).  New
 * reference. */
json_t *contract_sorted_hosts(int n);

/* "<base>/<rel>" as os.path.join(base, rel) builds it (no doubled slash); caller frees. */
char *contract_path(const char *base, const char *rel);

/* The hyperparameters file with every string value json.loads()ed (raw string on failure), in
 * file order; non-string values are kept as they are, as the toolkit's TypeError fallback
 * does.  New reference. */
json_t *contract_decode_hps(const json_t *file);

/* True when `key` is removed from the user hyperparameters (a sagemaker_* key or one of the
 * toolkit's reserved names). */
bool contract_hp_is_sagemaker(const char *key);

/* mapping.split_by_criteria() of the decoded hyperparameters: the user's (SM_HPS), every
 * sagemaker one, and those of them the toolkit has no name for (additional_framework_parameters).
 * Values are shared with the config (json_incref). */
struct contract_hps {
	json_t *user;
	json_t *sagemaker;
	json_t *framework;
};

void contract_hps_split(const struct contract_config *cfg, struct contract_hps *s);
void contract_hps_release(struct contract_hps *s);

/* mapping.to_cmd_args() of the user hyperparameters, appended to `args`. */
void contract_user_args(json_t *user, struct strv *args);

/* The keys of `o` in Python's sorted() order (code points, i.e. UTF-8 bytes); the caller frees
 * the array, the keys are borrowed from `o`. */
const char **contract_sorted_keys(json_t *o, size_t *ret_n);

#endif
