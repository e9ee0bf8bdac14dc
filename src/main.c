/* main.c - the command table and global setup; nothing else (git: git.c). */
#include <errno.h>
#include <fcntl.h>
#ifdef SAGERUN_STATIC
#include <nss.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"

enum cmd_flags {
	CMD_HIDDEN = 1 << 0, /* not listed in help */
};

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct sr_ctx *ctx);
	unsigned flags;
	const char *summary;
};

/* Sorted by name. */
static const struct cmd commands[] = {
    {"compose", cmd_compose, 0, "write a docker-compose.yml that runs a job's hosts"},
    {"container", cmd_container, 0, "in-container side: rsh agent and client for mpirun"},
    {"describe", cmd_describe, 0, "show a job as Describe<Kind>Job does, with its hosts"},
    {"help", cmd_help, 0, "show help for sagerun or one command"},
    {"logs", cmd_logs, 0, "print a job's output (-f: follow it until it ends)"},
    {"process", cmd_process, 0, "run a SageMaker processing job on N local hosts"},
    {"prune", cmd_prune, 0, "remove ended jobs (--older-than DURATION)"},
    {"ps", cmd_ps, 0, "list running jobs (-a: all recorded jobs)"},
    {"rm", cmd_rm, 0, "remove ended jobs' records and folders"},
    {"s3", cmd_s3, 0, "S3 for users: ls, cp (parallel parts), rm"},
    {"stop", cmd_stop, 0, "stop a running job, as Stop<Kind>Job"},
    {"train", cmd_train, 0, "run a SageMaker training job on N local hosts"},
    {"version", cmd_version, 0, "print sagerun's version"},
    {"wait", cmd_wait, 0, "wait for a job to end; exit as train or process would"},
};

static const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_main_usage(FILE *f)
{
	fprintf(f, "usage: sagerun <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!(commands[i].flags & CMD_HIDDEN))
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(
	    f, "\nRun 'sagerun <command> -h' for a command's options; docs/cli.md has them all.\n");
}

int cmd_help(int argc, char **argv, struct sr_ctx *ctx)
{
	if (argc > 1 && strcmp(argv[1], "-h") && strcmp(argv[1], "--help")) {
		const struct cmd *c = cmd_find(argv[1]);
		char *sub[] = {argv[1], "--help", NULL};

		if (!c)
			return cli_usage_error("sagerun help [COMMAND]", "unknown command '%s'",
					       argv[1]);
		return c->fn(2, sub, ctx);
	}
	print_main_usage(stdout);
	return 0;
}

/* Make sure fds 0-2 are open so nothing we open lands there by accident (curl: main_checkfds). */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", O_RDWR);

			if (n >= 0 && n != fd)
				close(n); /* cannot happen: open returns the lowest free fd */
		}
	}
}

int main(int argc, char **argv)
{
	struct sr_ctx ctx = {0};
	const struct cmd *c;
	int r;

	ensure_std_fds();
#ifdef SAGERUN_STATIC
	/* A static glibc has the files and dns lookups built in, but follows the image's
	 * nsswitch.conf, which may name modules only a shared glibc can load, or be missing
	 * (then dns comes before files, and algo-N in /etc/hosts could be missed). */
	__nss_configure_lookup("hosts", "files dns");
#endif
	/* `sagerun train | head` must not kill the supervisor mid-job: a closed stdout becomes
	 * EPIPE, which the log multiplexer handles.  An inherited "ignore" on SIGCHLD would make
	 * the kernel reap hosts behind our back. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	ctx.stdout_tty = isatty(1);
	ctx.stderr_tty = isatty(2);
	/* Prefixed host lines go to both streams: colour only when both are terminals. */
	ctx.color = ctx.stdout_tty && ctx.stderr_tty && !getenv("NO_COLOR");

	if (argc < 2) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return cmd_help(1, argv + 1, &ctx);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1, &ctx);
	if (!strcmp(argv[1], "--list-commands")) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			printf("%s\n", commands[i].name);
		return 0;
	}
	c = cmd_find(argv[1]);
	if (!c) {
		fprintf(stderr, "sagerun: '%s' is not a sagerun command\n\n", argv[1]);
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	r = c->fn(argc - 1, argv + 1, &ctx);
	/* A full disk or closed pipe on stdout is an error, not silence (git: run_builtin). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		struct sr_error err = {0};

		sr_err_errno(&err, errno ? errno : EIO, "cannot write to stdout");
		cli_print_error(&err);
		return r ? r : EXIT_FAILED;
	}
	return r;
}
