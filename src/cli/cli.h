/* cli.h - sub-commands (one file each) and what main() hands them. */
#ifndef SR_CLI_CLI_H
#define SR_CLI_CLI_H

#include <stdbool.h>

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

int cmd_container(int argc, char **argv, struct sr_ctx *ctx);
int cmd_describe(int argc, char **argv, struct sr_ctx *ctx);
int cmd_help(int argc, char **argv, struct sr_ctx *ctx);
int cmd_logs(int argc, char **argv, struct sr_ctx *ctx);
int cmd_prune(int argc, char **argv, struct sr_ctx *ctx);
int cmd_ps(int argc, char **argv, struct sr_ctx *ctx);
int cmd_rm(int argc, char **argv, struct sr_ctx *ctx);
int cmd_s3(int argc, char **argv, struct sr_ctx *ctx);
int cmd_stop(int argc, char **argv, struct sr_ctx *ctx);
int cmd_train(int argc, char **argv, struct sr_ctx *ctx);
int cmd_version(int argc, char **argv, struct sr_ctx *ctx);
int cmd_wait(int argc, char **argv, struct sr_ctx *ctx);

/* Print "sagerun: error: <msg>" (and "hint: ..." when set) to stderr. */
struct sr_error;
void cli_print_error(const struct sr_error *err);

/* A usage error: one specific line, then the short usage, on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the job store under $SAGERUN_HOME, noting on stderr any job recovered from a lost
 * supervisor; prints the error itself.  0 or a negative errno. */
struct store;
int cli_store_open(struct store **ret);
/* The same, with the error in `err` instead of printed. */
int cli_store_open_err(struct store **ret, struct sr_error *err);

/* One job's row (and, when ret_describe is not NULL, its describe JSON) from a freshly
 * opened store; prints its errors ("no job named ...").  0 or a negative errno. */
struct store_job_row;
int cli_job_get(const char *name, struct store_job_row *row, char **ret_describe);

/* Block until job `name` ends and read its final row (wait.c; stop uses it too).  Prints
 * its errors; 0 or a negative errno. */
struct store_job_row;
int cli_job_wait(const char *name, struct store_job_row *final);

/* train's exit status for a final TrainingJobStatus: 0 Completed, 130 Stopped, else 1. */
int cli_exit_for_status(const char *status);

#endif
