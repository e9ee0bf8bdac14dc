/* options.c - the option tables' parser and help printer (options.h). */
#include "cli/options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/strv.h"

/* Where a flag's help starts: "  --name ARG" padded to this column, as `sagerun -h` always
 * had it. */
#define HELP_COLUMN 27

static void usage_line(FILE *f, const struct cli_command *cmd)
{
	fprintf(f, "usage: %s\n", cmd->usage);
}

__attribute__((format(printf, 2, 3))) static int fail(const struct cli_command *cmd,
						      const char *fmt, ...)
{
	va_list ap;

	fputs("sagerun: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_line(stderr, cmd);
	return -EINVAL;
}

/* "--name" or "-n", for messages. */
static const char *flag_name(const struct cli_option *o, char *buf, size_t len)
{
	if (o->long_name)
		snprintf(buf, len, "--%s", o->long_name);
	else
		snprintf(buf, len, "-%c", o->short_name);
	return buf;
}

static bool takes_arg(const struct cli_option *o)
{
	return o->type != CLI_OPT_BOOL;
}

static const char *set_int(const struct cli_option *o, const char *arg, char *buf, size_t len)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (!*arg || *arg == '+' || errno || *end || v < o->min || v > o->max) {
		if (o->max > 65536)
			snprintf(buf, len, "expected a whole number >= %lld, got '%s'",
				 (long long)o->min, arg);
		else
			snprintf(buf, len, "expected a whole number from %lld to %lld, got '%s'",
				 (long long)o->min, (long long)o->max, arg);
		return buf;
	}
	*(int64_t *)o->value = v;
	return NULL;
}

static const char *set_choice(const struct cli_option *o, const char *arg, char *buf, size_t len)
{
	size_t at = 0;

	for (const char *const *c = o->choices; *c; c++) {
		if (!strcmp(*c, arg)) {
			*(const char **)o->value = *c;
			return NULL;
		}
	}
	at += (size_t)snprintf(buf, len, "expected ");
	for (const char *const *c = o->choices; *c && at < len; c++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", *c,
				       !c[1]   ? ""
				       : !c[2] ? " or "
					       : ", ");
	if (at < len)
		snprintf(buf + at, len - at, ", got '%s'", arg);
	return buf;
}

/* Store `arg` as `o` says; NULL, or what is wrong with it. */
static const char *apply(const struct cli_option *o, const char *arg, char *buf, size_t len)
{
	switch (o->type) {
	case CLI_OPT_BOOL:
		*(bool *)o->value = true;
		return NULL;
	case CLI_OPT_STRING:
		*(const char **)o->value = arg;
		return NULL;
	case CLI_OPT_STRV:
		strv_push(o->value, arg);
		return NULL;
	case CLI_OPT_INT:
		return set_int(o, arg, buf, len);
	case CLI_OPT_CHOICE:
		return set_choice(o, arg, buf, len);
	case CLI_OPT_CALLBACK:
		return o->cb(o, arg, buf, len);
	default:
		return "not an option";
	}
}

static const struct cli_option *find_long(const struct cli_option *opts, const char *name, size_t n)
{
	for (const struct cli_option *o = opts; o->type != CLI_OPT_END; o++)
		if (o->type > CLI_OPT_DOC && o->long_name && strlen(o->long_name) == n &&
		    !strncmp(o->long_name, name, n))
			return o;
	return NULL;
}

static const struct cli_option *find_short(const struct cli_option *opts, char c)
{
	for (const struct cli_option *o = opts; o->type != CLI_OPT_END; o++)
		if (o->type > CLI_OPT_DOC && o->short_name == c)
			return o;
	return NULL;
}

/* Returned by parse_one when the help was asked for. */
#define PARSE_HELP 1

/* One option at argv[*i] (long, or a cluster of short ones like -fd or -n5); *i moves past
 * what it used.  0, PARSE_HELP, or < 0 (printed). */
