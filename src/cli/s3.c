/* s3.c - `sagerun s3 ls|cp|sync|rm`: the S3 client for users, with the same credentials, region
 * and endpoint as the AWS CLI (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for S3-compatible
 * servers), and a progress bar on a terminal. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/options.h"
#include "cli/progress.h"
#include "data/s3_sync.h"
#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char s3_usage[] =
    "sagerun s3 ls S3URI | cp [--recursive] SRC DST | sync [--delete] SRC DST | rm S3URI";

static const char s3_help[] =
    "Talk to S3 or an S3-compatible server, with the AWS CLI's credentials and settings.\n"
    "\n"
    "  ls s3://bucket/prefix        every object under the prefix: size and key\n"
    "  cp FILE s3://bucket/key      upload (in parallel parts when large)\n"
    "  cp s3://bucket/key FILE      download (in parallel ranged parts when large)\n"
    "  cp --recursive DIR s3://bucket/prefix, or s3://bucket/prefix DIR\n"
    "  cp - s3://bucket/key, cp s3://bucket/key -   from standard input, to standard output\n"
    "  sync DIR s3://bucket/prefix, or s3://bucket/prefix DIR\n"
    "                               copy what is missing or differs (size, or time: up a\n"
    "                               newer file, down another time than LastModified);\n"
    "                               --delete also removes from the destination what the\n"
    "                               source lacks\n"
    "  rm s3://bucket/key\n"
    "\n"
    "Many objects go 8 requests at a time; on a terminal a progress line shows bytes, rate\n"
    "and time left (on standard error).\n"
    "\n"
    "Endpoint: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (path-style); credentials: the\n"
    "environment, AWS_PROFILE in ~/.aws, container or instance credentials.";

static bool is_s3(const char *s)
{
	return !strncmp(s, "s3://", 5);
}

static int s3_ls(struct s3_client *c, const char *uri)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL;
	struct s3_object *objs = NULL;
	struct sr_error err = {0};
	size_t n = 0;

	if (s3_uri_parse(uri, &bucket, &prefix, &err) < 0 ||
	    s3_list(c, bucket, prefix, &objs, &n, &err) < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		printf("%12lld  %s\n", (long long)objs[i].size, objs[i].key);
	s3_objects_free(objs, n);
	return 0;
}

/* Everything from fd `in` to fd `out`, errors naming the side. */
static int pump(int in, int out, const char *what, struct sr_error *err)
{
	bool writing;
	int r = fs_copy_fd(in, out, &writing);

	return r < 0 ? sr_err_errno(err, -r, "%s %s", writing ? "write" : "read", what) : 0;
}

/* `-` as SRC or DST: standard input or output, through a file in a private temp folder (a
 * multipart upload wants the size up front, a ranged download a file to land in). */
static int cp_std(struct s3_client *c, const char *bucket, const char *key, bool up,
		  struct sr_error *err)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *dir = xasprintf("%s/sagerun-s3.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	_cleanup_free_ char *path = NULL;
	int fd = -1, r;

	if (up && (!*key || key[strlen(key) - 1] == '/'))
		return sr_err(err, -EINVAL, "s3 cp -: s3://%s/%s is a prefix; name the object",
			      bucket, key);
	if (!mkdtemp(dir))
		return sr_err_errno(err, errno, "create a temp folder in %s", tmp ? tmp : "/tmp");
	path = xasprintf("%s/data", dir);
	if (up) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		r = fd < 0 ? sr_err_errno(err, errno, "write '%s'", path)
			   : pump(STDIN_FILENO, fd, "standard input", err);
		if (fd >= 0 && close(fd) < 0 && r >= 0)
			r = sr_err_errno(err, errno, "write '%s'", path);
		if (r >= 0)
			r = s3_put_file(c, bucket, key, path, err);
	} else {
		r = s3_get_file(c, bucket, key, path, err);
		if (r >= 0) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			r = fd < 0 ? sr_err_errno(err, errno, "read '%s'", path)
				   : pump(fd, STDOUT_FILENO, "standard output", err);
			if (fd >= 0)
				close(fd);
		}
	}
	(void)unlink(path);
	(void)rmdir(dir);
	return r;
}

/* What `cp` and `sync` were asked. */
struct copy {
	const char *src, *dst;
	bool recursive, sync, delete_extra;
	struct progress_bar bar;
};

static void plan_bar(void *ctx, size_t files, int64_t bytes)
{
	struct progress_bar *p = ctx;

	(void)files;
	progress_begin(p, p->last, bytes);
}

/* A folder and a prefix: everything (cp --recursive) or what differs (sync). */
static int copy_tree(struct s3_client *c, struct copy *cp, struct sr_error *err)
{
	struct s3_sync_opts o = {.changed_only = cp->sync,
				 .delete_extra = cp->delete_extra,
				 .plan = plan_bar,
				 .ctx = &cp->bar};
	struct s3_sync_stats st;
	int r;

	if (is_s3(cp->src))
		r = s3_sync_down(c, cp->src, cp->dst, &o, &st, err);
	else if (!fs_is_dir(cp->src))
		r = sr_err(err, -ENOTDIR, "'%s' is not a folder", cp->src);
	else
		r = s3_sync_up(c, cp->src, cp->dst, &o, &st, err);
	progress_end(&cp->bar);
	if (r >= 0 && cp->sync)
		fprintf(stderr, "sagerun: %zu of %zu files copied (%lld bytes)\n", st.copied,
			st.files, (long long)st.bytes);
	if (r >= 0 && cp->delete_extra)
		fprintf(stderr, "sagerun: %zu removed from %s\n", st.deleted, cp->dst);
	return r;
}

static int copy_one(struct s3_client *c, struct copy *cp, const char *bucket, const char *key,
		    struct sr_error *err)
{
	int r;

