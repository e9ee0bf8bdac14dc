/* lazylib.h - libcurl and libarchive, loaded when first needed instead of at every start.
 *
 * Linked normally, libcurl (with Kerberos, LDAP, GnuTLS, ssh2... behind it) and libarchive
 * (with libxml2 and ICU) are 40 of sagerun's 48 shared libraries and three quarters of the
 * dynamic loader's work at every exec: 14 of the 17 ms a `sagerun --version` took, paid by
 * every `ps`, every host's rsh agent and every `sagerun container rsh` mpirun starts.  Only
 * S3 transfers need libcurl and only tarballs need libarchive, so both are dlopen()ed on first
 * use (systemd does the same for its optional libraries: dlopen_many_sym_or_warn).
 *
 * The rest of the code calls curl_* and archive_* as usual: lazylib_curl.c and
 * lazylib_archive.c define those names as forwarders to the loaded library.  Every entry
 * point of a module that uses one of them calls lazylib_*_load() first, which is how a
 * missing library becomes an error saying what to install instead of a crash.
 *
 * -DSAGERUN_LAZYLIB=OFF (the static build) links both libraries directly; the loads are then
 * no-ops. */
#ifndef SR_UTIL_LAZYLIB_H
#define SR_UTIL_LAZYLIB_H

struct sr_error;

#ifdef SAGERUN_NO_LAZYLIB
static inline int lazylib_curl_load(struct sr_error *err)
{
	(void)err;
	return 0;
}
static inline int lazylib_archive_load(struct sr_error *err)
{
	(void)err;
	return 0;
}
#else
/* Load libcurl.so.4 once (thread-safe); 0, or an error naming the library and the package. */
int lazylib_curl_load(struct sr_error *err);
/* The same for libarchive.so.13. */
int lazylib_archive_load(struct sr_error *err);
#endif

#endif
