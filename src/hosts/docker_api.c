/* docker_api.c - requests to the Docker Engine over its Unix socket (docker_api.h). */
#include "hosts/docker_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/lazylib.h"
#include "util/membuf.h"
#include "util/xalloc.h"

#define DK_DEFAULT_SOCKET "/var/run/docker.sock"
/* Listings of a few containers and error messages: far below this. */
#define DK_BODY_MAX (8u << 20)
/* A local engine answers in milliseconds; creating a container on a slow disk (vfs) takes
 * seconds.  A request that takes longer than this is an engine that hangs. */
#define DK_TIMEOUT_MS 120000L

char *dk_socket_path(struct sr_error *err)
{
	const char *h = getenv("DOCKER_HOST");

	if (!h || !*h)
		return xstrdup(DK_DEFAULT_SOCKET);
	if (!strncmp(h, "unix://", 7) && h[7] == '/')
		return xstrdup(h + 7);
	sr_err(err, -EINVAL, "DOCKER_HOST=%s: sagerun talks to a local engine over its Unix socket",
	       h);
	sr_err_hint(err, "set DOCKER_HOST=unix:///var/run/docker.sock (or unset it)");
	return NULL;
}

char *dk_url(const struct dk_engine *e, const char *path)
{
	/* The engine's own /version answers at any version; "" asks for none. */
	return e->api[0] ? xasprintf("http://docker/v%s%s", e->api, path)
			 : xasprintf("http://docker%s", path);
}

int dk_request(const struct dk_engine *e, const char *method, const char *path,
	       const struct json_t *body, long *ret_status, struct json_t **ret_body,
	       struct sr_error *err)
{
	const char *socket = e->socket;
	_cleanup_free_ char *url = dk_url(e, path);
	_cleanup_free_ char *text = NULL;
	struct curl_slist *hl = NULL;
	struct membuf b = {.max = DK_BODY_MAX};
	CURL *curl;
	CURLcode rc;
	int r = lazylib_curl_load(err);

	if (r < 0)
		return r;
	if (ret_body)
		*ret_body = NULL;
	curl = curl_easy_init();
	if (!curl)
		return sr_err(err, -ENOMEM, "cannot start a request to the Docker engine");
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		hl = curl_slist_append(hl, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text ? text : "");
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, DK_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, membuf_curl_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		struct stat st;

		if (rc == CURLE_COULDNT_CONNECT && stat(socket, &st) < 0)
			r = sr_err(err, -ENOENT, "no Docker engine: %s does not exist", socket);
		else if (rc == CURLE_COULDNT_CONNECT)
			r = sr_err(err, -ECONNREFUSED,
				   "no Docker engine answers on %s (connection refused)", socket);
		else
			r = sr_err(err, rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
				   "Docker engine at %s: %s %s: %s", socket, method, path,
				   b.too_big ? "answer larger than 8 MiB" : curl_easy_strerror(rc));
		if (rc == CURLE_COULDNT_CONNECT)
			sr_err_hint(err,
				    "start the engine (dockerd, or systemctl start docker), or "
				    "point DOCKER_HOST=unix:///PATH at its socket");
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, ret_status);
		if (ret_body && b.len)
			*ret_body = json_loadb(b.data, b.len, 0, NULL);
	}
	free(b.data);
	curl_slist_free_all(hl);
	curl_easy_cleanup(curl);
	return r;
}

void dk_engine_init(struct dk_engine *e, const char *socket, const char *api)
{
	e->socket = xstrdup(socket);
	snprintf(e->api, sizeof(e->api), "%s", api);
}

void dk_engine_release(struct dk_engine *e)
{
	free(e->socket);
	e->socket = NULL;
}

/* "1.44" as 1044, for comparing; -1 when not a version. */
static int version_num(const char *v)
{
	unsigned major, minor;

	if (!v || sscanf(v, "%u.%u", &major, &minor) != 2 || minor > 999)
		return -1;
	return (int)(major * 1000 + minor);
}

int dk_engine_open(struct dk_engine *e, const char *socket, struct sr_error *err)
{
	_cleanup_json_ json_t *ans = NULL;
	const char *min, *max;
	long status = 0;
	int r;

	memset(e, 0, sizeof(*e));
	e->socket = socket ? xstrdup(socket) : dk_socket_path(err);
	if (!e->socket)
		return -EINVAL;
	/* Unversioned: every engine answers /version with what it serves. */
	r = dk_request(e, "GET", "/version", NULL, &status, &ans, err);
	if (r < 0)
		return r;
	if (status != 200)
		return sr_err(err, -EIO, "Docker engine at %s: /version answered HTTP %ld",
			      e->socket, status);
	max = json_string_value(json_object_get(ans, "ApiVersion"));
	min = json_string_value(json_object_get(ans, "MinAPIVersion"));
	if (version_num(max) >= 0 && version_num(max) < version_num(DK_API_VERSION))
		return sr_err(err, -ENOTSUP,
			      "the Docker engine at %s serves API %s; sagerun needs %s (Docker "
			      "20.10 or later)",
			      e->socket, max, DK_API_VERSION);
	snprintf(e->api, sizeof(e->api), "%s",
		 version_num(min) > version_num(DK_API_VERSION) ? min : DK_API_VERSION);
	return 0;
}

const char *dk_message(const struct json_t *answer, long status, char *buf, size_t len)
{
	const char *m = json_string_value(json_object_get(answer, "message"));

	if (m && *m)
		return m;
	snprintf(buf, len, "HTTP %ld", status);
	return buf;
}

char *dk_query_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
