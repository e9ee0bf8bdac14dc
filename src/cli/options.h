/* options.h - one option table per command: each flag's names, argument and help in one row
 * (git: parse-options.h).  The parser fills the variables the rows point at, takes options
 * before and after operands (as git and docker do) until "--", prints -h/--help from the same
 * table, and says what is wrong with a flag in one line followed by the usage.
 *
 *   struct cli_option opts[] = {
 *       CLI_GROUP("Job:"),
 *       CLI_STRING(0, "name", &name, "NAME", "TrainingJobName"),
 *       CLI_INT(0, "hosts", &hosts, "N", 1, 256, "InstanceCount (default 1)"),
 *       CLI_BOOL('d', "detach", &detach, "return once the job is recorded"),
 *       CLI_END(),
 *   };
 */
#ifndef SR_CLI_OPTIONS_H
#define SR_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cli_opt_type {
	CLI_OPT_END,
	CLI_OPT_GROUP,	  /* a heading in the help */
	CLI_OPT_DOC,	  /* a help entry that is no flag of its own ("-- COMMAND ARGS...") */
	CLI_OPT_BOOL,	  /* bool *: true when given */
	CLI_OPT_STRING,	  /* const char **: the last one given */
	CLI_OPT_STRV,	  /* struct strv *: every one given, in order (repeatable) */
	CLI_OPT_INT,	  /* int64_t *: a whole number from min to max */
	CLI_OPT_CHOICE,	  /* const char **: one of choices[] */
	CLI_OPT_CALLBACK, /* cb(opt, arg): 0, or a message for the user */
};

struct cli_option;
/* NULL when `arg` is good; else what is wrong, for "--name: <that>" (static or in buf). */
typedef const char *cli_opt_cb(const struct cli_option *opt, const char *arg, char *buf,
			       size_t len);

struct cli_option {
	enum cli_opt_type type;
	char short_name; /* 0: none */
	const char *long_name;
	void *value;
	const char *argh; /* the argument's name in the help ("N", "FILE"); NULL: none */
	const char *help; /* may hold "\n": later lines are indented under the first */
	int64_t min, max;
	const char *const *choices; /* CLI_OPT_CHOICE: NULL-terminated */
	cli_opt_cb *cb;
};

#define CLI_END()                                                                                  \
	{                                                                                          \
		.type = CLI_OPT_END                                                                \
	}
#define CLI_GROUP(h)                                                                               \
	{                                                                                          \
		.type = CLI_OPT_GROUP, .help = (h)                                                 \
	}
#define CLI_DOC(n, h)                                                                              \
	{                                                                                          \
		.type = CLI_OPT_DOC, .long_name = (n), .help = (h)                                 \
	}
#define CLI_BOOL(s, l, v, h)                                                                       \
	{                                                                                          \
		.type = CLI_OPT_BOOL, .short_name = (s), .long_name = (l), .value = (v),           \
		.help = (h)                                                                        \
	}
#define CLI_STRING(s, l, v, a, h)                                                                  \
	{                                                                                          \
		.type = CLI_OPT_STRING, .short_name = (s), .long_name = (l), .value = (v),         \
		.argh = (a), .help = (h)                                                           \
	}
#define CLI_STRV(s, l, v, a, h)                                                                    \
	{                                                                                          \
		.type = CLI_OPT_STRV, .short_name = (s), .long_name = (l), .value = (v),           \
		.argh = (a), .help = (h)                                                           \
	}
#define CLI_INT(s, l, v, a, lo, hi, h)                                                             \
	{                                                                                          \
		.type = CLI_OPT_INT, .short_name = (s), .long_name = (l), .value = (v),            \
		.argh = (a), .help = (h), .min = (lo), .max = (hi)                                 \
	}
#define CLI_CHOICE(s, l, v, a, c, h)                                                               \
	{                                                                                          \
		.type = CLI_OPT_CHOICE, .short_name = (s), .long_name = (l), .value = (v),         \
		.argh = (a), .help = (h), .choices = (c)                                           \
	}
#define CLI_CALLBACK(s, l, v, a, f, h)                                                             \
	{                                                                                          \
		.type = CLI_OPT_CALLBACK, .short_name = (s), .long_name = (l), .value = (v),       \
		.argh = (a), .help = (h), .cb = (f)                                                \
	}

struct cli_command {
	const char *usage;   /* "sagerun logs JOB [options]" (more lines with "\n") */
	const char *summary; /* the help's first paragraph */
	const struct cli_option *options;
	const char *epilog; /* after the options, e.g. the exit status; may be NULL */
	/* Operands before "--": from min_args to max_args (-1: any), each a `what` ("job") in
	 * the errors; `rest`: a "--" and what follows it are taken (a command to run). */
	int min_args, max_args;
	const char *what;
	bool rest;
};

/* What is left of argv once the options are taken. */
struct cli_args {
	char **v; /* operands before "--", in order (pointers into argv) */
	int n;
	char **rest; /* after "--": argv's own tail; NULL when there was no "--" */
	int n_rest;
};

/* Parse argv[1..argc) (argv[0] is the command's name): true with `args` filled, the command
 * goes on; false when it should return *ret_exit: 0 once the help is printed on stdout, 2
 * once the error and the usage are printed on stderr.  argv is rearranged: operands come
 * first. */
bool cli_parse(int argc, char **argv, const struct cli_command *cmd, struct cli_args *args,
	       int *ret_exit);

/* The whole help of `cmd` to stdout. */
void cli_help(const struct cli_command *cmd);

#endif
