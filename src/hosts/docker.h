/* docker.h - what only the docker backend offers beyond the host_backend table: the compose
 * file of a job's containers (compose.c) and the per-host process that runs one container
 * (docker_attach.c). */
#ifndef SR_HOSTS_DOCKER_H
#define SR_HOSTS_DOCKER_H

struct host_group;
struct sr_error;
struct strv;

/* Write a docker-compose.yml at `path` (atomically) running the group's hosts as the docker
 * backend would (g->container set, hosts prepared).  Names of credentials, written by name
 * only, are added to `by_name`. */
int host_compose_write(const struct host_group *g, const char *path, struct strv *by_name,
		       struct sr_error *err);

/* `sagerun container attach`, the process the docker backend runs per host: wait for the
 * container `id` (registered before its start) through the engine at `socket`, API version
 * `api`, start it (unless SIGTERM or SIGINT came first), copy its output to stdout and
 * stderr, and end as it ended.  Returns the exit code for main() when the container exited
 * (after raising its signal on itself when it was killed by one); 125 when the engine failed,
 * after saying why on stderr, as `docker run` does. */
int host_docker_attach(const char *socket, const char *api, const char *host, const char *id);

#endif
