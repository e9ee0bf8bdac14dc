/* mpi.h - the MPI runner (reference §2.9), with sagerun's agent in place of sshd.
 *
 * The master (hosts[0]) runs mpirun across every host with the toolkit's options:
 *
 *   mpirun --host algo-1:K,algo-2:K,... -np K*N --allow-run-as-root --display-map
 *     --tag-output -mca btl_tcp_if_include IF -mca oob_tcp_if_include IF
 *     -mca plm_rsh_no_tree_spawn 1 -bind-to none -map-by slot -mca pml ob1 -mca btl ^openib
 *     -mca orte_abort_on_non_zero_status 1 -mca btl_vader_single_copy_mechanism none
 *     -x NCCL_MIN_NRINGS=4 -x NCCL_SOCKET_IFNAME=IF -x NCCL_DEBUG=INFO -x LD_LIBRARY_PATH
 *     -x PATH [-x AWS_ACCESS_KEY_ID ...] -x <every SM_* and PYTHONPATH>
 *     <sagemaker_mpi_custom_mpi_options> -mca plm_rsh_agent "<sagerun> container rsh"
 *     <program and its arguments>            (a Python program: python3 -m mpi4py x.py)
 *
 * ("algo-1" alone when K is 1).  mpirun's launch agent is `sagerun container rsh` (rsh.h),
 * served by each host's agent (agent.h): no sshd, no keys.  The toolkit's LD_PRELOAD of its
 * gethostname library is left out: every host here has its own hostname.  When mpirun has
 * exited, the master tells every other host so (a file, /tmp/sagerun-mpi-done.<master>, made
 * through the agent); the other hosts wait for that, as the toolkit's workers wait for
 * /tmp/done.<master>, and exit 0.
 *
 * The launcher: $SAGERUN_MPI_LAUNCHER (`sagerun train --mpi-launcher` sets it in the job's
 * environment) is "sagerun" (the above) or "ssh" (the toolkit's own way, ssh.h: sshd on every
 * host, mpirun's default ssh launcher, /tmp/done.<master> through ssh).  Unset, it is
 * "sagerun" when the host has the agent's config, else, in a container, "ssh" when it has
 * /usr/sbin/sshd (an image made for the toolkit, on the real service).
 */
#ifndef SR_RUNTIME_MPI_H
#define SR_RUNTIME_MPI_H

#include "util/strv.h"

#define RT_MPI_LAUNCHER_ENV "SAGERUN_MPI_LAUNCHER"

struct contract_config;
struct sr_error;

/* *ret_msg: the failure message (NULL on success). */
int rt_mpi_run(const struct contract_config *cfg, const struct strv *env, char *const *argv,
	       const char *code_dir, int pph, int err_fd, char **ret_msg, struct sr_error *err);

#endif
