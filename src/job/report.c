#include "job/report.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/error.h"

void job_say(const struct job_report *rep, enum job_say level, const char *job, const char *fmt,
	     ...)
{
	char msg[SR_ERR_MSG_MAX];
	va_list ap;

	if (!rep || !rep->say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->say(rep->ctx, level, job, msg, NULL);
}

void job_say_error(const struct job_report *rep, enum job_say level, const char *job,
		   const struct sr_error *err)
{
	if (!rep || !rep->say)
		return;
	rep->say(rep->ctx, level, job, err->msg[0] ? err->msg : "unknown error",
		 err->hint[0] ? err->hint : NULL);
}
