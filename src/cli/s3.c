/* s3.c - `sagerun s3 ls|cp|rm`: the S3 client for users, with the same credentials, region and
 * endpoint as the AWS CLI (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for S3-compatible servers). */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char s3_usage[] = "sagerun s3 ls S3URI | cp [--recursive] SRC DST | rm S3URI";

static const char s3_help[] =
    "Talk to S3 or an S3-compatible server, with the AWS CLI's credentials and settings.\n"
    "\n"
    "  ls s3://bucket/prefix        every object under the prefix: size and key\n"
    "  cp FILE s3://bucket/key      upload (in parallel parts when large)\n"
    "  cp s3://bucket/key FILE      download (in parallel ranged parts when large)\n"
    "  cp --recursive DIR s3://bucket/prefix, or s3://bucket/prefix DIR\n"
    "  cp - s3://bucket/key, cp s3://bucket/key -   from standard input, to standard output\n"
    "  rm s3://bucket/key\n"
    "\n"
    "Endpoint: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (path-style); credentials: the\n"
    "environment, AWS_PROFILE in ~/.aws, container or instance credentials.\n";

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

static int cp_down_recursive(struct s3_client *c, const char *bucket, const char *prefix,
			     const char *dir, struct sr_error *err)
{
	struct s3_object *objs = NULL;
	size_t n = 0;
	int r = s3_list(c, bucket, prefix, &objs, &n, err);

	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *path = NULL, *parent = NULL;
		char *slash;

		if (objs[i].key[strlen(objs[i].key) - 1] == '/')
			continue; /* a "folder" marker object */
		r = s3_key_local_path(dir, prefix, objs[i].key, &path, err);
		if (r < 0)
			break;
		parent = xstrdup(path);
		slash = strrchr(parent, '/');
		*slash = '\0';
		r = fs_mkdir_p(parent, 0755, err);
		if (r >= 0)
			r = s3_get_file(c, bucket, objs[i].key, path, err);
	}
	s3_objects_free(objs, n);
	return r;
}

static int cp_up_recursive(struct s3_client *c, const char *dir, const char *bucket,
			   const char *prefix, struct sr_error *err)
{
	int r = 0;
	/* Walk with a stack of folders (no recursion limits, no symlinks followed). */
	char **stack = xcalloc(1, sizeof(char *));
	size_t n = 1, cap = 1;

	stack[0] = xstrdup("");
	while (n && r >= 0) {
		char *rel = stack[--n];
		_cleanup_free_ char *abs = *rel ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
		DIR *d = opendir(abs);
		struct dirent *de;

		if (!d) {
			r = sr_err(err, -errno, "'%s': %s", abs, strerror(errno));
			free(rel);
			break;
		}
		while (r >= 0 && (de = readdir(d))) {
			_cleanup_free_ char *child = NULL, *path = NULL, *key = NULL;
			struct stat st;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
			path = xasprintf("%s/%s", dir, child);
			if (lstat(path, &st) < 0)
				continue;
			if (S_ISDIR(st.st_mode)) {
				xgrow(&stack, &cap, n + 1, sizeof(*stack));
				stack[n++] = TAKE_PTR(child);
			} else if (S_ISREG(st.st_mode)) {
				key = *prefix
					  ? xasprintf("%s%s%s", prefix,
						      prefix[strlen(prefix) - 1] == '/' ? "" : "/",
						      child)
					  : xstrdup(child);
				r = s3_put_file(c, bucket, key, path, err);
			}
		}
		closedir(d);
		free(rel);
	}
	while (n)
		free(stack[--n]);
	free(stack);
	return r;
}

