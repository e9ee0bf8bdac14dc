#include "runtime/torch.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/child.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

int rt_torch_run(const struct json_t *resource, const struct strv *env, char *const *argv,
		 const char *code_dir, int pph, int err_fd, char **ret_msg, struct sr_error *err)
{
	json_t *hosts = json_object_get(resource, "hosts");
	const char *me = json_string_value(json_object_get(resource, "current_host"));
	const char *iface = json_string_value(json_object_get(resource, "network_interface_name"));
	size_t nn = json_array_size(hosts), node = nn, failed = 0;
	struct rt_proc *procs;
	struct strv *envs;
	int r;

	for (size_t i = 0; me && i < nn; i++)
		if (!strcmp(json_string_value(json_array_get(hosts, i)) ?: "", me))
			node = i;
	if (node == nn)
		return sr_err(err, -EINVAL,
			      "resourceconfig.json: current_host '%s' is not in hosts",
			      me ? me : "");
	procs = xcalloc((size_t)pph, sizeof(*procs));
	envs = xcalloc((size_t)pph, sizeof(*envs));
	for (int lr = 0; lr < pph; lr++) {
		struct strv *e = &envs[lr];
		char v[32];

		for (size_t i = 0; i < env->n; i++)
			strv_push(e, env->v[i]);
		/* Unless the launcher knows better (127.0.0.1 where algo-N does not resolve). */
		if (!strv_env_get(e, "MASTER_ADDR"))
			strv_env_set(e, "MASTER_ADDR", json_string_value(json_array_get(hosts, 0)));
		strv_env_set(e, "MASTER_PORT", RT_TORCH_MASTER_PORT);
#define SET_INT(name, val)                                                                         \
	do {                                                                                       \
		snprintf(v, sizeof(v), "%zu", (size_t)(val));                                      \
		strv_env_set(e, name, v);                                                          \
	} while (0)
		SET_INT("WORLD_SIZE", (size_t)pph * nn);
		SET_INT("RANK", node * (size_t)pph + (size_t)lr);
		SET_INT("LOCAL_RANK", lr);
		SET_INT("LOCAL_WORLD_SIZE", pph);
		SET_INT("GROUP_RANK", node);
		SET_INT("NODE_RANK", node);
		SET_INT("ROLE_RANK", node * (size_t)pph + (size_t)lr);
		SET_INT("ROLE_WORLD_SIZE", (size_t)pph * nn);
#undef SET_INT
		strv_env_set(e, "TORCHELASTIC_RESTART_COUNT", "0");
		strv_env_set(e, "TORCHELASTIC_MAX_RESTARTS", "0");
		strv_env_set(e, "TORCHELASTIC_RUN_ID", "none");
		if (iface)
			strv_env_set(e, "NCCL_SOCKET_IFNAME", iface);
		strv_env_set(e, "NCCL_PROTO", "simple");
		procs[lr].argv = argv;
		procs[lr].envp = e->v;
	}
	*ret_msg = NULL;
	r = rt_procs_run(procs, (size_t)pph, code_dir, err_fd, &failed, err);
	if (r >= 0 && failed < (size_t)pph) {
		_cleanup_free_ char *who =
		    xasprintf("rank %zu (local_rank %zu)", node * (size_t)pph + failed, failed);

		*ret_msg = rt_exit_message(argv, procs[failed].status, &procs[failed].tail, who);
	}
	for (int lr = 0; lr < pph; lr++)
		strv_release(&envs[lr]);
	free(envs);
	free(procs);
	return r;
}
