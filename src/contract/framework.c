/* framework.c - the framework containers' own behaviour (framework.h), one row each. */
#include "contract/framework.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract/contract.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* sagemaker-pytorch-training-toolkit, training.py: MASTER_PORT = '7777'. */
#define PYTORCH_MASTER_PORT "7777"

/* The first of the hosts, sorted, as the toolkit's master_hostname. */
static const char *master_host(const struct contract_config *cfg)
{
	return json_string_value(json_array_get(json_object_get(cfg->resource, "hosts"), 0));
}

/* training.py's _set_nccl_environment and _set_distributed_environment, run for every job,
 * distributed or not: NCCL over the network interface with IP sockets, and the rendezvous at
 * the master on port 7777.  (It first waits until every host name resolves; where they never
 * do, the process backend's hosts on this machine's network, MASTER_ADDR stays what the
 * backend gave, 127.0.0.1, since the wait would never end.) */
static void pytorch_env(const struct contract_config *cfg, struct strv *env,
			bool (*resolves)(const char *host))
{
	const char *iface =
	    json_string_value(json_object_get(cfg->resource, "network_interface_name"));
	const char *master = master_host(cfg);

	strv_env_set(env, "NCCL_SOCKET_IFNAME", iface ? iface : CONTRACT_IFACE_DEFAULT);
	strv_env_set(env, "NCCL_IB_DISABLE", "1");
	strv_env_set(env, "NCCL_DEBUG", "WARN");
	if (master && (!resolves || resolves(master) || !strv_env_get(env, "MASTER_ADDR")))
		strv_env_set(env, "MASTER_ADDR", master);
	strv_env_set(env, "MASTER_PORT", PYTORCH_MASTER_PORT);
}

static bool hp_true(const struct contract_config *cfg, const char *name)
{
	_cleanup_json_ json_t *v = contract_hp(cfg, name);

	return v && json_is_true(v);
}

/* The PyTorch container's runners: its own process runner, mpirun (sagemaker_mpi_enabled),
 * torchrun (sagemaker_torch_distributed_enabled), which sagerun's runtime has; and SMDDP
 * (native DDP or smdistributed dataparallel), which needs AWS's library and GPU instances. */
static char *pytorch_refuse(const struct contract_config *cfg)
{
	if (hp_true(cfg, "sagemaker_distributed_dataparallel_enabled") ||
	    hp_true(cfg, "sagemaker_pytorch_ddp_enabled"))
		return xstrdup("ClientError: SageMaker's distributed data parallel library (SMDDP) "
			       "runs on ml.p3.16xlarge, ml.p3dn.24xlarge and ml.p4d.24xlarge "
			       "instances with AWS's own library, not here: use "
			       "distribution torch_distributed (--distribution torch) or mpi");
	if (hp_true(cfg, "sagemaker_pytorch_xla_multi_worker_enabled"))
		return xstrdup("ClientError: PyTorch/XLA runs on Trainium and GPU instances with "
			       "AWS's XLA build, not here: use --distribution torch");
	return NULL;
}

static const struct contract_framework frameworks[] = {
    {"pytorch", "sagemaker_pytorch_container.training:main", pytorch_env, pytorch_refuse},
};

const struct contract_framework *contract_framework_find(const char *name)
{
	for (size_t i = 0; i < sizeof(frameworks) / sizeof(frameworks[0]); i++)
		if (name && !strcmp(frameworks[i].name, name))
			return &frameworks[i];
	return NULL;
}

const struct contract_framework *contract_framework_of_module(const char *module)
{
	for (size_t i = 0; i < sizeof(frameworks) / sizeof(frameworks[0]); i++)
		if (module && !strcmp(frameworks[i].module, module))
			return &frameworks[i];
	return NULL;
}

const char *contract_framework_names(void)
{
	return "pytorch";
}
