/* train.c - see train.h: the toolkit's start-up sequence, one step per function. */
#include "runtime/train.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contract/contract.h"
#include "contract/framework.h"
#include "data/channels.h"
#include "runtime/child.h"
#include "runtime/mpi.h"
#include "runtime/torch.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern char **environ;

static bool hp_true(const struct contract_config *cfg, const char *name)
{
	_cleanup_json_ json_t *v = contract_hp(cfg, name);

	return json_is_true(v) || (json_is_string(v) && !strcasecmp(json_string_value(v), "true"));
}

/* processes_per_host (§2.8): sagemaker_mpi_num_of_processes_per_host, else 1 (no GPUs). */
static int processes_per_host(const struct contract_config *cfg)
{
	_cleanup_json_ json_t *v = contract_hp(cfg, "sagemaker_mpi_num_of_processes_per_host");

	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 1024)
		return (int)json_integer_value(v);
	return 1;
}

/* The environment the program gets: this process's, plus the toolkit's. */
static int train_env(const struct contract_config *cfg, const char *base, struct strv *env,
		     struct sr_error *err)
{
	struct contract_env_opts eo = {
	    .base_dir = base,
	    .job_name = getenv("TRAINING_JOB_NAME") ? getenv("TRAINING_JOB_NAME") : "",
	    .framework_module = getenv("SAGEMAKER_TRAINING_MODULE"),
	    /* boto3's default region, as the toolkit asks for it: AWS_REGION is not one of
	     * boto3's, so with only that set SAGEMAKER_REGION stays empty, as on the service. */
	    .region = getenv("AWS_DEFAULT_REGION"),
	    .num_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN),
	    .pythonpath_tail = getenv("PYTHONPATH"),
	};

	for (char **e = environ; *e; e++)
		strv_push(env, *e);
	strv_env_unset_prefix(env, CONTRACT_HOST_GROUP_ENV);
	return contract_env(cfg, &eo, env, err);
}

/* The toolkit's ClientError path: the message, unless the program wrote its own reason. */
static int write_failure(const char *base, const char *msg, int log_fd, struct sr_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/output/failure", base);
	_cleanup_free_ char *dir = xasprintf("%s/output", base);
	int r;

	dprintf(log_fd, "sagerun: Reporting training FAILURE\n%s\n", msg);
	if (fs_exists(path))
		return 1;
	r = fs_mkdir_p(dir, 0755, err);
	if (r >= 0)
		r = fs_write_atomic(path, msg, strlen(msg), 0644, err);
	return r < 0 ? r : 1;
}

/* `python3 -m pip install ...` in the code folder, as the toolkit installs (§2.6). */
static int pip_install(const char *code_dir, const struct strv *env, bool package, int err_fd,
		       char **ret_msg, struct sr_error *err)
{
	_cleanup_free_ char *req = xasprintf("%s/requirements.txt", code_dir);
	struct strv argv = STRV_INIT;
	struct rt_tail *tail = xcalloc(1, sizeof(*tail));
	int status = 0, r;

	strv_push(&argv, "python3");
	strv_push(&argv, "-m");
	strv_push(&argv, "pip");
	strv_push(&argv, "install");
	if (package)
		strv_push(&argv, ".");
	if (fs_exists(req)) {
		strv_push(&argv, "-r");
		strv_push(&argv, "requirements.txt");
	}
	r = rt_child_run(argv.v, env->v, code_dir, err_fd, tail, &status, err);
	if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		_cleanup_free_ char *cmd = strv_join(argv.v, " ");
		_cleanup_free_ char *text = rt_tail_text(tail);

		*ret_msg = xasprintf("%s:\nExitCode %d\nErrorMessage \"%s\"\nCommand \"%s\"",
				     package ? "InstallModuleError" : "InstallRequirementsError",
				     WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status),
				     text, cmd);
	}
	strv_release(&argv);
	free(tail);
	return r;
}

/* argv by entry type (§2.7), with the hyperparameters as arguments. */
static int entry_argv(const struct contract_config *cfg, const char *code_dir, const char *entry,
		      struct strv *argv, struct sr_error *err)
{
	struct strv args = STRV_INIT;
	int r = contract_cmd_args(cfg, &args, err);

	if (r >= 0)
		r = contract_entry_argv(code_dir, entry, &args, argv, err);
	strv_release(&args);
	return r;
}

/* Whether a host name resolves here, as the framework's entry waits for it to. */
static bool host_resolves(const char *host)
{
	struct addrinfo *ai = NULL;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	bool ok = getaddrinfo(host, NULL, &hints, &ai) == 0;

	if (ai)
		freeaddrinfo(ai);
	return ok;
}

/* A framework's image runs its own entry (SAGEMAKER_TRAINING_MODULE) in place of the plain
 * runner: what it sets before the user's code, or why it refuses the job (*ret_msg). */
static void framework_prepare(const struct contract_config *cfg, struct strv *env, char **ret_msg)
{
	const struct contract_framework *fw =
	    contract_framework_of_module(strv_env_get(env, "SAGEMAKER_TRAINING_MODULE"));

	if (!fw)
		return;
	*ret_msg = fw->refuse(cfg);
	if (!*ret_msg)
		fw->env(cfg, env, host_resolves);
}

