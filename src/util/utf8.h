/* utf8.h - text that must be valid UTF-8 (it goes into JSON) and cut by characters. */
#ifndef SR_UTIL_UTF8_H
#define SR_UTIL_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at `s` (at most `n` bytes), 0 if invalid (overlong
 * forms, surrogates and code points past U+10FFFF are invalid). */
size_t utf8_seq(const unsigned char *s, size_t n);

/* A copy of `s` cut to at most `max_chars` characters, each invalid byte replaced by '?'.
 * Never splits a character.  Caller frees. */
char *utf8_clean(const char *s, size_t max_chars);

#endif
