/* container.c - one host as a container: name, command, environment and mounts.
 *
 * The docker backend creates exactly this and `sagerun compose` writes exactly this, so a job
 * run either way sees the same container.  The layout is the service's: the host's tree at
 * /opt/ml, each channel read-only at /opt/ml/input/data/<channel>, hostname algo-N; the
 * command is `train` for the image's entrypoint (as `docker run IMAGE train` on the service),
 * or sagerun's own runtime with --toolkit builtin, or the job's ContainerEntrypoint and
 * ContainerArguments.
 */
#include "hosts/hosts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/contract.h"
#include "hosts/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/xalloc.h"

char *ctr_prefix(const struct host_container *c)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];

	sha256(c->job_dir, strlen(c->job_dir), d);
	sr_hex_encode(d, 4, hex);
	return xasprintf("sagerun-%s-%s", c->job_name, hex);
}

void ctr_spec_make(const struct host *h, const struct host_container *c, struct ctr_spec *s)
{
	_cleanup_free_ char *prefix = ctr_prefix(c);

	memset(s, 0, sizeof(*s));
	s->name = xasprintf("%s-%s", prefix, h->name);
	if (h->image_entry) {
		/* The image's ENTRYPOINT stays; argv replaces its CMD.  An empty Cmd keeps
		 * the image's (the engine takes an empty one as none, and so does compose). */
		for (size_t i = 0; i < h->argv.n; i++)
			strv_push(&s->cmd, h->argv.v[i]);
	} else if (h->run_self) {
		/* Script mode: the toolkit in the image (or ours) reads the config files. */
		if (c->toolkit_binary) {
			strv_push(&s->entrypoint, CTR_TOOLKIT_PATH);
			strv_push(&s->entrypoint, "container");
		}
		strv_push(&s->cmd, "train");
	} else {
		for (size_t i = 0; i < h->argv.n; i++)
			strv_push(&s->entrypoint, h->argv.v[i]);
	}
	for (size_t i = 0; i < h->env.n; i++)
		strv_push(&s->env, h->env.v[i]);
	s->mounts = xcalloc(h->n_binds + 2, sizeof(*s->mounts));
	s->mounts[s->n_mounts++] =
	    (struct ctr_mount){.src = h->opt_ml, .dst = CONTRACT_BASE_DIR, .readonly = false};
	for (size_t i = 0; i < h->n_binds; i++)
		s->mounts[s->n_mounts++] = (struct ctr_mount){
		    .src = h->binds[i].src,
		    .dst = h->binds[i].dst,
		    .readonly = h->binds[i].readonly,
		    .upper = h->binds[i].upper,
		    .volume = h->binds[i].upper ? xasprintf("%s-cow%zu", s->name, i) : NULL};
	if (c->toolkit_binary && h->run_self)
		s->mounts[s->n_mounts++] = (struct ctr_mount){
		    .src = c->toolkit_binary, .dst = CTR_TOOLKIT_PATH, .readonly = true};
}

char *ctr_overlay_options(const char *lower, const char *upper)
{
	if (strpbrk(lower, ",:\\") || strpbrk(upper, ",:\\"))
		return NULL;
	return xasprintf("lowerdir=%s,upperdir=%s/data,workdir=%s/work", lower, upper, upper);
}

int ctr_overlay_refuse(const char *src, struct sr_error *err)
{
	sr_err(err, -EINVAL,
	       "'%s' cannot be a writable channel: overlayfs options cannot hold , : or \\", src);
	return sr_err_hint(err, "rename the folder (or the job folder), or run the job on the ns "
				"backend, whose overlays escape them");
}

void ctr_spec_release(struct ctr_spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		free(s->mounts[i].volume);
	free(s->name);
	strv_release(&s->entrypoint);
	strv_release(&s->cmd);
	strv_release(&s->env);
	free(s->mounts);
	memset(s, 0, sizeof(*s));
}
