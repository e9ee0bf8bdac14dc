/* docker_api.h - a small client of the Docker Engine API over its Unix socket, with libcurl.
 *
 * No docker CLI and no Compose: sagerun speaks the engine's HTTP API itself (version 1.41,
 * Docker 20.10 and later), as docker-py and the CLI do.  One request per call, each on a
 * fresh connection to the socket: the engine is local and the requests are few (a handful per
 * host), so nothing is kept between calls and any process may call.
 */
#ifndef SR_HOSTS_DOCKER_API_H
#define SR_HOSTS_DOCKER_API_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;
struct sr_error;

/* The API version sagerun is written against (Docker 20.10); newer engines are asked for
 * the oldest version they still serve, when they no longer serve this one (Docker 29 serves
 * 1.44 and later only), which keeps the meaning of every field used here. */
#define DK_API_VERSION "1.41"

/* A local engine: its socket and the API version its requests carry. */
struct dk_engine {
	char *socket;
	char api[16]; /* "1.41" */
};

/* The engine's socket: DOCKER_HOST=unix:///path, else /var/run/docker.sock.  NULL with an
 * error for a DOCKER_HOST that is not a unix:// one (tcp:// needs TLS: not supported). */
char *dk_socket_path(struct sr_error *err);

/* Find the engine (DOCKER_HOST...) and agree on the API version (GET /version); when none
 * answers, the error says what to do.  `socket` NULL: dk_socket_path(). */
int dk_engine_open(struct dk_engine *e, const char *socket, struct sr_error *err);
/* An engine whose version is already known (the attach process gets it from its parent). */
void dk_engine_init(struct dk_engine *e, const char *socket, const char *api);
void dk_engine_release(struct dk_engine *e);

/* `method` `/v<api>path` with a JSON body (may be NULL).  *ret_status is the HTTP status;
 * *ret_body the decoded JSON answer (NULL when empty or not JSON; ret_body may be NULL).
 * < 0 only when the engine could not be reached or its answer read. */
int dk_request(const struct dk_engine *e, const char *method, const char *path,
	       const struct json_t *body, long *ret_status, struct json_t **ret_body,
	       struct sr_error *err);

/* The full URL of `path` for curl (with CURLOPT_UNIX_SOCKET_PATH = e->socket). */
char *dk_url(const struct dk_engine *e, const char *path);

/* The "message" of an error answer, or "HTTP <status>". */
const char *dk_message(const struct json_t *answer, long status, char *buf, size_t len);

/* `s` escaped for a URL's query (filters={"label":[...]}, image names with '/' and ':'). */
char *dk_query_escape(const char *s);

#endif
