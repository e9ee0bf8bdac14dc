/* pyfmt.c - Python-compatible formatting of decoded hyperparameters.
 *
 * The toolkit turns decoded JSON values into text three ways: json.dumps() (SM_* values,
 * SM_TRAINING_ENV), str() (command-line arguments) and repr() (inside str() of lists and
 * dicts).  Containers compare these strings byte for byte, so jansson's own dumper (%.17g
 * reals, UTF-8 output, insertion-ordered keys) will not do; this file reproduces CPython's.
 *
 * pydecode.c's stand-ins for values jansson cannot hold (NaN, infinities, big integers) are
 * printed here as Python prints the real thing.
 */
#include "contract/contract.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/internal.h"
#include "util/xalloc.h"

void contract_buf_add(struct contract_buf *b, const char *s, size_t len)
{
	xgrow(&b->p, &b->cap, b->n + len + 1, 1);
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

void contract_buf_adds(struct contract_buf *b, const char *s)
{
	contract_buf_add(b, s, strlen(s));
}

void contract_buf_addf(struct contract_buf *b, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		contract_buf_add(b, small, (size_t)n);
		return;
	}
	xgrow(&b->p, &b->cap, b->n + (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

char *contract_buf_take(struct contract_buf *b)
{
	char *p = b->p ? b->p : xstrdup("");

	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

/* The marker payload of `v` when it is one of our stand-ins, else NULL. */
static const char *marker(const json_t *v, const char *key, size_t key_len)
{
	json_t *s;

	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	s = json_object_getn((json_t *)v, key, key_len);
	return json_is_string(s) ? json_string_value(s) : NULL;
}

/* ---- floats: repr(float) ---- */

static bool round_trips(uint64_t m, int scale, double d)
{
	char s[48];

	snprintf(s, sizeof(s), "%llue%d", (unsigned long long)m, scale);
	return strtod(s, NULL) == d;
}

/* Shortest decimal digits that read back as `d` (> 0), the nearest one when several have that
 * length, as CPython's dtoa mode 0: m * 10^scale.  Rounding to p digits and checking is not
 * quite enough: next to a power of two the interval that reads back is lopsided, so the
 * correctly rounded p-digit value can miss while its neighbour on the other side hits. */
static void shortest_digits(double d, uint64_t *ret_m, int *ret_scale)
{
	for (int p = 1; p <= 17; p++) {
		char s[48], *e;
		uint64_t m = 0, pow = 1;
		int exp10, scale;

		snprintf(s, sizeof(s), "%.*e", p - 1, d);
		for (e = s; *e && *e != 'e'; e++)
			if (*e >= '0' && *e <= '9')
				m = m * 10 + (uint64_t)(*e - '0');
		exp10 = atoi(e + 1);
		scale = exp10 - (p - 1);
		for (int i = 1; i < p; i++)
			pow *= 10;
		if (round_trips(m, scale, d)) {
			*ret_m = m;
			*ret_scale = scale;
			return;
		}
		if (round_trips(m + 1, scale, d)) {
			*ret_m = m + 1;
			*ret_scale = scale;
			return;
		}
		/* p digits below 1.00...e+X are 9.99...e+(X-1): one place finer */
		if (m == pow ? round_trips(pow * 10 - 1, scale - 1, d)
			     : round_trips(m - 1, scale, d)) {
			*ret_m = m == pow ? pow * 10 - 1 : m - 1;
			*ret_scale = m == pow ? scale - 1 : scale;
			return;
		}
	}
	/* 17 significant digits always read back; not reached */
	*ret_m = 0;
	*ret_scale = 0;
}

static void py_float_repr(struct contract_buf *b, double d)
{
	char digits[32];
	uint64_t m;
	int scale, x, n;

	if (isnan(d)) {
		contract_buf_adds(b, "nan");
		return;
	}
	if (signbit(d))
		contract_buf_adds(b, "-");
	d = fabs(d);
	if (isinf(d)) {
		contract_buf_adds(b, "inf");
		return;
	}
	if (d == 0) {
		contract_buf_adds(b, "0.0");
		return;
	}
	shortest_digits(d, &m, &scale);
	n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)m);
	x = scale + n - 1; /* d = D.DDD * 10^x */
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';

	/* float_repr_style 'short': exponent form outside 1e-4 <= |d| < 1e16 */
	if (x < -4 || x >= 16) {
		contract_buf_add(b, digits, 1);
		if (n > 1) {
			contract_buf_adds(b, ".");
			contract_buf_adds(b, digits + 1);
		}
		contract_buf_addf(b, "e%c%02d", x < 0 ? '-' : '+', abs(x));
	} else if (x < 0) {
		contract_buf_adds(b, "0.");
		for (int i = 0; i < -x - 1; i++)
			contract_buf_adds(b, "0");
		contract_buf_adds(b, digits);
	} else if (n <= x + 1) {
		contract_buf_adds(b, digits);
		for (int i = 0; i < x + 1 - n; i++)
			contract_buf_adds(b, "0");
		contract_buf_adds(b, ".0");
	} else {
		contract_buf_add(b, digits, (size_t)x + 1);
		contract_buf_adds(b, ".");
		contract_buf_adds(b, digits + x + 1);
	}
}

/* ---- strings ---- */

/* Lenient UTF-8 decoding: jansson only holds valid UTF-8, but a stray byte must not stop us. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t need;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
	if (!need || need >= len) {
		*cp = c;
		return 1;
	}
	c &= 0x3f >> need;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = s[0];
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return need + 1;
}

/* json.dumps(str, ensure_ascii=True): everything outside ' '..'~' is escaped, lower-case hex,
 * surrogate pairs above the BMP. */
static void json_string_dump(struct contract_buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	contract_buf_adds(b, "\"");
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t k = utf8_next(u + i, len - i, &c);

		i += k;
		switch (c) {
		case '"':
			contract_buf_adds(b, "\\\"");
			continue;
		case '\\':
			contract_buf_adds(b, "\\\\");
			continue;
		case '\n':
			contract_buf_adds(b, "\\n");
			continue;
		case '\r':
			contract_buf_adds(b, "\\r");
			continue;
		case '\t':
			contract_buf_adds(b, "\\t");
			continue;
		case '\b':
			contract_buf_adds(b, "\\b");
			continue;
		case '\f':
			contract_buf_adds(b, "\\f");
			continue;
		}
		if (c >= 0x20 && c <= 0x7e) {
			char ch = (char)c;

			contract_buf_add(b, &ch, 1);
		} else if (c < 0x10000) {
			contract_buf_addf(b, "\\u%04x", c);
		} else {
			c -= 0x10000;
			contract_buf_addf(b, "\\u%04x\\u%04x", 0xd800 + (c >> 10),
					  0xdc00 + (c & 0x3ff));
		}
	}
	contract_buf_adds(b, "\"");
}

/* str.isprintable() above ASCII (CPython 3.11, Unicode 14): false for the categories Cc, Cf,
 * Cs, Co, Zl, Zp, Zs and Cn.  Of the unassigned (Cn) code points only the noncharacters and the
 * large blocks no Unicode release has used are listed; the rest changes with every release. */
static bool py_printable(uint32_t c)
{
	static const uint32_t ranges[][2] = {
	    {0x80, 0xa0},	 {0xad, 0xad},	     {0x600, 0x605},	 {0x61c, 0x61c},
	    {0x6dd, 0x6dd},	 {0x70f, 0x70f},     {0x890, 0x891},	 {0x8e2, 0x8e2},
	    {0x1680, 0x1680},	 {0x180e, 0x180e},   {0x2000, 0x200f},	 {0x2028, 0x202f},
	    {0x205f, 0x2064},	 {0x2066, 0x206f},   {0x3000, 0x3000},	 {0xd800, 0xf8ff},
	    {0xfdd0, 0xfdef},	 {0xfeff, 0xfeff},   {0xfff9, 0xfffb},	 {0xfffe, 0xffff},
	    {0x110bd, 0x110bd},	 {0x110cd, 0x110cd}, {0x13430, 0x13438}, {0x1bca0, 0x1bca3},
	    {0x1d173, 0x1d17a},	 {0x1fffe, 0x1ffff}, {0x2fffe, 0x2ffff}, {0x323b0, 0xe00ff},
	    {0xe01f0, 0x10ffff},
	};

	if (c < 0x80)
		return c >= 0x20 && c < 0x7f;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return false;
	return true;
}

/* repr(str): single quotes unless the text has ' and no ", printable characters kept. */
static void py_repr_string(struct contract_buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char quote = memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';

	contract_buf_add(b, &quote, 1);
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t k = utf8_next(u + i, len - i, &c);

		if (c == (uint32_t)quote || c == '\\') {
			char esc[2] = {'\\', (char)c};

			contract_buf_add(b, esc, 2);
		} else if (c == '\t') {
			contract_buf_adds(b, "\\t");
		} else if (c == '\n') {
			contract_buf_adds(b, "\\n");
		} else if (c == '\r') {
			contract_buf_adds(b, "\\r");
		} else if (py_printable(c)) {
			contract_buf_add(b, s + i, k);
		} else if (c < 0x100) {
			contract_buf_addf(b, "\\x%02x", c);
		} else if (c < 0x10000) {
			contract_buf_addf(b, "\\u%04x", c);
		} else {
			contract_buf_addf(b, "\\U%08x", c);
		}
		i += k;
	}
	contract_buf_add(b, &quote, 1);
}

