/* processing.c - what the service writes into a processing instance (reference §4): the two
 * config files under /opt/ml/config, /opt/ml/output for the message a program leaves, and
 * each output's LocalPath, "created by the platform and existing when your container's
 * entrypoint is invoked", empty. */
#include "contract/contract.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract/internal.h"
#include "job/job.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* {"current_host": "algo-2", "hosts": ["algo-1", "algo-2", "algo-3"]}: the developer guide's
 * file, keys in its order. */
static json_t *resource_json(const struct job *job, const char *host_name)
{
	json_t *res = json_object();

	json_object_set_new(res, "current_host", json_string(host_name));
	json_object_set_new(res, "hosts", contract_sorted_hosts(job->instance_count));
	return res;
}

int contract_processing_layout(const char *base_dir, const struct job *job, const char *host_name,
			       struct sr_error *err)
{
	static const char *const dirs[] = {"config", "output", "processing"};
	_cleanup_json_ json_t *config = job_processing_config_json(job);
	_cleanup_json_ json_t *resource = NULL;
	int r;

	if (job->instance_count < 1 || job->instance_count > JOB_HOSTS_MAX)
		return sr_err(err, -EINVAL, "instance count %d is out of range (1 to %d)",
			      job->instance_count, JOB_HOSTS_MAX);
	resource = resource_json(job, host_name);
	const struct contract_file files[] = {
	    {"config/processingjobconfig.json", config},
	    {"config/resourceconfig.json", resource},
	};
	r = contract_tree_write(base_dir, dirs, sizeof(dirs) / sizeof(dirs[0]), files,
				sizeof(files) / sizeof(files[0]), err);
	for (size_t i = 0; r >= 0 && i < job->proc.n_outputs; i++) {
		/* validation made it /opt/ml/processing/..., without . or .. parts */
		_cleanup_free_ char *path = contract_path(
		    base_dir, job->proc.outputs[i].dest + strlen(CONTRACT_BASE_DIR "/"));

		r = fs_rm_rf(path, err);
		if (r >= 0)
			r = fs_mkdir_p(path, 0755, err);
		if (r < 0)
			sr_err_wrap(err, "output '%s'", job->proc.outputs[i].name);
	}
	return r;
}