	if (is_s3(cp->src)) {
		_cleanup_free_ char *path = NULL;
		const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;

		/* Into a folder: under the key's last part, as `aws s3 cp` does. */
		struct s3_object o = {0};

		path = fs_is_dir(cp->dst) ? xasprintf("%s/%s", cp->dst, base) : xstrdup(cp->dst);
		/* Looked up here for the progress line's total; the download trusts it. */
		r = s3_head(c, bucket, key, &o, err);
		if (r >= 0) {
			struct s3_file f = {
			    .key = key, .path = path, .size = o.size, .etag = o.etag};

			progress_begin(&cp->bar, cp->bar.last, o.size);
			r = s3_get_files(c, bucket, &f, 1, err);
		}
		free(o.key);
		free(o.etag);
	} else {
		_cleanup_free_ char *k = NULL;
		const char *base = strrchr(cp->src, '/') ? strrchr(cp->src, '/') + 1 : cp->src;
		struct stat st;

		/* To a "folder" key (empty or ending in '/'): under the file's name. */
		k = !*key || key[strlen(key) - 1] == '/' ? xasprintf("%s%s", key, base)
							 : xstrdup(key);
		progress_begin(&cp->bar, cp->bar.last, stat(cp->src, &st) == 0 ? st.st_size : -1);
		r = s3_put_file(c, bucket, k, cp->src, err);
	}
	progress_end(&cp->bar);
	return r;
}

static int s3_copy(struct s3_client *c, struct copy *cp)
{
	_cleanup_free_ char *bucket = NULL, *key = NULL;
	struct sr_error err = {0};
	const char *what = cp->sync ? "sync" : "cp";
	bool std = !strcmp(cp->src, "-") || !strcmp(cp->dst, "-");
	int r;

	if (is_s3(cp->src) == is_s3(cp->dst))
		return cli_usage_error(s3_usage,
				       "s3 %s: one of SRC and DST must be an s3:// URI, the other "
				       "a local path",
				       what);
	if ((cp->recursive || cp->sync) && std)
		return cli_usage_error(s3_usage, "s3 %s: copies folders, not '-'", what);
	r = s3_uri_parse(is_s3(cp->src) ? cp->src : cp->dst, &bucket, &key, &err);
	if (r >= 0 && std)
		r = cp_std(c, bucket, key, !strcmp(cp->src, "-"), &err);
	else if (r >= 0 && (cp->recursive || cp->sync))
		r = copy_tree(c, cp, &err);
	else if (r >= 0)
		r = copy_one(c, cp, bucket, key, &err);
	if (r < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	return 0;
}

/* The sub-commands, each with its options and how many operands it takes. */
struct s3_cmd {
	const char *name;
	int operands;
	const struct cli_option *options;
};

static int s3_run(const struct s3_cmd *sc, char **operands, struct copy *cp, struct sr_ctx *ctx)
{
	_cleanup_free_ char *bucket = NULL, *key = NULL;
	struct s3_client *c = NULL;
	struct sr_error err = {0};
	int code = 0;

	if (s3_client_new(&c, &err) < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	if (!strcmp(sc->name, "ls")) {
		code = s3_ls(c, operands[0]);
	} else if (!strcmp(sc->name, "rm")) {
		if (s3_uri_parse(operands[0], &bucket, &key, &err) < 0 ||
		    s3_delete(c, bucket, key, &err) < 0) {
			cli_print_error(&err);
			code = EXIT_FAILED;
		}
	} else {
		cp->src = operands[0];
		cp->dst = operands[1];
		cp->sync = !strcmp(sc->name, "sync");
		progress_init(&cp->bar, STDERR_FILENO, ctx->stderr_tty);
		s3_client_set_progress(c, progress_update, &cp->bar);
		code = s3_copy(c, cp);
	}
	s3_client_free(c);
	return code;
}

int cmd_s3(int argc, char **argv, struct sr_ctx *ctx)
{
	struct copy cp = {0};
	const struct cli_option none[] = {CLI_END()};
	const struct cli_option cp_opts[] = {
	    CLI_BOOL('r', "recursive", &cp.recursive, "a folder and a prefix: every file"),
	    CLI_END(),
	};
	const struct cli_option sync_opts[] = {
	    CLI_BOOL(0, "delete", &cp.delete_extra, "also remove from DST what SRC does not have"),
	    CLI_END(),
	};
	const struct s3_cmd cmds[] = {
	    {"ls", 1, none}, {"cp", 2, cp_opts}, {"sync", 2, sync_opts}, {"rm", 1, none}};
	struct cli_command cmd = {
	    .usage = s3_usage, .summary = s3_help, .options = none, .max_args = -1, .rest = true};
	const struct s3_cmd *sc = NULL;
	char *operands[2];
	struct cli_args args;
	int code;

	if (argc < 2)
		return cli_usage_error(s3_usage, "which s3 command?");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			sc = &cmds[i];
	if (!sc) {
		if (!cli_parse(argc, argv, &cmd, &args, &code)) /* -h, --help, or a bad option */
			return code;
		return cli_usage_error(s3_usage, "unknown s3 command '%s'", argv[1]);
	}
	cmd.options = sc->options;
	cmd.max_args = sc->operands;
	if (!cli_parse(argc - 1, argv + 1, &cmd, &args, &code))
		return code;
	/* Operands after "--" too: a key may start with '-'. */
	if (args.n + args.n_rest != sc->operands)
		return cli_usage_error(s3_usage, "s3 %s: wrong arguments", sc->name);
	for (int i = 0; i < sc->operands; i++)
		operands[i] = i < args.n ? args.v[i] : args.rest[i - args.n];
	return s3_run(sc, operands, &cp, ctx);
}
