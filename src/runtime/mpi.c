#include "runtime/mpi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "contract/contract.h"
#include "runtime/agent.h"
#include "runtime/child.h"
#include "runtime/rsh.h"
#include "runtime/ssh.h"
#include "runtime/train.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/secret.h"
#include "util/xalloc.h"

#define DONE_FMT "/tmp/sagerun-mpi-done.%s"

static const char *const mca_flags[] = {
    "-mca",
    "plm_rsh_no_tree_spawn",
    "1",
    "-bind-to",
    "none",
    "-map-by",
    "slot",
    "-mca",
    "pml",
    "ob1",
    "-mca",
    "btl",
    "^openib",
    "-mca",
    "orte_abort_on_non_zero_status",
    "1",
    "-mca",
    "btl_vader_single_copy_mechanism",
    "none",
    NULL,
};

/* What the toolkit forwards to the ranks by name (-x) when set. */
static const char *const toolkit_credentials[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
						  "AWS_SESSION_TOKEN", NULL};

static bool is_toolkit_credential(const char *name)
{
	for (const char *const *k = toolkit_credentials; *k; k++)
		if (!strcmp(name, *k))
			return true;
	return false;
}

/* sagemaker_mpi_custom_mpi_options, split on whitespace; --NCCL_DEBUG X is the toolkit's. */
static void custom_options(const struct contract_config *cfg, struct strv *out, char **nccl_debug)
{
	_cleanup_json_ json_t *d = contract_hp(cfg, "sagemaker_mpi_custom_mpi_options");
	_cleanup_free_ char *s = json_is_string(d) ? xstrdup(json_string_value(d)) : NULL;
	char *save = NULL;

	for (char *t = s ? strtok_r(s, " \t\n", &save) : NULL; t;
	     t = strtok_r(NULL, " \t\n", &save)) {
		if (!strncmp(t, "--NCCL_DEBUG=", 13)) {
			free(*nccl_debug);
			*nccl_debug = xstrdup(t + 13);
			continue;
		}
		if (!strcmp(t, "--NCCL_DEBUG")) {
			char *val = strtok_r(NULL, " \t\n", &save);

			if (val) {
				free(*nccl_debug);
				*nccl_debug = xstrdup(val);
			}
			continue;
		}
		strv_push(out, t);
	}
}

