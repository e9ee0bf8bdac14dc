/* pydecode.c - json.loads() with the toolkit's fallback to the raw string.
 *
 * jansson cannot hold what json.loads() also accepts at the top level: NaN, Infinity,
 * -Infinity, numbers past double range and integers past 64 bits.  They are kept as a one-key
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

/* What json.loads() accepts at the top level and jansson cannot hold; NULL for anything else. */
static json_t *decode_special(const char *s)
{
	_cleanup_free_ char *t = NULL;
	size_t len, num;
	bool integer;

	while (json_ws(*s))
		s++;
	len = strlen(s);
	while (len && json_ws(s[len - 1]))
		len--;
	t = xstrndup(s, len);
	if (!strcmp(t, "NaN") || !strcmp(t, "Infinity") || !strcmp(t, "-Infinity"))
		return marker_new(MARK_NONFINITE, MARK_NONFINITE_LEN, t);
	num = json_number_len(t, &integer);
	if (!num || num != len)
		return NULL;
	if (integer) /* past 64 bits: Python ints have no limit */
		return marker_new(MARK_BIGINT, MARK_BIGINT_LEN, t);
	/* past double range: float() gives +-inf (underflow is 0.0, which jansson parses) */
	if (isinf(strtod(t, NULL)))
		return marker_new(MARK_NONFINITE, MARK_NONFINITE_LEN,
				  t[0] == '-' ? "-Infinity" : "Infinity");
	return NULL;
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
	v = decode_special(s);
	if (v)
		return v;
	v = json_string(s);
	/* not UTF-8 (json.loads() never sees such text: the file decode fails first); keep the
	 * bytes rather than lose the value */
	return v ? v : json_string_nocheck(s);
}
