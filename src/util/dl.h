/* dl.h - open a shared library and resolve a table of its symbols, all or nothing. */
#ifndef SR_UTIL_DL_H
#define SR_UTIL_DL_H

#include <stddef.h>

struct sr_error;

struct dl_sym {
	const char *name;
	void **fn; /* where the address goes (a function pointer, seen as void *) */
};

/* The address of a function pointer variable, for struct dl_sym. */
#define DL_SYM(var, sym)                                                                           \
	{                                                                                          \
#sym, (void **)&(var)                                                              \
	}

/* dlopen(soname) and fill every syms[i].fn.  On any failure nothing stays loaded and the
 * error names the library, the missing symbol if any, and the Debian package to install. */
int dl_open_syms(const char *soname, const char *package, const struct dl_sym *syms, size_t n,
		 struct sr_error *err);

#endif
