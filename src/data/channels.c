#include "data/channels.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/artifacts.h"
#include "job/job.h"
#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* --- input channels --------------------------------------------------------------------- */

/* Make `link` a symlink to `target`, replacing another symlink or file there.  A real folder
 * in the way is removed only when empty: it may hold someone's data. */
static int chan_link(const char *target, const char *link, struct sr_error *err)
{
	char cur[PATH_MAX];
	ssize_t n;
	struct stat st;

	if (symlink(target, link) == 0)
		return 0;
	if (errno != EEXIST)
		return sr_err_errno(err, errno, "link '%s'", link);

	n = readlink(link, cur, sizeof(cur) - 1);
	if (n >= 0) {
		cur[n] = '\0';
		if (!strcmp(cur, target))
			return 0;
	}
	if (lstat(link, &st) < 0)
		return sr_err_errno(err, errno, "link '%s'", link);
	if (S_ISDIR(st.st_mode)) {
		if (rmdir(link) < 0) {
			int r = sr_err_errno(err, errno, "link '%s': a folder is in the way", link);
			sr_err_hint(err, "remove '%s' if its content is not needed", link);
			return r;
		}
		if (symlink(target, link) < 0)
			return sr_err_errno(err, errno, "link '%s'", link);
		return 0;
	}
	/* Replace through a temp name and rename(): the link is never missing, so a host that
	 * is already looking at it sees the old or the new target. */
	_cleanup_free_ char *tmp = xasprintf("%s.sagerun-tmp.%d", link, (int)getpid());
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0)
		return sr_err_errno(err, errno, "link '%s'", tmp);
	if (rename(tmp, link) < 0) {
		int r = -errno;
		(void)unlink(tmp);
		return sr_err_errno(err, -r, "link '%s'", link);
	}
	return 0;
}

/* A single-file channel: its folder holds the file under its own name. */
static int chan_copy_file(const char *file, const char *dir, struct sr_error *err)
{
	const char *slash = strrchr(file, '/');
	_cleanup_free_ char *dst = xasprintf("%s/%s", dir, slash ? slash + 1 : file);

	return fs_copy_file(file, dst, 0644, err);
}