static int parse_one(int argc, char **argv, int *i, const struct cli_command *cmd)
{
	const char *a = argv[(*i)++];
	char buf[512], name[64];
	const struct cli_option *o;
	const char *arg = NULL, *bad;

	if (a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

		if (!strcmp(a, "--help"))
			return PARSE_HELP;
		o = find_long(cmd->options, a + 2, n);
		if (!o)
			return fail(cmd, "unknown option '%s'", a);
		if (eq && !takes_arg(o))
			return fail(cmd, "%s takes no value", flag_name(o, name, sizeof(name)));
		arg = eq ? eq + 1 : NULL;
	} else {
		for (const char *p = a + 1;; p++) {
			if (*p == 'h' && !find_short(cmd->options, 'h'))
				return PARSE_HELP;
			o = find_short(cmd->options, *p);
			if (!o) {
				return fail(cmd, "unknown option '-%c'", *p);
			}
			if (takes_arg(o)) {
				arg = p[1] ? p + 1 : NULL;
				break;
			}
			apply(o, NULL, buf, sizeof(buf));
			if (!p[1])
				return 0;
		}
	}
	if (takes_arg(o) && !arg) {
		if (*i >= argc)
			return fail(cmd, "%s needs a value (%s)", flag_name(o, name, sizeof(name)),
				    o->argh ? o->argh : "an argument");
		arg = argv[(*i)++];
	}
	bad = apply(o, arg, buf, sizeof(buf));
	if (bad)
		return fail(cmd, "%s: %s", flag_name(o, name, sizeof(name)), bad);
	return 0;
}

bool cli_parse(int argc, char **argv, const struct cli_command *cmd, struct cli_args *args,
	       int *ret_exit)
{
	int i = 1, n = 0, r;

	*args = (struct cli_args){.v = argv + 1};
	while (i < argc) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			if (cmd->rest) { /* what follows is the command to run */
				args->rest = argv + i + 1;
				args->n_rest = argc - i - 1;
				break;
			}
			/* As git and docker: the end of the options, what follows operands alone
			 * (a job named "-f" is `sagerun logs -- -f`). */
			while (++i < argc)
				argv[1 + n++] = argv[i];
			break;
		}
		if (a[0] != '-' || !a[1]) { /* an operand ("-" too: standard input) */
			argv[1 + n++] = argv[i++];
			continue;
		}
		r = parse_one(argc, argv, &i, cmd);
		if (r == PARSE_HELP) {
			cli_help(cmd);
			*ret_exit = 0;
			return false;
		}
		if (r < 0) {
			*ret_exit = 2; /* EXIT_USAGE */
			return false;
		}
	}
	args->n = n;
	*ret_exit = 2; /* EXIT_USAGE */
	if (n < cmd->min_args) {
		fail(cmd, "which %s?", cmd->what ? cmd->what : "argument");
		return false;
	}
	if (cmd->max_args >= 0 && n > cmd->max_args) {
		if (cmd->max_args == 1)
			fail(cmd, "expected one %s name", cmd->what ? cmd->what : "argument");
		else if (cmd->rest)
			fail(cmd, "unexpected argument '%s': put a command after '--'",
			     argv[1 + cmd->max_args]);
		else
			fail(cmd, "unexpected argument '%s'", argv[1 + cmd->max_args]);
		return false;
	}
	*ret_exit = 0;
	return true;
}

/* Lines of `text` after the first, indented to the help column. */
static void print_indented(const char *text, int col)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		if (p != text)
			printf("%*s", col, "");
		printf("%.*s\n", n, p);
		p += n + (nl ? 1 : 0);
	}
}

static void print_option(const struct cli_option *o)
{
	char left[128];
	int n;

	if (o->type == CLI_OPT_DOC)
		n = snprintf(left, sizeof(left), "  %s", o->long_name);
	else if (o->short_name && o->long_name)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->short_name, o->long_name,
			     o->argh ? " " : "", o->argh ? o->argh : "");
	else if (o->long_name)
		n = snprintf(left, sizeof(left), "  --%s%s%s", o->long_name, o->argh ? " " : "",
			     o->argh ? o->argh : "");
	else
		n = snprintf(left, sizeof(left), "  -%c%s%s", o->short_name, o->argh ? " " : "",
			     o->argh ? o->argh : "");
	if (!o->help) {
		printf("%s\n", left);
		return;
	}
	if (n >= HELP_COLUMN - 1)
		printf("%s\n%*s", left, HELP_COLUMN, "");
	else
		printf("%-*s", HELP_COLUMN, left);
	print_indented(o->help, HELP_COLUMN);
}

void cli_help(const struct cli_command *cmd)
{
	bool first = true;

	usage_line(stdout, cmd);
	printf("\n%s\n", cmd->summary);
	for (const struct cli_option *o = cmd->options; o && o->type != CLI_OPT_END; o++) {
		if (o->type == CLI_OPT_GROUP) {
			printf(*o->help ? "\n%s\n" : "\n", o->help);
			first = false;
			continue;
		}
		if (first) {
			putchar('\n');
			first = false;
		}
		print_option(o);
	}
	if (cmd->epilog)
		printf("\n%s", cmd->epilog);
}