static void build_mpirun(const struct contract_config *cfg, const struct strv *env,
			 char *const *argv, int pph, const char *iface, bool ssh, struct strv *cmd)
{
	json_t *hosts = json_object_get(cfg->resource, "hosts");
	size_t n = json_array_size(hosts);
	_cleanup_free_ char *nccl_debug = xstrdup("INFO");
	struct strv custom = STRV_INIT, list = STRV_INIT;
	char np[32];

	custom_options(cfg, &custom, &nccl_debug);
	for (size_t i = 0; i < n; i++) {
		const char *h = json_string_value(json_array_get(hosts, i));

		if (pph == 1)
			strv_push(&list, h);
		else
			strv_pushf(&list, "%s:%d", h, pph);
	}
	strv_push(cmd, "mpirun");
	strv_push(cmd, "--host");
	strv_push_take(cmd, strv_join(list.v, ","));
	{
		_cleanup_json_ json_t *d = contract_hp(cfg, "sagemaker_mpi_num_processes");

		if (json_is_integer(d) && json_integer_value(d) > 0)
			snprintf(np, sizeof(np), "%lld", (long long)json_integer_value(d));
		else
			snprintf(np, sizeof(np), "%zu", (size_t)pph * n);
	}
	strv_push(cmd, "-np");
	strv_push(cmd, np);
	strv_push(cmd, "--allow-run-as-root");
	strv_push(cmd, "--display-map");
	strv_push(cmd, "--tag-output");
	strv_push(cmd, "-mca");
	strv_push(cmd, "btl_tcp_if_include");
	strv_push(cmd, iface);
	strv_push(cmd, "-mca");
	strv_push(cmd, "oob_tcp_if_include");
	strv_push(cmd, iface);
	for (size_t i = 0; mca_flags[i]; i++)
		strv_push(cmd, mca_flags[i]);
	strv_push(cmd, "-x");
	strv_push(cmd, "NCCL_MIN_NRINGS=4");
	strv_push(cmd, "-x");
	strv_pushf(cmd, "NCCL_SOCKET_IFNAME=%s", iface);
	strv_push(cmd, "-x");
	strv_pushf(cmd, "NCCL_DEBUG=%s", nccl_debug);
	if (strv_env_get(env, "LD_LIBRARY_PATH")) {
		strv_push(cmd, "-x");
		strv_push(cmd, "LD_LIBRARY_PATH");
	}
	strv_push(cmd, "-x");
	strv_push(cmd, "PATH");
	for (const char *const *k = toolkit_credentials; *k; k++)
		if (strv_env_get(env, *k)) {
			strv_push(cmd, "-x");
			strv_push(cmd, *k); /* by name: the value never reaches a command line */
		}
	for (size_t i = 0; i < env->n; i++) {
		const char *eq = strchr(env->v[i], '=');

		if (eq &&
		    (!strncmp(env->v[i], "SM_", 3) || !strncmp(env->v[i], "PYTHONPATH=", 11))) {
			strv_push(cmd, "-x");
			strv_push_take(cmd, xstrndup(env->v[i], (size_t)(eq - env->v[i])));
		}
	}
	/* The ssh way keeps credentials out of the other hosts' /etc/environment (ssh.h): the
	 * ranks there get them from here, by name. */
	for (size_t i = 0; ssh && i < env->n; i++) {
		const char *eq = strchr(env->v[i], '=');
		_cleanup_free_ char *name =
		    eq ? xstrndup(env->v[i], (size_t)(eq - env->v[i])) : NULL;

		if (name && sr_name_is_credential(name) && strncmp(name, "SM_", 3) &&
		    !is_toolkit_credential(name)) {
			strv_push(cmd, "-x");
			strv_push(cmd, name);
		}
	}
	for (size_t i = 0; i < custom.n; i++)
		strv_push(cmd, custom.v[i]);
	/* Our launch agent instead of ssh; /proc/<pid>/exe reaches this very binary even where
	 * the host's file system does not show its path, for as long as we wait for mpirun. */
	if (!ssh) {
		strv_push(cmd, "-mca");
		strv_push(cmd, "plm_rsh_agent");
		strv_pushf(cmd, "/proc/%d/exe container rsh", (int)getpid());
	}
	for (size_t i = 0; argv[i]; i++)
		strv_push(cmd, argv[i]);
	strv_release(&custom);
	strv_release(&list);
}

/* Make `done` on `host`: through its agent, or with ssh (the toolkit tries 5 times, 1 s
 * apart). */
static bool touch_done(const char *host, const char *done, bool ssh, char *const *envp, int err_fd,
		       struct sr_error *e)
{
	char *argv[] = {"touch", (char *)done, NULL};
	int code = 0;

	if (ssh) {
		for (int i = 0; i < 5; i++) {
			if (i)
				sleep(1);
			if (rt_ssh_run(host, argv, envp, err_fd, &code, NULL, e) >= 0 &&
			    WIFEXITED(code) && WEXITSTATUS(code) == 0)
				return true;
		}
		return false;
	}
	struct rt_rsh_opts o = {
	    .host = host, .argv = argv, .argc = 2, .in_fd = -1, .out_fd = err_fd, .err_fd = err_fd};

	return rt_rsh_run(&o, &code, e) >= 0 && code == 0;
}

/* Tell every other host that mpirun is done. */
static void tell_workers(const struct contract_config *cfg, const char *master, bool ssh,
			 char *const *envp, int err_fd)
{
	json_t *hosts = json_object_get(cfg->resource, "hosts");
	_cleanup_free_ char *done = xasprintf(ssh ? RT_SSH_DONE_FMT : DONE_FMT, master);

	for (size_t i = 0; i < json_array_size(hosts); i++) {
		const char *h = json_string_value(json_array_get(hosts, i));
		struct sr_error e = {0};

		if (!h || !strcmp(h, master))
			continue;
		if (!touch_done(h, done, ssh, envp, err_fd, &e))
			dprintf(err_fd, "sagerun: mpi: could not tell %s that mpirun is done: %s\n",
				h, e.msg[0] ? e.msg : "touch failed");
	}
}

/* A worker: wait for the master's word (a stop ends the wait, as any signal would). */
/* The ssh way: how often a waiting host checks that the master's sshd still answers, and
 * how long it may not before the host gives up (ssh.h). */
#define MASTER_CHECK_TICKS 300 /* of 100 ms */
#define MASTER_GONE_S	   60

