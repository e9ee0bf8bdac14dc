/* http.h - one small HTTP request over libcurl, for metadata services (container and
 * instance credentials).  S3 transfers have their own, pooled, code. */
#ifndef SR_S3_HTTP_H
#define SR_S3_HTTP_H

#include <stddef.h>

struct sr_error;
struct strv;

/* `method` `url` with `headers` ("Name: value", may be NULL), no body; the response body (at
 * most 1 MiB, NUL-terminated) in *ret_body and the status in *ret_status.  A transport
 * error (refused, timed out after `timeout_ms`) is an error; any HTTP status is not. */
int s3_http_simple(const char *method, const char *url, const struct strv *headers, long timeout_ms,
		   char **ret_body, long *ret_status, struct sr_error *err);

#endif
