/* compose.c - a docker-compose.yml for a job's hosts: the containers the docker backend
 * would create (container.c), as services algo-1..algo-N on one network.
 *
 * Every string is written as a double-quoted scalar: JSON's string syntax is a subset of
 * YAML's, so jansson's encoder quotes it (\", \\, \n, \uXXXX).  Compose expands $VAR in
 * values, so each '$' is doubled first.  Credentials (util/secret.h) are written by name only
 * ("- AWS_SECRET_ACCESS_KEY"), which compose fills from the caller's environment at `up`.
 * The file is written to a temporary name beside its target and renamed.
 */
#include "hosts/docker.h"
#include "hosts/hosts.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosts/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/secret.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* `s` as a double-quoted YAML scalar, with compose's '$' doubled; NULL when `s` is not
 * UTF-8.  Escaped: '"', '\\', every C0 and C1 control and DEL (\xNN), and the characters
 * YAML 1.1 (PyYAML, docker-compose 1.x) folds as line breaks: NEL, LS, PS (\N, \L, \P). */
static char *yq(const char *s)
{
	size_t len = strlen(s), n = 0;
	char *o = xmalloc(4 * len + 3); /* at worst \xNN for every byte */

	o[n++] = '"';
	for (size_t i = 0; i < len;) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t k = utf8_seq(p, len - i);

		if (!k) {
			free(o);
			return NULL;
		}
		if (k == 1 && (*p < 0x20 || *p == 0x7f)) {
			n += (size_t)sprintf(o + n, "\\x%02x", *p);
		} else if (k == 1 && (*p == '"' || *p == '\\')) {
			o[n++] = '\\';
			o[n++] = (char)*p;
		} else if (k == 1 && *p == '$') {
			o[n++] = '$';
			o[n++] = '$';
		} else if (k == 2 && p[0] == 0xc2 && p[1] == 0x85) {
			memcpy(o + n, "\\N", 2), n += 2;
		} else if (k == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			n += (size_t)sprintf(o + n, "\\x%02x", p[1]);
		} else if (k == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
			   (p[2] == 0xa8 || p[2] == 0xa9)) {
			memcpy(o + n, p[2] == 0xa8 ? "\\L" : "\\P", 2), n += 2;
		} else {
			memcpy(o + n, p, k);
			n += k;
		}
		i += k;
	}
	o[n++] = '"';
	o[n] = '\0';
	return o;
}

static bool utf8_ok(const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0, k; i < len; i += k)
		if (!(k = utf8_seq((const unsigned char *)s + i, len - i)))
			return false;
	return true;
}

/* Refuse a writable channel whose folder overlayfs's options cannot name (as docker.c). */
static int check_layerable(const struct host_group *g, struct sr_error *err)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < g->n; i++) {
		struct ctr_spec s;

		ctr_spec_make(&g->hosts[i], g->container, &s);
		for (size_t j = 0; r >= 0 && j < s.n_mounts; j++) {
			_cleanup_free_ char *o = NULL;

			if (!s.mounts[j].volume)
				continue;
			o = ctr_overlay_options(s.mounts[j].src, s.mounts[j].upper);
			if (!o)
				r = ctr_overlay_refuse(s.mounts[j].src, err);
		}
		ctr_spec_release(&s);
	}
	return r;
}

/* The first string of the job's containers that YAML cannot hold (not UTF-8), or NULL. */
static const char *first_invalid(const struct host_group *g, char *what, size_t len)
{
	const struct host_container *c = g->container;

	if (!utf8_ok(c->image) || !utf8_ok(c->job_dir) || !utf8_ok(c->job_name))
		return "the image name or the job's folder";
	for (size_t i = 0; i < g->n; i++) {
		struct ctr_spec s;
		bool ok = true;

		ctr_spec_make(&g->hosts[i], c, &s);
		for (size_t j = 0; ok && j < s.entrypoint.n; j++)
			ok = utf8_ok(s.entrypoint.v[j]);
		for (size_t j = 0; ok && j < s.env.n; j++)
			ok = utf8_ok(s.env.v[j]);
		for (size_t j = 0; ok && j < s.n_mounts; j++)
			ok = utf8_ok(s.mounts[j].src);
		ctr_spec_release(&s);
		if (!ok) {
			snprintf(what, len, "%s: a command, variable or mount", g->hosts[i].name);
			return what;
		}
	}
	return NULL;
}

static void put_list(FILE *f, const char *indent, const char *key, const struct strv *sv)
{
	fprintf(f, "%s%s: [", indent, key);
	for (size_t i = 0; i < sv->n; i++) {
		_cleanup_free_ char *q = yq(sv->v[i]);

		fprintf(f, "%s%s", i ? ", " : "", q);
	}
	fputs("]\n", f);
}

static void put_labels(FILE *f, const char *indent, const struct host_container *c,
		       const char *host)
{
	_cleanup_free_ char *job = yq(c->job_name), *dir = yq(c->job_dir);

	fprintf(f, "%slabels:\n%s  sagerun.job: %s\n%s  sagerun.dir: %s\n", indent, indent, job,
		indent, dir);
	if (host)
		fprintf(f, "%s  sagerun.host: \"%s\"\n", indent, host);
}

static void put_service(FILE *f, const struct host *h, const struct host_container *c,
			struct strv *by_name)
{
	struct ctr_spec s;
	_cleanup_free_ char *image = yq(c->image);