int rt_train(const struct rt_train_opts *o, struct sr_error *err)
{
	const char *env_base = getenv("SAGEMAKER_BASE_DIR");
	_cleanup_free_ char *base = xstrdup(o->base_dir		    ? o->base_dir
					    : env_base && *env_base ? env_base
								    : CONTRACT_BASE_DIR);
	_cleanup_free_ char *code_dir = xasprintf("%s/code", base);
	_cleanup_free_ char *entry = NULL, *module_dir = NULL, *msg = NULL;
	struct contract_config cfg = {0};
	struct strv env = STRV_INIT, argv = STRV_INIT;
	struct rt_tail *tail = xcalloc(1, sizeof(*tail));
	enum contract_entry_type type = CONTRACT_ENTRY_COMMAND;
	int status = 0, r;

	{
		const char *g = getenv(CONTRACT_HOST_GROUP_ENV);

		rt_child_stay_in_group(g && !strcmp(g, "host"));
	}
	r = contract_config_read(base, &cfg, err);
	if (r >= 0)
		r = train_env(&cfg, base, &env, err);
	if (r >= 0)
		framework_prepare(&cfg, &env, &msg);
	if (r >= 0 && !msg && !(entry = contract_user_entry_point(&cfg, NULL)))
		r = sr_err(err, -EINVAL,
			   "nothing to run: no SAGEMAKER_PROGRAM and no hyperparameter "
			   "sagemaker_program");
	/* The toolkit makes the code folder at import, then fills it when empty. */
	if (r >= 0 && !msg)
		r = fs_mkdir_p(code_dir, 0755, err);
	if (r >= 0 && !msg) {
		module_dir = contract_module_dir(&cfg, base);
		if (strcmp(module_dir, code_dir))
			r = chan_stage_code(module_dir, code_dir, err);
	}
	if (r >= 0 && !msg) {
		type = contract_entry_type(code_dir, entry);
		if (type != CONTRACT_ENTRY_COMMAND) {
			_cleanup_free_ char *req = xasprintf("%s/requirements.txt", code_dir);

			if (type == CONTRACT_ENTRY_PYTHON_PACKAGE || fs_exists(req))
				r = pip_install(code_dir, &env,
						type == CONTRACT_ENTRY_PYTHON_PACKAGE, o->err_fd,
						&msg, err);
		}
	}
	if (r >= 0 && !msg)
		r = entry_argv(&cfg, code_dir, entry, &argv, err);
	/* The runner, as the toolkit chooses it (§2.8). */
	if (r >= 0 && !msg && hp_true(&cfg, "sagemaker_mpi_enabled")) {
		struct strv margv = STRV_INIT;

		/* A Python program runs under mpi4py, as the toolkit runs it. */
		if (type == CONTRACT_ENTRY_PYTHON_PROGRAM) {
			strv_push(&margv, "python3");
			strv_push(&margv, "-m");
			strv_push(&margv, "mpi4py");
			for (size_t i = 1; i < argv.n; i++)
				strv_push(&margv, argv.v[i]);
		} else {
			for (size_t i = 0; i < argv.n; i++)
				strv_push(&margv, argv.v[i]);
		}
		r = rt_mpi_run(&cfg, &env, margv.v, code_dir, processes_per_host(&cfg), o->err_fd,
			       &msg, err);
		strv_release(&margv);
	} else if (r >= 0 && !msg && hp_true(&cfg, "sagemaker_torch_distributed_enabled")) {
		if (type != CONTRACT_ENTRY_PYTHON_PROGRAM)
			msg = xasprintf("ClientError: torch_distributed runs a Python program "
					"(.py), not '%s'",
					entry);
		else
			r = rt_torch_run(cfg.resource, &env, argv.v, code_dir,
					 processes_per_host(&cfg), o->err_fd, &msg, err);
	} else if (r >= 0 && !msg) {
		r = rt_child_run(argv.v, env.v, code_dir, o->err_fd, tail, &status, err);
		if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			msg = rt_exit_message(argv.v, status, tail, NULL);
	}
	if (r < 0) /* the toolkit's other exceptions: "Framework Error" */
		msg = xasprintf("Framework Error: \n%s%s%s", err ? err->msg : "",
				err && err->hint[0] ? "\n" : "", err ? err->hint : "");
	if (rt_child_stop_signal()) {
		/* Stopped: the toolkit dies of the SIGTERM and writes nothing (§2.14). */
		r = 128 + rt_child_stop_signal();
	} else if (msg) {
		r = write_failure(base, msg, o->log_fd, err);
	} else {
		_cleanup_free_ char *ok = xasprintf("%s/output/success", base);
		_cleanup_free_ char *dir = xasprintf("%s/output", base);

		r = fs_mkdir_p(dir, 0755, err);
		if (r >= 0)
			r = fs_write_replace(ok, "", 0, 0644, err);
		if (r >= 0)
			dprintf(o->log_fd, "sagerun: Reporting training SUCCESS\n");
	}
	contract_config_release(&cfg);
	strv_release(&env);
	strv_release(&argv);
	free(tail);
	return r;
}
