/* checkpoints.c - see checkpoints.h: one S3 client per restore or save, the first host fetched
 * and the others copied from it, every host judged against one listing when saved. */
#include "data/checkpoints.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/s3_sync.h"
#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define DEFAULT_LOCAL_PATH "/opt/ml/checkpoints"

char *checkpoints_host_dir(const char *opt_ml, const char *local_path)
{
	const char *p = local_path ? local_path : DEFAULT_LOCAL_PATH;
	_cleanup_free_ char *dir = NULL;
	struct stat st;

	if (strncmp(p, "/opt/ml/", 8) || !p[8])
		return NULL;
	dir = xasprintf("%s/%s", opt_ml, p + 8);
	/* The job may have put a link on the way (to ~/.aws, say): never followed. */
	for (char *s = dir + strlen(opt_ml) + 1;; s++) {
		char c = *s;

		if (c && c != '/')
			continue;
		*s = '\0';
		if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
			return NULL;
		*s = c;
		if (!c)
			break;
	}
	return TAKE_PTR(dir);
}

static char *local_folder(const char *uri)
{
	if (!strncmp(uri, "file://", 7))
		return fs_abspath(uri + 7);
	return fs_abspath(uri);
}

/* Local to local: the files of `src` that `dst` lacks or has otherwise (size, or older), each
 * through a temp file and a rename. */
static int copy_changed(const char *src, const char *dst, size_t *copied, struct sr_error *err)
{
	struct fs_file *files = NULL;
	size_t n = 0;
	int r = fs_mkdir_p(dst, 0755, err);

	if (r >= 0 && fs_is_dir(src))
		r = fs_list_files(src, &files, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		_cleanup_free_ char *to = xasprintf("%s/%s", dst, files[i].rel);
		_cleanup_free_ char *tmp = xasprintf("%s.sagerun-tmp.%d", to, (int)getpid());
		_cleanup_free_ char *parent = xstrdup(to);
		struct stat st;

		if (lstat(to, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == files[i].size &&
		    (st.st_mtim.tv_sec > files[i].mtime ||
		     (st.st_mtim.tv_sec == files[i].mtime &&
		      st.st_mtim.tv_nsec >= files[i].mtime_nsec)))
			continue;
		*strrchr(parent, '/') = '\0';
		r = fs_mkdir_p(parent, 0755, err);
		if (r >= 0)
			r = fs_copy_file(files[i].path, tmp, 0644, err);
		/* The source's time kept: a copy is not newer than what it copies. */
		if (r >= 0) {
			struct timespec ts[2] = {
			    {.tv_nsec = UTIME_OMIT},
			    {.tv_sec = (time_t)files[i].mtime, .tv_nsec = files[i].mtime_nsec}};

			(void)utimensat(AT_FDCWD, tmp, ts, 0);
		}
		if (r >= 0 && rename(tmp, to) < 0)
			r = sr_err_errno(err, errno, "rename to '%s'", to);
		if (r < 0)
			(void)unlink(tmp);
		else
			(*copied)++;
	}
	fs_files_free(files, n);
	return r;
}

static int sync_one(struct s3_client *cl, const char *uri, const char *dir, bool up,
		    const struct s3_object *listed, size_t n_listed, size_t *copied,
		    struct sr_error *err)
{
	struct s3_sync_opts o = {
	    .changed_only = true, .use_listed = up, .listed = listed, .n_listed = n_listed};
	struct s3_sync_stats st;
	_cleanup_free_ char *local = NULL;
	int r;

	if (!cl) {
		local = local_folder(uri);
		return up ? copy_changed(dir, local, copied, err)
			  : copy_changed(local, dir, copied, err);
	}
	r = up ? s3_sync_up(cl, dir, uri, &o, &st, err) : s3_sync_down(cl, uri, dir, &o, &st, err);
	if (r >= 0)
		*copied += st.copied;
	return r;
}

int checkpoints_restore(const char *uri, char *const *dirs, size_t n, bool (*cancelled)(void *ctx),
			void *ctx, struct strv *report, struct sr_error *err)
{
	struct s3_client *cl = NULL;
	size_t copied = 0;
	int r = 0;

	if (!strncmp(uri, "s3://", 5)) {
		r = s3_client_new(&cl, err);
		if (r >= 0)
			s3_client_set_cancel(cl, cancelled, ctx);
	}
	/* Fetched once, for the first host; the others get copies of their own. */
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = fs_mkdir_p(dirs[i], 0755, err);
		if (r >= 0 && i == 0)
			r = sync_one(cl, uri, dirs[0], false, NULL, 0, &copied, err);
		else if (r >= 0)
			r = copy_changed(dirs[0], dirs[i], &(size_t){0}, err);
	}
	s3_client_free(cl);
	if (r < 0)
		return r == -ECANCELED ? r : sr_err_wrap(err, "restore checkpoints from %s", uri);
	strv_pushf(report, "checkpoints: %zu files restored from %s", copied, uri);
	return 0;
}

int checkpoints_save(const char *uri, char *const *dirs, size_t n, struct strv *report,
		     struct sr_error *err)
{
	struct s3_client *cl = NULL;
	struct s3_object *listed = NULL;
	size_t copied = 0, n_listed = 0;
	int r = 0;

	/* What the prefix held before any host saved: each host's changes are judged against
	 * it (s3_sync_opts.listed). */
	if (!strncmp(uri, "s3://", 5)) {
		r = s3_client_new(&cl, err);
		if (r >= 0)
			r = s3_sync_list(cl, uri, &listed, &n_listed, err);
	}
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (fs_is_dir(dirs[i]))
			r = sync_one(cl, uri, dirs[i], true, listed, n_listed, &copied, err);
	s3_objects_free(listed, n_listed);
	s3_client_free(cl);
	if (r < 0)
		return sr_err_wrap(err, "save checkpoints to %s", uri);
	strv_pushf(report, "checkpoints: %zu files saved to %s", copied, uri);
	return 0;
}