/* Copy everything from fd `in` to fd `out`. */
static int pump(int in, int out, const char *what, struct sr_error *err)
{
	char buf[1 << 16];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sr_err(err, -errno, "read %s: %s", what, strerror(errno));
		if (n == 0)
			return 0;
		r = fs_write_all(out, buf, (size_t)n);
		if (r < 0)
			return sr_err(err, r, "write %s: %s", what, strerror(-r));
	}
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
		return sr_err(err, -errno, "create a temp folder in %s: %s", tmp ? tmp : "/tmp",
			      strerror(errno));
	path = xasprintf("%s/data", dir);
	if (up) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		r = fd < 0 ? sr_err(err, -errno, "write '%s': %s", path, strerror(errno))
			   : pump(STDIN_FILENO, fd, "standard input", err);
		if (fd >= 0 && close(fd) < 0 && r >= 0)
			r = sr_err(err, -errno, "write '%s': %s", path, strerror(errno));
		if (r >= 0)
			r = s3_put_file(c, bucket, key, path, err);
	} else {
		r = s3_get_file(c, bucket, key, path, err);
		if (r >= 0) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			r = fd < 0 ? sr_err(err, -errno, "read '%s': %s", path, strerror(errno))
				   : pump(fd, STDOUT_FILENO, "standard output", err);
			if (fd >= 0)
				close(fd);
		}
	}
	(void)unlink(path);
	(void)rmdir(dir);
	return r;
}

static int s3_cp(struct s3_client *c, const char *src, const char *dst, bool recursive)
{
	_cleanup_free_ char *bucket = NULL, *key = NULL;
	struct sr_error err = {0};
	int r;

	if (is_s3(src) == is_s3(dst)) {
		fprintf(stderr, "sagerun: error: s3 cp: one of SRC and DST must be an s3:// URI, "
				"the other a local path\n");
		return EXIT_USAGE;
	}
	if (recursive && (!strcmp(src, "-") || !strcmp(dst, "-"))) {
		fprintf(stderr, "sagerun: error: s3 cp: --recursive copies folders, not '-'\n");
		return EXIT_USAGE;
	}
	r = s3_uri_parse(is_s3(src) ? src : dst, &bucket, &key, &err);
	if (r >= 0 && (!strcmp(src, "-") || !strcmp(dst, "-")))
		r = cp_std(c, bucket, key, !strcmp(src, "-"), &err);
	else if (r >= 0 && recursive)
		r = is_s3(src) ? cp_down_recursive(c, bucket, key, dst, &err)
			       : cp_up_recursive(c, src, bucket, key, &err);
	else if (r >= 0 && is_s3(src)) {
		_cleanup_free_ char *path = NULL;
		const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;

		/* Into a folder: under the key's last part, as `aws s3 cp` does. */
		path = fs_is_dir(dst) ? xasprintf("%s/%s", dst, base) : xstrdup(dst);
		r = s3_get_file(c, bucket, key, path, &err);
	} else if (r >= 0) {
		_cleanup_free_ char *k = NULL;
		const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;

		/* To a "folder" key (empty or ending in '/'): under the file's name. */
		k = !*key || key[strlen(key) - 1] == '/' ? xasprintf("%s%s", key, base)
							 : xstrdup(key);
		r = s3_put_file(c, bucket, k, src, &err);
	}
	if (r < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	return 0;
}

int cmd_s3(int argc, char **argv, struct sr_ctx *ctx)
{
	struct s3_client *c = NULL;
	struct sr_error err = {0};
	bool recursive = false;
	char *args[3];
	int n = 0, code;

	(void)ctx;
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		if (argc < 2)
			return cli_usage_error(s3_usage, "which s3 command?");
		printf("usage: %s\n\n%s", s3_usage, s3_help);
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--recursive") || !strcmp(argv[i], "-r"))
			recursive = true;
		else if (n < 3)
			args[n++] = argv[i];
		else
			return cli_usage_error(s3_usage, "unexpected argument '%s'", argv[i]);
	}
	if (!strcmp(argv[1], "ls")   ? n != 1
	    : !strcmp(argv[1], "cp") ? n != 2
	    : !strcmp(argv[1], "rm") ? n != 1
				     : true)
		return cli_usage_error(s3_usage, "s3 %s: wrong arguments", argv[1]);
	if (s3_client_new(&c, &err) < 0) {
		cli_print_error(&err);
		return EXIT_FAILED;
	}
	if (!strcmp(argv[1], "ls")) {
		code = s3_ls(c, args[0]);
	} else if (!strcmp(argv[1], "cp")) {
		code = s3_cp(c, args[0], args[1], recursive);
	} else {
		_cleanup_free_ char *bucket = NULL, *key = NULL;

		code = 0;
		if (s3_uri_parse(args[0], &bucket, &key, &err) < 0 ||
		    s3_delete(c, bucket, key, &err) < 0) {
			cli_print_error(&err);
			code = EXIT_FAILED;
		}
	}
	s3_client_free(c);
	return code;
}