/* ---- json.dumps ---- */

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void contract_json_dump(struct contract_buf *b, const json_t *v, unsigned flags)
{
	const char *item_sep = flags & CONTRACT_JSON_SPACED ? ", " : ",";
	const char *key_sep = flags & CONTRACT_JSON_SPACED ? ": " : ":";
	const char *mark;
	json_t *mv = (json_t *)v; /* jansson's getters take non-const pointers */

	if ((mark = marker(v, MARK_NONFINITE, MARK_NONFINITE_LEN)) ||
	    (mark = marker(v, MARK_BIGINT, MARK_BIGINT_LEN))) {
		contract_buf_adds(b, mark);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(mv), i = 0;
		const char **keys = xcalloc(n ? n : 1, sizeof(*keys));

		for (void *it = json_object_iter(mv); it; it = json_object_iter_next(mv, it))
			keys[i++] = json_object_iter_key(it);
		/* Python sorts by code point, which is UTF-8 byte order */
		if (flags & CONTRACT_JSON_SORT)
			qsort(keys, n, sizeof(*keys), key_cmp);
		contract_buf_adds(b, "{");
		for (i = 0; i < n; i++) {
			if (i)
				contract_buf_adds(b, item_sep);
			json_string_dump(b, keys[i], strlen(keys[i]));
			contract_buf_adds(b, key_sep);
			contract_json_dump(b, json_object_get(mv, keys[i]), flags);
		}
		contract_buf_adds(b, "}");
		free(keys);
		break;
	}
	case JSON_ARRAY:
		contract_buf_adds(b, "[");
		for (size_t i = 0; i < json_array_size(mv); i++) {
			if (i)
				contract_buf_adds(b, item_sep);
			contract_json_dump(b, json_array_get(mv, i), flags);
		}
		contract_buf_adds(b, "]");
		break;
	case JSON_STRING:
		json_string_dump(b, json_string_value(mv), json_string_length(mv));
		break;
	case JSON_INTEGER:
		contract_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(mv));
		break;
	case JSON_REAL:
		py_float_repr(b, json_real_value(mv));
		break;
	case JSON_TRUE:
		contract_buf_adds(b, "true");
		break;
	case JSON_FALSE:
		contract_buf_adds(b, "false");
		break;
	case JSON_NULL:
		contract_buf_adds(b, "null");
		break;
	}
}

