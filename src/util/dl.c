/* dl.c - open a shared library and resolve a table of its symbols, all or nothing. */
#include "util/dl.h"

#include <dlfcn.h>
#include <errno.h>

#include "util/error.h"

int dl_open_syms(const char *soname, const char *package, const struct dl_sym *syms, size_t n,
		 struct sr_error *err)
{
	/* Never closed once loaded: the forwarders keep the addresses for the process's life. */
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	const char *why;

	if (!h) {
		why = dlerror();
		sr_err(err, -ELIBACC, "load %s: %s", soname, why ? why : "not found");
		return sr_err_hint(err, "install it: apt-get install %s", package);
	}
	for (size_t i = 0; i < n; i++) {
		void *p = dlsym(h, syms[i].name);

		if (!p) {
			for (size_t j = 0; j < i; j++)
				*syms[j].fn = NULL;
			dlclose(h);
			sr_err(err, -ELIBBAD, "%s has no %s: too old a version?", soname,
			       syms[i].name);
			return sr_err_hint(err, "upgrade it: apt-get install %s", package);
		}
		*syms[i].fn = p;
	}
	return 0;
}
