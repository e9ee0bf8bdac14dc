#include "s3/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/lazylib.h"
#include "util/membuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define BODY_MAX (1 << 20)

int s3_http_simple(const char *method, const char *url, const struct strv *headers, long timeout_ms,
		   char **ret_body, long *ret_status, struct sr_error *err)
{
	struct curl_slist *hl = NULL;
	struct membuf b = {.max = BODY_MAX};
	CURL *curl;
	CURLcode rc;
	int r = lazylib_curl_load(err);

	if (r < 0)
		return r;
	curl = curl_easy_init();

	if (!curl)
		return sr_err(err, -ENOMEM, "%s: cannot start an HTTP request", url);
	for (size_t i = 0; headers && i < headers->n; i++)
		hl = curl_slist_append(hl, headers->v[i]);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* metadata services are never behind one */
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, membuf_curl_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		r = sr_err(err, rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO, "%s %s: %s",
			   method, url,
			   b.too_big ? "response larger than 1 MiB" : curl_easy_strerror(rc));
		free(b.data);
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, ret_status);
		*ret_body = b.data ? b.data : xstrdup("");
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(curl);
	return r;
}
