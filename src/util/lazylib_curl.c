/* lazylib_curl.c - libcurl's functions that sagerun calls, forwarded to libcurl.so.4 once
 * lazylib_curl_load() has loaded it (lazylib.h says why).  A function used before the load is
 * a bug in sagerun: it says so and aborts. */
#ifndef SAGERUN_NO_LAZYLIB

/* curl.h's GCC type checks turn curl_easy_setopt & co. into macros; here they are defined. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/dl.h"
#include "util/error.h"
#include "util/lazylib.h"

/* X(name, return type, parameters, arguments) for every plain function; the variadic ones
 * are written out below. */
#define CURL_FUNCS(X)                                                                              \
	X(curl_easy_init, CURL *, (void), ())                                                      \
	X(curl_easy_perform, CURLcode, (CURL * h), (h))                                            \
	X(curl_easy_strerror, const char *, (CURLcode c), (c))                                     \
	X(curl_slist_append, struct curl_slist *, (struct curl_slist * l, const char *s), (l, s))  \
	X(curl_multi_init, CURLM *, (void), ())                                                    \
	X(curl_multi_cleanup, CURLMcode, (CURLM * m), (m))                                         \
	X(curl_multi_add_handle, CURLMcode, (CURLM * m, CURL * h), (m, h))                         \
	X(curl_multi_remove_handle, CURLMcode, (CURLM * m, CURL * h), (m, h))                      \
	X(curl_multi_perform, CURLMcode, (CURLM * m, int *running), (m, running))                  \
	X(curl_multi_poll, CURLMcode,                                                              \
	  (CURLM * m, struct curl_waitfd * fds, unsigned n, int ms, int *numfds),                  \
	  (m, fds, n, ms, numfds))                                                                 \
	X(curl_multi_info_read, CURLMsg *, (CURLM * m, int *left), (m, left))
#define CURL_VOID_FUNCS(X)                                                                         \
	X(curl_easy_cleanup, (CURL * h), (h))                                                      \
	X(curl_slist_free_all, (struct curl_slist * l), (l))

static struct {
#define PTR(name, ret, params, args) ret(*name) params;
#define VPTR(name, params, args)     void(*name) params;
	CURL_FUNCS(PTR)
	CURL_VOID_FUNCS(VPTR)
#undef PTR
#undef VPTR
	CURLcode (*curl_easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*curl_easy_getinfo)(CURL *, CURLINFO, ...);
	CURLMcode (*curl_multi_setopt)(CURLM *, CURLMoption, ...);
} fn;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded; /* 1 once every pointer of fn is set; under load_lock */

int lazylib_curl_load(struct sr_error *err)
{
	static const struct dl_sym syms[] = {
#define SYM(name, ...) DL_SYM(fn.name, name),
	    CURL_FUNCS(SYM) CURL_VOID_FUNCS(SYM)
#undef SYM
		DL_SYM(fn.curl_easy_setopt, curl_easy_setopt),
	    DL_SYM(fn.curl_easy_getinfo, curl_easy_getinfo),
	    DL_SYM(fn.curl_multi_setopt, curl_multi_setopt),
	};
	int r = 0;

	pthread_mutex_lock(&load_lock);
	if (!loaded) {
		r = dl_open_syms("libcurl.so.4", "libcurl4", syms, sizeof(syms) / sizeof(syms[0]),
				 err);
		loaded = r == 0;
	}
	pthread_mutex_unlock(&load_lock);
	return r;
}

static _Noreturn void unloaded(const char *name)
{
	fprintf(stderr, "sagerun: bug: %s called before lazylib_curl_load()\n", name);
	abort();
}

#define CHECK(name)                                                                                \
	do {                                                                                       \
		if (!fn.name)                                                                      \
			unloaded(#name);                                                           \
	} while (0)

#define DEF(name, ret, params, args)                                                               \
	ret name params                                                                            \
	{                                                                                          \
		CHECK(name);                                                                       \
		return fn.name args;                                                               \
	}
#define VDEF(name, params, args)                                                                   \
	void name params                                                                           \
	{                                                                                          \
		CHECK(name);                                                                       \
		fn.name args;                                                                      \
	}
CURL_FUNCS(DEF)
CURL_VOID_FUNCS(VDEF)

/* An option's number says its argument's type (curl.h: CURLOPTTYPE_*): read it as that type,
 * pass it on as that type. */
#define SETOPT_FORWARD(f, h, opt, ap)                                                              \
	((opt) < CURLOPTTYPE_OBJECTPOINT ? (f)((h), (opt), va_arg((ap), long))                     \
	 : (opt) < CURLOPTTYPE_OFF_T	 ? (f)((h), (opt), va_arg((ap), void *))                   \
	 : (opt) < CURLOPTTYPE_BLOB	 ? (f)((h), (opt), va_arg((ap), curl_off_t))               \
					 : (f)((h), (opt), va_arg((ap), void *)))

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode r;

	CHECK(curl_easy_setopt);
	va_start(ap, opt);
	r = SETOPT_FORWARD(fn.curl_easy_setopt, h, opt, ap);
	va_end(ap);
	return r;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	va_list ap;
	CURLMcode r;

	CHECK(curl_multi_setopt);
	va_start(ap, opt);
	r = SETOPT_FORWARD(fn.curl_multi_setopt, m, opt, ap);
	va_end(ap);
	return r;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	void *where;

	CHECK(curl_easy_getinfo);
	va_start(ap, info);
	where = va_arg(ap, void *);
	va_end(ap);
	return fn.curl_easy_getinfo(h, info, where);
}

#endif
