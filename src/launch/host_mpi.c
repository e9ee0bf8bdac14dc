/* host_mpi.c - what a host that is no container needs for a program's own `mpirun` to reach
 * the other hosts without sshd, for every kind of job: Open MPI's launch agent (sagerun's rsh
 * client, as the host reaches this binary) and, as root, leave to run so. */
#include "launch/internal.h"

#include <unistd.h>

#include "hosts/hosts.h"
#include "job/job.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* mpirun refuses to run as root unless told otherwise.  A host that is no container runs as
 * sagerun does, root on the ns backend, because the backend needs it, not because the job
 * chose it; on the service a job's container runs as root, and AWS's images (the Deep
 * Learning Containers that GraphStorm's build on) make plain `mpirun` allow it, so a user's
 * `mpirun --hostfile F -np N ...` (DGL's ParMETIS wrapper) runs there as it is.  Open MPI's
 * two variables do the same here; the job's Environment may still say otherwise. */
static void allow_mpirun_as_root(const struct local_job *L, struct strv *env)
{
	const struct job_map *e = &L->job->environment;

	if (geteuid() != 0 || job_map_get(e, "OMPI_ALLOW_RUN_AS_ROOT") ||
	    job_map_get(e, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"))
		return;
	strv_env_set(env, "OMPI_ALLOW_RUN_AS_ROOT", "1");
	strv_env_set(env, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
}

void launch_host_mpi_env(const struct local_job *L, const struct host *h, struct strv *env)
{
	/* A container runs its image as it is: MPI there needs the image's own sshd. */
	if (L->backend->flags & HOST_BACKEND_F_CONTAINER)
		return;
	/* Open MPI reads its launch agent from here (runtime/rsh.h): this binary as the host
	 * reaches it (its path may be hidden there). */
	if (h->agent_port > 0 && !job_map_get(&L->job->environment, "OMPI_MCA_plm_rsh_agent")) {
		_cleanup_free_ char *exe = host_self_exe_seen(h);

		if (exe) {
			_cleanup_free_ char *agent = xasprintf("%s container rsh", exe);

			strv_env_set(env, "OMPI_MCA_plm_rsh_agent", agent);
		}
	}
	allow_mpirun_as_root(L, env);
}
