/* pydecode.c - json.loads() with the toolkit's fallback to the raw string.
 *
 * jansson cannot hold what json.loads() also accepts, at the top level or inside a list or an
 * object: NaN, Infinity, -Infinity, numbers past double range and integers past 64 bits.  Such
 * a document is parsed here (decode_python), and those values are kept as a one-key
 * object whose key starts with a NUL byte (which no parsed document can contain: jansson
 * refuses NUL in keys), and pyfmt.c prints them as Python would.  json_deep_copy() drops such
 * keys: share decoded values with json_incref() instead.
 */
#include "contract/contract.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "contract/internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static json_t *marker_new(const char *key, size_t key_len, const char *payload)
{
	json_t *o = json_object();

	json_object_setn_new(o, key, key_len, json_string(payload));
	return o;
}

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of a JSON number at s (the whole of it), 0 when s is not one; *ret_integer says
 * whether it has neither fraction nor exponent. */
static size_t json_number_len(const char *s, bool *ret_integer)
{
	const char *p = s;

	*ret_integer = true;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (*p == '.') {
		*ret_integer = false;
		if (!(*++p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		*ret_integer = false;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return (size_t)(p - s);
}

/* json.loads()'s own parser for the documents jansson refuses, so that NaN, Infinity,
 * -Infinity and numbers past jansson's range are the same inside a list or an object as on
 * their own (json.loads('[1, NaN]') is [1, nan], not the raw string).  Strings go to jansson
 * one by one; the depth is bounded as Python's recursion is. */
#define PY_MAX_DEPTH 1000

struct pyparse {
	const char *p;
	int depth;
};

static void skip_ws(struct pyparse *ps)
{
	while (json_ws(*ps->p))
		ps->p++;
}

static json_t *parse_value(struct pyparse *ps);

/* A JSON string at ps->p, decoded by jansson; a key may not hold a NUL (as in jansson's own
 * documents, so that no key is mistaken for a marker's). */
static json_t *parse_string(struct pyparse *ps, bool key)
{
	const char *q = ps->p + 1;
	json_t *v;

	while (*q && *q != '"')
		q += *q == '\\' && q[1] ? 2 : 1;
	if (*q != '"')
		return NULL;
	v = json_loadb(ps->p, (size_t)(q + 1 - ps->p), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	ps->p = q + 1;
	if (v && key && memchr(json_string_value(v), '\0', json_string_length(v))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *parse_number(struct pyparse *ps)
{
	_cleanup_free_ char *t = NULL;
	bool integer;
	size_t len = json_number_len(ps->p, &integer);
	json_t *v;

	if (!len)
		return NULL;
	t = xstrndup(ps->p, len);
	ps->p += len;
	v = json_loads(t, JSON_DECODE_ANY, NULL);
	if (v)
		return v;
	if (integer) /* past 64 bits: Python ints have no limit */
		return marker_new(MARK_BIGINT, MARK_BIGINT_LEN, t);
	/* past double range: float() gives +-inf (underflow is 0.0, which jansson parses) */
	if (isinf(strtod(t, NULL)))
		return marker_new(MARK_NONFINITE, MARK_NONFINITE_LEN,
				  t[0] == '-' ? "-Infinity" : "Infinity");
	return NULL;
}

/* `[` or `{` at ps->p: the members up to the closing bracket. */
static json_t *parse_container(struct pyparse *ps)
{
	bool object = *ps->p == '{';
	json_t *c = object ? json_object() : json_array();

	if (++ps->depth > PY_MAX_DEPTH)
		goto fail;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == (object ? '}' : ']')) {
		ps->p++;
		ps->depth--;
		return c;
	}
	for (;;) {
		_cleanup_json_ json_t *key = NULL;
		json_t *v;

		skip_ws(ps);
		if (object) {
			if (*ps->p != '"' || !(key = parse_string(ps, true)))
				goto fail;
			skip_ws(ps);
			if (*ps->p != ':')
				goto fail;
			ps->p++;
		}
		v = parse_value(ps);
		if (!v)
			goto fail;
		if (object)
			json_object_setn_new(c, json_string_value(key), json_string_length(key), v);
		else
			json_array_append_new(c, v);
		skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p != (object ? '}' : ']'))
			goto fail;
		ps->p++;
		ps->depth--;
		return c;
	}
fail:
	json_decref(c);
	return NULL;
}

static json_t *parse_value(struct pyparse *ps)
{
	static const struct {
		const char *word;
		bool nonfinite;
	} words[] = {{"NaN", true},   {"Infinity", true}, {"-Infinity", true},
		     {"true", false}, {"false", false},	  {"null", false}};

	skip_ws(ps);
	if (*ps->p == '"')
		return parse_string(ps, false);
	if (*ps->p == '[' || *ps->p == '{')
		return parse_container(ps);
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		size_t len = strlen(words[i].word);

		if (strncmp(ps->p, words[i].word, len))
			continue;
		ps->p += len;
		if (words[i].nonfinite)
			return marker_new(MARK_NONFINITE, MARK_NONFINITE_LEN, words[i].word);
		return json_loads(words[i].word, JSON_DECODE_ANY, NULL);
	}
	return parse_number(ps);
}

/* What json.loads() accepts and jansson cannot hold; NULL for anything else. */
static json_t *decode_python(const char *s)
{
	struct pyparse ps = {s, 0};
	json_t *v = parse_value(&ps);

	if (!v)
		return NULL;
	skip_ws(&ps);
	if (*ps.p) {
		json_decref(v);
		return NULL;
	}
	return v;
}

struct json_t *contract_py_decode(const char *s)
{
	json_error_t jerr;
	json_t *v;

	if (!s)
		return json_null();
	v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (v)
		return v;
	v = decode_python(s);
	if (v)
		return v;
	v = json_string(s);
	/* not UTF-8 (json.loads() never sees such text: the file decode fails first); keep the
	 * bytes rather than lose the value */
	return v ? v : json_string_nocheck(s);
}
