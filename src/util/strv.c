#include "util/strv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void strv_push_take(struct strv *sv, char *s)
{
	xgrow(&sv->v, &sv->cap, sv->n + 2, sizeof(char *));
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_take(sv, xstrdup(s));
}

void strv_pushf(struct strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	strv_push_take(sv, p ? p : xstrdup(""));
}

void strv_release(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

static ssize_t env_find(const struct strv *sv, const char *name, size_t len)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strncmp(sv->v[i], name, len) && sv->v[i][len] == '=')
			return (ssize_t)i;
	return -1;
}

void strv_env_set(struct strv *sv, const char *name, const char *value)
{
	ssize_t i = env_find(sv, name, strlen(name));
	char *entry = xasprintf("%s=%s", name, value);

	if (i >= 0) {
		free(sv->v[i]);
		sv->v[i] = entry;
	} else {
		strv_push_take(sv, entry);
	}
}

const char *strv_env_get(const struct strv *sv, const char *name)
{
	size_t len = strlen(name);
	ssize_t i = env_find(sv, name, len);

	return i >= 0 ? sv->v[i] + len + 1 : NULL;
}

void strv_env_unset_prefix(struct strv *sv, const char *prefix)
{
	size_t len = strlen(prefix), j = 0;

	for (size_t i = 0; i < sv->n; i++) {
		if (!strncmp(sv->v[i], prefix, len))
			free(sv->v[i]);
		else
			sv->v[j++] = sv->v[i];
	}
	sv->n = j;
	if (sv->v)
		sv->v[j] = NULL;
}

bool strv_contains(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

/* A word a POSIX shell reads as itself, unquoted. */
static bool shell_plain(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (!isalnum((unsigned char)*w) && !strchr("@%+=:,./_-", *w))
			return false;
	return true;
}

char *strv_join_shell(char *const *v)
{
	size_t len = 1;
	char *s, *o;

	/* Each word at most quoted whole, each quote in it four bytes, and a space after. */
	for (size_t i = 0; v && v[i]; i++)
		len += 4 * strlen(v[i]) + 3;
	s = o = xmalloc(len);
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			*o++ = ' ';
		if (shell_plain(v[i])) {
			o = stpcpy(o, v[i]);
			continue;
		}
		/* 'it'\''s': single quotes hold everything but a single quote. */
		*o++ = '\'';
		for (const char *c = v[i]; *c; c++)
			o = *c == '\'' ? stpcpy(o, "'\\''") : (*o = *c, o + 1);
		*o++ = '\'';
	}
	*o = '\0';
	return s;
}

char *strv_join(char *const *v, const char *sep)
{
	size_t len = 1, n = 0;
	char *s, *o;

	for (; v && v[n]; n++)
		len += strlen(v[n]) + strlen(sep);
	s = o = xmalloc(len);
	*o = '\0';
	for (size_t i = 0; i < n; i++)
		o = stpcpy(stpcpy(o, i ? sep : ""), v[i]);
	return s;
}
