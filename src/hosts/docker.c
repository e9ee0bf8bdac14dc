/* docker.c - the `docker` backend: each host is a container of the job's image.
 *
 * Everything goes through the Docker Engine API on its Unix socket (docker_api.h): no docker
 * CLI, no Compose.  Per job one bridge network (internal by default: hosts reach each other
 * and nothing else, as with the ns backend); per host a container named <prefix>-algo-N with
 * hostname and network alias algo-N, made by container.c's spec.  Everything carries the
 * labels sagerun.job and sagerun.dir (the job's folder), by which the leftovers of a job
 * whose supervisor died are found and removed (dk_cleanup_leftovers).
 *
 * The supervisor wants a process per host: a pidfd that says "exited", and pipes with its
 * stdout and stderr.  That process is `sagerun container attach` (docker_attach.c), started
 * with the process backend: it asks the engine to wait for the container (before starting
 * it, so a fast exit is never missed), starts it, follows its logs into its own stdout and
 * stderr, and exits with the container's status.  This is what `docker run` (the CLI) is for
 * a container; here it is one small process per host.  Signals go to the container through
 * the engine (/kill), so SIGKILL reaches the container too; only a container that is not
 * running yet gets its signal through that process, which then never starts it.
 */
#include "hosts/hosts.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosts/docker_api.h"
#include "hosts/internal.h"
#include "hosts/spawn.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/signame.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct dk_group {
	struct dk_engine engine;
	char *network; /* its name (ids are not needed: names are unique per job) */
	bool network_made;
	bool engine_ok; /* an engine answered: there may be something of the job to remove */
};

struct dk_host {
	const struct dk_engine *engine; /* the group's */
	char *id;			/* the container's id, NULL until created */
	void *shim; /* the process backend's record of `sagerun container attach` */
	bool removed;
};

static void labels_add(json_t *o, const struct host_container *c, const char *host)
{
	json_t *l = json_object();

	json_object_set_new(l, "sagerun.job", json_string(c->job_name));
	json_object_set_new(l, "sagerun.dir", json_string(c->job_dir));
	if (host)
		json_object_set_new(l, "sagerun.host", json_string(host));
	json_object_set_new(o, "Labels", l);
}

