/* s3_sync.c - see s3_sync.h: list both sides, decide per file, then one batch each way. */
#include "data/s3_sync.h"

#include <errno.h>
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

/* The prefix as a folder: "" or ending in '/'. */
static int parse_folder_uri(const char *uri, char **bucket, char **prefix, struct sr_error *err)
{
	int r = s3_uri_parse(uri, bucket, prefix, err);
	size_t len;

	if (r < 0)
		return r;
	len = strlen(*prefix);
	if (len && (*prefix)[len - 1] != '/') {
		char *p = xasprintf("%s/", *prefix);

		free(*prefix);
		*prefix = p;
	}
	return 0;
}

static int cmp_key(const void *k, const void *o)
{
	return strcmp(k, ((const struct s3_object *)o)->key);
}

static const struct s3_object *find_object(const struct s3_object *objs, size_t n, const char *key)
{
	return n ? bsearch(key, objs, n, sizeof(*objs), cmp_key) : NULL;
}

static bool is_marker(const char *key)
{
	return !*key || key[strlen(key) - 1] == '/';
}

static void plan(const struct s3_sync_opts *o, size_t n, int64_t bytes)
{
	if (o->plan)
		o->plan(o->ctx, n, bytes);
}

/* mkdir -p of the folder holding `path`, skipped when it is the one made last. */
static int make_parent(const char *path, char **last, struct sr_error *err)
{
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	int r;

	*slash = '\0';
	if (*last && !strcmp(*last, parent))
		return 0;
	r = fs_mkdir_p(parent, 0755, err);
	if (r >= 0) {
		free(*last);
		*last = TAKE_PTR(parent);
	}
	return r;
}

/* Local files the listing lacks (delete_extra, down). */
static int delete_local_extra(const char *dir, const char *prefix, const struct s3_object *objs,
			      size_t n, struct s3_sync_stats *st, struct sr_error *err)
{
	struct fs_file *files = NULL;
	size_t nf = 0;
	int r = fs_list_files(dir, &files, &nf, err);

	for (size_t i = 0; r >= 0 && i < nf; i++) {
		_cleanup_free_ char *key = xasprintf("%s%s", prefix, files[i].rel);

		if (find_object(objs, n, key))
			continue;
		if (unlink(files[i].path) < 0 && errno != ENOENT)
			r = sr_err_errno(err, errno, "remove '%s'", files[i].path);
		else
			st->deleted++;
	}
	fs_files_free(files, nf);
	return r;
}

int s3_sync_list(struct s3_client *c, const char *uri, struct s3_object **ret, size_t *ret_n,
		 struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL;
	int r = parse_folder_uri(uri, &bucket, &prefix, err);

	return r < 0 ? r : s3_list(c, bucket, prefix, ret, ret_n, err);
}

int s3_sync_down(struct s3_client *c, const char *uri, const char *dir,
		 const struct s3_sync_opts *o, struct s3_sync_stats *st, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL, *last_dir = NULL;
	struct s3_object *objs = NULL;
	struct s3_file *todo = NULL;
	char **paths = NULL;
	size_t n = 0, nt = 0;
	int64_t bytes = 0;
	int r;

	memset(st, 0, sizeof(*st));
	r = parse_folder_uri(uri, &bucket, &prefix, err);
	if (r >= 0)
		r = fs_mkdir_p(dir, 0755, err);
	if (r >= 0)
		r = s3_list(c, bucket, prefix, &objs, &n, err);
	if (r < 0)
		return r;
	todo = xcalloc(n ? n : 1, sizeof(*todo));
	paths = xcalloc(n ? n : 1, sizeof(*paths));
	/* Every key checked before anything is written. */
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct s3_object *ob = &objs[i];
		struct stat sb;

		if (is_marker(ob->key))
			continue;
		st->files++;
		r = s3_key_local_path(dir, prefix, ob->key, &paths[nt], err);
		if (r < 0)
			break;
		/* Unchanged: as the download left it, LastModified to the second. */
		if (o->changed_only && lstat(paths[nt], &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_size == ob->size && (int64_t)sb.st_mtim.tv_sec == ob->mtime &&
		    !sb.st_mtim.tv_nsec) {
			free(paths[nt]);
			paths[nt] = NULL;
			continue;
		}
		todo[nt] = (struct s3_file){.key = ob->key,
					    .path = paths[nt],
					    .size = ob->size,
					    .etag = ob->etag,
					    .mtime = ob->mtime};
		bytes += ob->size > 0 ? ob->size : 0;
		nt++;
	}
	for (size_t i = 0; r >= 0 && i < nt; i++)
		r = make_parent(todo[i].path, &last_dir, err);
	if (r >= 0) {
		plan(o, nt, bytes);
		r = s3_get_files(c, bucket, todo, nt, err);
	}
	if (r >= 0) {
		st->copied = nt;
		st->bytes = bytes;
	}
	if (r >= 0 && o->delete_extra)
		r = delete_local_extra(dir, prefix, objs, n, st, err);
	for (size_t i = 0; i <= nt && i < n; i++)
		free(paths[i]);
	free(paths);
	free(todo);
	s3_objects_free(objs, n);
	return r;
}

