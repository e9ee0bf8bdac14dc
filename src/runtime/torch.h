/* torch.h - the torch runner (reference §2.10): what torchrun gives each worker, without
 * torchrun (Debian's is broken with Python 3.11).  Every host starts `pph` local processes of
 * the entry point; each gets
 *
 *   MASTER_ADDR=<hosts[0], unless set> MASTER_PORT=7777 WORLD_SIZE=<pph * hosts> RANK=<node * pph +
 * local> LOCAL_RANK=<local> LOCAL_WORLD_SIZE=<pph> GROUP_RANK=NODE_RANK=<node> ROLE_RANK=<RANK>
 *   ROLE_WORLD_SIZE=<WORLD_SIZE> TORCHELASTIC_RESTART_COUNT=0 TORCHELASTIC_MAX_RESTARTS=0
 *   TORCHELASTIC_RUN_ID=none NCCL_SOCKET_IFNAME=<network_interface_name> NCCL_PROTO=simple
 *
 * where node is the host's index in resourceconfig's sorted hosts.  The first local process
 * that fails has the others stopped and fails the host with its own message (its rank, exit
 * code and last stderr lines); only a Python program (.py) can run, as with the toolkit.
 */
#ifndef SR_RUNTIME_TORCH_H
#define SR_RUNTIME_TORCH_H

#include "util/strv.h"

struct json_t;
struct sr_error;

#define RT_TORCH_MASTER_PORT "7777"

/* Run `argv` `pph` times in `code_dir`.  *ret_msg: the failure message (NULL on success). */
int rt_torch_run(const struct json_t *resource, const struct strv *env, char *const *argv,
		 const char *code_dir, int pph, int err_fd, char **ret_msg, struct sr_error *err);

#endif