static json_t *json_strv(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/* ---- finding and removing what a job made ---------------------------------------------- */

/* The ids of the containers (all, running or not), networks or volumes (their names) labelled
 * sagerun.dir=job_dir: `what` is "containers", "networks" or "volumes". */
static int list_labelled(const struct dk_engine *e, const char *what, const char *job_dir,
			 struct strv *ids, struct sr_error *err)
{
	_cleanup_json_ json_t *f = json_pack("{s:[s+]}", "label", "sagerun.dir=", job_dir);
	_cleanup_free_ char *text = json_dumps(f, JSON_COMPACT);
	_cleanup_free_ char *q = dk_query_escape(text);
	_cleanup_free_ char *full = !strcmp(what, "containers")
					? xasprintf("/containers/json?all=1&filters=%s", q)
					: xasprintf("/%s?filters=%s", what, q);
	_cleanup_json_ json_t *ans = NULL;
	long status = 0;
	json_t *list, *v;
	size_t i;
	int r = dk_request(e, "GET", full, NULL, &status, &ans, err);

	if (r < 0)
		return r;
	/* Volumes come as {"Volumes": [{"Name": ...}]}, the others as a list with ids. */
	list = !strcmp(what, "volumes") ? json_object_get(ans, "Volumes") : ans;
	if (status != 200 || (!json_is_array(list) && !json_is_null(list))) {
		char b[32];

		return sr_err(err, -EIO, "Docker engine: list %s: %s", what,
			      dk_message(ans, status, b, sizeof(b)));
	}
	json_array_foreach (list, i, v) {
		const char *id = json_string_value(json_object_get(v, "Id"));

		if (!id)
			id = json_string_value(json_object_get(v, "Name"));
		if (id)
			strv_push(ids, id);
	}
	return 0;
}

/* DELETE a container (forced: a running one is killed), a network or a volume (`what`, as
 * list_labelled's).  Gone already (404) or being removed by someone else (409) is what was
 * wanted. */
static int object_remove(const struct dk_engine *e, const char *what, const char *id,
			 struct sr_error *err)
{
	bool container = !strcmp(what, "containers");
	_cleanup_free_ char *path =
	    container ? xasprintf("/containers/%s?force=1&v=1", id) : xasprintf("/%s/%s", what, id);
	_cleanup_json_ json_t *ans = NULL;
	long status = 0;
	char b[32];
	int r = dk_request(e, "DELETE", path, NULL, &status, &ans, err);

	if (r < 0)
		return r;
	if (status == 200 || status == 204 || status == 404 || status == 409)
		return 0;
	return sr_err(err, -EIO, "Docker engine: remove %s %.64s: %s", what, id,
		      dk_message(ans, status, b, sizeof(b)));
}

static int container_remove(const struct dk_engine *e, const char *id, struct sr_error *err)
{
	return object_remove(e, "containers", id, err);
}

static int network_remove(const struct dk_engine *e, const char *id, struct sr_error *err)
{
	return object_remove(e, "networks", id, err);
}

/* Containers first: a network or a volume that a container uses cannot go. */
static int cleanup_job(const struct dk_engine *e, const char *job_dir, struct sr_error *err)
{
	static const char *const kinds[] = {"containers", "volumes", "networks"};
	int r = 0;

	for (size_t k = 0; r >= 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct strv ids = STRV_INIT;

		r = list_labelled(e, kinds[k], job_dir, &ids, err);
		for (size_t i = 0; r >= 0 && i < ids.n; i++)
			r = object_remove(e, kinds[k], ids.v[i], err);
		strv_release(&ids);
	}
	return r;
}

/* The containers and network of a job whose supervisor died, found by label; quiet when
 * there is no engine (nothing of the job can be left in one). */
static void dk_cleanup_leftovers(const char *job_dir, struct strv *warnings)
{
	struct sr_error err = {0};
	_cleanup_free_ char *socket = dk_socket_path(&err);
	struct dk_engine e = {0};
	struct stat st;

	if (!socket || stat(socket, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	if (dk_engine_open(&e, socket, &err) < 0 || cleanup_job(&e, job_dir, &err) < 0)
		strv_pushf(warnings, "removing the containers of %s: %s", job_dir, err.msg);
	dk_engine_release(&e);
}

/* ---- the job's network ----------------------------------------------------------------- */

static int image_check(const struct dk_engine *e, const char *image, struct sr_error *err)
{
	_cleanup_free_ char *q = dk_query_escape(image);
	_cleanup_free_ char *path = xasprintf("/images/%s/json", q);
	_cleanup_json_ json_t *ans = NULL;
	long status = 0;
	char b[32];
	int r = dk_request(e, "GET", path, NULL, &status, &ans, err);

	if (r < 0)
		return r;
	if (status == 200)
		return 0;
	if (status == 404) {
		sr_err(err, -ENOENT, "image '%s' is not on this machine's Docker engine", image);
		return sr_err_hint(err,
				   "sagerun pulls from no registry: build the image (docker "
				   "build), load it (docker load) or import it (docker import); "
				   "`docker images` lists what is there");
	}
	return sr_err(err, -EIO, "Docker engine: image '%s': %s", image,
		      dk_message(ans, status, b, sizeof(b)));
}

static void dk_group_teardown(struct host_group *g);

static int dk_group_prepare(struct host_group *g, struct sr_error *err)
{
	const struct host_container *c = g->container;
	struct dk_group *dg;
	_cleanup_json_ json_t *body = NULL, *ans = NULL;
	long status = 0;
	char b[32];
	int r;

	if (!c || !c->image)
		return sr_err(err, -EINVAL, "the docker backend needs an image");
	dg = xcalloc(1, sizeof(*dg));
	g->priv = dg;
	r = dk_engine_open(&dg->engine, NULL, err);
	dg->engine_ok = r >= 0;
	if (r >= 0)
		r = image_check(&dg->engine, c->image, err);
	/* An earlier job of this folder (a retry, or one whose supervisor died before the next
	 * command could tidy up) must not leave a name in use. */
	if (r >= 0)
		r = cleanup_job(&dg->engine, c->job_dir, err);
	if (r < 0)
		return r;

	dg->network = ctr_prefix(c);
	body = json_pack("{s:s, s:s, s:b, s:b, s:b}", "Name", dg->network, "Driver", "bridge",
			 "CheckDuplicate", 1, "Internal", !g->network_host, "Attachable", 1);
	labels_add(body, c, NULL);
	r = dk_request(&dg->engine, "POST", "/networks/create", body, &status, &ans, err);
	if (r < 0)
		return r;
	if (status == 409) {
		sr_err(err, -EEXIST,
		       "Docker network '%s' already exists and sagerun did not make it",
		       dg->network);
		return sr_err_hint(err, "remove it (docker network rm %s) or choose another --name",
				   dg->network);
	}
	if (status != 201 && status != 200)
		return sr_err(err, -EIO, "Docker engine: create network '%s': %s", dg->network,
			      dk_message(ans, status, b, sizeof(b)));
	dg->network_made = true;
	return 0;
}

static void dk_group_teardown(struct host_group *g)
{
	struct dk_group *dg = g->priv;
	struct sr_error err = {0};

	if (!dg)
		return;
	/* Every container of the job goes first (a host's own teardown may come later). */
	for (size_t i = 0; i < g->n; i++) {
		struct dk_host *d =
		    g->hosts[i].backend == &host_backend_docker ? g->hosts[i].priv : NULL;

		if (d && d->id && !d->removed) {
			if (container_remove(&dg->engine, d->id, &err) < 0) {
				fprintf(stderr, "sagerun: warning: %s: %s\n", g->hosts[i].name,
					err.msg);
				sr_err_clear(&err);
			}
			d->removed = true;
		}
	}
	if (dg->network_made && network_remove(&dg->engine, dg->network, &err) < 0) {
		fprintf(stderr, "sagerun: warning: %s\n", err.msg);
		sr_err_clear(&err);
	}
	/* And whatever else carries the job's label: a container whose create answer was lost
	 * (a timeout) is in the engine all the same. */
	if (dg->engine_ok && g->container && g->container->job_dir &&
	    cleanup_job(&dg->engine, g->container->job_dir, &err) < 0)
		fprintf(stderr, "sagerun: warning: %s\n", err.msg);
	dk_engine_release(&dg->engine);
	free(dg->network);
	free(dg);
	g->priv = NULL;
}

/* ---- one host -------------------------------------------------------------------------- */

/* A bind, or for copy-on-write a volume the engine makes at the container's creation and
 * mounts as an overlay in its own mount namespace (the machine's mount table never holds it),
 * labelled as the job's so that it goes with the job. */
static json_t *mount_json(const struct host *h, const struct host_container *c,
			  const struct ctr_mount *m)
{
	_cleanup_free_ char *o = m->upper ? ctr_overlay_options(m->src, m->upper) : NULL;
	json_t *vo, *labels;

	if (!o)
		return json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", m->src, "Target",
				 m->dst, "ReadOnly", m->readonly);
	labels = json_object();
	vo = json_pack("{s:{s:s, s:{s:s, s:s, s:s}}}", "DriverConfig", "Name", "local", "Options",
		       "type", "overlay", "device", "overlay", "o", o);
	labels_add(labels, c, h->name);
	json_object_set(vo, "Labels", json_object_get(labels, "Labels"));
	json_decref(labels);
	return json_pack("{s:s, s:s, s:s, s:o}", "Type", "volume", "Source", m->volume, "Target",
			 m->dst, "VolumeOptions", vo);
}

static json_t *create_body(const struct host *h, const struct host_container *c,
			   const struct ctr_spec *s, const char *network)
{
	json_t *body = json_object(), *hc = json_object(), *mounts = json_array();
	json_t *ep = json_object();

	json_object_set_new(body, "Image", json_string(c->image));
	json_object_set_new(body, "Hostname", json_string(h->name));
	json_object_set_new(body, "Env", json_strv(&s->env));
	if (s->entrypoint.n)
		json_object_set_new(body, "Entrypoint", json_strv(&s->entrypoint));
	json_object_set_new(body, "Cmd", json_strv(&s->cmd));
	labels_add(body, c, h->name);

	for (size_t i = 0; i < s->n_mounts; i++)
		json_array_append_new(mounts, mount_json(h, c, &s->mounts[i]));
	json_object_set_new(hc, "Mounts", mounts);
	json_object_set_new(hc, "NetworkMode", json_string(network));
	if (c->shm_bytes > 0)
		json_object_set_new(hc, "ShmSize", json_integer(c->shm_bytes));
	if (c->gpus)
		json_object_set_new(hc, "DeviceRequests",
				    json_pack("[{s:s, s:I, s:[[s]]}]", "Driver", "", "Count",
					      (json_int_t)c->gpus, "Capabilities", "gpu"));
	json_object_set_new(body, "HostConfig", hc);

	json_object_set_new(ep, network, json_pack("{s:[s]}", "Aliases", h->name));
	json_object_set_new(body, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", ep));
	return body;
}

static int container_create(struct host *h, struct dk_host *d, const char *network,
			    struct sr_error *err)
{
	const struct host_container *c = h->group->container;
	struct ctr_spec s;
	_cleanup_json_ json_t *body = NULL, *ans = NULL;
	_cleanup_free_ char *path = NULL;
	long status = 0;
	char b[32];
	int r;

	ctr_spec_make(h, c, &s);
	for (size_t i = 0; i < s.n_mounts; i++) {
		_cleanup_free_ char *o =
		    s.mounts[i].upper ? ctr_overlay_options(s.mounts[i].src, s.mounts[i].upper)
				      : NULL;

		if (s.mounts[i].upper && !o) {
			ctr_overlay_refuse(s.mounts[i].src, err);
			r = sr_err_wrap(err, "%s", h->name);
			goto out;
		}
	}
	body = create_body(h, c, &s, network);
	path = xasprintf("/containers/create?name=%s", s.name);
	r = dk_request(d->engine, "POST", path, body, &status, &ans, err);
	if (r < 0)
		goto out;
	if (status == 201) {
		const char *id = json_string_value(json_object_get(ans, "Id"));

		if (!id)
			r = sr_err(err, -EPROTO, "%s: the engine answered no container id",
				   h->name);
		else
			d->id = xstrdup(id);
	} else if (status == 409) {
		r = sr_err(err, -EEXIST, "%s: container name '%s' is in use", h->name, s.name);
		sr_err_hint(err, "remove that container (docker rm -f %s)", s.name);
	} else if (status == 404) {
		r = sr_err(err, -ENOENT, "%s: %s", h->name, dk_message(ans, status, b, sizeof(b)));
	} else {
		/* 400: the engine's words say which setting (a mount source, the GPUs...). */
		r = sr_err(err, status == 400 ? -EINVAL : -EIO, "%s: create container: %s", h->name,
			   dk_message(ans, status, b, sizeof(b)));
	}
out:
	ctr_spec_release(&s);
	return r;
}

/* The process backend's functions on the host record, with its own state swapped in. */
#define WITH_SHIM(h, d, call)                                                                      \
	({                                                                                         \
		void *mine_ = (h)->priv;                                                           \
		(h)->priv = (d)->shim;                                                             \
		__typeof__(call) r_ = (call);                                                      \
		(d)->shim = (h)->priv;                                                             \
		(h)->priv = mine_;                                                                 \
		r_;                                                                                \
	})

static int shim_start(struct host *h, struct dk_host *d, struct sr_error *err)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct strv saved_argv = h->argv, saved_env = h->env;
	char *saved_cwd = h->cwd;
	bool saved_self = h->run_self;
	int r;

	strv_push(&argv, "sagerun");
	strv_push(&argv, "container");
	strv_push(&argv, "attach");
	strv_push(&argv, "--engine");
	strv_push(&argv, d->engine->socket);
	strv_push(&argv, "--api");
	strv_push(&argv, d->engine->api);
	strv_push(&argv, "--host");
	strv_push(&argv, h->name);
	strv_push(&argv, d->id);
	strv_push(&env, "PATH=" SPAWN_DEFAULT_PATH);
	h->argv = argv;
	h->env = env;
	h->cwd = NULL;
	h->run_self = true;
	r = WITH_SHIM(h, d, host_backend_process.start(h, err));
	h->argv = saved_argv;
	h->env = saved_env;
	h->cwd = saved_cwd;
	h->run_self = saved_self;
	strv_release(&argv);
	strv_release(&env);
	return r;
}

static int dk_start(struct host *h, struct sr_error *err)
{
	struct dk_group *dg = h->group ? h->group->priv : NULL;
	struct dk_host *d;
	int r;

	if (!dg || !dg->network_made)
		return sr_err(err, -EINVAL, "%s: the job's network was not made", h->name);
	d = xcalloc(1, sizeof(*d));
	d->engine = &dg->engine;
	h->priv = d;
	r = container_create(h, d, dg->network, err);
	if (r >= 0)
		r = shim_start(h, d, err);
	return r; /* on failure the teardown removes what was made */
}

static int dk_signal(struct host *h, int sig, struct sr_error *err)
{
	struct dk_host *d = h->priv;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *ans = NULL;
	long status = 0;
	char sb[32], b[32];
	int r;

	if (!d || !d->id || d->removed)
		return 0;
	path = xasprintf("/containers/%s/kill?signal=%d", d->id, sig);
	r = dk_request(d->engine, "POST", path, NULL, &status, &ans, err);
	if (r < 0)
		return sr_err_wrap(err, "%s: send %s", h->name, sr_signame(sig, sb));
	if (status == 204 || status == 404)
		return 0;
	/* 409: not running.  Either it ended (its attach process ends too) or its attach
	 * process has not started it yet: that process then gives up without starting it on
	 * SIGTERM or SIGINT (or, when it started it meanwhile, hands the signal on to the
	 * engine), and SIGKILL ends it (the teardown removes the container). */
	if (status == 409) {
		struct sr_error ignored = {0};

		if (d->shim)
			(void)WITH_SHIM(h, d, host_backend_process.signal(h, sig, &ignored));
		return 0;
	}
	return sr_err(err, -EIO, "%s: send %s: %s", h->name, sr_signame(sig, sb),
		      dk_message(ans, status, b, sizeof(b)));
}

static int dk_collect(struct host *h, int *ret_status, struct sr_error *err)
{
	struct dk_host *d = h->priv;

	if (!d)
		return sr_err(err, -ECHILD, "%s: nothing to collect", h->name);
	return WITH_SHIM(h, d, host_backend_process.collect(h, ret_status, err));
}

static void dk_teardown(struct host *h)
{
	struct dk_host *d = h->priv;
	struct sr_error err = {0};

	if (!d)
		return;
	/* Kills and reaps the attach process if it still runs, closes its fds. */
	WITH_SHIM(h, d, (host_backend_process.teardown(h), 0));
	if (d->id && !d->removed && container_remove(d->engine, d->id, &err) < 0)
		fprintf(stderr, "sagerun: warning: %s: %s\n", h->name, err.msg);
	free(d->id);
	free(d);
	h->priv = NULL;
}

static int dk_check_options(const struct host_options *o, size_t n_hosts,
			    const struct job_report *rep, struct sr_error *err)
{
	(void)n_hosts;
	if (!o->image) {
		sr_err(err, -EINVAL, "--backend docker needs an image");
		return sr_err_hint(err,
				   "add --image IMAGE (or AlgorithmSpecification.TrainingImage "
				   "in the spec)");
	}
	if (o->subnet)
		job_say(rep, JOB_SAY_WARNING, NULL,
			"--subnet %s: the Docker engine picks the job network's subnet", o->subnet);
	if (o->network_host)
		job_say(rep, JOB_SAY_NOTE, NULL,
			"--network host: the containers' network is not internal (they reach this "
			"machine's networks through the engine's bridge)");
	if (o->network_host && o->network_isolation)
		job_say(rep, JOB_SAY_WARNING, NULL,
			"EnableNetworkIsolation: with --network host the containers reach this "
			"machine's networks");
	if (o->privileged || o->keep_layers)
		job_say(rep, JOB_SAY_WARNING, NULL,
			"%s: for ns hosts; the Docker engine's containers keep its defaults",
			o->privileged ? "--privileged" : "--keep-layers");
	return 0;
}

/* What the hand-written compose files of SageMaker users set (GraphStorm's generator:
 * seed-systems.md), so their programs run unchanged; a runner sets its own. */
static void dk_host_env(const struct host *h, struct strv *env)
{
	char n[24];

	snprintf(n, sizeof(n), "%zu", h->group ? h->group->n : 1);
	if (!strv_env_get(env, "MASTER_ADDR") && h->group)
		strv_env_set(env, "MASTER_ADDR", h->group->hosts[0].name);
	if (!strv_env_get(env, "WORLD_SIZE"))
		strv_env_set(env, "WORLD_SIZE", n);
}

const struct host_backend host_backend_docker = {
    .name = "docker",
    .summary = "a container of the job's image per host, on\n"
	       "the local Docker engine",
    .flags = HOST_BACKEND_F_OPT_ML | HOST_BACKEND_F_OWN_ADDRESS | HOST_BACKEND_F_BINDS |
	     HOST_BACKEND_F_CONTAINER,
    .check_options = dk_check_options,
    .cleanup_leftovers = dk_cleanup_leftovers,
    .host_env = dk_host_env,
    .group_prepare = dk_group_prepare,
    .group_teardown = dk_group_teardown,
    .start = dk_start,
    .signal = dk_signal,
    .collect = dk_collect,
    .teardown = dk_teardown,
};
