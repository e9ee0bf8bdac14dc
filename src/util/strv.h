/* strv.h - a growable NULL-terminated vector of owned strings (argv, envp, warnings). */
#ifndef SR_UTIL_STRV_H
#define SR_UTIL_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
	char **v; /* always NULL-terminated once anything was pushed; NULL when empty */
	size_t n;
	size_t cap;
};

#define STRV_INIT                                                                                  \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void strv_push(struct strv *sv, const char *s);
void strv_pushf(struct strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of `s`. */
void strv_push_take(struct strv *sv, char *s);
void strv_release(struct strv *sv);
/* For environment lists: set NAME=VALUE, replacing an earlier NAME. */
void strv_env_set(struct strv *sv, const char *name, const char *value);
/* Value of NAME in an environment list, or NULL. */
const char *strv_env_get(const struct strv *sv, const char *name);
/* Remove every NAME=... whose NAME starts with `prefix`. */
void strv_env_unset_prefix(struct strv *sv, const char *prefix);
bool strv_contains(const struct strv *sv, const char *s);
/* The strings of a NULL-terminated vector (NULL: none) joined with `sep`; caller frees. */
char *strv_join(char *const *v, const char *sep);
/* The words joined as a POSIX shell command line that reads them back as they are: plain
 * words as they are, the others in single quotes (Python's shlex.join).  Caller frees. */
char *strv_join_shell(char *const *v);

#endif
