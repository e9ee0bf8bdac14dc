/* lazylib_archive.c - libarchive's functions that sagerun calls, forwarded to
 * libarchive.so.13 once lazylib_archive_load() has loaded it (lazylib.h says why).  A
 * function used before the load is a bug in sagerun: it says so and aborts. */
#ifndef SAGERUN_NO_LAZYLIB

#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/dl.h"
#include "util/error.h"
#include "util/lazylib.h"

/* X(name, return type, parameters, arguments) */
#define ARCHIVE_FUNCS(X)                                                                           \
	X(archive_errno, int, (struct archive * a), (a))                                           \
	X(archive_error_string, const char *, (struct archive * a), (a))                           \
	X(archive_read_new, struct archive *, (void), ())                                          \
	X(archive_read_free, int, (struct archive * a), (a))                                       \
	X(archive_read_support_filter_all, int, (struct archive * a), (a))                         \
	X(archive_read_support_format_tar, int, (struct archive * a), (a))                         \
	X(archive_read_support_format_raw, int, (struct archive * a), (a))                         \
	X(archive_read_support_filter_gzip, int, (struct archive * a), (a))                        \
	X(archive_read_data, la_ssize_t, (struct archive * a, void *b, size_t n), (a, b, n))       \
	X(archive_filter_code, int, (struct archive * a, int i), (a, i))                           \
	X(archive_read_open_filename, int, (struct archive * a, const char *f, size_t bs),         \
	  (a, f, bs))                                                                              \
	X(archive_read_next_header, int, (struct archive * a, struct archive_entry * *e), (a, e))  \
	X(archive_read_data_block, int,                                                            \
	  (struct archive * a, const void **b, size_t *n, la_int64_t *off), (a, b, n, off))        \
	X(archive_write_free, int, (struct archive * a), (a))                                      \
	X(archive_write_close, int, (struct archive * a), (a))                                     \
	X(archive_write_header, int, (struct archive * a, struct archive_entry * e), (a, e))       \
	X(archive_write_data_block, la_ssize_t,                                                    \
	  (struct archive * a, const void *b, size_t n, la_int64_t off), (a, b, n, off))           \
	X(archive_write_finish_entry, int, (struct archive * a), (a))                              \
	X(archive_write_disk_new, struct archive *, (void), ())                                    \
	X(archive_write_disk_set_options, int, (struct archive * a, int f), (a, f))                \
	X(archive_entry_pathname, const char *, (struct archive_entry * e), (e))                   \
	X(archive_entry_symlink, const char *, (struct archive_entry * e), (e))                    \
	X(archive_entry_hardlink, const char *, (struct archive_entry * e), (e))                   \
	X(archive_entry_filetype, mode_t, (struct archive_entry * e), (e))                         \
	X(archive_entry_perm, mode_t, (struct archive_entry * e), (e))
#define ARCHIVE_VOID_FUNCS(X)                                                                      \
	X(archive_entry_copy_pathname, (struct archive_entry * e, const char *s), (e, s))          \
	X(archive_entry_copy_hardlink, (struct archive_entry * e, const char *s), (e, s))          \
	X(archive_entry_set_perm, (struct archive_entry * e, mode_t m), (e, m))

static struct {
#define PTR(name, ret, params, args) ret(*name) params;
#define VPTR(name, params, args)     void(*name) params;
	ARCHIVE_FUNCS(PTR) ARCHIVE_VOID_FUNCS(VPTR)
#undef PTR
#undef VPTR
} fn;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded; /* under load_lock */

int lazylib_archive_load(struct sr_error *err)
{
	static const struct dl_sym syms[] = {
#define SYM(name, ...) DL_SYM(fn.name, name),
	    ARCHIVE_FUNCS(SYM) ARCHIVE_VOID_FUNCS(SYM)
#undef SYM
	};
	int r = 0;

	pthread_mutex_lock(&load_lock);
	if (!loaded) {
		r = dl_open_syms("libarchive.so.13", "libarchive13", syms,
				 sizeof(syms) / sizeof(syms[0]), err);
		loaded = r == 0;
	}
	pthread_mutex_unlock(&load_lock);
	return r;
}

static _Noreturn void unloaded(const char *name)
{
	fprintf(stderr, "sagerun: bug: %s called before lazylib_archive_load()\n", name);
	abort();
}

#define DEF(name, ret, params, args)                                                               \
	ret name params                                                                            \
	{                                                                                          \
		if (!fn.name)                                                                      \
			unloaded(#name);                                                           \
		return fn.name args;                                                               \
	}
#define VDEF(name, params, args)                                                                   \
	void name params                                                                           \
	{                                                                                          \
		if (!fn.name)                                                                      \
			unloaded(#name);                                                           \
		fn.name args;                                                                      \
	}
ARCHIVE_FUNCS(DEF)
ARCHIVE_VOID_FUNCS(VDEF)

#endif
