/* error.h - one error convention for every layer below cli/.
 *
 * A fallible function takes `struct sr_error *err` as its last parameter and returns >= 0 on
 * success or a negative errno-style code on failure, after filling `err` with a message that
 * says what failed and where (file, JSON path and line, host, S3 key); sr_err_errno() adds
 * the errno's text itself.  Callers add context on
 * the way up with sr_err_wrap(); only cli/ prints, once.  (crun: error.c; git: api-error-handling)
 */
#ifndef SR_UTIL_ERROR_H
#define SR_UTIL_ERROR_H

#include <stddef.h>

#define SR_ERR_MSG_MAX 4096

struct sr_error {
	int code;		   /* negative errno; 0 while no error is set */
	char msg[SR_ERR_MSG_MAX];  /* "what failed: why" - lowercase, no final period */
	char hint[SR_ERR_MSG_MAX]; /* optional "what to do"; empty when none */
};

/* Record an error and return `code` (which must be negative), so callers write
 * `return sr_err(err, -errno, "open '%s'", path);`.  `err` may be NULL. */
int sr_err(struct sr_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for a failed system call: the message gets ": <strerror(errnum)>" appended here,
 * once, so callers never spell it out; returns -errnum.  `errnum` is a positive errno value
 * (errno itself, or -r of a function that returned -errno). */
int sr_err_errno(struct sr_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix context to an existing error ("context: inner") and return its code. */
int sr_err_wrap(struct sr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Attach a hint that tells the user what to do; returns the error's code. */
int sr_err_hint(struct sr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forget any recorded error. */
void sr_err_clear(struct sr_error *err);

#endif
