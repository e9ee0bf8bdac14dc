#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

int sr_err(struct sr_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (code >= 0)
		code = -EINVAL;
	if (!err)
		return code;
	err->code = code;
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int sr_err_errno(struct sr_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (errnum <= 0)
		errnum = EIO; /* a caller's bug: still an error, never a success */
	if (!err)
		return -errnum;
	err->code = -errnum;
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	return -errnum;
}

int sr_err_wrap(struct sr_error *err, const char *fmt, ...)
{
	char prefix[SR_ERR_MSG_MAX];
	char inner[SR_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(inner, err->msg, sizeof(inner));
	/* Truncation is acceptable here: the message stays NUL-terminated and readable. */
	size_t n = strnlen(prefix, sizeof(err->msg) - 3);
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	size_t room = sizeof(err->msg) - n - 3;
	size_t m = strnlen(inner, room);
	memcpy(err->msg + n + 2, inner, m);
	err->msg[n + 2 + m] = '\0';
	return err->code ? err->code : -EINVAL;
}

int sr_err_hint(struct sr_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	return err->code ? err->code : -EINVAL;
}

void sr_err_clear(struct sr_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
	err->hint[0] = '\0';
}
