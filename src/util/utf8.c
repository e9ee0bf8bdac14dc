#include "util/utf8.h"

#include <string.h>

#include "util/xalloc.h"

size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned int cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		return 0;
	if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
		return 0;
	return len;
}

char *utf8_clean(const char *s, size_t max_chars)
{
	const unsigned char *in = (const unsigned char *)s;
	size_t n = strlen(s), o = 0, chars = 0;
	char *out = xmalloc(n + 1); /* '?' for a byte: never longer than the input */

	for (size_t i = 0; i < n && chars < max_chars; chars++) {
		size_t len = utf8_seq(in + i, n - i);

		if (len) {
			memcpy(out + o, in + i, len);
			o += len;
			i += len;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = '\0';
	return out;
}