int s3_sync_up(struct s3_client *c, const char *dir, const char *uri, const struct s3_sync_opts *o,
	       struct s3_sync_stats *st, struct sr_error *err)
{
	_cleanup_free_ char *bucket = NULL, *prefix = NULL;
	struct s3_object *objs = NULL;
	struct fs_file *files = NULL;
	struct s3_file *todo = NULL;
	char **keys = NULL;
	size_t n = 0, nf = 0, nt = 0;
	int64_t bytes = 0;
	int r;

	memset(st, 0, sizeof(*st));
	r = parse_folder_uri(uri, &bucket, &prefix, err);
	if (r >= 0)
		r = fs_list_files(dir, &files, &nf, err);
	if (r >= 0 && (o->use_listed ? o->delete_extra : o->changed_only || o->delete_extra))
		r = s3_list(c, bucket, prefix, &objs, &n, err);
	if (r < 0)
		goto out;
	todo = xcalloc(nf ? nf : 1, sizeof(*todo));
	keys = xcalloc(nf ? nf : 1, sizeof(*keys));
	st->files = nf;
	for (size_t i = 0; i < nf; i++) {
		const struct s3_object *ob;

		keys[i] = xasprintf("%s%s", prefix, files[i].rel);
		if (o->use_listed) {
			ob = find_object(o->listed, o->n_listed, keys[i]);
			if (o->changed_only && ob && ob->size == files[i].size &&
			    files[i].mtime == ob->mtime && !files[i].mtime_nsec)
				continue;
		} else {
			/* Unchanged: not newer than the object, fractions of a second counted. */
			ob = find_object(objs, n, keys[i]);
			if (o->changed_only && ob && ob->size == files[i].size &&
			    (files[i].mtime < ob->mtime ||
			     (files[i].mtime == ob->mtime && !files[i].mtime_nsec)))
				continue;
		}
		todo[nt++] =
		    (struct s3_file){.key = keys[i], .path = files[i].path, .size = files[i].size};
		bytes += files[i].size;
	}
	plan(o, nt, bytes);
	r = s3_put_files(c, bucket, todo, nt, err);
	if (r >= 0) {
		st->copied = nt;
		st->bytes = bytes;
	}
	/* Objects the folder lacks, once everything it has is up. */
	for (size_t i = 0; r >= 0 && o->delete_extra && i < n; i++) {
		bool have = false;

		if (is_marker(objs[i].key))
			continue;
		for (size_t lo = 0, hi = nf; lo < hi && !have;) {
			size_t mid = (lo + hi) / 2;
			int cmp = strcmp(objs[i].key, keys[mid]);

			if (!cmp)
				have = true;
			else if (cmp < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (!have && (r = s3_delete(c, bucket, objs[i].key, err)) >= 0)
			st->deleted++;
	}
out:
	for (size_t i = 0; keys && i < nf; i++)
		free(keys[i]);
	free(keys);
	free(todo);
	fs_files_free(files, nf);
	s3_objects_free(objs, n);
	return r;
}
