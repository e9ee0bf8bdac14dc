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

int cmd_compose(int argc, char **argv, struct sr_ctx *ctx);
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

/* train's flags (train.c), for train and compose: into `f` (job_flags_init'ed) and `o`.
 * 0 when the command should run; CLI_TRAIN_HELP when help was printed; else the usage
 * error's exit code (printed).  Compose also takes -o FILE into *compose_out. */
#define CLI_TRAIN_HELP (-1000)
struct cli_train_cmd {
	const char *usage, *help;
	bool compose;
	const char **compose_out;
};
struct job_flags;
struct run_opts;
int cli_train_parse(int argc, char **argv, const struct cli_train_cmd *cmd, struct job_flags *f,
		    struct run_opts *o);
/* The "Job:" part of train's help. */
extern const char cli_job_options_help[];

/* The container options train and compose share, in this order: --image, --toolkit,
 * --gpus-per-host, --shm-size.  0, or the usage error's exit code (printed). */
enum cli_container_opt { CLI_CTR_IMAGE, CLI_CTR_TOOLKIT, CLI_CTR_GPUS, CLI_CTR_SHM_SIZE };
struct run_opts;
int cli_container_option(int which, const char *arg, struct run_opts *o, const char *usage);

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