	ctr_spec_make(h, c, &s);
	fprintf(f, "  %s:\n", h->name);
	fprintf(f, "    image: %s\n", image);
	fprintf(f, "    hostname: %s\n", h->name);
	fprintf(f, "    networks:\n      sagerun:\n        aliases: [\"%s\"]\n", h->name);
	if (s.entrypoint.n)
		put_list(f, "    ", "entrypoint", &s.entrypoint);
	put_list(f, "    ", "command", &s.cmd);
	fputs("    environment:\n", f);
	for (size_t i = 0; i < s.env.n; i++) {
		const char *kv = s.env.v[i], *eq = strchr(kv, '=');
		_cleanup_free_ char *key = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		_cleanup_free_ char *q = NULL;

		if (sr_name_is_credential(key)) {
			q = yq(key);
			if (!strv_contains(by_name, key))
				strv_push(by_name, key);
		} else {
			q = yq(kv);
		}
		fprintf(f, "      - %s\n", q);
	}
	fputs("    volumes:\n", f);
	for (size_t i = 0; i < s.n_mounts; i++) {
		_cleanup_free_ char *src = yq(s.mounts[i].src), *dst = yq(s.mounts[i].dst);
		_cleanup_free_ char *vol = s.mounts[i].volume ? yq(s.mounts[i].volume) : NULL;

		if (vol) { /* copy-on-write: the file's volumes section says how */
			fprintf(f, "      - type: volume\n        source: %s\n        target: %s\n",
				vol, dst);
			continue;
		}
		fprintf(f, "      - type: bind\n        source: %s\n        target: %s\n", src,
			dst);
		if (s.mounts[i].readonly)
			fputs("        read_only: true\n", f);
	}
	if (c->shm_bytes > 0)
		fprintf(f, "    shm_size: %lld\n", c->shm_bytes);
	if (c->gpus) {
		fputs("    deploy:\n      resources:\n        reservations:\n          devices:\n",
		      f);
		if (c->gpus < 0)
			fputs("            - {driver: nvidia, count: all, capabilities: [gpu]}\n",
			      f);
		else
			fprintf(f,
				"            - {driver: nvidia, count: %d, capabilities: [gpu]}\n",
				c->gpus);
	}
	put_labels(f, "    ", c, h->name);
	ctr_spec_release(&s);
}

/* The copy-on-write channels' volumes: overlays the local driver mounts (as the docker
 * backend asks the engine for them), named for the job so that `down -v` removes them. */
static void put_volumes(FILE *f, const struct host_group *g, const struct host_container *c)
{
	bool any = false;

	for (size_t i = 0; i < g->n; i++) {
		struct ctr_spec s;

		ctr_spec_make(&g->hosts[i], c, &s);
		for (size_t j = 0; j < s.n_mounts; j++) {
			_cleanup_free_ char *o = NULL, *oq = NULL, *name = NULL;

			if (!s.mounts[j].volume)
				continue;
			o = ctr_overlay_options(s.mounts[j].src, s.mounts[j].upper);
			oq = yq(o ? o : "");
			name = yq(s.mounts[j].volume);
			if (!any)
				fputs("\nvolumes:\n", f);
			any = true;
			fprintf(f,
				"  %s:\n    name: %s\n    driver: local\n    driver_opts:\n"
				"      type: overlay\n      device: overlay\n      o: %s\n",
				name, name, oq);
			put_labels(f, "    ", c, g->hosts[i].name);
		}
		ctr_spec_release(&s);
	}
}

int host_compose_write(const struct host_group *g, const char *path, struct strv *by_name,
		       struct sr_error *err)
{
	const struct host_container *c = g->container;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_free_ char *net = ctr_prefix(c);
	char what[64];
	const char *bad = first_invalid(g, what, sizeof(what));
	FILE *f;
	int r = 0;

	if (bad)
		return sr_err(err, -EINVAL, "%s: not valid UTF-8, which a compose file cannot hold",
			      bad);
	if (strchr(path, '\n'))
		return sr_err(err, -EINVAL, "compose file name with a line break: %s", path);
	r = check_layerable(g, err);
	if (r < 0)
		return r;
	f = fopen(tmp, "wx");
	if (!f)
		return sr_err_errno(err, errno, "create '%s'", tmp);
	fprintf(f,
		"# %s for SageMaker %s job %s, %zu hosts: written by sagerun compose.\n"
		"# Run: docker-compose -f %s up; remove: docker-compose -f %s down\n",
		path, c->job_kind ? c->job_kind : "training", c->job_name, g->n, path, path);
	fputs("version: \"3.7\"\n\nnetworks:\n  sagerun:\n", f);
	fprintf(f, "    name: \"%s\"\n", net);
	/* Hosts reach each other and nothing else, as the other backends by default. */
	if (!g->network_host)
		fputs("    internal: true\n", f);
	put_labels(f, "    ", c, NULL);
	put_volumes(f, g, c);
	fputs("\nservices:\n", f);
	for (size_t i = 0; i < g->n; i++)
		put_service(f, &g->hosts[i], c, by_name);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0)
		r = sr_err(err, -EIO, "write '%s': %s", tmp, strerror(errno ? errno : EIO));
	if (fclose(f) != 0 && r >= 0)
		r = sr_err(err, -EIO, "write '%s': %s", tmp, strerror(errno));
	if (r >= 0 && rename(tmp, path) < 0)
		r = sr_err_errno(err, errno, "rename '%s' to '%s'", tmp, path);
	if (r < 0)
		(void)unlink(tmp);
	return r;
}
