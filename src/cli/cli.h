/* cli.h - sub-commands (one file each) and what main() hands them.
 *
 * A command parses its flags (options.h), calls one entry point below (engines/, launch/,
 * s3/, runtime/), and prints: its output on stdout, errors with cli_print_error (the one
 * printer), a job's progress through cli_report's callbacks.
 */
#ifndef SR_CLI_CLI_H
#define SR_CLI_CLI_H

#include <stdbool.h>

#include "job/report.h"
#include "job/status.h"

/* Exit codes (DESIGN.md). */
enum {
	EXIT_COMPLETED = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_STOPPED = 130,
};

struct sr_ctx {
	bool stdout_tty;
	bool stderr_tty;
	bool color; /* colour on a TTY unless NO_COLOR is set */
};

int cmd_compose(int argc, char **argv, struct sr_ctx *ctx);
int cmd_container(int argc, char **argv, struct sr_ctx *ctx);
int cmd_describe(int argc, char **argv, struct sr_ctx *ctx);
int cmd_help(int argc, char **argv, struct sr_ctx *ctx);
int cmd_logs(int argc, char **argv, struct sr_ctx *ctx);
int cmd_process(int argc, char **argv, struct sr_ctx *ctx);
int cmd_prune(int argc, char **argv, struct sr_ctx *ctx);
int cmd_ps(int argc, char **argv, struct sr_ctx *ctx);
int cmd_rm(int argc, char **argv, struct sr_ctx *ctx);
int cmd_s3(int argc, char **argv, struct sr_ctx *ctx);
int cmd_stop(int argc, char **argv, struct sr_ctx *ctx);
int cmd_train(int argc, char **argv, struct sr_ctx *ctx);
int cmd_version(int argc, char **argv, struct sr_ctx *ctx);
int cmd_wait(int argc, char **argv, struct sr_ctx *ctx);

/* Print "sagerun: error: <msg>" (and "hint: ..." when set) to stderr: the one error printer. */
struct sr_error;
void cli_print_error(const struct sr_error *err);

/* A usage error: one specific line, then the short usage, on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The callbacks that show a job's progress on stderr (report.c); `ctx` says about colour. */
struct job_report cli_report(struct sr_ctx *ctx);

/* train's exit status for a final state: 0 Completed, 130 Stopped, else 1. */
int cli_exit_for_state(enum job_state state);
/* The same for a recorded status name ("Completed", ...). */
int cli_exit_for_status(const char *status);

#endif