char *contract_py_json(const struct json_t *v)
{
	struct contract_buf b = {0};

	contract_json_dump(&b, v, CONTRACT_JSON_SORT);
	return contract_buf_take(&b);
}

/* ---- repr / str ---- */

static void py_repr(struct contract_buf *b, const json_t *v)
{
	json_t *mv = (json_t *)v;
	const char *mark;

	if ((mark = marker(v, MARK_NONFINITE, MARK_NONFINITE_LEN))) {
		contract_buf_adds(b, !strcmp(mark, "NaN") ? "nan"
				     : mark[0] == '-'	  ? "-inf"
							  : "inf");
		return;
	}
	if ((mark = marker(v, MARK_BIGINT, MARK_BIGINT_LEN))) {
		contract_buf_adds(b, mark);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;
		bool first = true;

		/* a dict keeps json.loads() order, as jansson's objects do */
		contract_buf_adds(b, "{");
		for (void *it = json_object_iter(mv); it; it = json_object_iter_next(mv, it)) {
			key = json_object_iter_key(it);
			val = json_object_iter_value(it);
			if (!first)
				contract_buf_adds(b, ", ");
			first = false;
			py_repr_string(b, key, strlen(key));
			contract_buf_adds(b, ": ");
			py_repr(b, val);
		}
		contract_buf_adds(b, "}");
		break;
	}
	case JSON_ARRAY:
		contract_buf_adds(b, "[");
		for (size_t i = 0; i < json_array_size(mv); i++) {
			if (i)
				contract_buf_adds(b, ", ");
			py_repr(b, json_array_get(mv, i));
		}
		contract_buf_adds(b, "]");
		break;
	case JSON_STRING:
		py_repr_string(b, json_string_value(mv), json_string_length(mv));
		break;
	case JSON_INTEGER:
		contract_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(mv));
		break;
	case JSON_REAL:
		py_float_repr(b, json_real_value(mv));
		break;
	case JSON_TRUE:
		contract_buf_adds(b, "True");
		break;
	case JSON_FALSE:
		contract_buf_adds(b, "False");
		break;
	case JSON_NULL:
		contract_buf_adds(b, "None");
		break;
	}
}

char *contract_py_str(const struct json_t *v)
{
	struct contract_buf b = {0};

	if (json_is_string(v))
		return xstrdup(json_string_value((json_t *)v));
	py_repr(&b, v);
	return contract_buf_take(&b);
}

bool contract_py_is_dict(const json_t *v)
{
	return json_is_object(v) && !marker(v, MARK_NONFINITE, MARK_NONFINITE_LEN) &&
	       !marker(v, MARK_BIGINT, MARK_BIGINT_LEN);
}

bool contract_py_truthy(const json_t *v)
{
	json_t *mv = (json_t *)v;

	if (!v)
		return false;
	if (marker(v, MARK_NONFINITE, MARK_NONFINITE_LEN) ||
	    marker(v, MARK_BIGINT, MARK_BIGINT_LEN))
		return true; /* nan, inf and big integers are all non-zero */
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return json_object_size(mv) > 0;
	case JSON_ARRAY:
		return json_array_size(mv) > 0;
	case JSON_STRING:
		return json_string_length(mv) > 0;
	case JSON_INTEGER:
		return json_integer_value(mv) != 0;
	case JSON_REAL:
		return json_real_value(mv) != 0;
	case JSON_TRUE:
		return true;
	case JSON_FALSE:
	case JSON_NULL:
		return false;
	}
	return false;
}
