/* container.c - `sagerun container`: the in-container side (train, agent, rsh). */
#include "cli/cli.h"
#include "cli/options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hosts/docker.h"
#include "runtime/agent.h"
#include "runtime/rsh.h"
#include "runtime/train.h"
#include "util/error.h"

static const char container_usage[] =
    "sagerun container train\n"
    "       sagerun container agent [--config FILE] [--listen-fd N]\n"
    "       sagerun container rsh [ssh options] HOST COMMAND...\n"
    "       sagerun container attach --engine SOCKET [--api VERSION] --host NAME CONTAINER";

static const char container_help[] =
    "The side of sagerun that runs inside each host (or container).\n"
    "\n"
    "  train                   what SageMaker's training toolkit does: read\n"
    "                          /opt/ml/input/config (or $SAGEMAKER_BASE_DIR), set the SM_*\n"
    "                          environment, fetch the code (sagemaker_submit_directory),\n"
    "                          install it, run sagemaker_program with the hyperparameters\n"
    "                          as arguments; on failure write /opt/ml/output/failure and\n"
    "                          exit 1.  As an image's ENTRYPOINT [\"sagerun\", \"container\"],\n"
    "                          `docker run IMAGE train` runs it, as on the service\n"
    "  agent [--config FILE]   serve rsh requests of this job on SM_CURRENT_HOST's address,\n"
    "                          port and secret from FILE (default $SAGERUN_AGENT_CONFIG or\n"
    "                          /opt/ml/input/config/sagerun-agent.json); --listen-fd N\n"
    "                          serves on an inherited listening socket instead\n"
    "  rsh HOST COMMAND...     run COMMAND on HOST's agent, as `ssh HOST COMMAND...` would;\n"
    "                          for mpirun: -mca plm_rsh_agent \"sagerun container rsh\".\n"
    "                          Common ssh options (-x -X -T -n -p N -o OPT -l USER ...) are\n"
    "                          accepted and ignored.  Exit status: the command's, 128+N when\n"
    "                          killed by signal N, 255 when the connection failed.\n"
    "  attach ... CONTAINER    (the docker backend's, per host) start CONTAINER, copy its\n"
    "                          output, exit as it exited; 125 when the engine failed\n";

static int cmd_agent(int argc, char **argv)
{
	struct rt_agent_opts o = {.ready_fd = -1, .log_fd = STDERR_FILENO, .listen_fd = -1};
	int64_t listen_fd = -1;
	const struct cli_option opts[] = {
	    CLI_STRING(0, "config", &o.config_path, "FILE",
		       "the agent config (default $SAGERUN_AGENT_CONFIG or\n"
		       "/opt/ml/input/config/sagerun-agent.json)"),
	    CLI_INT(0, "listen-fd", &listen_fd, "N", 0, INT_MAX,
		    "serve on this inherited listening socket"),
	    CLI_END(),
	};
	const struct cli_command cmd = {
	    .usage = container_usage, .summary = container_help, .options = opts};
	struct sr_error err = {0};
	struct cli_args args;
	int code;

	if (!cli_parse(argc, argv, &cmd, &args, &code))
		return code;
	o.listen_fd = (int)listen_fd;
	if (rt_agent_serve(&o, &err) < 0) {
		/* In a host, where its lines are the host's log: named as the agent's. */
		fprintf(stderr, "sagerun agent: %s\n", err.msg);
		if (err.hint[0])
			fprintf(stderr, "hint: %s\n", err.hint);
		return EXIT_FAILED;
	}
	return 0;
}

static int cmd_train_runtime(int argc, char **argv)
{
	struct rt_train_opts o = {.log_fd = STDERR_FILENO, .err_fd = STDERR_FILENO};
	struct sr_error err = {0};
	int r;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s\n\n%s", container_usage, container_help);
		return 0;
	}
	/* The service runs `train` with no arguments; anything more is not ours to guess. */
	if (argc > 1)
		return cli_usage_error(container_usage, "train takes no arguments (got '%s')",
				       argv[1]);
	r = rt_train(&o, &err);
	if (r < 0) {
		fprintf(stderr, "sagerun train: %s\n", err.msg);
		return EXIT_FAILED;
	}
	return r;
}

/* ssh's options that take a value (OpenSSH: ssh.c getopt string). */
static int ssh_opt_takes_value(char c)
{
	return strchr("BbcDEeFIiJLlmOoPpQRSWw", c) != NULL;
}

static int cmd_rsh(int argc, char **argv)
{
	struct sr_error err = {0};
	struct rt_rsh_opts o = {
	    .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO};
	int i = 1, code = 255;

	/* ssh-style: flags (clustered like -xT, values attached or separate) until the host. */
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		const char *a = argv[i++];

		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: %s\n\n%s", container_usage, container_help);
			return 0;
		}
		for (const char *p = a + 1; *p; p++) {
			if (ssh_opt_takes_value(*p)) {
				if (!p[1] && i >= argc)
					return cli_usage_error(container_usage,
							       "option -%c needs a value", *p);
				if (!p[1])
					i++;
				break;
			}
		}
	}
	if (argc - i < 2)
		return cli_usage_error(container_usage, "rsh needs HOST and COMMAND");
	o.host = argv[i];
	o.argv = argv + i + 1;
	o.argc = (size_t)(argc - i - 1);
	if (rt_rsh_run(&o, &code, &err) < 0) {
		fprintf(stderr, "sagerun rsh: %s", err.msg);
		if (err.hint[0])
			fprintf(stderr, " (%s)", err.hint);
		fputc('\n', stderr);
		return 255;
	}
	return code;
}

static int cmd_attach(int argc, char **argv)
{
	const char *engine = NULL, *api = "1.41", *host = "container";
	const struct cli_option opts[] = {
	    CLI_STRING(0, "engine", &engine, "SOCKET", "the Docker engine's Unix socket"),
	    CLI_STRING(0, "api", &api, "VERSION", "the Engine API version (default 1.41)"),
	    CLI_STRING(0, "host", &host, "NAME", "the host, for messages"),
	    CLI_END(),
	};
	const struct cli_command cmd = {.usage = container_usage,
					.summary = container_help,
					.options = opts,
					.min_args = 1,
					.max_args = 1,
					.what = "container"};
	struct cli_args args;
	int code;

	if (!cli_parse(argc, argv, &cmd, &args, &code))
		return code;
	if (!engine)
		return cli_usage_error(container_usage,
				       "attach needs --engine SOCKET and CONTAINER");
	return host_docker_attach(engine, api, host, args.v[0]);
}

int cmd_container(int argc, char **argv, struct sr_ctx *ctx)
{
	(void)ctx;
	if (argc < 2)
		return cli_usage_error(container_usage, "which sub-command?");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		printf("usage: %s\n\n%s", container_usage, container_help);
		return 0;
	}
	if (!strcmp(argv[1], "train"))
		return cmd_train_runtime(argc - 1, argv + 1);
	if (!strcmp(argv[1], "agent"))
		return cmd_agent(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rsh"))
		return cmd_rsh(argc - 1, argv + 1);
	if (!strcmp(argv[1], "attach"))
		return cmd_attach(argc - 1, argv + 1);
	return cli_usage_error(container_usage, "unknown sub-command '%s'", argv[1]);
}