static int wait_for_master(const char *master, bool ssh, int log_fd)
{
	_cleanup_free_ char *done = xasprintf(ssh ? RT_SSH_DONE_FMT : DONE_FMT, master);
	const struct timespec tick = {0, 100 * 1000 * 1000};

	dprintf(log_fd, "sagerun: mpi: %s runs mpirun; waiting for it to finish\n", master);
	for (unsigned long n = 1; !fs_exists(done); n++) {
		if (rt_child_stop_signal())
			return 0; /* the runtime reports the stop */
		if (ssh && n % MASTER_CHECK_TICKS == 0) {
			struct sr_error e = {0};

			if (rt_ssh_wait_banner(master, RT_SSH_PORT, MASTER_GONE_S, &e) < 0 &&
			    !rt_child_stop_signal()) {
				dprintf(log_fd,
					"sagerun: mpi: giving up on %s, as the toolkit does: %s\n",
					master, e.msg);
				return 0;
			}
		}
		nanosleep(&tick, NULL);
	}
	/* A second for the master's touch to hear back through our agent before the host ends. */
	sleep(1);
	return 0;
}

/* Serve this host's agent from a child of ours for as long as the job runs, unless the host
 * already serves it (CONTRACT_AGENT_SERVED_ENV): in a container nothing else would.  Returns the
 * child's pid once it listens, 0 when not needed. */
