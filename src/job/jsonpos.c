#include "job/jsonpos.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

/* Keys longer than this are shortened in paths: a 300-character hyperparameter name would
 * otherwise drown the message about it. */
#define PATH_KEY_SHOWN 40

void jsonpos_push_key(struct jsonpos_path *path, const char *key)
{
	if (path->n >= JSONPOS_DEPTH_MAX)
		abort(); /* a bug: the modelled objects are never this deep */
	path->seg[path->n].key = key;
	path->seg[path->n].index = 0;
	path->n++;
}

void jsonpos_push_index(struct jsonpos_path *path, size_t index)
{
	if (path->n >= JSONPOS_DEPTH_MAX)
		abort();
	path->seg[path->n].key = NULL;
	path->seg[path->n].index = index;
	path->n++;
}

void jsonpos_pop(struct jsonpos_path *path)
{
	if (path->n > 0)
		path->n--;
}

struct lex {
	const char *p;
	const char *end;
};

/* The next byte, or -1 at the end (the text may hold a NUL only if it is invalid JSON). */
static int peek(const struct lex *l)
{
	return l->p < l->end ? (unsigned char)*l->p : -1;
}

static void skip_ws(struct lex *l)
{
	for (int c = peek(l); c == ' ' || c == '\t' || c == '\r' || c == '\n'; c = peek(l))
		l->p++;
}

static bool skip_string(struct lex *l)
{
	l->p++; /* the opening quote */
	while (l->p < l->end) {
		char c = *l->p++;

		if (c == '\\') {
			if (l->p >= l->end)
				return false;
			l->p++;
		} else if (c == '"') {
			return true;
		}
	}
	return false;
}

/* Skip one value of any kind.  Containers are skipped by counting brackets (strings aside),
 * without recursion: jansson has already checked that they are well formed. */
static bool skip_value(struct lex *l)
{
	int c, depth = 0;
	const char *start;

	skip_ws(l);
	c = peek(l);
	if (c == '"')
		return skip_string(l);
	if (c == '{' || c == '[') {
		while ((c = peek(l)) >= 0) {
			if (c == '"') {
				if (!skip_string(l))
					return false;
				continue;
			}
			l->p++;
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return true;
		}
		return false;
	}
	/* number, true, false or null: runs to the next delimiter */
	start = l->p;
	while ((c = peek(l)) >= 0 && !strchr(",:]} \t\r\n", c))
		l->p++;
	return l->p > start;
}

static int hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* Decode the string at l->p (on its opening quote) so that keys written with escapes
 * ("Channel\u004eame") still match.  Returns NULL on malformed text. */
static char *read_string(struct lex *l)
{
	const char *s = l->p + 1;
	_cleanup_free_ char *out = NULL;
	char *o;

	if (!skip_string(l))
		return NULL;
	/* Decoding never makes a string longer than its escaped form. */
	out = xmalloc((size_t)(l->p - s) + 1);
	o = out;
	while (s < l->p - 1) {
		int cp;

		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s++) {
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (l->p - 1 - s < 4 || (cp = hex4(s)) < 0)
				return NULL;
			s += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && l->p - 1 - s >= 6 && s[0] == '\\' &&
			    s[1] == 'u') {
				int lo = hex4(s + 2);

				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					s += 6;
				}
			}
			o = put_utf8(o, (unsigned)cp);
			break;
		default: /* '"', '\\', '/' */
			*o++ = s[-1];
			break;
		}
	}
	*o = '\0';
	return TAKE_PTR(out);
}

static void line_col(const char *text, const char *pos, int *ret_line, int *ret_col)
{
	int line = 1, col = 1;

	for (const char *s = text; s < pos; s++) {
		if (*s == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)*s & 0xC0) != 0x80) {
			col++; /* count characters, not UTF-8 continuation bytes */
		}
	}
	*ret_line = line;
	*ret_col = col;
}

/* Move l onto the member `key` of the object at l->p; *ret_key gets where its key starts. */
static int enter_member(struct lex *l, const char *key, const char **ret_key)
{
	if (peek(l) != '{')
		return -ENOENT;
	l->p++;
	for (;;) {
		const char *at;
		_cleanup_free_ char *k = NULL;

		skip_ws(l);
		if (peek(l) != '"')
			return -ENOENT;
		at = l->p;
		k = read_string(l);
		if (!k)
			return -ENOENT;
		skip_ws(l);
		if (peek(l) != ':')
			return -ENOENT;
		l->p++;
		skip_ws(l);
		if (!strcmp(k, key)) {
			*ret_key = at;
			return 0;
		}
		if (!skip_value(l))
			return -ENOENT;
		skip_ws(l);
		if (peek(l) != ',')
			return -ENOENT;
		l->p++;
	}
}

static int enter_item(struct lex *l, size_t index)
{
	if (peek(l) != '[')
		return -ENOENT;
	l->p++;
	for (size_t i = 0; i < index; i++) {
		skip_ws(l);
		if (peek(l) == ']' || !skip_value(l))
			return -ENOENT;
		skip_ws(l);
		if (peek(l) != ',')
			return -ENOENT;
		l->p++;
	}
	skip_ws(l);
	return peek(l) == ']' ? -ENOENT : 0;
}

int jsonpos_find(const char *text, size_t len, const struct jsonpos_path *path,
		 enum jsonpos_what what, int *ret_line, int *ret_col)
{
	struct lex l = {text, text + len};
	const char *key_at = NULL;

	skip_ws(&l);
	for (size_t i = 0; i < path->n; i++) {
		const struct jsonpos_seg *seg = &path->seg[i];
		int r;

		key_at = NULL;
		r = seg->key ? enter_member(&l, seg->key, &key_at) : enter_item(&l, seg->index);
		if (r < 0)
			return r;
		skip_ws(&l);
	}
	if (l.p >= l.end)
		return -ENOENT;
	line_col(text, what == JSONPOS_KEY && key_at ? key_at : l.p, ret_line, ret_col);
	return 0;
}

static bool plain_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *s))
			return false;
	return true;
}

char *jsonpos_path_str(const struct jsonpos_path *path)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return xstrdup("");
	for (size_t i = 0; i < path->n; i++) {
		const char *key = path->seg[i].key;
		_cleanup_free_ char *shown = NULL;
		bool plain;

		if (!key) {
			fprintf(f, "[%zu]", path->seg[i].index);
			continue;
		}
		plain = plain_word(key);
		if (strlen(key) > PATH_KEY_SHOWN) {
			int cut = PATH_KEY_SHOWN - 3;

			/* do not cut a UTF-8 character in half */
			while (cut > 0 && ((unsigned char)key[cut] & 0xC0) == 0x80)
				cut--;
			shown = xasprintf("%.*s...", cut, key);
			key = shown;
		}
		if (plain) {
			fprintf(f, "%s%s", i ? "." : "", key);
		} else {
			json_t *s = json_string(key);
			char *q = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;

			fprintf(f, "[%s]", q ? q : "\"?\"");
			free(q);
			json_decref(s);
		}
	}
	fclose(f);
	return buf ? buf : xstrdup("");
}

char *jsonpos_where(const char *text, size_t len, const char *origin,
		    const struct jsonpos_path *path, enum jsonpos_what what)
{
	_cleanup_free_ char *p = jsonpos_path_str(path);
	int line, col;

	if (jsonpos_find(text, len, path, what, &line, &col) < 0)
		return *p ? xasprintf("%s: %s", origin, p) : xstrdup(origin);
	if (!*p)
		return xasprintf("%s:%d:%d", origin, line, col);
	return xasprintf("%s:%d:%d: %s", origin, line, col, p);
}
