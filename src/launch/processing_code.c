/* processing_code.c - the code a FrameworkProcessor ships, made as the SageMaker SDK makes it
 * (its _generate_framework_script, reference §3.8): the source folder packed as
 * sourcedir.tar.gz, and runproc.sh, which unpacks it in /opt/ml/processing/input/code/,
 * installs requirements.txt and runs the command on the entry point with the job's
 * arguments.  Both go under <job>/source/ and the inputs "code" and "entrypoint" point at
 * them, so the hosts get them as any other input. */
#include "launch/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/artifacts.h"
#include "job/job.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* The SDK's template, word for word, but for where the code is (the service's
 * /opt/ml/processing/input/code/, or under $SAGEMAKER_BASE_DIR where a backend shows a host
 * its tree elsewhere: processing_host.c sets it) and which Python runs pip (pip_python). */
static const char runproc_template[] =
    "#!/bin/bash\n"
    "\n"
    "cd ${SAGEMAKER_BASE_DIR:-/opt/ml}/processing/input/code/\n"
    "tar -xzf sourcedir.tar.gz\n"
    "\n"
    "# Exit on any error. SageMaker uses error code to mark failed job.\n"
    "set -e\n"
    "\n"
    "if [[ -f 'requirements.txt' ]]; then\n"
    "    # Optionally log into CodeArtifact\n"
    "    if ! hash aws 2>/dev/null; then\n"
    "        echo \"AWS CLI is not installed. Skipping CodeArtifact login.\"\n"
    "    else\n"
    "        echo 'CodeArtifact repository not specified. Skipping login.'\n"
    "    fi\n"
    "\n"
    "    # Some py3 containers has typing, which may breaks pip install\n"
    "    %s -m pip uninstall --yes typing\n"
    "\n"
    "    %s -m pip install -r requirements.txt\n"
    "fi\n"
    "\n"
    "%s %s \"$@\"\n";

/* The SDK runs `pip` and `python -m pip`, which a framework image has; Debian and Ubuntu have
 * neither `python` nor always `pip`, and a user's python3 (the default command) may not be the
 * `python` first on PATH.  So the requirements go to the command's own Python when the
 * command is one (python3, /usr/bin/python3.11), where the entry point then finds them;
 * `python` otherwise, as the SDK does.  Shell-quoted. */
static char *pip_python(const struct strv *command)
{
	const char *first = command->n ? command->v[0] : "python";
	const char *base = strrchr(first, '/') ? strrchr(first, '/') + 1 : first;
	char *one[2] = {(char *)first, NULL};

	if (strncmp(base, "python", 6))
		one[0] = "python";
	return strv_join_shell(one);
}

static void point_input(struct job *job, const char *name, const char *path)
{
	for (size_t i = 0; i < job->proc.n_inputs; i++) {
		struct job_channel *c = &job->proc.inputs[i];

		if (strcmp(c->name, name))
			continue;
		free(c->uri);
		free(c->local_path);
		c->uri = xstrdup(path);
		c->local_path = xstrdup(path);
	}
}

int launch_processing_code(struct job *job, const char *dir, struct sr_error *err)
{
	const struct job_processing *p = &job->proc;
	_cleanup_free_ char *tar = NULL, *script = NULL, *text = NULL;
	_cleanup_free_ char *cmd = NULL, *ep = NULL, *py = NULL;
	char *one[2] = {NULL, NULL};
	int r;

	if (!p->source_dir)
		return 0;
	tar = xasprintf("%s/sourcedir.tar.gz", dir);
	script = xasprintf("%s/runproc.sh", dir);
	r = fs_mkdir_p(dir, 0755, err);
	if (r >= 0)
		r = artifacts_pack_source(p->source_dir, tar, err);
	if (r < 0)
		return sr_err_wrap(err, "--source-dir '%s'", p->source_dir);
	/* The last line as bash reads it: each word quoted where it needs it (the SDK joins
	 * them with spaces and trusts them; a path with a space must still work here). */
	cmd = strv_join_shell(p->command.v);
	one[0] = p->entry_point;
	ep = strv_join_shell(one);
	py = pip_python(&p->command);
	text = xasprintf(runproc_template, py, py, cmd, ep);
	r = fs_write_atomic(script, text, strlen(text), 0755, err);
	if (r < 0)
		return r;
	point_input(job, JOB_PROC_CODE_INPUT, tar);
	point_input(job, JOB_PROC_ENTRYPOINT_INPUT, script);
	return 0;
}

int processing_ship_code(struct local_job *L, struct sr_error *err)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	if (!L->job->proc.source_dir)
		return 0;
	dir = xasprintf("%s/source", L->job_dir);
	r = launch_processing_code(L->job, dir, err);
	if (r < 0)
		return r;
	job_say(L->rep, JOB_SAY_INFO, L->job->name, "source: %s/sourcedir.tar.gz", dir);
	return 0;
}