static pid_t agent_start(int err_fd, struct sr_error *err)
{
	int p[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (getenv(CONTRACT_AGENT_SERVED_ENV))
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return sr_err_errno(err, errno, "agent: pipe");
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return sr_err_errno(err, e, "agent: fork");
	}
	if (pid == 0) {
		struct rt_agent_opts o = {.ready_fd = p[1], .log_fd = err_fd, .listen_fd = -1};
		struct sr_error e = {0};

		close(p[0]);
		/* It must not outlive the runtime, whatever ends it; a stop before it blocks
		 * the signals itself ends it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		rt_child_default_signals();
		if (rt_agent_serve(&o, &e) < 0) {
			dprintf(err_fd, "sagerun: agent: %s\n", e.msg);
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != 1) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return sr_err(err, -EIO, "this host's rsh agent did not start (see above)");
	}
	return pid;
}

static void agent_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	(void)kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* The launcher (ssh.h says when each): *ret_ssh. */
static int choose_launcher(const char *agent_cfg, bool *ret_ssh, struct sr_error *err)
{
	const char *v = getenv(RT_MPI_LAUNCHER_ENV);
	/* The ns and process backends' hosts: this machine's sshd, /etc and /root/.ssh. */
	bool shared = getenv(CONTRACT_AGENT_SERVED_ENV) || getenv(CONTRACT_HOST_GROUP_ENV);
	bool agent = fs_exists(agent_cfg);

	if (v && *v && strcmp(v, "ssh") && strcmp(v, "sagerun"))
		return sr_err(err, -EINVAL, "%s=%s: expected ssh or sagerun", RT_MPI_LAUNCHER_ENV,
			      v);
	if (v && *v)
		*ret_ssh = !strcmp(v, "ssh");
	else /* on the real service with an image made for the toolkit: its way */
		*ret_ssh = !shared && !agent && access(RT_SSHD_PATH, X_OK) == 0;
	if (!*ret_ssh && !agent && shared) {
		sr_err(err, -ENOTSUP,
		       "the MPI runner needs sagerun's rsh agent on every host (%s is missing)",
		       agent_cfg);
		return sr_err_hint(err, "run the job with the ns backend (--backend ns, as root)");
	}
	if (!*ret_ssh && !agent) { /* in a container, an image with sshd would have done too */
		sr_err(err, -ENOTSUP,
		       "the MPI runner needs sagerun's rsh agent on every host (%s is missing), "
		       "or sshd in the image for the toolkit's ssh way (%s is missing)",
		       agent_cfg, RT_SSHD_PATH);
		return sr_err_hint(err, "run the job with the ns backend (--backend ns, as root) "
					"or the docker backend");
	}
	if (*ret_ssh && shared) {
		sr_err(err, -ENOTSUP,
		       "the ssh way needs hosts that are containers: this host shares the "
		       "machine's sshd, /etc and /root/.ssh");
		return sr_err_hint(err, "run it with --backend docker and an image with sshd, or "
					"leave --mpi-launcher at sagerun");
	}
	return 0;
}

/* The other hosts' sshd up and letting us in (ssh.h). */
static int ssh_wait_workers(const struct contract_config *cfg, const char *master,
			    char *const *envp, int err_fd, struct sr_error *err)
{
	json_t *hosts = json_object_get(cfg->resource, "hosts");

	for (size_t i = 0; i < json_array_size(hosts); i++) {
		const char *h = json_string_value(json_array_get(hosts, i));
		int r;

		if (!h || !strcmp(h, master))
			continue;
		r = rt_ssh_wait_banner(h, RT_SSH_PORT, RT_SSH_WAIT_S, err);
		if (r >= 0)
			r = rt_ssh_check_login(h, envp, err_fd, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ssh_worker(const char *master, const struct strv *env, int err_fd, struct sr_error *err)
{
	pid_t sshd;
	int r;

	dprintf(err_fd, "sagerun: mpi: waiting for %s's sshd\n", master);
	r = rt_ssh_wait_banner(master, RT_SSH_PORT, RT_SSH_WAIT_S, err);
	if (r >= 0)
		r = rt_ssh_write_environment(RT_SSH_ENVIRONMENT, env, err);
	if (r < 0)
		return r;
	sshd = rt_sshd_start(NULL, RT_SSHD_START_MS, err_fd, err);
	if (sshd < 0)
		return (int)sshd;
	r = wait_for_master(master, true, err_fd);
	rt_sshd_stop(sshd);
	return r;
}

int rt_mpi_run(const struct contract_config *cfg, const struct strv *env, char *const *argv,
	       const char *code_dir, int pph, int err_fd, char **ret_msg, struct sr_error *err)
{
	json_t *hosts = json_object_get(cfg->resource, "hosts");
	const char *me = json_string_value(json_object_get(cfg->resource, "current_host"));
	const char *master = json_string_value(json_array_get(hosts, 0));
	const char *iface =
	    json_string_value(json_object_get(cfg->resource, "network_interface_name"));
	_cleanup_free_ char *agent_cfg = rt_agent_config_path(NULL);
	struct strv cmd = STRV_INIT;
	struct rt_tail *tail;
	int status = 0, r;
	bool ssh = false;
	pid_t agent = 0, sshd = 0;

	*ret_msg = NULL;
	if (!master || !me)
		return sr_err(err, -EINVAL, "resourceconfig.json: no hosts or no current_host");
	r = choose_launcher(agent_cfg, &ssh, err);
	if (r < 0)
		return r;
	for (size_t i = 0; ssh && i < json_array_size(hosts); i++) {
		const char *h = json_string_value(json_array_get(hosts, i));

		if (!rt_ssh_host_ok(h))
			return sr_err(err, -EINVAL,
				      "resourceconfig.json: hosts[%zu] '%s' is no name to ssh to",
				      i, h ? h : "(not a string)");
	}
	rt_child_catch_stops(); /* the waits for other hosts end with a stop */
	if (ssh && strcmp(me, master))
		return ssh_worker(master, env, err_fd, err);
	if (ssh) {
		sshd = rt_sshd_start(NULL, RT_SSHD_START_MS, err_fd, err);
		if (sshd < 0)
			return (int)sshd;
		r = ssh_wait_workers(cfg, master, env->v, err_fd, err);
		if (r < 0) {
			rt_sshd_stop(sshd);
			return r;
		}
	} else {
		agent = agent_start(err_fd, err);
		if (agent < 0)
			return (int)agent;
		if (strcmp(me, master)) {
			r = wait_for_master(master, false, err_fd);
			agent_stop(agent);
			return r;
		}
	}
	build_mpirun(cfg, env, argv, pph, iface ? iface : CONTRACT_IFACE_DEFAULT, ssh, &cmd);
	{
		/* Quoted, so that it can be pasted into a shell as it is. */
		_cleanup_free_ char *text = strv_join_shell(cmd.v);

		dprintf(err_fd, "sagerun: mpi: %s\n", text);
	}
	tail = xcalloc(1, sizeof(*tail));
	r = rt_child_run(cmd.v, env->v, code_dir, err_fd, tail, &status, err);
	if (!rt_child_stop_signal()) /* stopped: the other hosts are being stopped too */
		tell_workers(cfg, master, ssh, env->v, err_fd);
	agent_stop(agent);
	rt_sshd_stop(sshd);
	if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		*ret_msg = rt_exit_message(cmd.v, status, tail, NULL);
	free(tail);
	strv_release(&cmd);
	return r;
}