static bool chan_name_ok(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

static int chan_stage_one(const struct job_channel *c, const char *data_dir, struct sr_error *err)
{
	_cleanup_free_ char *link = NULL;
	struct stat st;

	if (!chan_name_ok(c->name))
		return sr_err(err, -EINVAL, "channel '%s': not a usable folder name",
			      c->name ? c->name : "");
	if (!c->local_path) /* s3_channels_stage gives every S3 channel its folder first */
		return sr_err(err, -EIO, "channel '%s': %s has no local folder (not downloaded)",
			      c->name, c->uri ? c->uri : "no URI");
	if (stat(c->local_path, &st) < 0)
		return sr_err_errno(err, errno, "channel '%s': '%s'", c->name, c->local_path);
	link = xasprintf("%s/%s", data_dir, c->name);
	if (S_ISDIR(st.st_mode))
		return chan_link(c->local_path, link, err);
	if (!S_ISREG(st.st_mode))
		return sr_err(err, -EINVAL, "channel '%s': '%s' is neither a folder nor a file",
			      c->name, c->local_path);

	/* A single file is what an S3Prefix naming one object gives: a channel folder holding
	 * that object under its own name.  The folder is ours; the file is still only linked. */
	const char *slash = strrchr(c->local_path, '/');
	const char *base = slash ? slash + 1 : c->local_path;
	_cleanup_free_ char *file_link = xasprintf("%s/%s", link, base);
	if (lstat(link, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(link) < 0)
		return sr_err_errno(err, errno, "channel '%s': remove '%s'", c->name, link);
	if (mkdir(link, 0755) < 0 && errno != EEXIST)
		return sr_err_errno(err, errno, "channel '%s': create folder '%s'", c->name, link);
	return chan_link(c->local_path, file_link, err);
}

int chan_stage_local(const struct job_channel *channels, size_t n, const char *opt_ml,
		     struct sr_error *err)
{
	_cleanup_free_ char *data_dir = xasprintf("%s/input/data", opt_ml);
	int r;

	r = fs_mkdir_p(data_dir, 0755, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = chan_stage_one(&channels[i], data_dir, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int chan_stage_copy(const struct job_channel *channels, size_t n, const char *opt_ml,
		    struct sr_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct job_channel *c = &channels[i];
		_cleanup_free_ char *dst = NULL;
		int r;

		if (!chan_name_ok(c->name))
			return sr_err(err, -EINVAL, "channel '%s': not a usable folder name",
				      c->name ? c->name : "");
		if (!c->local_path)
			return sr_err(err, -EIO,
				      "channel '%s': %s has no local folder (not "
				      "downloaded)",
				      c->name, c->uri ? c->uri : "no URI");
		dst = xasprintf("%s/input/data/%s", opt_ml, c->name);
		/* Laid out anew (a retry): the host's copy starts from the channel again. */
		r = fs_rm_rf(dst, err);
		if (r >= 0)
			r = fs_mkdir_p(dst, 0755, err);
		if (r >= 0)
			r = fs_is_dir(c->local_path) ? fs_copy_tree(c->local_path, dst, err)
						     : chan_copy_file(c->local_path, dst, err);
		if (r < 0)
			return sr_err_wrap(err, "channel '%s'", c->name);
	}
	return 0;
}

/* --- user code -------------------------------------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* An s3:// code location: a sourcedir.tar.gz (as the SDK uploads it), downloaded beside the
 * code folder and extracted into it with artifacts_unpack's checks. */
static int chan_fetch_code(const char *uri, const char *code_dir, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *key = NULL;
	_cleanup_free_ char *tmp = xasprintf("%s.sourcedir.%d.tar.gz", code_dir, (int)getpid());
	struct s3_client *c = NULL;
	int r = s3_uri_parse(uri, &bucket, &key, err);

	if (r >= 0 && !has_suffix(key, ".tar.gz") && !has_suffix(key, ".tgz"))
		r = sr_err(err, -EINVAL, "code '%s': an S3 code location is a .tar.gz", uri);
	if (r >= 0)
		r = s3_client_new(&c, err);
	if (r >= 0)
		r = s3_get_file(c, bucket, key, tmp, err);
	s3_client_free(c);
	if (r >= 0)
		r = fs_mkdir_p(code_dir, 0755, err);
	if (r >= 0 && (r = artifacts_unpack(tmp, code_dir, err)) < 0)
		sr_err_wrap(err, "code '%s'", uri);
	(void)unlink(tmp);
	return r;
}

/* The local path of a code location (s3:// is fetched instead: chan_fetch_code). */
static int chan_code_path(const char *submit_dir, char **ret_path, struct sr_error *err)
{
	if (!strncmp(submit_dir, "file://", 7)) {
		if (submit_dir[7] != '/')
			return sr_err(err, -EINVAL, "code '%s': expected file:///absolute/path",
				      submit_dir);
		*ret_path = xstrdup(submit_dir + 7);
		return 0;
	}
	if (strstr(submit_dir, "://"))
		return sr_err(err, -ENOTSUP,
			      "code '%s': only local paths and file:// URIs are supported",
			      submit_dir);
	*ret_path = xstrdup(submit_dir);
	return 0;
}

/* `path` as given, `src` what it resolves to.  Links are followed as the SDK follows them
 * when it packs sourcedir.tar.gz, so a host gets the same files whether its code is copied
 * (a local output) or packed, uploaded and extracted (an S3 output). */
static int chan_copy_code(const char *path, const char *src, const struct stat *st,
			  const char *code_dir, struct sr_error *err)
{
	if (S_ISDIR(st->st_mode)) {
		_cleanup_free_ char *real_dst = realpath(code_dir, NULL);
		size_t n = strlen(src);

		if (!real_dst)
			return sr_err_errno(err, errno, "code folder '%s'", code_dir);
		if (!strcmp(real_dst, src))
			return 0; /* the toolkit's copytree is a no-op when it is the code folder */
		/* Copying a tree into its own subtree never ends (until the depth limit). */
		if (!strncmp(real_dst, src, n) && (real_dst[n] == '/' || n == 1)) {
			sr_err(err, -EINVAL, "code '%s': the code folder '%s' is inside it", src,
			       code_dir);
			return sr_err_hint(err, "keep sagerun's output and state folders outside "
						"the source folder");
		}
		return fs_copy_tree(src, code_dir, err);
	}
	if (has_suffix(src, ".tar.gz") || has_suffix(src, ".tgz"))
		return artifacts_unpack(src, code_dir, err);

	/* The name given, not the one it links to: sagemaker_program says the former. */
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	_cleanup_free_ char *dst = xasprintf("%s/%s", code_dir, base);
	int r = fs_copy_file(src, dst, st->st_mode & 0777, err);
	if (r < 0)
		return r;
	/* open(2) applied the umask; the toolkit's copy2 keeps the mode as it was. */
	if (chmod(dst, st->st_mode & 07777) < 0)
		return sr_err_errno(err, errno, "copy to '%s'", dst);
	return 0;
}

int chan_stage_code(const char *submit_dir, const char *code_dir, struct sr_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *src = NULL;
	struct stat st;
	int r;

	if (!submit_dir || !*submit_dir)
		return sr_err(err, -EINVAL, "code: no location given");
	/* The toolkit's rule: code already in place (baked into an image, or staged by an
	 * earlier attempt) wins, and the location is not even looked at. */
	r = fs_dir_used(code_dir, err);
	if (r != 0)
		return r < 0 ? r : 0;

	if (!strncmp(submit_dir, "s3://", 5)) {
		r = chan_fetch_code(submit_dir, code_dir, err);
		if (r < 0) {
			struct sr_error ignored = {0};

			if (fs_rm_rf(code_dir, &ignored) == 0) /* as below: empty, not half */
				(void)mkdir(code_dir, 0755);
			sr_err_wrap(err, "stage code into '%s'", code_dir);
		}
		return r;
	}
	r = chan_code_path(submit_dir, &path, err);
	if (r < 0)
		return r;
	/* Resolve once: a link the user gave is meant (and so are the links inside). */
	src = realpath(path, NULL);
	if (!src || stat(src, &st) < 0) {
		r = -errno;
		sr_err_errno(err, -r, "code '%s'", path);
		if (r == -ENOENT)
			sr_err_hint(err, "check the source folder or entry point path");
		return r;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return sr_err(err, -EINVAL, "code '%s': neither a folder nor a file", path);

	r = fs_mkdir_p(code_dir, 0755, err);
	if (r < 0)
		return r;
	r = chan_copy_code(path, src, &st, code_dir, err);
	if (r < 0) {
		/* Leave the folder empty, else the rule above would take half-copied code as
		 * already staged next time. */
		struct sr_error ignored = {0};
		if (fs_rm_rf(code_dir, &ignored) == 0)
			(void)mkdir(code_dir, 0755);
		sr_err_wrap(err, "stage code into '%s'", code_dir);
		return r;
	}
	return 0;
}
